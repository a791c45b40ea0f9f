//! The end of every request, under both functions: a failure becomes its envelope (its cause goes
//! to the log only), the outcome is counted, and one line says what happened.

use std::time::Instant;

use crate::telemetry::Metrics;

use super::{ApiError, ApiResponse, ErrorKind};

/// What a route answered with the outcome to count (`issued`, `discovery`, …), or its failure.
pub type Answered = Result<(ApiResponse, &'static str), ApiError>;

/// The response and outcome of `answered`: a failure is logged with its cause and answered with
/// its envelope; Genesys's refusals are counted.
pub fn settle(answered: Answered, metrics: &Metrics) -> (ApiResponse, &'static str) {
    answered.unwrap_or_else(|err| {
        if err.kind() == ErrorKind::UpstreamRejected {
            metrics.upstream_rejection();
        }
        let outcome = err.log();
        (err.into_response(), outcome)
    })
}

/// Counts `outcome` and logs the request's one line: route, status, outcome, the correlation id
/// when there is one, and the duration since `started`.
pub fn finish(
    route: &'static str,
    response: &ApiResponse,
    outcome: &'static str,
    correlation_id: Option<&str>,
    started: Instant,
    metrics: &Metrics,
) {
    metrics.outcome(outcome);
    tracing::info!(
        route,
        status = response.status().as_u16(),
        outcome,
        correlation_id,
        duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        "request"
    );
}
