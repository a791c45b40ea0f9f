//! The credentials secret's versions as a rotation moves them: the staging labels of each
//! version, a version's value, the pending version stored (retried within the deadline, since the
//! new secret exists nowhere else), and `AWSCURRENT` moved to it.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use secrecy::{ExposeSecret, SecretString};

use crate::aws_error::{AwsFailure, classify};
use crate::domain::Deadline;

use super::RotationError;

/// The label of the version the functions read.
pub const CURRENT: &str = "AWSCURRENT";
/// The label of the version a rotation is making.
pub const PENDING: &str = "AWSPENDING";

/// The first wait before storing the pending version again; doubled up to [`STORE_MAX_WAIT`].
const STORE_FIRST_WAIT: Duration = Duration::from_millis(200);
const STORE_MAX_WAIT: Duration = Duration::from_secs(2);
/// Attempts at storing the pending version, on top of the SDK's own retries of each.
const STORE_ATTEMPTS: u32 = 6;

/// The versions of the one secret being rotated.
pub struct SecretVersions {
    client: Client,
    secret_id: String,
}

impl SecretVersions {
    /// The versions of `secret_id`, through `client`.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }

    /// The secret these are versions of, as configured.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The staging labels of the version `token` (none when there is no such version).
    pub async fn labels(&self, token: &str) -> Result<Vec<String>, RotationError> {
        Ok(self.stages().await?.remove(token).unwrap_or_default())
    }

    /// Every version's staging labels (`DescribeSecret`'s `VersionIdsToStages`).
    async fn stages(&self) -> Result<HashMap<String, Vec<String>>, RotationError> {
        let described = self
            .client
            .describe_secret()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|err| failure("DescribeSecret", &err))?;
        Ok(described.version_ids_to_stages.unwrap_or_default())
    }

    /// The value of the version labelled `stage` (and with id `version_id`, when given); `None`
    /// when there is none (a version Secrets Manager made for the rotation has no value until
    /// `createSecret` stores one).
    pub async fn value(&self, version_id: Option<&str>, stage: &str) -> Result<Option<SecretString>, RotationError> {
        let read = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .set_version_id(version_id.map(str::to_owned))
            .version_stage(stage)
            .send()
            .await;
        match read {
            Ok(output) => match output.secret_string {
                Some(text) => Ok(Some(SecretString::from(text))),
                None => Err(RotationError::SecretsManager {
                    operation: "GetSecretValue",
                    problem: "the version has no SecretString (binary secrets are not supported)".into(),
                }),
            },
            Err(err) if classify(&err) == AwsFailure::NotFound => Ok(None),
            Err(err) => Err(failure("GetSecretValue", &err)),
        }
    }

    /// Stores `text` as version `token`, labelled `AWSPENDING`. A transient failure is tried
    /// again (backing off, at most [`STORE_ATTEMPTS`] times, never past the deadline) before the
    /// caller does anything else: the secret in `text` exists nowhere else. Sending it again is
    /// safe even when an attempt that timed out was stored: the same token with the same value is
    /// the same version to Secrets Manager. The error says why the last attempt failed; nothing
    /// logged or returned carries the value.
    pub async fn put_pending(&self, token: &str, text: &SecretString, deadline: Deadline) -> Result<(), String> {
        let (mut attempt, mut wait) = (1, STORE_FIRST_WAIT);
        loop {
            let stored = self
                .client
                .put_secret_value()
                .secret_id(&self.secret_id)
                .client_request_token(token)
                .secret_string(text.expose_secret())
                .version_stages(PENDING)
                .send()
                .await;
            let err = match stored {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let problem = problem("PutSecretValue", &err);
            // A version of this token with another value: another createSecret stored first.
            let permanent = err.code() == Some("ResourceExistsException") || classify(&err) != AwsFailure::Transient;
            if permanent || attempt >= STORE_ATTEMPTS || !deadline.allows(wait) {
                return Err(problem);
            }
            tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, %problem, "storing the new secret as AWSPENDING failed; trying again");
            tokio::time::sleep(wait).await;
            (attempt, wait) = (attempt + 1, (wait * 2).min(STORE_MAX_WAIT));
        }
    }

    /// Moves `AWSCURRENT` to version `token` (taking it from the version that has it) and takes
    /// `AWSPENDING` off `token`; `false` when `token` was current already (nothing is changed), an
    /// error when it is neither current nor pending.
    pub async fn make_current(&self, token: &str) -> Result<bool, RotationError> {
        let stages = self.stages().await?;
        let holds = |version: &str, label: &str| {
            stages
                .get(version)
                .is_some_and(|labels| labels.iter().any(|l| l == label))
        };
        if holds(token, CURRENT) {
            return Ok(false);
        }
        if !holds(token, PENDING) {
            return Err(RotationError::NotPending {
                token: token.to_owned(),
            });
        }
        let current = stages.keys().find(|version| holds(version, CURRENT)).cloned();
        self.client
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage(CURRENT)
            .move_to_version_id(token)
            .set_remove_from_version_id(current)
            .send()
            .await
            .map_err(|err| failure("UpdateSecretVersionStage", &err))?;
        self.client
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage(PENDING)
            .remove_from_version_id(token)
            .send()
            .await
            .map_err(|err| failure("UpdateSecretVersionStage", &err))?;
        Ok(true)
    }
}

fn failure<E: ProvideErrorMetadata, R>(operation: &'static str, err: &SdkError<E, R>) -> RotationError {
    RotationError::SecretsManager {
        operation,
        problem: problem(operation, err),
    }
}

/// What went wrong, in words an operator can act on; Secrets Manager's own message is left out
/// (it is not ours to vouch for), its error code is kept.
fn problem<E: ProvideErrorMetadata, R>(operation: &str, err: &SdkError<E, R>) -> String {
    let code = err.code().unwrap_or("no error code");
    match classify(err) {
        AwsFailure::Transient => format!("unavailable ({code}) after the SDK's retries"),
        AwsFailure::NotFound => "the secret or the version does not exist".into(),
        AwsFailure::AccessDenied => {
            format!("access denied: the rotation function's role needs secretsmanager:{operation} on the secret")
        }
        AwsFailure::Decryption => {
            "the secret's KMS key refused: the role needs kms:Decrypt and kms:GenerateDataKey on it".into()
        }
        AwsFailure::CredentialsRefused => "the function's AWS credentials were refused".into(),
        AwsFailure::InvalidRequest | AwsFailure::KeySchema | AwsFailure::Rejected => {
            format!("Secrets Manager refused the request ({code})")
        }
    }
}
