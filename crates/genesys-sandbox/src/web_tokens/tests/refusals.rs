//! Exchanges refused for what surrounds the id_token: the provider refusing the integration's
//! secret, a deployment without authentication, inactive or unknown, an integration without an
//! issuer or whose discovery names another, and malformed bodies, most before the provider is called.

use serde_json::json;

use super::super::super::test_support::oidc_provider::REDIRECT_URI;
use super::super::super::test_support::{post_json, status_and_json};
use super::super::super::{
    DEFAULT_DEPLOYMENT_ID, Endpoint, ExchangeFailure, OidcIntegration, Sandbox, SandboxConfig, WebDeployment,
};
use super::{World, string};

#[tokio::test]
async fn wrong_client_secret_is_refused_by_the_provider_and_the_exchange_fails() {
    let mut config = SandboxConfig::default();
    config.web_messaging.integrations[0].client_secret = "not-the-provider's-secret".into();
    let world = World::start(config).await;
    let (status, error) = world.exchange_spec(world.provider.valid_spec()).await;
    assert_eq!(status, 401);
    assert_eq!(error["code"], "authentication.failed");
    assert_eq!(
        world.sandbox.exchange_failures(),
        [ExchangeFailure::TokenEndpoint("status 401 (invalid_client)".into())]
    );
    assert!(!string(&error["message"]).contains("not-the-provider"));
    assert!(world.sandbox.web_sessions().is_empty());
    assert_eq!(world.sandbox.provider_token_calls(), 1);
    world.shutdown().await;
}

#[tokio::test]
async fn deployment_without_authentication_is_refused_before_calling_the_provider() {
    let world = World::default().await;
    world.sandbox.put_deployment(WebDeployment {
        authentication_enabled: false,
        integration_id: None,
        ..SandboxConfig::default().web_messaging.deployments[0].clone()
    });
    let (status, error) = world.exchange_spec(world.provider.valid_spec()).await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "bad.request");
    assert_eq!(world.sandbox.provider_token_calls(), 0);
    assert!(world.provider.auth_methods_seen().is_empty());

    let body = json!({"deploymentId": "no-such-deployment", "oauth": {"code": "c", "redirectUri": REDIRECT_URI}});
    let response = post_json(&world.sandbox, Endpoint::WebDeploymentTokenExchange, None, &body).await;
    let (status, error) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_eq!(error["code"], "not.found");
    world.shutdown().await;
}

#[tokio::test]
async fn inactive_deployment_is_refused_before_calling_the_provider() {
    let world = World::default().await;
    world.sandbox.put_deployment(WebDeployment {
        status: "Inactive".into(),
        ..SandboxConfig::default().web_messaging.deployments[0].clone()
    });
    let (status, error) = world.exchange_spec(world.provider.valid_spec()).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad.request")));
    assert_eq!(world.sandbox.provider_token_calls(), 0);
    world.shutdown().await;
}

#[tokio::test]
async fn integration_without_an_issuer_fails_with_no_issuer() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let body = json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {"code": "c", "redirectUri": REDIRECT_URI}});
    let response = post_json(&sandbox, Endpoint::WebDeploymentTokenExchange, None, &body).await;
    assert_eq!(response.status(), 401);
    assert_eq!(sandbox.exchange_failures(), [ExchangeFailure::NoIssuer]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn issuer_whose_discovery_names_another_issuer_is_refused() {
    let world = World::default().await;
    // Same server, but the configured issuer string differs from the one discovery reports.
    world.sandbox.put_integration(OidcIntegration {
        issuer: Some(format!("{}/", world.provider.issuer())),
        ..SandboxConfig::default().web_messaging.integrations[0].clone()
    });
    let (status, _) = world.exchange_spec(world.provider.valid_spec()).await;
    assert_eq!(status, 401);
    assert!(matches!(
        world.sandbox.exchange_failures()[..],
        [ExchangeFailure::Discovery(_)]
    ));
    world.shutdown().await;
}

#[tokio::test]
async fn malformed_exchange_bodies_are_refused_with_400() {
    let world = World::default().await;
    let bodies = [
        json!({}),
        json!({"deploymentId": DEFAULT_DEPLOYMENT_ID}),
        json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {}}),
        json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {"code": "c"}}),
        json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {"idToken": "t"}}),
        json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {"code": "c", "idToken": "t", "nonce": "n", "redirectUri": "r"}}),
        json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {"code": 7, "redirectUri": "r"}}),
        json!(["not", "an", "object"]),
    ];
    for body in bodies {
        let response = post_json(&world.sandbox, Endpoint::WebDeploymentTokenExchange, None, &body).await;
        let (status, error) = status_and_json(response).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["code"], "bad.request");
    }
    assert_eq!(world.sandbox.provider_token_calls(), 0);
    world.shutdown().await;
}
