//! The credential rotation function (`secret-rotation`): Secrets Manager's four rotation steps
//! for the Genesys credential set, "alternating users" style. The set holds two (or more) OAuth
//! clients; each rotation regenerates one client's secret at Genesys while the others serve:
//!
//! - `createSecret` picks the credential rotated longest ago (never the only one), checks that
//!   another credential of the set gets a token (so the last working one is never rotated away),
//!   regenerates the chosen client's secret with the admin client, and stores the whole set with
//!   the new secret as the `AWSPENDING` version of the event's `ClientRequestToken`;
//! - `setSecret` has nothing left to do: Genesys set the secret when it made it;
//! - `testSecret` gets an access token with the pending secret;
//! - `finishSecret` moves `AWSCURRENT` to the pending version.
//!
//! Each step is idempotent by `ClientRequestToken` (a step run again finds its work done), and a
//! rotation that fails leaves `AWSCURRENT` as it was. Genesys refuses the rotated client's old
//! secret from `createSecret` on; the guest function moves to the next credential on that refusal
//! and reads the set again (see `docs/operations.md`, "Rotating the Genesys client secrets").

mod document;
mod error;
mod event;
mod steps;
mod versions;

pub use error::RotationError;
pub use versions::SecretVersions;

use event::{RotationEvent, Step};

use serde_json::{Value, json};

use crate::domain::Deadline;
use crate::genesys::GenesysClient;
use crate::telemetry::Metrics;

/// The rotation of one credentials secret, built once at init.
pub struct SecretRotation {
    versions: SecretVersions,
    /// Its credential source holds the admin client (`oauth:client:edit`) alone.
    admin: GenesysClient,
}

impl SecretRotation {
    /// Rotates the secret of `versions`, regenerating client secrets through `admin`.
    pub fn new(versions: SecretVersions, admin: GenesysClient) -> Self {
        Self { versions, admin }
    }

    /// Runs the step `payload` asks for; the answer names the step and what it came to (`stored`,
    /// `already-pending`, …). Counted in `metrics` as one step done or failed, the step's name
    /// as the outcome.
    pub async fn handle(&self, payload: &Value, deadline: Deadline, metrics: &Metrics) -> Result<Value, RotationError> {
        let result = self.run(payload, deadline, metrics).await;
        match &result {
            Ok(_) => metrics.rotation_step_done(),
            Err(err) => {
                metrics.rotation_step_failed();
                tracing::error!(error = %err, kind = err.kind(), "rotation step failed");
            }
        }
        result
    }

    async fn run(&self, payload: &Value, deadline: Deadline, metrics: &Metrics) -> Result<Value, RotationError> {
        let event = RotationEvent::parse(payload).inspect_err(|_| metrics.outcome("invalid-event"))?;
        metrics.outcome(event.step.name());
        if event.secret_id != self.versions.secret_id() {
            return Err(RotationError::OtherSecret {
                requested: event.secret_id,
                configured: self.versions.secret_id().to_owned(),
            });
        }
        let token = event.token.as_str();
        let came_to = match event.step {
            Step::Create => self.create(token, deadline, metrics).await?,
            Step::Set => self.set(token).await?,
            Step::Test => self.test(token, deadline, metrics).await?,
            Step::Finish => self.finish(token).await?,
        };
        tracing::info!(
            step = event.step.name(),
            version = token,
            result = came_to,
            "rotation step done"
        );
        Ok(json!({"step": event.step.name(), "result": came_to}))
    }
}
