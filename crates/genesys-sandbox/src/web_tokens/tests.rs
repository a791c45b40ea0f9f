//! HTTP-level tests of the web deployment token endpoints, against a test OIDC provider.

use std::time::Duration;

use serde_json::{Value, json};

use super::super::test_support::oidc_provider::{self, REDIRECT_URI, SUBJECT, TestProvider, TokenSpec};
use super::super::test_support::{post_json, status_and_json};
use super::super::{
    ClientAuthMethod, DEFAULT_DEPLOYMENT_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint,
    ExchangeFailure, Fault, IdTokenTamper, OidcIntegration, Sandbox, SandboxConfig, WebDeployment,
};
use crate::jwt;

mod messenger;

struct World {
    sandbox: Sandbox,
    provider: TestProvider,
}

impl World {
    async fn start(config: SandboxConfig) -> World {
        let provider = TestProvider::start(DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET).await;
        let sandbox = Sandbox::start(config).await.unwrap();
        sandbox.set_oidc_issuer(&provider.issuer());
        World { sandbox, provider }
    }

    async fn default() -> World {
        World::start(SandboxConfig::default()).await
    }

    async fn exchange(&self, oauth: Value) -> (u16, Value) {
        let body = json!({"deploymentId": DEFAULT_DEPLOYMENT_ID, "oauth": oauth});
        status_and_json(post_json(&self.sandbox, Endpoint::WebDeploymentTokenExchange, None, &body).await).await
    }

    async fn exchange_spec(&self, spec: TokenSpec) -> (u16, Value) {
        let code = self.provider.code_for(spec);
        self.exchange(json!({"code": code, "redirectUri": REDIRECT_URI})).await
    }

    /// `(jwt, refreshToken)` of a successful exchange.
    async fn session(&self) -> (String, String) {
        let (status, body) = self.exchange_spec(self.provider.valid_spec()).await;
        assert_eq!(status, 200, "{body}");
        (string(&body["jwt"]), string(&body["refreshToken"]))
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let body = json!({"refreshToken": refresh_token, "deploymentId": DEFAULT_DEPLOYMENT_ID});
        status_and_json(post_json(&self.sandbox, Endpoint::WebDeploymentTokenRefresh, None, &body).await).await
    }

    async fn revoke(&self, jwt: &str) -> reqwest::Response {
        reqwest::Client::new()
            .delete(format!(
                "{}{}",
                self.sandbox.base_url(),
                Endpoint::WebDeploymentTokenRevoke.path()
            ))
            .header("authorization", format!("bearer {jwt}"))
            .send()
            .await
            .unwrap()
    }

    async fn shutdown(self) {
        self.sandbox.shutdown().await;
        self.provider.shutdown().await;
    }
}

fn string(value: &Value) -> String {
    value.as_str().unwrap().to_owned()
}

fn claims_of(token: &str) -> serde_json::Map<String, Value> {
    jwt::decode(token).unwrap().claims
}

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

/// Each spec breaks exactly one check of an otherwise valid id_token.
#[tokio::test]
async fn each_broken_id_token_is_refused_with_its_reason_recorded() {
    let world = World::default().await;
    let valid = world.provider.valid_spec();
    let with = |edit: &dyn Fn(&mut TokenSpec)| {
        let mut spec = valid.clone();
        edit(&mut spec);
        spec
    };
    let now = super::oidc::unix_now();
    let cases: Vec<(&str, TokenSpec, ExchangeFailure)> = vec![
        (
            "tampered signature",
            with(&|s| s.break_signature = true),
            ExchangeFailure::BadSignature,
        ),
        (
            "wrong iss",
            with(&|s| {
                s.claims.insert("iss".into(), "https://evil.example".into());
            }),
            ExchangeFailure::WrongIssuer("https://evil.example".into()),
        ),
        (
            "wrong aud",
            with(&|s| {
                s.claims.insert("aud".into(), "someone-else".into());
            }),
            ExchangeFailure::WrongAudience,
        ),
        (
            "expired",
            with(&|s| {
                s.claims.insert("exp".into(), (now - 3600).into());
            }),
            ExchangeFailure::Expired,
        ),
        (
            "no iat",
            with(&|s| {
                s.claims.remove("iat");
            }),
            ExchangeFailure::MissingIssuedAt,
        ),
        (
            "no sub",
            with(&|s| {
                s.claims.remove("sub");
            }),
            ExchangeFailure::MissingSubject,
        ),
        (
            "unknown kid",
            with(&|s| s.kid = Some("rotated-away".into())),
            ExchangeFailure::UnknownKid(Some("rotated-away".into())),
        ),
        (
            "alg none",
            with(&|s| s.alg = "none"),
            ExchangeFailure::UnsupportedAlgorithm("none".into()),
        ),
    ];
    let count = cases.len();
    for (name, spec, expected) in cases {
        let (status, error) = world.exchange_spec(spec).await;
        assert_eq!(status, 401, "{name}: {error}");
        assert_eq!(error["code"], "authentication.failed", "{name}");
        assert_eq!(error["message"], expected.to_string(), "{name}");
        assert_eq!(world.sandbox.exchange_failures().last(), Some(&expected), "{name}");
    }
    assert_eq!(world.sandbox.exchange_failures().len(), count);
    assert!(world.sandbox.web_sessions().is_empty());
    world.shutdown().await;
}

#[tokio::test]
async fn nonce_that_differs_from_the_requests_is_refused_in_both_flows() {
    let world = World::default().await;
    let mut spec = world.provider.valid_spec();
    spec.claims.insert("nonce".into(), "sent-by-the-browser".into());
    let id_token = oidc_provider::sign(&spec);
    let (status, _) = world.exchange(json!({"idToken": id_token, "nonce": "another"})).await;
    assert_eq!(status, 401);
    let code = world.provider.code_for(spec);
    let (status, _) = world
        .exchange(json!({"code": code, "redirectUri": REDIRECT_URI, "nonce": "another"}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        world.sandbox.exchange_failures(),
        [ExchangeFailure::NonceMismatch, ExchangeFailure::NonceMismatch]
    );
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

#[tokio::test]
async fn a_tampered_id_token_or_one_verified_after_its_exp_is_refused() {
    let world = World::default().await;
    let cases = [
        (IdTokenTamper::Signature, ExchangeFailure::BadSignature),
        (IdTokenTamper::Subject, ExchangeFailure::BadSignature),
        // The test provider's tokens live 300 s.
        (
            IdTokenTamper::ClockAhead(Duration::from_secs(301)),
            ExchangeFailure::Expired,
        ),
    ];
    for (tamper, _) in &cases {
        let tamper = *tamper;
        world.sandbox.tamper_id_tokens(Some(tamper));
        let (status, body) = world.exchange_spec(world.provider.valid_spec()).await;
        assert_eq!(status, 401, "{tamper:?}: {body}");
        assert_eq!(body["code"], "authentication.failed");
    }
    let expected: Vec<ExchangeFailure> = cases.into_iter().map(|(_, failure)| failure).collect();
    assert_eq!(world.sandbox.exchange_failures(), expected);
    world
        .sandbox
        .tamper_id_tokens(Some(IdTokenTamper::ClockAhead(Duration::from_secs(250))));
    assert_eq!(
        world.exchange_spec(world.provider.valid_spec()).await.0,
        200,
        "not yet expired"
    );
    world.sandbox.tamper_id_tokens(None);
    world.session().await;
    assert_eq!(
        world.sandbox.web_sessions().len(),
        2,
        "only the untampered exchanges opened sessions"
    );
    world.shutdown().await;
}
