//! The HTTP contract: routes, bad input answered 4xx before reaching the store or Genesys, and the
//! headers every response carries.

use reqwest::Method;

use crate::helpers::{TestApp, spawn_app, upstream_calls};

fn assert_untouched(app: &TestApp) {
    assert_eq!(app.store.operations(), 0, "the store was reached");
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0), "Genesys was reached");
}

#[tokio::test]
async fn bad_requests_are_400_and_reach_nothing() {
    let app = spawn_app().await;
    let long = format!(r#"{{"crmId":"{}"}}"#, "x".repeat(257));
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty body", String::new(), "JSON object"),
        ("bad JSON", "{\"crmId\":".into(), "not valid JSON"),
        ("array", "[]".into(), "JSON object"),
        ("missing crmId", "{}".into(), "crmId is required"),
        ("number", r#"{"crmId":12}"#.into(), "must be a string"),
        ("empty", r#"{"crmId":""}"#.into(), "must not be empty"),
        ("blank", r#"{"crmId":" \u00a0 "}"#.into(), "must not be blank"),
        ("too long", long, "at most 256"),
        ("control", r#"{"crmId":"a\tb"}"#.into(), "control characters"),
    ];
    for (name, body, message) in cases {
        let reply = app.request(Method::POST, "/guest-tokens", body).await;
        assert_eq!(reply.status, 400, "{name}");
        assert_eq!(reply.error_code(), "invalid_request", "{name}");
        assert!(reply.error_message().contains(message), "{name}: {}", reply.body);
    }
    assert_untouched(&app);
}

#[tokio::test]
async fn a_body_over_16_kib_is_413() {
    let app = spawn_app().await;
    let body = format!(r#"{{"crmId":"a","pad":"{}"}}"#, "x".repeat(16 * 1024));

    let reply = app.request(Method::POST, "/guest-tokens", body).await;

    assert_eq!(reply.status, 413);
    assert_eq!(reply.error_code(), "payload_too_large");
    assert_untouched(&app);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let app = spawn_app().await;

    let missing = app.request(Method::POST, "/tokens", "{}").await;
    let wrong = app.request(Method::GET, "/guest-tokens", "").await;
    let wrong_delete = app.request(Method::POST, "/prod/guest-sessions", "{}").await;

    assert_eq!((missing.status, missing.error_code()), (404, "not_found"));
    assert_eq!((wrong.status, wrong.error_code()), (405, "method_not_allowed"));
    assert_eq!(wrong.header("allow"), Some("POST"));
    assert_eq!(wrong_delete.header("allow"), Some("DELETE"));
    assert_untouched(&app);
}

#[tokio::test]
async fn routes_answer_under_a_stage_prefix() {
    let app = spawn_app().await;

    let reply = app
        .request(Method::POST, "/prod/guest-tokens", r#"{"crmId":"CRM-1"}"#)
        .await;

    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn every_response_carries_no_store_and_json_bodies_say_so() {
    let app = spawn_app().await;
    let replies = [
        app.post_token("CRM-1").await,
        app.delete_session("CRM-1").await,
        app.request(Method::POST, "/guest-tokens", "nope").await,
        app.request(Method::GET, "/nowhere", "").await,
        app.request(Method::PUT, "/guest-sessions", "").await,
    ];
    for reply in &replies {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{}", reply.status);
        if reply.status != 204 {
            assert_eq!(
                reply.header("content-type"),
                Some("application/json"),
                "{}",
                reply.status
            );
        }
    }
}

#[tokio::test]
async fn error_messages_never_echo_the_crm_id() {
    let app = spawn_app().await;
    let reply = app
        .request(Method::POST, "/guest-tokens", r#"{"crmId":"SECRET-ID\u0001"}"#)
        .await;
    assert_eq!(reply.status, 400);
    assert!(!reply.body.to_string().contains("SECRET-ID"));
}
