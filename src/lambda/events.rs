//! HTTP events in and out of Lambda. Each event kind is recognised by its own keys and read with
//! the `aws_lambda_events` types; the response goes back in the shape that kind expects.
//!
//! Decoding is ours rather than `lambda_http`'s adapter because that adapter panics on a body that
//! claims base64 and is not; here such a body is a 400.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::Method;
use lambda_http::aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupResponse};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse,
};
use lambda_http::aws_lambda_events::encodings::Body;
use serde_json::Value;

use crate::api::CORRELATION_HEADER;
use crate::domain::Deadline;
use crate::telemetry::Metrics;
use crate::web::{ApiError, ApiRequest, ApiResponse, MAX_BODY_BYTES};

use super::Function;

/// What an invocation asks for.
#[derive(Debug)]
pub enum Invocation {
    /// An HTTP request, from any of the supported front ends.
    Http(HttpEvent),
    /// The EventBridge schedule's event (`aws.events`, `Scheduled Event`): a warm-up.
    WarmUp,
    /// Anything else, described in a few words for the error result.
    Unsupported(&'static str),
}

/// An HTTP request event, by the front end that sent it.
pub enum HttpEvent {
    /// REST API (API Gateway, payload 1.0).
    RestApi(Box<ApiGatewayProxyRequest>),
    /// HTTP API (payload 2.0) and function URLs.
    HttpApi(Box<ApiGatewayV2httpRequest>),
    /// An Application Load Balancer target group.
    Alb(Box<AlbTargetGroupRequest>),
}

impl Invocation {
    /// What `payload` asks for, recognised by its keys; never fails.
    pub fn classify(payload: Value) -> Self {
        let has = |key: &str| payload.get(key).is_some();
        let context_has = |key: &str| payload.get("requestContext").and_then(|c| c.get(key)).is_some();
        if payload.get("source").and_then(Value::as_str) == Some("aws.events")
            && payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        {
            return Self::WarmUp;
        }
        let parsed = if context_has("elb") {
            serde_json::from_value(payload).map(|e| HttpEvent::Alb(Box::new(e)))
        } else if context_has("http") {
            serde_json::from_value(payload).map(|e| HttpEvent::HttpApi(Box::new(e)))
        } else if has("httpMethod") && has("requestContext") {
            serde_json::from_value(payload).map(|e| HttpEvent::RestApi(Box::new(e)))
        } else if payload.is_object() {
            return Self::Unsupported("a JSON object that is neither an HTTP event nor a scheduled event");
        } else {
            return Self::Unsupported("not a JSON object");
        };
        parsed.map_or(
            Self::Unsupported("an HTTP event with missing or mistyped fields"),
            Self::Http,
        )
    }
}

/// Events carry the raw CRM id in their body: `Debug` shows the origin, method and path only.
impl std::fmt::Debug for HttpEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = match self {
            Self::RestApi(_) => "RestApi",
            Self::HttpApi(_) => "HttpApi",
            Self::Alb(_) => "Alb",
        };
        let (method, path, body, _) = self.parts();
        f.debug_struct("HttpEvent")
            .field("origin", &origin)
            .field("method", method)
            .field("path", &path)
            .field("body_chars", &body.map_or(0, str::len))
            .finish()
    }
}

impl HttpEvent {
    fn parts(&self) -> (&Method, &str, Option<&str>, bool) {
        match self {
            Self::RestApi(e) => (
                &e.http_method,
                e.path.as_deref().unwrap_or("/"),
                e.body.as_deref(),
                e.is_base64_encoded,
            ),
            Self::HttpApi(e) => (
                &e.request_context.http.method,
                e.raw_path.as_deref().unwrap_or("/"),
                e.body.as_deref(),
                e.is_base64_encoded,
            ),
            Self::Alb(e) => (
                &e.http_method,
                e.path.as_deref().unwrap_or("/"),
                e.body.as_deref(),
                e.is_base64_encoded,
            ),
        }
    }

    /// The caller's correlation header and the gateway's request id (ALB has none).
    fn correlation(&self) -> (Option<&str>, Option<&str>) {
        fn header<'h>(headers: &'h http::HeaderMap, multi: &'h http::HeaderMap) -> Option<&'h str> {
            headers
                .get(CORRELATION_HEADER)
                .or_else(|| multi.get(CORRELATION_HEADER))
                .and_then(|value| value.to_str().ok())
        }
        match self {
            Self::RestApi(e) => (
                header(&e.headers, &e.multi_value_headers),
                e.request_context.request_id.as_deref(),
            ),
            Self::HttpApi(e) => (
                e.headers.get(CORRELATION_HEADER).and_then(|value| value.to_str().ok()),
                e.request_context.request_id.as_deref(),
            ),
            Self::Alb(e) => (header(&e.headers, &e.multi_value_headers), None),
        }
    }

