//! Shared helpers for the sandbox's own HTTP-level tests.

pub(crate) mod oidc_provider;

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

pub(crate) async fn post_json(
    sandbox: &Sandbox,
    endpoint: super::Endpoint,
    token: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}{}", sandbox.base_url(), endpoint.path()))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Status and JSON body (`Null` when the body is not JSON).
pub(crate) async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}
