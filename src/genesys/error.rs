//! What can go wrong talking to Genesys, classified by what the caller should do about it.

use std::fmt;
use std::time::Duration;

use crate::secrets::CredentialError;

/// The upstream endpoints, named in errors and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The login host's OAuth token endpoint (client credentials grant).
    OAuthToken,
    /// The owner's guest creation (`POST /api/v2/externalusers/guests`).
    CreateGuest,
    /// The owner's guest token endpoint (`/guests/token`).
    GuestToken,
    /// Authenticated web messaging: External Contacts' enrich (upsert by external id).
    ContactEnrich,
    /// Authenticated web messaging: the code-for-jwt exchange.
    TokenExchange,
    /// Authenticated web messaging: renewing a jwt with its refresh token.
    TokenRefresh,
    /// Authenticated web messaging: revoking a guest's jwt and refresh token.
    TokenRevoke,
    /// The web deployment and its configuration version (the preflight).
    Deployment,
    /// The messenger configuration of the web deployment (the preflight).
    DeploymentConfiguration,
    /// The rotation function's "Regenerate Client Secret" (`POST /api/v2/oauth/clients/{id}/secret`).
    RegenerateClientSecret,
}

impl Endpoint {
    /// Whether an attempt that may have reached Genesys can be sent again. Asking for an access
    /// token or a guest token twice is harmless; creating a guest twice makes a second guest, so a
    /// creation is repeated only when Genesys said it did not serve it (429, 503) or the
    /// connection never opened. An External Contacts enrich is an upsert keyed by the external id,
    /// so repeating it finds the contact made the first time; each exchange attempt carries a code
    /// of its own. Regenerating a secret again after an answer that was lost is the only way to
    /// learn a secret that works (the lost one is never known, and the later one replaces it).
    pub fn may_repeat(self) -> bool {
        !matches!(self, Self::CreateGuest)
    }

    /// What a 403 from this endpoint says is missing.
    pub fn permissions(self) -> &'static str {
        match self {
            Self::OAuthToken | Self::CreateGuest | Self::GuestToken => {
                "a scope or permission (externaluser:guest:create, externaluser:guest:read)"
            }
            Self::ContactEnrich => "the permission externalContacts:contact:add / externalContacts:contact:edit",
            Self::Deployment | Self::DeploymentConfiguration => "the permission webDeployments:deployment:view",
            Self::TokenExchange | Self::TokenRefresh | Self::TokenRevoke => {
                "an authentication integration accepting this deployment's requests"
            }
            Self::RegenerateClientSecret => "the permission oauth:client:edit",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OAuthToken => "the OAuth token endpoint",
            Self::CreateGuest => "guest creation",
            Self::GuestToken => "the guest token endpoint",
            Self::ContactEnrich => "External Contacts enrich",
            Self::TokenExchange => "the web messaging code exchange",
            Self::TokenRefresh => "the web messaging token refresh",
            Self::TokenRevoke => "the web messaging token revocation",
            Self::Deployment => "the web deployment lookup",
            Self::DeploymentConfiguration => "the messenger configuration lookup",
            Self::RegenerateClientSecret => "the OAuth client secret regeneration",
        })
    }
}

/// Why a Genesys call failed, classified by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum GenesysError {
    /// Every OAuth client in the set (re-read once) was refused with `invalid_client`.
    #[error("Genesys refused every configured OAuth client credential")]
    CredentialsRefused,
    /// 403: retrying cannot help until someone grants the scope.
    #[error("Genesys denied {endpoint}: the OAuth client lacks {}", endpoint.permissions())]
    Forbidden {
        /// The endpoint that answered.
        endpoint: Endpoint,
    },
    /// Any other definitive refusal (4xx that is not retried).
    #[error("Genesys refused {endpoint} with HTTP {status}")]
    Rejected {
        /// The endpoint that answered.
        endpoint: Endpoint,
        /// The HTTP status Genesys answered with.
        status: u16,
    },
    /// A 2xx whose body does not follow the contract.
    #[error("Genesys sent an unexpected response from {endpoint}: {problem}")]
    Malformed {
        /// The endpoint that answered.
        endpoint: Endpoint,
        /// What in the body broke the contract (never the body itself, which may hold a token).
        problem: &'static str,
    },
    /// Transient trouble that outlasted the attempts or the deadline.
    #[error("{endpoint} is unavailable: {reason}")]
    Unavailable {
        /// The endpoint that was unavailable.
        endpoint: Endpoint,
        /// What went wrong with the last attempt.
        reason: String,
        /// How long Genesys asked to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
    },
    /// An attempt that may have reached Genesys failed without an answer that says what happened
    /// (a timeout after sending, a 500, a cut-off response), on an endpoint that must not be
    /// repeated: upstream may or may not have acted on it.
    #[error("{endpoint} failed without saying whether it was done: {reason}")]
    Indeterminate {
        /// The endpoint the attempt went to.
        endpoint: Endpoint,
        /// What went wrong with the last attempt.
        reason: String,
    },
    /// The OAuth client credentials could not be read from their source.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The HTTP client could not be built (its TLS setup failed).
    #[error("cannot build the HTTP client for Genesys: {0}")]
    Client(String),
}
