//! Bounded retries with exponential backoff and full jitter, fitted inside a request deadline.

use std::future::Future;
use std::time::Duration;

use crate::domain::Deadline;
use crate::telemetry::{Metrics, Subsegment, XRay};

use super::{Endpoint, GenesysError};

/// How hard to try one upstream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles per attempt up to `max_delay`.
    pub base_delay: Duration,
    /// The longest backoff between two attempts.
    pub max_delay: Duration,
    /// Longest a single HTTP exchange may take (further capped by the deadline).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(3),
        }
    }
}

impl RetryPolicy {
    /// Full jitter (AWS architecture blog): uniform in [0, min(max, base·2^(n-1))], so a burst of
    /// instances that failed together does not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }

    /// The timeout for the next exchange, or `None` when the deadline has no room left for one.
    pub(crate) fn attempt_timeout(&self, deadline: Deadline) -> Option<Duration> {
        let remaining = deadline.remaining();
        (!remaining.is_zero()).then(|| remaining.min(self.attempt_timeout))
    }
}

/// What one attempt came to.
pub(crate) enum Step<T, E> {
    Done(T),
    /// Worth another attempt: after `after` when upstream said so (`Retry-After`), else after backoff.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    Fail(E),
}

/// Runs `attempt` until it is done, fails, runs out of attempts, or the next wait would not fit
/// before the deadline. Running out is `GenesysError::Unavailable` carrying upstream's `Retry-After`.
pub(crate) async fn with_retries<T, E, F, Fut>(
    policy: &RetryPolicy,
    deadline: Deadline,
    endpoint: Endpoint,
    metrics: &Metrics,
    mut attempt: F,
) -> Result<T, E>
where
    E: From<GenesysError>,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Step<T, E>>,
{
    let mut retries = Retries::new(policy, deadline, endpoint);
    loop {
        match attempt(retries.number()).await {
            Step::Done(value) => return Ok(value),
            Step::Fail(err) => return Err(err),
            Step::Retry { after, reason } => retries.wait(after, reason, metrics).await?,
        }
    }
}

/// The retry budget of one call, for callers that run the attempts themselves (the code
/// exchange, whose every attempt needs a code the caller mints).
pub(crate) struct Retries<'a> {
    policy: &'a RetryPolicy,
    deadline: Deadline,
    endpoint: Endpoint,
    number: u32,
}

impl<'a> Retries<'a> {
    pub(crate) fn new(policy: &'a RetryPolicy, deadline: Deadline, endpoint: Endpoint) -> Self {
        Self {
            policy,
            deadline,
            endpoint,
            number: 1,
        }
    }

    /// The attempt about to run, from 1.
    pub(crate) fn number(&self) -> u32 {
        self.number
    }

    /// After a failed attempt worth another: waits `after` (upstream's `Retry-After`) or the
    /// backoff and counts the next attempt, or gives up with `Unavailable` when the attempts are
    /// spent or the wait would not fit before the deadline.
    pub(crate) async fn wait(
        &mut self,
        after: Option<Duration>,
        reason: String,
        metrics: &Metrics,
    ) -> Result<(), GenesysError> {
        let wait = after.unwrap_or_else(|| self.policy.backoff(self.number));
        if self.number >= self.policy.max_attempts || !self.deadline.allows(wait) {
            return Err(GenesysError::Unavailable {
                endpoint: self.endpoint,
                reason,
                retry_after: after,
            });
        }
        let (endpoint, attempt) = (self.endpoint, self.number);
        tracing::info!(%endpoint, attempt, wait_ms = wait.as_millis() as u64, %reason, "retrying Genesys call");
        metrics.retry();
        tokio::time::sleep(wait).await;
        self.number += 1;
        Ok(())
    }
}

/// The longest `Retry-After` taken from upstream (and so passed on to callers): a larger value,
/// however large, is read as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// `Retry-After` in whole seconds, as Genesys sends it, at most [`MAX_RETRY_AFTER`]. Anything else
/// (negative, fractional, an HTTP date, garbage) is ignored: the backoff applies instead.
pub(crate) fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    parse_retry_after(response.headers().get(reqwest::header::RETRY_AFTER)?.as_bytes())
}

