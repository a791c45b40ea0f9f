//! The secrets the functions hold: the ordered set of Genesys OAuth client credentials (from
//! environment variables, or a Secrets Manager secret that can be rotated under a running process),
//! the CRM id hash key, the OIDC client Genesys authenticates as, and the rotation function's
//! Genesys admin client; each Secrets Manager secret is read through the one [`CachedSecret`].

mod cached_secret;
mod env;
mod hash_key;
mod oidc_client;
mod secret_document;
mod secrets_manager;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::SecretString;

pub use cached_secret::{CachedSecret, FAILED_READ_RETRY_INTERVAL, ReloadPolicy};
pub use env::EnvCredentials;
pub use hash_key::{HashKeySource, Pseudonyms, parse_hash_key};
pub use oidc_client::{MIN_OIDC_CLIENT_SECRET_CHARS, OidcClientSource, parse_client_document, parse_oidc_client};
pub use secret_document::{HashKeyField, parse_secret_document};
pub(crate) use secret_document::{credential_set, secret_object};
pub use secrets_manager::SecretsManagerCredentials;

/// One OAuth client: its id (not secret, safe to log) and its secret (`Debug` shows it redacted).
#[derive(Clone, Debug)]
pub struct Credential {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: SecretString,
}

/// A non-empty list of credentials in order of preference.
#[derive(Clone, Debug)]
pub struct CredentialSet {
    credentials: Vec<Credential>,
}

impl CredentialSet {
    /// The set in this order of preference; an empty list is [`CredentialError::Malformed`].
    pub fn new(credentials: Vec<Credential>) -> Result<Self, CredentialError> {
        if credentials.is_empty() {
            return Err(CredentialError::Malformed("the credential list is empty".into()));
        }
        Ok(Self { credentials })
    }

    /// The credentials, most preferred first.
    pub fn credentials(&self) -> &[Credential] {
        &self.credentials
    }

    /// Whether two sets hold the same clients, so a re-read that changed nothing is not retried.
    pub fn same_clients(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.credentials.len() == other.credentials.len()
            && self.credentials.iter().zip(&other.credentials).all(|(a, b)| {
                a.client_id == b.client_id && a.client_secret.expose_secret() == b.client_secret.expose_secret()
            })
    }
}

/// Why a secret (the credential set, the hash key, the OIDC client) could not be had. Messages
/// name the problem, never a value.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The configuration or the secret's content is wrong: an operator must fix it.
    #[error("a secret is misconfigured: {0}")]
    Malformed(String),
    /// The secret exists but this function may not read it, or it does not exist.
    #[error("the secret {secret_id:?} cannot be used: {problem}")]
    Inaccessible {
        /// The secret's id or ARN, as configured.
        secret_id: String,
        /// What Secrets Manager said, without any value.
        problem: String,
    },
    /// Secrets Manager could not be reached or failed; worth retrying later.
    #[error("Secrets Manager is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a [`CredentialSource`] answers with: the set in force, shared.
pub type CredentialFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<CredentialSet>, CredentialError>> + Send + 'a>>;

/// Where the credential set comes from.
pub trait CredentialSource: Send + Sync {
    /// The set in force, from a cache where the source has one.
    fn current(&self) -> CredentialFuture<'_>;

    /// Called when every credential of the set in force was refused: re-read the source now
    /// (sources rate-limit this themselves) and return what it holds.
    fn reload(&self) -> CredentialFuture<'_>;
}
