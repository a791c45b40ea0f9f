//! The guest function: HTTP requests go to the guest API, the EventBridge schedule to the
//! broker's warm-up; init-time priming is the same warm-up, at init.

use std::time::Duration;

use serde_json::Value;

use crate::api;
use crate::broker::{Broker, WarmUp};
use crate::domain::Deadline;
use crate::store::{CodeStore, SessionStore};
use crate::telemetry::Metrics;
use crate::web::{ApiRequest, ApiResponse};

use super::Function;

impl<S: SessionStore + CodeStore> Function for Broker<S> {
    async fn serve_http(&self, request: ApiRequest<'_>, deadline: Deadline, metrics: &Metrics) -> ApiResponse {
        api::handle(self, request, deadline, metrics).await
    }

    async fn scheduled(&self, deadline: Deadline, metrics: &Metrics) -> Option<Value> {
        metrics.outcome("warm-up");
        let report = self.warm_up(deadline, WarmUp::Scheduled, metrics).await;
        Some(serde_json::to_value(report).unwrap_or(Value::Null))
    }
}

/// The longest init-time priming may take: Lambda's init phase is at most 10 s, and a step that
/// does not finish is simply left to the first request.
const PRIMING_BUDGET: Duration = Duration::from_secs(3);

/// Init-time priming: the broker's warm-up at init (see [`WarmUp::AtInit`]); a failing step is
/// logged and left for the first request to retry.
pub async fn prime<S: SessionStore + CodeStore>(broker: &Broker<S>) {
    // Nothing is reported for init: its figures are in Lambda's own init duration.
    broker
        .warm_up(Deadline::after(PRIMING_BUDGET), WarmUp::AtInit, &Metrics::new())
        .await;
}
