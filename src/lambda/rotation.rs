//! The credential rotation function: Secrets Manager's rotation events go to the rotation; a
//! failed step is the invocation's error, so Secrets Manager sees it (and retries the rotation)
//! and the function's error metric counts it.

use lambda_runtime::Diagnostic;
use serde_json::Value;

use crate::domain::Deadline;
use crate::rotation::SecretRotation;
use crate::telemetry::Metrics;

use super::Handler;

impl Handler for SecretRotation {
    async fn handle(&self, payload: Value, deadline: Deadline, metrics: &Metrics) -> Result<Value, Diagnostic> {
        self.handle(&payload, deadline, metrics)
            .await
            .map_err(|err| Diagnostic {
                error_type: err.kind().into(),
                error_message: err.to_string(),
            })
    }
}
