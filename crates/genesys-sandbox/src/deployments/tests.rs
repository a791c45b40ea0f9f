//! HTTP-level tests of the web deployment preflight.

use serde_json::Value;

use super::super::test_support::{access_token, start_default, status_and_json};
use super::super::{
    DEFAULT_CONFIGURATION_ID, DEFAULT_DEPLOYMENT_ID, DEFAULT_INTEGRATION_ID, Endpoint, Fault, Sandbox, SandboxConfig,
    WebDeployment,
};

async fn get(sandbox: &Sandbox, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", sandbox.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    status_and_json(request.send().await.unwrap()).await
}

fn version_path(configuration_id: &str, version: &str) -> String {
    format!("/api/v2/webdeployments/configurations/{configuration_id}/versions/{version}")
}

#[tokio::test]
async fn preflight_of_the_default_deployment_shows_authentication_enabled_with_its_integration() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let path = format!("/api/v2/webdeployments/deployments/{DEFAULT_DEPLOYMENT_ID}");
    let (status, deployment) = get(&sandbox, &path, Some(&token)).await;
    assert_eq!(status, 200, "{deployment}");
    assert_eq!(deployment["id"], DEFAULT_DEPLOYMENT_ID);
    assert_eq!(deployment["status"], "Active");
    assert_eq!(deployment["configuration"]["id"], DEFAULT_CONFIGURATION_ID);
    assert_eq!(deployment["configuration"]["version"], "1");

    let configuration_id = deployment["configuration"]["id"].as_str().unwrap();
    let version = deployment["configuration"]["version"].as_str().unwrap();
    let (status, configuration) = get(&sandbox, &version_path(configuration_id, version), Some(&token)).await;
    assert_eq!(status, 200, "{configuration}");
    assert_eq!(configuration["authenticationSettings"]["enabled"], true);
    assert_eq!(
        configuration["authenticationSettings"]["integrationId"],
        DEFAULT_INTEGRATION_ID
    );
    assert_eq!(sandbox.calls(Endpoint::WebDeployment), 1);
    assert_eq!(sandbox.calls(Endpoint::WebDeploymentConfigurationVersion), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn preflight_shows_a_deployment_configured_without_authentication() {
    let mut config = SandboxConfig::default();
    config.web_messaging.deployments.push(WebDeployment {
        id: "plain-deployment".into(),
        status: "Active".into(),
        configuration_id: "plain-configuration".into(),
        configuration_version: "3".into(),
        authentication_enabled: false,
        integration_id: None,
    });
    let sandbox = Sandbox::start(config).await.unwrap();
    let token = access_token(&sandbox).await;
    let (status, deployment) = get(
        &sandbox,
        "/api/v2/webdeployments/deployments/plain-deployment",
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(deployment["configuration"]["version"], "3");
    let (status, configuration) = get(&sandbox, &version_path("plain-configuration", "3"), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(configuration["authenticationSettings"]["enabled"], false);
    assert!(configuration["authenticationSettings"].get("integrationId").is_none());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_deployment_or_version_is_not_found_and_a_token_is_required() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let (status, error) = get(&sandbox, "/api/v2/webdeployments/deployments/nope", Some(&token)).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not.found")));
    let (status, _) = get(&sandbox, &version_path(DEFAULT_CONFIGURATION_ID, "2"), Some(&token)).await;
    assert_eq!(status, 404);
    let path = format!("/api/v2/webdeployments/deployments/{DEFAULT_DEPLOYMENT_ID}");
    let (status, error) = get(&sandbox, &path, None).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("bad.credentials")));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_the_preflight_too() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    sandbox.push_fault(Endpoint::WebDeployment, Fault::status(502));
    let path = format!("/api/v2/webdeployments/deployments/{DEFAULT_DEPLOYMENT_ID}");
    let (status, error) = get(&sandbox, &path, Some(&token)).await;
    assert_eq!((status, error["code"].as_str()), (502, Some("fault")));
    assert!(error["contextId"].is_string());
    assert_eq!(get(&sandbox, &path, Some(&token)).await.0, 200);
    sandbox.shutdown().await;
}
