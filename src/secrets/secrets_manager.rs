//! The Genesys credential set from a Secrets Manager secret (a [`CachedSecret`]), and the one
//! `GetSecretValue` call every cached secret reads with.
//!
//! The set is cached for `cache_ttl`; when Genesys refuses every cached credential,
//! [`CredentialSource::reload`] re-reads the secret at once (at most once per
//! [`DEFAULT_MIN_RELOAD_INTERVAL`]), which is how a rotation is picked up without a restart.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use crate::aws_error::{AwsFailure, classify};

use super::cached_secret::{CachedSecret, ReloadPolicy};
use super::{
    CredentialError, CredentialFuture, CredentialSet, CredentialSource, HashKeyField, parse_client_document,
    parse_secret_document,
};

/// Re-reads forced by refused credentials are spaced at least this far apart.
pub const DEFAULT_MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(5);
/// While Secrets Manager is out, the last value read keeps serving, and the secret is tried again
/// only after this long: one request per grace period pays for a failing read, not every request.
pub const OUTAGE_GRACE: Duration = Duration::from_secs(30);

/// The credential set of `GENESYS_CREDENTIALS_SECRET_ID`.
pub struct SecretsManagerCredentials {
    secret: CachedSecret<CredentialSet>,
}

impl SecretsManagerCredentials {
    /// `hash_key` says what a `hash_key` in the secret means (refused unless pseudonyms are HMAC).
    pub fn new(client: Client, secret_id: impl Into<String>, cache_ttl: Duration, hash_key: HashKeyField) -> Self {
        let parse = move |text: &str| {
            let set = parse_secret_document(text, hash_key)?;
            tracing::info!(
                credentials = set.credentials().len(),
                "loaded the Genesys credential set from Secrets Manager"
            );
            Ok(set)
        };
        let policy = ReloadPolicy {
            ttl: cache_ttl,
            min_reload_interval: DEFAULT_MIN_RELOAD_INTERVAL,
        };
        Self {
            secret: CachedSecret::new(client, secret_id, "the secret", parse, policy),
        }
    }
}

impl SecretsManagerCredentials {
    /// The rotation function's Genesys admin client, alone in its set: the secret
    /// `GENESYS_ADMIN_CLIENT_SECRET_ID`, JSON `{"client_id", "client_secret"}`. Read again on each
    /// use (a rotation makes a handful of calls a month), so a corrected secret is taken by the
    /// next attempt.
    pub fn admin_client(client: Client, secret_id: impl Into<String>) -> Self {
        let what = "the Genesys admin client secret";
        let parse = move |text: &str| CredentialSet::new(vec![parse_client_document(text, what)?]);
        Self {
            secret: CachedSecret::new(
                client,
                secret_id,
                what,
                parse,
                ReloadPolicy::at_most_every(Duration::ZERO),
            ),
        }
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
        Box::pin(self.secret.current())
    }

    fn reload(&self) -> CredentialFuture<'_> {
        Box::pin(self.secret.reload())
    }
}
