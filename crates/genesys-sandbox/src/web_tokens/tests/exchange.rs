//! Exchanges that open a session: a code (the provider's token endpoint called with the
//! integration's client authentication, basic or in the form body), an id_token with its nonce (no
//! token endpoint call), an audience given as an array; and every exchange request recorded, the
//! faulted ones included, with its code hidden when printed.

use serde_json::json;

use super::super::super::test_support::oidc_provider::{self, REDIRECT_URI, SUBJECT};
use super::super::super::{
    ClientAuthMethod, DEFAULT_DEPLOYMENT_ID, DEFAULT_OIDC_CLIENT_ID, Endpoint, Fault, SandboxConfig,
};
use super::{World, claims_of, string};

#[tokio::test]
async fn code_exchange_verifies_the_id_token_and_opens_a_session_for_its_subject() {
    let world = World::default().await;
    let (status, body) = world.exchange_spec(world.provider.valid_spec()).await;
    assert_eq!(status, 200, "{body}");
    let jwt = string(&body["jwt"]);
    assert!(!string(&body["refreshToken"]).is_empty());
    let claims = claims_of(&jwt);
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["deploymentId"], DEFAULT_DEPLOYMENT_ID);
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 600);

    let sessions = world.sandbox.web_sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].subject, SUBJECT);
    assert_eq!(sessions[0].deployment_id, DEFAULT_DEPLOYMENT_ID);
    assert_eq!(sessions[0].jwts_issued, 1);
    assert!(!sessions[0].revoked);
    assert_eq!(world.sandbox.provider_token_calls(), 1);
    assert_eq!(
        world.provider.auth_methods_seen(),
        [ClientAuthMethod::ClientSecretBasic]
    );
    assert!(world.sandbox.exchange_failures().is_empty());
    world.shutdown().await;
}

#[tokio::test]
async fn client_secret_post_integration_authenticates_in_the_form_body() {
    let mut config = SandboxConfig::default();
    config.web_messaging.integrations[0].auth_method = ClientAuthMethod::ClientSecretPost;
    let world = World::start(config).await;
    world.session().await;
    assert_eq!(world.provider.auth_methods_seen(), [ClientAuthMethod::ClientSecretPost]);
    world.shutdown().await;
}

#[tokio::test]
async fn id_token_flow_with_the_matching_nonce_opens_a_session_without_a_token_endpoint_call() {
    let world = World::default().await;
    let mut spec = world.provider.valid_spec();
    spec.claims.insert("nonce".into(), "n-1".into());
    let id_token = oidc_provider::sign(&spec);
    let (status, body) = world.exchange(json!({"idToken": id_token, "nonce": "n-1"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(world.sandbox.web_sessions().len(), 1);
    assert_eq!(world.sandbox.provider_token_calls(), 0);
    world.shutdown().await;
}

#[tokio::test]
async fn audience_given_as_an_array_containing_the_client_id_is_accepted() {
    let world = World::default().await;
    let mut spec = world.provider.valid_spec();
    spec.claims
        .insert("aud".into(), json!(["other-client", DEFAULT_OIDC_CLIENT_ID]));
    let (status, body) = world.exchange_spec(spec).await;
    assert_eq!(status, 200, "{body}");
    world.shutdown().await;
}

#[tokio::test]
async fn exchange_requests_are_recorded_with_their_code_and_redirect_uri_faulted_ones_included() {
    let world = World::default().await;
    world
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::status(503));
    let faulted = world.provider.code_for(world.provider.valid_spec());
    let (status, _) = world
        .exchange(json!({"code": faulted, "redirectUri": REDIRECT_URI}))
        .await;
    assert_eq!(status, 503);
    world.session().await;
    let requests = world.sandbox.exchange_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].code.as_deref(), Some(faulted.as_str()));
    assert_eq!(requests[0].redirect_uri.as_deref(), Some(REDIRECT_URI));
    assert!(requests[0].faulted);
    assert!(requests[1].code.is_some() && !requests[1].faulted);
    assert_eq!(
        world.sandbox.provider_token_calls(),
        1,
        "the faulted code was never redeemed"
    );
    assert!(
        !format!("{requests:?}").contains(&faulted),
        "a printed record hides the code"
    );
    world.shutdown().await;
}
