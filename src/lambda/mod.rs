//! The Lambda entry point of the functions: one service on the raw event JSON. The HTTP functions
//! send HTTP events (API Gateway REST and HTTP APIs, function URLs, ALB) to their HTTP handler and
//! EventBridge schedules to their warm-up; [`Function`] is what each of them serves: the guest
//! function (`guest`) and the OpenID Connect provider (`oidc`). The credential rotation function
//! (`rotation`) takes Secrets Manager's rotation events as they come ([`Handler`]).

mod events;
mod guest;
mod init_error;
mod oidc;
mod rotation;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::Instrument;

use crate::domain::Deadline;
use crate::telemetry::{EmfEmitter, Metrics};
use crate::web::{ApiRequest, ApiResponse};

pub use events::{HttpEvent, Invocation};
pub use guest::prime;
pub use init_error::report_init_error;

/// What a Lambda function built on this crate serves.
pub trait Function: Send + Sync + 'static {
    /// Answers an HTTP request (any of the HTTP event kinds, decoded).
    fn serve_http(
        &self,
        request: ApiRequest<'_>,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> impl Future<Output = ApiResponse> + Send;

    /// Answers a scheduled EventBridge event with its report, or `None` when the function has no
    /// schedule (the event is then unsupported).
    fn scheduled(&self, deadline: Deadline, metrics: &Metrics) -> impl Future<Output = Option<Value>> + Send;
}

/// What the Lambda loop runs for each invocation: its payload in, the function's result (or the
/// Lambda-level error) out.
pub trait Handler: Send + Sync + 'static {
    /// Handles one invocation's payload.
    fn handle(
        &self,
        payload: Value,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> impl Future<Output = Result<Value, Diagnostic>> + Send;
}

/// An HTTP function as the loop runs it: through [`handle_event`].
struct HttpFunction<F>(Arc<F>);

impl<F: Function> Handler for HttpFunction<F> {
    fn handle(
        &self,
        payload: Value,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> impl Future<Output = Result<Value, Diagnostic>> + Send {
        handle_event(self.0.as_ref(), payload, deadline, metrics)
    }
}

/// Runs `function` on the Lambda Runtime API until it goes away: what each HTTP function's
/// binary's `main` ends with.
pub async fn serve<F: Function>(function: Arc<F>, deadline_margin: Duration) -> ExitCode {
    serve_events(Arc::new(HttpFunction(function)), deadline_margin).await
}

/// Runs `handler` on the Lambda Runtime API until it goes away, for a function that takes its
/// events as they come (the rotation function).
pub async fn serve_events<H: Handler>(handler: Arc<H>, deadline_margin: Duration) -> ExitCode {
    let function_name = crate::config::function_name();
    match run(handler, function_name, deadline_margin).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// A failed initialisation, logged and reported through the Runtime API so the console shows
/// what to fix.
pub async fn init_failed(err: &dyn std::fmt::Display) -> ExitCode {
    tracing::error!(error = %err, "initialisation failed");
    report_init_error("Runtime.ConfigurationError", &err.to_string()).await;
    ExitCode::FAILURE
}

/// Serves invocations until the Runtime API goes away. Each invocation gets a metrics recorder of
/// its own, handed down the request path and written out as one EMF record after it.
async fn run<H: Handler>(
    function: Arc<H>,
    function_name: String,
    deadline_margin: Duration,
) -> Result<(), lambda_runtime::Error> {
    let emf = Arc::new(EmfEmitter::new(function_name));
    let cold = Arc::new(AtomicBool::new(true));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (function, emf) = (Arc::clone(&function), Arc::clone(&emf));
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
            let result = function.handle(event.payload, deadline, &metrics).await;
            emf.emit(&metrics);
            result
        }
        .instrument(span)
    }))
    .await
}

/// Handles one invocation's payload; the error is the Lambda-level result for payloads this
/// function does not serve.
pub async fn handle_event<F: Function>(
    function: &F,
    payload: Value,
    deadline: Deadline,
    metrics: &Metrics,
) -> Result<Value, Diagnostic> {
    let what = match Invocation::classify(payload) {
        Invocation::Http(event) => return Ok(event.respond(function, deadline, metrics).await),
        Invocation::WarmUp => match function.scheduled(deadline, metrics).await {
            Some(report) => return Ok(report),
            None => "a scheduled event, and this function has no schedule",
        },
        Invocation::Unsupported(what) => what,
    };
    tracing::warn!(payload = what, "unsupported invocation payload");
    Err(Diagnostic {
        error_type: "UnsupportedEvent".into(),
        error_message: format!(
            "this function serves API Gateway, function URL and ALB HTTP events (and the guest function \
             EventBridge scheduled warm-ups); the payload was {what}"
        ),
    })
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
