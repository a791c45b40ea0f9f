//! HTTP-level tests of the web deployment token endpoints, against a test OIDC provider. This file
//! holds the world they run in (the sandbox and the provider) and its requests; the tests are in
//! the files of `tests/`, one per concern.

use serde_json::{Value, json};

use super::super::test_support::oidc_provider::{REDIRECT_URI, TestProvider, TokenSpec};
use super::super::test_support::{post_json, status_and_json};
use super::super::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint, Sandbox, SandboxConfig,
};
use crate::jwt;
// The clock the id_token cases date their claims by (`super::oidc::unix_now()` in `id_tokens.rs`).
use super::oidc;

/// Exchanges that open a session: by code or id_token, either client authentication, what is recorded.
mod exchange;
/// Faults played on the token endpoints, and service resuming after them.
mod faults;
/// id_tokens refused for each broken check, a nonce that differs, tampering on the sandbox's side.
mod id_tokens;
/// The sandbox playing the Messenger's Auth plugin: what `getAuthCode` resolved, exchanged.
mod messenger;
/// Refusals before or at the provider: configuration, deployment, integration, malformed bodies.
mod refusals;
/// Sessions after the exchange: refresh, expiry, revoke, lifetimes.
mod sessions;

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
