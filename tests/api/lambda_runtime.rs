//! The compiled Lambda binary, driven through the Runtime API harness as Lambda drives it: every
//! sample event in `events/`, the other HTTP front ends, payloads it does not serve, and
//! configuration errors at init (what its logs may contain: `log_hygiene`). This file holds the
//! response shapes the groups check; the tests are in the files of `lambda_runtime/`.
//!
//! The tests run on the multi-threaded runtime because waiting for a process to exit blocks the
//! test's own thread, while the harness and the sandbox must keep answering the process.

use serde_json::{Value, json};

/// The HTTP API (payload 2.0) response shape: single-value headers. Tokens and errors alike are
/// never cached, by HTTP/1.0 caches either (`Pragma`, RFC 6749 §5.1).
#[track_caller]
fn assert_http_api_response(response: &Value, status: u16) {
    assert_eq!(response["statusCode"], status, "{response}");
    assert_eq!(response["headers"]["cache-control"], "no-store", "{response}");
    assert_eq!(response["headers"]["pragma"], "no-cache", "{response}");
    assert_eq!(response["isBase64Encoded"], false, "{response}");
}

/// The REST API (v1 proxy) response shape: multi-value headers only, so API Gateway merges nothing twice.
#[track_caller]
fn assert_rest_api_response(response: &Value, status: u16) {
    assert_eq!(response["statusCode"], status, "{response}");
    assert_eq!(
        response["multiValueHeaders"]["cache-control"],
        json!(["no-store"]),
        "{response}"
    );
    assert_eq!(
        response["multiValueHeaders"]["pragma"],
        json!(["no-cache"]),
        "{response}"
    );
    assert!(
        response["headers"].as_object().is_none_or(|h| h.is_empty()),
        "{response}"
    );
}

/// Configuration errors, reported to the Runtime API's init error route.
mod init_errors;
/// The other fronts a function may have: an ALB target group (single- and multi-value headers)
/// and a function URL.
mod other_fronts;
/// Every sample event in `events/`, and the scheduled warm-up's effect on the next request.
mod sample_events;
/// Payloads it does not serve: a body that is not the base64 it claims, events of no known kind.
mod unsupported_payloads;
