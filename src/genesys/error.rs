//! What can go wrong talking to Genesys, classified by what the caller should do about it.

use std::fmt;
use std::time::Duration;

use crate::credentials::CredentialError;

/// The upstream endpoints, named in errors and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    OAuthToken,
    CreateGuest,
    GuestToken,
}

impl Endpoint {
    /// Whether an attempt that may have reached Genesys can be sent again. Asking for an access
    /// token or a guest token twice is harmless; creating a guest twice makes a second guest, so a
    /// creation is repeated only when Genesys said it did not serve it (429, 503) or the
    /// connection never opened.
    pub fn may_repeat(self) -> bool {
        !matches!(self, Self::CreateGuest)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OAuthToken => "the OAuth token endpoint",
            Self::CreateGuest => "guest creation",
            Self::GuestToken => "the guest token endpoint",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenesysError {
    /// Every OAuth client in the set (re-read once) was refused with `invalid_client`.
    #[error("Genesys refused every configured OAuth client credential")]
    CredentialsRefused,
    /// 403: retrying cannot help until someone grants the scope.
    #[error(
        "Genesys denied {endpoint}: the OAuth client lacks a scope or permission \
         (externaluser:guest:create, externaluser:guest:read)"
    )]
    Forbidden { endpoint: Endpoint },
    /// Any other definitive refusal (4xx that is not retried).
    #[error("Genesys refused {endpoint} with HTTP {status}")]
    Rejected { endpoint: Endpoint, status: u16 },
    /// A 2xx whose body does not follow the contract.
    #[error("Genesys sent an unexpected response from {endpoint}: {problem}")]
    Malformed { endpoint: Endpoint, problem: &'static str },
    /// Transient trouble that outlasted the attempts or the deadline.
    #[error("{endpoint} is unavailable: {reason}")]
    Unavailable {
        endpoint: Endpoint,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// An attempt that may have reached Genesys failed without an answer that says what happened
    /// (a timeout after sending, a 500, a cut-off response), on an endpoint that must not be
    /// repeated: upstream may or may not have acted on it.
    #[error("{endpoint} failed without saying whether it was done: {reason}")]
    Indeterminate { endpoint: Endpoint, reason: String },
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The HTTP client could not be built (its TLS setup failed).
    #[error("cannot build the HTTP client for Genesys: {0}")]
    Client(String),
}
