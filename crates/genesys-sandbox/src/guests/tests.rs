//! HTTP-level tests of the guest endpoints.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::super::test_support::{access_token, create_guest, guest_token, start_default};
use super::super::{ExpiresAtKey, GuestRecord, Sandbox, SandboxConfig};

async fn new_guest_id(sandbox: &Sandbox, token: &str) -> String {
    let response = create_guest(sandbox, token, json!({"name": "Ada", "email": "ada@example.com"}));
    let body: Value = response.await.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

fn assert_about(expires_at: &str, ttl: Duration) {
    let parsed: DateTime<Utc> = DateTime::parse_from_rfc3339(expires_at).unwrap().into();
    let expected = Utc::now() + ttl;
    // Generous window: this checks the arithmetic, not the clock.
    assert!((parsed - expected).num_seconds().abs() < 300, "{expires_at}");
    assert!(expires_at.ends_with('Z'));
    assert_eq!(expires_at.len(), "2024-12-15T14:30:00.000Z".len());
}

#[tokio::test]
async fn created_guest_is_returned_and_recorded() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let attributes = json!({"crmId": "C-42"});
    let response = create_guest(
        &sandbox,
        &token,
        json!({"name": "Ada", "email": "ada@example.com", "customAttributes": attributes}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(body["customAttributes"], attributes);
    assert!(DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).is_ok());
    assert!(DateTime::parse_from_rfc3339(body["updated_at"].as_str().unwrap()).is_ok());
    assert_eq!(
        sandbox.guests(),
        [GuestRecord {
            id: id.to_owned(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            custom_attributes: attributes,
        }]
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn guest_token_for_a_created_guest_expires_about_ttl_from_now() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let guest_id = new_guest_id(&sandbox, &token).await;
    let response = guest_token(&sandbox, &token, &guest_id).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().starts_with("eyJ"));
    assert_about(body["expires_at"].as_str().unwrap(), Duration::from_secs(3600));
    assert!(body.get("expiresAt").is_none());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn camel_case_config_names_the_expiry_key_expires_at_in_camel_case() {
    let config = SandboxConfig {
        expires_at_key: ExpiresAtKey::CamelCase,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let token = access_token(&sandbox).await;
    let guest_id = new_guest_id(&sandbox, &token).await;
    let body: Value = guest_token(&sandbox, &token, &guest_id).await.json().await.unwrap();
    assert_about(body["expiresAt"].as_str().unwrap(), Duration::from_secs(3600));
    assert!(body.get("expires_at").is_none());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn changed_guest_token_ttl_applies_to_later_tokens() {
    let sandbox = start_default().await;
    sandbox.set_guest_token_ttl(Duration::from_secs(60 * 60 * 24));
    let token = access_token(&sandbox).await;
    let guest_id = new_guest_id(&sandbox, &token).await;
    let body: Value = guest_token(&sandbox, &token, &guest_id).await.json().await.unwrap();
    assert_about(body["expires_at"].as_str().unwrap(), Duration::from_secs(86_400));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_guest_is_not_found() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let response = guest_token(&sandbox, &token, "no-such-guest").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not.found");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn expired_access_tokens_are_refused_with_401_bad_credentials() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let guest_id = new_guest_id(&sandbox, &token).await;
    sandbox.expire_access_tokens();
    let response = guest_token(&sandbox, &token, &guest_id).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": 401, "code": "bad.credentials", "message": "Invalid login credentials."})
    );
    let fresh = access_token(&sandbox).await;
    assert_eq!(guest_token(&sandbox, &fresh, &guest_id).await.status(), 200);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn missing_or_unknown_bearer_token_is_refused_with_401() {
    let sandbox = start_default().await;
    let url = format!("{}/api/v2/externalusers/guests", sandbox.base_url());
    let anonymous = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body = json!({"name": "Ada", "email": "ada@example.com"});
    assert_eq!(create_guest(&sandbox, "made-up", body).await.status(), 401);
    assert!(sandbox.guests().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn invalid_guest_bodies_are_refused_with_400_bad_request() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let bodies = [
        json!({"email": "ada@example.com"}),
        json!({"name": "", "email": "ada@example.com"}),
        json!({"name": "Ada", "email": 7}),
        json!({"name": "Ada", "email": "a@x", "customAttributes": [1]}),
        json!(["not", "an", "object"]),
    ];
    for body in bodies {
        let response = create_guest(&sandbox, &token, body).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "bad.request");
    }
    let garbage = reqwest::Client::new()
        .post(format!("{}/api/v2/externalusers/guests", sandbox.base_url()))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert!(sandbox.guests().is_empty());
    sandbox.shutdown().await;
}