    /// The `Authorization` header (the OIDC token endpoint's client authentication).
    fn authorization(&self) -> Option<&str> {
        let (headers, multi) = match self {
            Self::RestApi(e) => (&e.headers, Some(&e.multi_value_headers)),
            Self::HttpApi(e) => (&e.headers, None),
            Self::Alb(e) => (&e.headers, Some(&e.multi_value_headers)),
        };
        headers
            .get(http::header::AUTHORIZATION)
            .or_else(|| multi.and_then(|multi| multi.get(http::header::AUTHORIZATION)))
            .and_then(|value| value.to_str().ok())
    }

    /// Runs the function's HTTP handler and shapes its response for the event's origin.
    pub async fn respond<F: Function>(&self, function: &F, deadline: Deadline, metrics: &Metrics) -> Value {
        let (method, path, body, base64) = self.parts();
        let (correlation_header, gateway_request_id) = self.correlation();
        let response = match decode_body(body, base64) {
            Ok(body) => {
                let request = ApiRequest {
                    correlation_header,
                    gateway_request_id,
                    authorization: self.authorization(),
                    ..ApiRequest::new(method, path, &body)
                };
                function.serve_http(request, deadline, metrics).await
            }
            Err(err) => {
                err.log();
                err.into_response()
            }
        };
        self.shape(response)
    }

    fn shape(&self, response: ApiResponse) -> Value {
        let (parts, bytes) = response.into_parts();
        let status_code = i64::from(parts.status.as_u16());
        // Bodies are JSON text; an empty one (204) is sent as no body.
        let body = (!bytes.is_empty()).then(|| Body::Text(String::from_utf8_lossy(&bytes).into_owned()));
        let shaped = match self {
            Self::RestApi(_) => {
                let mut out = ApiGatewayProxyResponse::default();
                out.status_code = status_code;
                // REST APIs merge `headers` into `multiValueHeaders`; one of them avoids duplicates.
                out.multi_value_headers = parts.headers;
                out.body = body;
                serde_json::to_value(out)
            }
            Self::HttpApi(_) => {
                let mut out = ApiGatewayV2httpResponse::default();
                out.status_code = status_code;
                out.headers = parts.headers;
                out.body = body;
                serde_json::to_value(out)
            }
            Self::Alb(request) => {
                let mut out = AlbTargetGroupResponse::default();
                out.status_code = status_code;
                out.status_description = Some(parts.status.to_string());
                // A target group with multi-value headers on expects them in the response too.
                if request.multi_value_headers.is_empty() {
                    out.headers = parts.headers;
                } else {
                    out.multi_value_headers = parts.headers;
                }
                out.body = body;
                serde_json::to_value(out)
            }
        };
        shaped.unwrap_or(Value::Null)
    }
}

fn decode_body(body: Option<&str>, base64: bool) -> Result<Vec<u8>, ApiError> {
    let body = body.unwrap_or_default();
    if body.len() > MAX_BODY_BYTES * 4 / 3 + 4 {
        return Err(ApiError::payload_too_large());
    }
    if base64 {
        BASE64
            .decode(body)
            .map_err(|_| ApiError::invalid_request("the body is marked base64 but is not valid base64"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_body() {
        let event = serde_json::json!({
            "version": "2.0", "rawPath": "/guest-tokens", "body": "{\"crmId\":\"CRM-PRIVATE-1\"}",
            "isBase64Encoded": false,
            "requestContext": {"http": {"method": "POST", "path": "/guest-tokens"}},
        });
        let invocation = Invocation::classify(event);
        assert!(matches!(invocation, Invocation::Http(HttpEvent::HttpApi(_))));
        assert!(!format!("{invocation:?}").contains("PRIVATE"));
    }

    #[test]
    fn a_rest_api_event_for_an_oidc_route_gives_its_path_and_authorization_with_or_without_the_stage() {
        // The OIDC API's stage events: `path` without the stage (execute-api), or with it (a custom
        // domain's base path); the route table matches both.
        for path in ["/oidc/token", "/prod/oidc/token"] {
            let event = serde_json::json!({
                "resource": "/oidc/token", "path": path, "httpMethod": "POST",
                "headers": {}, "multiValueHeaders": {"Authorization": ["Basic abc"]},
                "requestContext": {"httpMethod": "POST", "path": "/prod/oidc/token", "stage": "prod", "requestId": "r-1",
                                   "identity": {"sourceIp": "203.0.113.9"}},
                "body": "grant_type=authorization_code", "isBase64Encoded": false,
            });
            let Invocation::Http(event) = Invocation::classify(event) else {
                panic!("a REST API event");
            };
            assert!(matches!(event, HttpEvent::RestApi(_)));
            let (method, seen, body, _) = event.parts();
            assert_eq!(
                (method, seen, body),
                (&Method::POST, path, Some("grant_type=authorization_code"))
            );
            assert_eq!(event.authorization(), Some("Basic abc"));
            assert_eq!(
                crate::oidc::OidcRoute::resolve(method, seen).unwrap(),
                crate::oidc::OidcRoute::Token
            );
        }
    }
}
