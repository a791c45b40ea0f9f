//! The Lambda entry point: one service on the raw event JSON that sends HTTP events (API Gateway
//! REST and HTTP APIs, function URLs, ALB) to the API handler and EventBridge schedules to warm-up.

mod events;
mod init_error;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::Instrument;

use crate::broker::{Broker, WarmUp};
use crate::domain::Deadline;
use crate::store::SessionStore;
use crate::telemetry::{EmfEmitter, Metrics};

pub use events::{HttpEvent, Invocation};
pub use init_error::report_init_error;

/// Serves invocations until the Runtime API goes away. Each invocation gets a metrics recorder of
/// its own, handed down the request path and written out as one EMF record after it.
pub async fn run<S: SessionStore>(
    broker: Arc<Broker<S>>,
    deadline_margin: Duration,
) -> Result<(), lambda_runtime::Error> {
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let emf = Arc::new(EmfEmitter::new(function_name));
    let cold = Arc::new(AtomicBool::new(true));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (broker, emf) = (Arc::clone(&broker), Arc::clone(&emf));
        // Every log line of the invocation carries these (and the runtime's span adds the request
        // id and X-Ray trace id).
        let span = tracing::info_span!(
            "invocation",
            cold_start = cold.swap(false, Ordering::Relaxed),
            function_name = event.context.env_config.function_name.as_str(),
            function_version = event.context.env_config.version.as_str(),
            service = crate::telemetry::SERVICE,
        );
        async move {
            let deadline = invocation_deadline(event.context.deadline, deadline_margin);
            let metrics = Metrics::new();
            let result = handle_event(&broker, event.payload, deadline, &metrics).await;
            emf.emit(&metrics);
            result
        }
        .instrument(span)
    }))
    .await
}

/// The longest init-time priming may take: Lambda's init phase is at most 10 s, and a step that
/// does not finish is simply left to the first request.
const PRIMING_BUDGET: Duration = Duration::from_secs(3);

/// Init-time priming: the broker's warm-up at init (see [`WarmUp::AtInit`]); a failing step is
/// logged and left for the first request to retry.
pub async fn prime<S: SessionStore>(broker: &Broker<S>) {
    // Nothing is reported for init: its figures are in Lambda's own init duration.
    broker
        .warm_up(Deadline::after(PRIMING_BUDGET), WarmUp::AtInit, &Metrics::new())
        .await;
}

/// Handles one invocation's payload; the error is the Lambda-level result for payloads this
/// function does not serve.
pub async fn handle_event<S: SessionStore>(
    broker: &Broker<S>,
    payload: Value,
    deadline: Deadline,
    metrics: &Metrics,
) -> Result<Value, Diagnostic> {
    match Invocation::classify(payload) {
        Invocation::Http(event) => Ok(event.respond(broker, deadline, metrics).await),
        Invocation::WarmUp => {
            metrics.outcome("warm-up");
            let report = broker.warm_up(deadline, WarmUp::Scheduled, metrics).await;
            Ok(serde_json::to_value(report).unwrap_or(Value::Null))
        }
        Invocation::Unsupported(what) => {
            tracing::warn!(payload = what, "unsupported invocation payload");
            Err(Diagnostic {
                error_type: "UnsupportedEvent".into(),
                error_message: format!(
                    "this function serves API Gateway, function URL and ALB HTTP events and EventBridge \
                     scheduled warm-ups; the payload was {what}"
                ),
            })
        }
    }
}

/// Anything below this (2001-01-01 in epoch milliseconds) is not an epoch time.
const EARLIEST_EPOCH_MS: u64 = 978_307_200_000;

/// The invocation deadline, less a margin in which the function still answers (503) before being
/// killed. Lambda sends epoch milliseconds; `cargo lambda watch` sends the milliseconds left, which
/// read as an epoch time would put every deadline in 1970.
fn invocation_deadline(deadline_ms: u64, margin: Duration) -> Deadline {
    let left = if deadline_ms < EARLIEST_EPOCH_MS {
        Duration::from_millis(deadline_ms)
    } else {
        (UNIX_EPOCH + Duration::from_millis(deadline_ms))
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    };
    Deadline::after(left.saturating_sub(margin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_deadlines_and_time_left_both_give_the_time_left() {
        let in_ten_seconds = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + 10_000;
        for deadline in [in_ten_seconds, 10_000] {
            let left = invocation_deadline(deadline, Duration::from_millis(500)).remaining();
            assert!(
                left > Duration::from_secs(9) && left <= Duration::from_millis(9_500),
                "{left:?}"
            );
        }
    }
}
