//! Shared helpers for the sandbox's own HTTP-level tests.

use serde_json::Value;

use super::{Sandbox, SandboxConfig};

pub(crate) async fn start_default() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).await.unwrap()
}

pub(crate) async fn grant(sandbox: &Sandbox, id: &str, secret: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/oauth/token", sandbox.base_url()))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
}

/// An access token for the default client.
pub(crate) async fn access_token(sandbox: &Sandbox) -> String {
    let response = grant(sandbox, "sandbox-client", "sandbox-secret").await;
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn create_guest(sandbox: &Sandbox, token: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v2/externalusers/guests", sandbox.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn guest_token(sandbox: &Sandbox, token: &str, guest_id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v2/externalusers/guests/token", sandbox.base_url()))
        .bearer_auth(token)
        .json(&serde_json::json!({"externalUserId": guest_id}))
        .send()
        .await
        .unwrap()
}
