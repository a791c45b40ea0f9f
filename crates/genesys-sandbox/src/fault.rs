//! Injectable upstream failures: error statuses, slow answers and answers that never come.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use super::reply;

/// Long enough that any sane client timeout fires first.
const HANG: Duration = Duration::from_secs(3600);

/// One scripted misbehaviour, consumed by exactly one call to the endpoint it was pushed for.
#[derive(Clone, Debug, Default)]
pub struct Fault {
    delay: Option<Duration>,
    status: Option<u16>,
    retry_after: Option<u64>,
    body: Option<serde_json::Value>,
    raw_body: Option<Bytes>,
}

impl Fault {
    /// Answer with this status instead of handling the request.
    pub fn status(code: u16) -> Fault {
        Fault {
            status: Some(code),
            ..Fault::default()
        }
    }

    /// Adds a `Retry-After: secs` header to a status fault.
    pub fn retry_after(mut self, secs: u64) -> Fault {
        self.retry_after = Some(secs);
        self
    }

    /// Replaces the default JSON error body of a status fault.
    pub fn body(mut self, body: serde_json::Value) -> Fault {
        self.body = Some(body);
        self
    }

    /// Replaces the body of a status fault with these bytes, sent as they are (still labelled
    /// `application/json`): `Fault::status(200).raw_body("<html>")` is a garbage answer.
    pub fn raw_body(mut self, body: impl Into<Bytes>) -> Fault {
        self.raw_body = Some(body.into());
        self
    }

    /// Wait, then handle the request normally.
    pub fn delay(delay: Duration) -> Fault {
        Fault {
            delay: Some(delay),
            ..Fault::default()
        }
    }

    /// Never answer in practice; the client under test is expected to time out.
    pub fn hang() -> Fault {
        Fault::delay(HANG)
    }

    /// Plays the fault out. `Some` is the response to send instead of normal handling. The
    /// default error body is the platform envelope for endpoints that answer with it.
    pub(crate) async fn play(self, platform_envelope: bool) -> Option<Response<Bytes>> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let code = self.status?;
        // An out-of-range code is a test-author mistake; a 500 keeps the request path panic-free.
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.body.unwrap_or_else(|| {
            if platform_envelope {
                reply::platform_error_body(status, "fault", "injected fault")
            } else {
                json!({"status": status.as_u16(), "code": "fault", "message": "injected fault"})
            }
        });
        let mut response = reply::json(status, &body);
        if let Some(raw) = self.raw_body {
            *response.body_mut() = raw;
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{grant, start_default};
    use super::super::{Endpoint, Fault};
    use std::time::Duration;

    #[tokio::test]
    async fn status_fault_with_retry_after_is_consumed_once_then_normal_service_resumes() {
        let sandbox = start_default().await;
        sandbox.push_fault(Endpoint::OAuthToken, Fault::status(429).retry_after(7));

        let faulted = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(faulted.status(), 429);
        assert_eq!(faulted.headers()["retry-after"], "7");
        let body: serde_json::Value = faulted.json().await.unwrap();
        assert_eq!(body["status"], 429);
        assert_eq!(body["code"], "fault");

        let normal = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(normal.status(), 200);
        assert_eq!(sandbox.calls(Endpoint::OAuthToken), 2);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn faults_are_played_in_the_order_they_were_pushed() {
        let sandbox = start_default().await;
        sandbox.push_fault(Endpoint::OAuthToken, Fault::status(503));
        sandbox.push_fault(
            Endpoint::OAuthToken,
            Fault::status(502).body(serde_json::json!({"custom": true})),
        );

        let first = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(first.status(), 503);
        assert!(first.headers().get("retry-after").is_none());
        let second = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(second.status(), 502);
        let body: serde_json::Value = second.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"custom": true}));
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn delay_fault_answers_normally_afterwards() {
        let sandbox = start_default().await;
        sandbox.push_fault(Endpoint::OAuthToken, Fault::delay(Duration::from_millis(1)));
        let response = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(response.status(), 200);
        assert_eq!(sandbox.oauth_client_ids(), ["sandbox-client"]);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn hang_fault_outlasts_a_client_timeout_and_still_counts_the_call() {
        let sandbox = start_default().await;
        sandbox.push_fault(Endpoint::OAuthToken, Fault::hang());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let result = client
            .post(format!("{}/oauth/token", sandbox.base_url()))
            .basic_auth("sandbox-client", Some("sandbox-secret"))
            .body("grant_type=client_credentials")
            .send()
            .await;
        assert!(result.is_err_and(|err| err.is_timeout()));
        assert_eq!(sandbox.calls(Endpoint::OAuthToken), 1);
        assert!(sandbox.oauth_client_ids().is_empty());
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn fault_for_one_endpoint_leaves_the_others_alone() {
        let sandbox = start_default().await;
        sandbox.push_fault(Endpoint::CreateGuest, Fault::status(500));
        let response = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(response.status(), 200);
        sandbox.shutdown().await;
    }
}
