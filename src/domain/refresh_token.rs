//! The refresh token that renews a web-messaging jwt, as the broker holds it: as Genesys issued
//! it, or sealed by the session store (encrypted at rest under a key only the guest function may
//! use, bound to its customer) and opened only when a renewal or a revocation needs it, so a
//! stored token handed out as it is never costs a decryption.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A refresh token in one of its two forms; `Debug` shows neither.
#[derive(Clone)]
pub enum RefreshToken {
    /// As Genesys issued it (and as items written before encryption at rest still hold it).
    Plain(SecretString),
    /// Encrypted by the session store: its ciphertext, base64, opaque to everything but the store.
    Sealed(String),
}

impl RefreshToken {
    /// `None` for an empty one, which means none (as an empty stored attribute does).
    pub fn plain(token: SecretString) -> Option<Self> {
        (!token.expose_secret().is_empty()).then_some(Self::Plain(token))
    }

    /// `None` for an empty ciphertext.
    pub fn sealed(ciphertext: String) -> Option<Self> {
        (!ciphertext.is_empty()).then_some(Self::Sealed(ciphertext))
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(_) => f.write_str("Plain(<redacted>)"),
            Self::Sealed(_) => f.write_str("Sealed(<redacted>)"),
        }
    }
}
