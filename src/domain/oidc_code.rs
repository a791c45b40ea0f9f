//! One-time authorization codes the broker issues as the OpenID Connect provider Genesys trusts
//! (authenticated web messaging): what a code grants, and the code itself. Only a hash of a code is
//! ever stored; the code goes to Genesys once, in the exchange request.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::customer_profile::CustomerProfile;
use super::pkce::CodeChallenge;

/// Random bytes in a code: 256 bits, well over the 128 RFC 6749 §10.10 asks for.
pub const CODE_BYTES: usize = 32;

/// A code as issued: a secret (never logged), 43 base64url characters.
pub struct AuthorizationCode(SecretString);

impl AuthorizationCode {
    /// A code from [`CODE_BYTES`] random bytes (the caller's cryptographic random source).
    pub fn from_random(bytes: [u8; CODE_BYTES]) -> Self {
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The code itself, to send to Genesys once.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// The key a code is stored and redeemed under: hex SHA-256 of the code as presented.
    pub fn key(&self) -> CodeKey {
        CodeKey::of(self.0.expose_secret())
    }
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationCode(<redacted>)")
    }
}

/// Lowercase hex SHA-256 of a code: what the store keeps instead of the code. Not secret.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct CodeKey(String);

impl CodeKey {
    /// The key of a code as a caller presented it (any text; it is only hashed).
    pub fn of(code: &str) -> Self {
        Self(hex::encode(Sha256::digest(code.as_bytes())))
    }

    /// The 64 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `n` hex characters, for a log line that must say which code without giving
    /// anyone the means to look it up (as a request line carries the pseudonym's first 8).
    pub fn prefix(&self, n: usize) -> &str {
        self.0.get(..n).unwrap_or(&self.0)
    }
}

/// What a code grants, bound at issue: the redirect URI it must be redeemed with, the subject (the
/// customer's pseudonym), the nonce to echo, the PKCE challenge the redemption must answer, the
/// claims the agent sees, and until when. The client is not stored: the provider has exactly one
/// (the Genesys integration), and only that client, authenticated, redeems codes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CodeGrant {
    /// The redirect URI the code was issued for; redeeming it must present the same one.
    pub redirect_uri: String,
    /// The `sub` of the id token: the customer's pseudonym.
    pub subject: String,
    /// The nonce from the authorization request, echoed in the id token; `None` when none was sent.
    pub nonce: Option<String>,
    /// The S256 challenge of the verifier the redemption must present; `None`: none may be.
    pub challenge: Option<CodeChallenge>,
    /// The optional claims for the agent (personal data: kept only with the code).
    pub profile: CustomerProfile,
    /// When the code stops being redeemable.
    pub expires_at: DateTime<Utc>,
}

impl CodeGrant {
    /// Whether the code can still be redeemed at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_43_base64url_characters_and_its_key_is_its_hash() {
        let code = AuthorizationCode::from_random([7; CODE_BYTES]);
        assert_eq!(code.secret().expose_secret().len(), 43);
        assert_eq!(code.key(), CodeKey::of(code.secret().expose_secret()));
        assert_eq!(code.key().as_str().len(), 64);
        assert_eq!(code.key().prefix(8), &code.key().as_str()[..8]);
        assert!(!format!("{code:?}").contains(code.secret().expose_secret()));
    }
}
