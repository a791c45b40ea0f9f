//! Every status path of the upstream contract, with the number of upstream calls each one costs.

use std::time::Duration;

use genesys_sandbox::{Endpoint, Fault, SandboxConfig};
use guest_token_broker::genesys::RetryPolicy;
use serde_json::json;

use crate::helpers::{Options, pair, spawn_app, spawn_app_with, upstream_calls};

fn two_clients() -> Options {
    Options {
        sandbox: SandboxConfig {
            clients: vec![pair("first", "s1"), pair("second", "s2")],
            ..SandboxConfig::default()
        },
        ..Options::default()
    }
}

#[tokio::test]
async fn a_401_from_the_api_drops_the_access_token_and_retries_with_a_new_one() {
    let app = spawn_app().await;
    app.post_token("CRM-1").await;
    app.sandbox.expire_access_tokens();

    let reply = app.post_token("CRM-2").await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        upstream_calls(&app.sandbox),
        (2, 3, 2),
        "one refused creation, one new access token"
    );
}

#[tokio::test]
async fn a_refused_credential_rotates_to_the_next_one_and_later_requests_start_there() {
    let app = spawn_app_with(two_clients()).await;
    app.sandbox.revoke_client("first");

    let first = app.post_token("CRM-1").await;
    app.sandbox.expire_access_tokens();
    let second = app.post_token("CRM-2").await;

    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(app.sandbox.oauth_client_ids(), ["second", "second"]);
    assert_eq!(
        app.sandbox.calls(Endpoint::OAuthToken),
        3,
        "the revoked client was tried once"
    );
}

#[tokio::test]
async fn a_wrong_secret_answered_with_401_invalid_client_also_rotates() {
    let app = spawn_app_with(Options {
        credentials: Some(vec![pair("first", "wrong"), pair("second", "s2")]),
        ..two_clients()
    })
    .await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 200);
    assert_eq!(app.sandbox.oauth_client_ids(), ["second"]);
}

#[tokio::test]
async fn every_credential_refused_is_502_upstream_rejected_and_creates_nothing() {
    let app = spawn_app_with(two_clients()).await;
    app.sandbox.revoke_client("first");
    app.sandbox.revoke_client("second");

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.error_code(), "upstream_rejected");
    assert!(reply.error_message().contains("credential"));
    assert_eq!(upstream_calls(&app.sandbox), (2, 0, 0));
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let app = spawn_app().await;
    app.sandbox
        .push_fault(Endpoint::GuestToken, Fault::status(429).retry_after(1));
    app.sandbox
        .push_fault(Endpoint::GuestToken, Fault::status(429).retry_after(1));

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        upstream_calls(&app.sandbox),
        (1, 1, 3),
        "no re-authentication for a rate limit"
    );
    assert_eq!((reply.metrics.genesys_rate_limited, reply.metrics.retries), (2, 2));
}

#[tokio::test]
async fn a_rate_limited_token_endpoint_backs_off_without_rotating() {
    let app = spawn_app_with(two_clients()).await;
    app.sandbox.push_fault(
        Endpoint::OAuthToken,
        Fault::status(400).body(json!({"error": "invalid_request", "description": "rate limit exceeded"})),
    );

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        app.sandbox.oauth_client_ids(),
        ["first"],
        "the same credential after backing off"
    );
    assert_eq!(app.sandbox.calls(Endpoint::OAuthToken), 2);
}

#[tokio::test]
async fn a_passing_5xx_is_retried() {
    let app = spawn_app().await;
    app.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(503));

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 200);
    assert_eq!(upstream_calls(&app.sandbox), (1, 2, 1));
    assert_eq!(app.sandbox.guests().len(), 1);
}

#[tokio::test]
async fn a_lasting_5xx_is_503_after_the_bounded_attempts_with_retry_after() {
    let app = spawn_app().await;
    for _ in 0..10 {
        app.sandbox.push_fault(Endpoint::GuestToken, Fault::status(500));
    }

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.error_code(), "upstream_unavailable");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(
        app.sandbox.calls(Endpoint::GuestToken),
        RetryPolicy::default().max_attempts as usize
    );
}

#[tokio::test]
async fn a_403_is_502_after_exactly_one_call_naming_the_missing_permission() {
    let app = spawn_app().await;
    app.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(403));

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 502);
    assert_eq!(reply.error_code(), "upstream_rejected");
    assert!(reply.error_message().contains("scope or permission"));
    assert_eq!(upstream_calls(&app.sandbox), (1, 1, 0));
    assert_eq!(
        (reply.metrics.upstream_rejections, reply.metrics.outcome),
        (1, Some("failed"))
    );
}

#[tokio::test]
async fn an_unreachable_genesys_is_503() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app_with(Options {
        genesys_url: Some(url),
        ..Options::default()
    })
    .await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.error_code(), "upstream_unavailable");
}

#[tokio::test]
async fn a_hanging_genesys_is_503_once_the_attempts_time_out() {
    let app = spawn_app_with(Options {
        retry: RetryPolicy {
            attempt_timeout: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        ..Options::default()
    })
    .await;
    for _ in 0..4 {
        app.sandbox.push_fault(Endpoint::GuestToken, Fault::hang());
    }

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.error_code(), "upstream_unavailable");
    // What went wrong upstream (the timeouts) is the log's; the caller gets the fixed message.
    assert!(!reply.error_message().contains("timed out"), "{}", reply.body);
    assert_eq!(app.sandbox.calls(Endpoint::GuestToken), 4);
}
