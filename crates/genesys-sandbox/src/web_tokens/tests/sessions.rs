//! A session after the exchange: refreshed (a new JWT, the same refresh token) until its refresh
//! token expires or is lapsed, refused for an unknown token or another deployment, ended by a
//! revoke; and lifetimes too large to add to now do not overflow.

use std::time::Duration;

use serde_json::json;

use super::super::super::test_support::oidc_provider::SUBJECT;
use super::super::super::test_support::post_json;
use super::super::super::{DEFAULT_DEPLOYMENT_ID, Endpoint, SandboxConfig};
use super::{World, claims_of, string};

#[tokio::test]
async fn refresh_answers_a_new_jwt_and_keeps_the_refresh_token() {
    let world = World::default().await;
    let (first_jwt, refresh_token) = world.session().await;
    let (status, first) = world.refresh(&refresh_token).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first.as_object().unwrap().len(), 1, "only a jwt: {first}");
    let (status, second) = world.refresh(&refresh_token).await;
    assert_eq!(status, 200, "{second}");
    let (refreshed_a, refreshed_b) = (string(&first["jwt"]), string(&second["jwt"]));
    assert_ne!(refreshed_a, first_jwt);
    assert_ne!(refreshed_a, refreshed_b);
    assert_eq!(claims_of(&refreshed_b)["sub"], SUBJECT);
    assert_eq!(world.sandbox.web_sessions()[0].jwts_issued, 3);
    // No second login at the provider: refreshing is Genesys's own business.
    assert_eq!(world.sandbox.provider_token_calls(), 1);
    world.shutdown().await;
}

#[tokio::test]
async fn expired_refresh_token_is_refused() {
    let mut config = SandboxConfig::default();
    config.web_messaging.refresh_token_ttl = Duration::ZERO;
    let world = World::start(config).await;
    let (_, refresh_token) = world.session().await;
    let (status, error) = world.refresh(&refresh_token).await;
    assert_eq!(status, 401);
    assert_eq!(error["code"], "bad.credentials");
    assert!(string(&error["message"]).contains("expired"));
    world.shutdown().await;
}

#[tokio::test]
async fn expire_refresh_tokens_lapses_existing_sessions_only() {
    let world = World::default().await;
    let (_, old) = world.session().await;
    world.sandbox.expire_refresh_tokens();
    let (_, new) = world.session().await;
    assert_eq!(world.refresh(&old).await.0, 401);
    assert_eq!(world.refresh(&new).await.0, 200);
    world.shutdown().await;
}

#[tokio::test]
async fn unknown_refresh_token_or_other_deployment_is_refused() {
    let world = World::default().await;
    let (_, refresh_token) = world.session().await;
    assert_eq!(world.refresh("never-issued").await.0, 401);
    let body = json!({"refreshToken": refresh_token, "deploymentId": "another-deployment"});
    let response = post_json(&world.sandbox, Endpoint::WebDeploymentTokenRefresh, None, &body).await;
    assert_eq!(response.status(), 401);
    let missing = json!({"deploymentId": DEFAULT_DEPLOYMENT_ID});
    let response = post_json(&world.sandbox, Endpoint::WebDeploymentTokenRefresh, None, &missing).await;
    assert_eq!(response.status(), 400);
    world.shutdown().await;
}

#[tokio::test]
async fn revoke_ends_the_session_so_its_refresh_token_stops_working() {
    let world = World::default().await;
    let (jwt, refresh_token) = world.session().await;
    let revoked = world.revoke(&jwt).await;
    assert_eq!(revoked.status(), 204);
    assert!(revoked.headers().contains_key("inin-correlation-id"));
    let (status, error) = world.refresh(&refresh_token).await;
    assert_eq!(status, 401);
    assert!(string(&error["message"]).contains("revoked"));
    assert!(world.sandbox.web_sessions()[0].revoked);
    // The session is gone: revoking again, or with a JWT the sandbox never issued, is refused.
    assert_eq!(world.revoke(&jwt).await.status(), 401);
    assert_eq!(world.revoke("eyJhbGciOiJIUzI1NiJ9.e30.c2ln").await.status(), 401);
    world.shutdown().await;
}

#[tokio::test]
async fn huge_lifetimes_do_not_overflow() {
    let mut config = SandboxConfig::default();
    config.web_messaging.jwt_ttl = Duration::MAX;
    config.web_messaging.refresh_token_ttl = Duration::MAX;
    let world = World::start(config).await;
    let (jwt, refresh_token) = world.session().await;
    assert_eq!(claims_of(&jwt)["exp"], i64::MAX);
    assert_eq!(world.refresh(&refresh_token).await.0, 200);
    world.shutdown().await;
}
