//! Credentials from a Secrets Manager secret (AWSCURRENT only), cached in process.
//!
//! A small cache of our own rather than `aws_secretsmanager_caching`: that crate calls
//! DescribeSecret on every expiry (one more permission and round trip) and its error type is not
//! `Send`. Here a cache entry lives for `cache_ttl`; when Genesys refuses every cached credential,
//! [`CredentialSource::reload`] re-reads the secret at once (at most once per `min_reload_interval`),
//! which is how a rotation is picked up without a restart.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::aws_error::{AwsFailure, classify};

use super::{CredentialError, CredentialFuture, CredentialSet, CredentialSource, HashKeyField, parse_secret_document};

/// Re-reads forced by refused credentials are spaced at least this far apart.
pub const DEFAULT_MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(5);
/// While Secrets Manager is out, the last set read keeps serving, and the secret is tried again
/// only after this long: one request per grace period pays for a failing read, not every request.
pub const OUTAGE_GRACE: Duration = Duration::from_secs(30);

pub struct SecretsManagerCredentials {
    client: Client,
    secret_id: String,
    cache_ttl: Duration,
    min_reload_interval: Duration,
    hash_key: HashKeyField,
    // An async mutex: concurrent callers on a cold or expired cache share one GetSecretValue.
    cache: Mutex<Option<Cached>>,
    last_forced_reload: Mutex<Option<Instant>>,
}

struct Cached {
    set: Arc<CredentialSet>,
    /// When the set was read, or (during an outage) when the stale set's grace period began.
    fetched_at: Instant,
    /// Kept through an outage: serves for [`OUTAGE_GRACE`] from when the read failed, whatever
    /// the cache's own lifetime, before the secret is tried again.
    stale: bool,
}

impl Cached {
    fn usable(&self, max_age: Duration) -> bool {
        let max_age = if self.stale { OUTAGE_GRACE } else { max_age };
        self.fetched_at.elapsed() < max_age
    }
}

impl SecretsManagerCredentials {
    pub fn new(client: Client, secret_id: impl Into<String>, cache_ttl: Duration) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            cache_ttl,
            min_reload_interval: DEFAULT_MIN_RELOAD_INTERVAL,
            hash_key: HashKeyField::Refused,
            cache: Mutex::new(None),
            last_forced_reload: Mutex::new(None),
        }
    }

    /// What a `hash_key` in the secret means (refused unless pseudonyms are HMAC).
    pub fn with_hash_key_field(mut self, hash_key: HashKeyField) -> Self {
        self.hash_key = hash_key;
        self
    }

    pub fn with_min_reload_interval(mut self, interval: Duration) -> Self {
        self.min_reload_interval = interval;
        self
    }

    async fn load(&self, max_age: Duration) -> Result<Arc<CredentialSet>, CredentialError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref().filter(|c| c.usable(max_age)) {
            return Ok(Arc::clone(&cached.set));
        }
        match self.fetch().await {
            Ok(set) => {
                let set = Arc::new(set);
                *cache = Some(Cached {
                    set: Arc::clone(&set),
                    fetched_at: Instant::now(),
                    stale: false,
                });
                Ok(set)
            }
            // A passing outage should not take down requests that a known set can still serve.
            Err(CredentialError::Unavailable(source)) => match cache.as_mut() {
                Some(stale) => {
                    tracing::warn!(error = %source, grace_seconds = OUTAGE_GRACE.as_secs(), "Secrets Manager unavailable; serving the cached credential set and trying again after the grace period");
                    stale.fetched_at = Instant::now();
                    stale.stale = true;
                    Ok(Arc::clone(&stale.set))
                }
                None => Err(CredentialError::Unavailable(source)),
            },
            Err(other) => Err(other),
        }
    }

    async fn fetch(&self) -> Result<CredentialSet, CredentialError> {
        let text = current_secret_string(&self.client, &self.secret_id, "the secret").await?;
        let set = parse_secret_document(&text, self.hash_key)?;
        tracing::info!(
            credentials = set.credentials().len(),
            "loaded the Genesys credential set from Secrets Manager"
        );
        Ok(set)
    }
}

/// The `AWSCURRENT` version's `SecretString` of `secret_id`; `what` names the secret in the error
/// a binary secret gets.
pub(super) async fn current_secret_string(
    client: &Client,
    secret_id: &str,
    what: &str,
) -> Result<String, CredentialError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .map_err(|err| classify_secret_error(err, secret_id))?;
    output.secret_string().map(str::to_owned).ok_or_else(|| {
        CredentialError::Malformed(format!("{what} has no SecretString (binary secrets are not supported)"))
    })
}

/// Classification of a Secrets Manager failure for `secret_id`: what an operator must fix, or an
/// outage worth retrying.
pub(super) fn classify_secret_error<E, R>(err: SdkError<E, R>, secret_id: &str) -> CredentialError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let inaccessible = |problem: &str| CredentialError::Inaccessible {
        secret_id: secret_id.to_owned(),
        problem: problem.to_owned(),
    };
    match classify(&err) {
        AwsFailure::Transient => CredentialError::Unavailable(Box::new(err)),
        AwsFailure::NotFound => inaccessible("it does not exist (or has no AWSCURRENT version)"),
        AwsFailure::AccessDenied => inaccessible("access denied: the role needs secretsmanager:GetSecretValue on it"),
        AwsFailure::Decryption => inaccessible("it cannot be decrypted: the role needs kms:Decrypt on its key"),
        AwsFailure::InvalidRequest => {
            inaccessible("Secrets Manager refused the request (is the secret scheduled for deletion?)")
        }
        AwsFailure::CredentialsRefused => inaccessible("the function's AWS credentials were refused"),
        AwsFailure::KeySchema | AwsFailure::Rejected => inaccessible("Secrets Manager rejected the request"),
    }
}

impl CredentialSource for SecretsManagerCredentials {
    fn current(&self) -> CredentialFuture<'_> {
        Box::pin(self.load(self.cache_ttl))
    }

    fn reload(&self) -> CredentialFuture<'_> {
        Box::pin(async move {
            let mut last = self.last_forced_reload.lock().await;
            if last.is_some_and(|at| at.elapsed() < self.min_reload_interval) {
                return self.load(self.cache_ttl).await;
            }
            *last = Some(Instant::now());
            self.load(Duration::ZERO).await
        })
    }
}
