//! Faults on the token endpoints: a 429 with Retry-After, a 503, garbage with a 200, a 500 on
//! revoke, each played once before service resumes (a faulted exchange never reaches the
//! provider), and a hang that outlasts a client's timeout.

use std::time::Duration;

use serde_json::{Value, json};

use super::super::super::test_support::oidc_provider::REDIRECT_URI;
use super::super::super::test_support::{post_json, status_and_json};
use super::super::super::{DEFAULT_DEPLOYMENT_ID, Endpoint, Fault};
use super::{World, string};

#[tokio::test]
async fn faults_on_the_token_endpoints_are_played_then_service_resumes() {
    let world = World::default().await;
    world
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::status(429).retry_after(3));
    world
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenRefresh, Fault::status(503));
    world.sandbox.push_fault(
        Endpoint::WebDeploymentTokenRefresh,
        Fault::status(200).raw_body("<html>oops"),
    );
    world
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenRevoke, Fault::status(500));

    let code = world.provider.code_for(world.provider.valid_spec());
    let body = json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {"code": code, "redirectUri": REDIRECT_URI}});
    let limited = post_json(&world.sandbox, Endpoint::WebDeploymentTokenExchange, None, &body).await;
    assert_eq!(limited.headers()["retry-after"], "3");
    assert!(limited.headers().contains_key("inin-correlation-id"));
    let (status, envelope) = status_and_json(limited).await;
    assert_eq!(status, 429);
    assert_eq!(envelope["status"], 429);
    assert!(envelope["contextId"].is_string());
    // The faulted call never reached the provider; the code is still good.
    assert_eq!(world.sandbox.provider_token_calls(), 0);
    let (status, session) =
        status_and_json(post_json(&world.sandbox, Endpoint::WebDeploymentTokenExchange, None, &body).await).await;
    assert_eq!(status, 200);
    let refresh_token = string(&session["refreshToken"]);

    assert_eq!(world.refresh(&refresh_token).await.0, 503);
    let garbage = world.refresh(&refresh_token).await;
    assert_eq!(garbage, (200, Value::Null));
    assert_eq!(world.refresh(&refresh_token).await.0, 200);
    let jwt = string(&session["jwt"]);
    assert_eq!(world.revoke(&jwt).await.status(), 500);
    assert_eq!(world.revoke(&jwt).await.status(), 204);

    assert_eq!(world.sandbox.calls(Endpoint::WebDeploymentTokenExchange), 2);
    assert_eq!(world.sandbox.calls(Endpoint::WebDeploymentTokenRefresh), 3);
    assert_eq!(world.sandbox.calls(Endpoint::WebDeploymentTokenRevoke), 2);
    world.shutdown().await;
}

#[tokio::test]
async fn hang_fault_on_the_exchange_outlasts_a_client_timeout() {
    let world = World::default().await;
    world
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::hang());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let result = client
        .post(format!(
            "{}{}",
            world.sandbox.base_url(),
            Endpoint::WebDeploymentTokenExchange.path()
        ))
        .json(&json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": {"code": "c", "redirectUri": REDIRECT_URI}}))
        .send()
        .await;
    assert!(result.is_err_and(|err| err.is_timeout()));
    assert!(world.sandbox.web_sessions().is_empty());
    world.shutdown().await;
}