fn parse_retry_after(value: &[u8]) -> Option<Duration> {
    let digits = std::str::from_utf8(value).ok()?.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: too many of them is simply a very long wait.
    let seconds = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Sends one attempt with the time the deadline leaves (at most the attempt timeout), timing it
/// for the upstream-latency metric. No time left, or a transport failure, is the step to take.
pub(crate) async fn send_attempt<T, E: From<GenesysError>>(
    policy: &RetryPolicy,
    deadline: Deadline,
    endpoint: Endpoint,
    xray: &XRay,
    metrics: &Metrics,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Step<T, E>> {
    let Some(timeout) = policy.attempt_timeout(deadline) else {
        return Err(Step::Fail(
            GenesysError::Unavailable {
                endpoint,
                reason: "no time left before the request deadline".into(),
                retry_after: None,
            }
            .into(),
        ));
    };
    let (started, wall_start) = (std::time::Instant::now(), std::time::SystemTime::now());
    let sent = request.timeout(timeout).send().await;
    metrics.upstream_latency(started.elapsed());
    xray.record(&Subsegment {
        name: "Genesys Cloud".to_owned(),
        namespace: "remote",
        operation: endpoint.to_string(),
        started: wall_start,
        ended: std::time::SystemTime::now(),
        status: sent.as_ref().ok().map(|response| response.status().as_u16()),
    });
    sent.map_err(|err| {
        let reason = transport_failure(&err);
        // A connection that never opened carried nothing; anything later may have been served.
        if endpoint.may_repeat() || err.is_connect() {
            Step::Retry { after: None, reason }
        } else {
            Step::Fail(GenesysError::Indeterminate { endpoint, reason }.into())
        }
    })
}

/// The one reading of an error status, for every endpoint (the OAuth token endpoint's
/// `invalid_client` and the API's 401 are read by their callers first): 429 and 503 mean "not
/// served, try later"; another 5xx is tried again only where repeating is harmless; 403 means a
/// missing scope; anything else is a refusal. Logs the answer with its `ININ-Correlation-Id`.
pub(crate) fn step_for_status<T, E: From<GenesysError>>(
    endpoint: Endpoint,
    response: &reqwest::Response,
    metrics: &Metrics,
) -> Step<T, E> {
    log_failed_answer(endpoint, response);
    let status = response.status().as_u16();
    let fail = |err: GenesysError| Step::Fail(err.into());
    match status {
        429 => {
            metrics.genesys_rate_limited();
            Step::Retry {
                after: retry_after(response),
                reason: "rate limited (HTTP 429)".into(),
            }
        }
        // 503 says the request was not served; another 5xx may come after the work was done.
        503 => Step::Retry {
            after: retry_after(response),
            reason: "HTTP 503".into(),
        },
        500..=599 if endpoint.may_repeat() => Step::Retry {
            after: retry_after(response),
            reason: format!("HTTP {status}"),
        },
        500..=599 => fail(GenesysError::Indeterminate {
            endpoint,
            reason: format!("HTTP {status}"),
        }),
        403 => fail(GenesysError::Forbidden { endpoint }),
        _ => fail(GenesysError::Rejected { endpoint, status }),
    }
}

/// Logs a non-2xx answer with Genesys's `ININ-Correlation-Id`, so a support case can be opened
/// from the log line. The header is logged only when it looks like one (a UUID-like token), so
/// an upstream cannot write arbitrary text into the log.
pub(crate) fn log_failed_answer(endpoint: Endpoint, response: &reqwest::Response) {
    let correlation = response
        .headers()
        .get("inin-correlation-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    tracing::warn!(
        %endpoint,
        status = response.status().as_u16(),
        inin_correlation_id = correlation,
        "Genesys answered with an error"
    );
}

/// What went wrong on the wire, for logs and errors.
fn transport_failure(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        "transport error".into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after_of_any_size_is_clamped_and_garbage_ignored() {
        let parse = |text: &str| super::parse_retry_after(text.as_bytes());
        assert_eq!(parse("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse(" 30 "), Some(Duration::from_secs(30)));
        for huge in [
            "9223372036854775807",
            "18446744073709551616",
            "99999999999999999999999999",
        ] {
            assert_eq!(parse(huge), Some(MAX_RETRY_AFTER), "{huge}");
        }
        for garbage in ["-1", "1.5", "", "Wed, 21 Oct 2015 07:28:00 GMT", "+5", "5s"] {
            assert_eq!(parse(garbage), None, "{garbage}");
        }
    }

    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_stays_under_the_cap() {
        let policy = RetryPolicy::default();
        for attempt in 1..40 {
            let ceiling = (Duration::from_millis(100) * 2u32.pow((attempt - 1).min(16))).min(Duration::from_secs(2));
            assert!(policy.backoff(attempt) <= ceiling);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_upstreams_retry_after() {
        let policy = RetryPolicy::default();
        let mut calls = 0;
        let metrics = Metrics::new();
        let result: Result<(), GenesysError> = with_retries(
            &policy,
            Deadline::after(Duration::from_secs(60)),
            Endpoint::GuestToken,
            &metrics,
            |_| {
                calls += 1;
                async {
                    Step::Retry {
                        after: Some(Duration::from_secs(1)),
                        reason: "HTTP 429".into(),
                    }
                }
            },
        )
        .await;
        assert_eq!(calls, 4);
        assert_eq!(metrics.snapshot().retries, 3, "each attempt after the first is counted");
        assert!(matches!(
            result,
            Err(GenesysError::Unavailable { retry_after: Some(d), .. }) if d == Duration::from_secs(1)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn never_sleeps_past_the_deadline() {
        let policy = RetryPolicy::default();
        let mut calls = 0;
        let started = tokio::time::Instant::now();
        let result: Result<(), GenesysError> = with_retries(
            &policy,
            Deadline::after(Duration::from_secs(5)),
            Endpoint::CreateGuest,
            &Metrics::new(),
            |_| {
                calls += 1;
                async {
                    Step::Retry {
                        after: Some(Duration::from_secs(30)),
                        reason: "HTTP 429".into(),
                    }
                }
            },
        )
        .await;
        assert_eq!(calls, 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(matches!(result, Err(GenesysError::Unavailable { .. })));
    }
}
