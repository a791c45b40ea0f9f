//! The four steps. Each first looks at the labels of the event's version, so a step run again
//! (Secrets Manager retries, a step invoked twice) finds its work done and changes nothing.

use std::time::Duration;

use chrono::Utc;
use secrecy::ExposeSecret;

use crate::domain::Deadline;
use crate::telemetry::Metrics;

use super::document::CredentialDocument;
use super::versions::{CURRENT, PENDING};
use super::{RotationError, SecretRotation};

/// Kept for storing the regenerated secret: Genesys's answer holds its only copy, so the call
/// that makes it must leave the store (retried, `versions::put_pending`) this much of the
/// invocation, whatever Genesys's retries take.
const STORE_RESERVE: Duration = Duration::from_secs(12);
/// The least time the regenerate call itself is given; with less, nothing is regenerated.
const REGENERATE_AT_LEAST: Duration = Duration::from_secs(3);

impl SecretRotation {
    /// `createSecret`: a new secret for the credential rotated longest ago, stored with the rest
    /// of the set as the `AWSPENDING` version `token`.
    pub(super) async fn create(
        &self,
        token: &str,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<&'static str, RotationError> {
        if self.versions.labels(token).await?.iter().any(|label| label == CURRENT) {
            return Ok("already-current");
        }
        if self.versions.value(Some(token), PENDING).await?.is_some() {
            return Ok("already-pending");
        }
        let current = self.current().await?;
        let index = current.candidate()?;
        let client_id = current.credentials()[index].client_id.as_str();
        self.another_works(&current, index, deadline, metrics).await?;
        if !deadline.allows(STORE_RESERVE + REGENERATE_AT_LEAST) {
            return Err(RotationError::TooLittleTime);
        }
        let secret = self
            .admin
            .regenerate_client_secret(client_id, deadline.earlier_by(STORE_RESERVE), metrics)
            .await
            .map_err(RotationError::genesys(
                "regenerating the client secret at Genesys with the admin client (nothing was changed)",
            ))?;
        tracing::info!(
            client_id,
            "regenerated the client secret at Genesys; storing the set with it as AWSPENDING"
        );
        let text = current.with_new_secret(index, &secret, Utc::now());
        self.versions
            .put_pending(token, &text, deadline)
            .await
            .map_err(|problem| RotationError::Unstored {
                client_id: client_id.to_owned(),
                problem,
            })?;
        Ok("stored")
    }

    /// `setSecret`: Genesys set the new secret when it made it in `createSecret`.
    pub(super) async fn set(&self, token: &str) -> Result<&'static str, RotationError> {
        if self.is_current(token).await? {
            return Ok("already-current");
        }
        tracing::info!(
            "setSecret: nothing to do at Genesys: createSecret regenerated the secret there, which set it at once"
        );
        Ok("nothing-to-do")
    }

    /// `testSecret`: each credential the pending version changed gets an access token.
    pub(super) async fn test(
        &self,
        token: &str,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<&'static str, RotationError> {
        if self.is_current(token).await? {
            return Ok("already-current");
        }
        let pending = self
            .versions
            .value(Some(token), PENDING)
            .await?
            .ok_or_else(|| RotationError::NotPending {
                token: token.to_owned(),
            })?;
        let pending = CredentialDocument::parse(pending.expose_secret())?;
        let current = self.current().await?;
        let changed = pending.changed_from(&current);
        if changed.is_empty() {
            tracing::warn!("the pending version changes no credential; nothing to test");
            return Ok("unchanged");
        }
        for credential in changed {
            let accepted = self
                .admin
                .accepts_credential(credential, deadline, metrics)
                .await
                .map_err(RotationError::genesys("testing the pending secret"))?;
            if !accepted {
                return Err(RotationError::PendingRefused {
                    client_id: credential.client_id.clone(),
                });
            }
            tracing::info!(client_id = %credential.client_id, "Genesys accepts the pending secret");
        }
        Ok("accepted")
    }

    /// `finishSecret`: the pending version becomes `AWSCURRENT`.
    pub(super) async fn finish(&self, token: &str) -> Result<&'static str, RotationError> {
        Ok(if self.versions.make_current(token).await? {
            "current"
        } else {
            "already-current"
        })
    }

    /// Whether `token` is current already (a step of a rotation that finished); an error when it
    /// is not pending either.
    async fn is_current(&self, token: &str) -> Result<bool, RotationError> {
        let labels = self.versions.labels(token).await?;
        if labels.iter().any(|label| label == CURRENT) {
            return Ok(true);
        }
        if labels.iter().any(|label| label == PENDING) {
            return Ok(false);
        }
        Err(RotationError::NotPending {
            token: token.to_owned(),
        })
    }

    async fn current(&self) -> Result<CredentialDocument, RotationError> {
        let text = self
            .versions
            .value(None, CURRENT)
            .await?
            .ok_or_else(|| RotationError::SecretsManager {
                operation: "GetSecretValue",
                problem: "the secret has no AWSCURRENT version".into(),
            })?;
        CredentialDocument::parse(text.expose_secret())
    }

    /// Succeeds once a credential of the set other than the one at `rotated` gets a token: the
    /// set keeps one that works while the rotated one changes.
    async fn another_works(
        &self,
        set: &CredentialDocument,
        rotated: usize,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<(), RotationError> {
        let others = set
            .credentials()
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != rotated);
        for (_, other) in others {
            let accepted =
                self.admin
                    .accepts_credential(other, deadline, metrics)
                    .await
                    .map_err(RotationError::genesys(
                        "checking that another credential of the set works (nothing was changed)",
                    ))?;
            if accepted {
                tracing::info!(client_id = %other.client_id, "another credential of the set works");
                return Ok(());
            }
            tracing::warn!(client_id = %other.client_id, "Genesys refuses this credential of the set");
        }
        Err(RotationError::NoOtherWorks {
            candidate: set.credentials()[rotated].client_id.clone(),
        })
    }
}
