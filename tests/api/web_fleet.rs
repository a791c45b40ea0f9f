//! The genesys-web-messaging mode as Lambda runs it, for tests through the compiled binary:
//! instances poll the Runtime API harness, an HTTP front turns the sandbox's calls to the broker's
//! OIDC routes into HTTP API events for whichever instance is free (as API Gateway and Lambda's
//! scaling would), the signing key is a KMS key in moto and the integration's client a secret in
//! moto. DynamoDB and Secrets Manager calls go through an [`AwsProxy`] that counts them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use genesys_sandbox::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint,
    Sandbox, SandboxConfig,
};
use serde_json::{Value, json};

use crate::deployment::{LAMBDA_BINARY, crm_body, http_api_post};
use crate::fleet::{delete_event, item_in};
use test_kit::aws::{create_secret, sdk_config_for, unique};
use test_kit::aws_proxy::AwsProxy;
use test_kit::emulators::moto;
use test_kit::http_front::HttpFront;
use test_kit::runtime_harness::{Backends, LambdaFunction, RuntimeHarness};

/// The redirect URI the fleet's broker binds its codes to.
pub const REDIRECT_URI: &str = "https://broker.example.com/oidc/callback";

pub struct WebFleet {
    pub harness: Arc<RuntimeHarness>,
    pub sandbox: Sandbox,
    pub instances: Vec<LambdaFunction>,
    pub proxy: AwsProxy,
    pub table: String,
    /// The broker's issuer: the HTTP front's URL.
    pub issuer: String,
    _front: HttpFront,
}

impl WebFleet {
    /// `instances` processes of the function in web messaging mode, all polling for work.
    pub async fn start(instances: usize) -> Self {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
        let harness = Arc::new(RuntimeHarness::start().await);
        let front = HttpFront::start(Arc::clone(&harness)).await;
        let issuer = front.base_url();
        sandbox.set_oidc_issuer(&issuer);
        let clients = SandboxConfig::default().clients;
        let clients: Vec<(&str, &str)> = clients
            .iter()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
            .collect();
        let backends = Backends::create(&sandbox.base_url(), &clients).await;
        let mut env = backends.env;
        let proxy = AwsProxy::start().await;
        let oidc_secret = unique("oidc-client");
        create_secret(
            &oidc_secret,
            &json!({"client_id": DEFAULT_OIDC_CLIENT_ID, "client_secret": DEFAULT_OIDC_CLIENT_SECRET}).to_string(),
        )
        .await;
        env.extend(proxy.env());
        env.extend([
            ("AWS_ENDPOINT_URL_KMS", moto().endpoint.clone()),
            ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging".into()),
            ("GENESYS_DEPLOYMENT_ID", DEFAULT_DEPLOYMENT_ID.into()),
            ("GENESYS_EXTERNAL_SOURCE_ID", DEFAULT_EXTERNAL_SOURCE_ID.into()),
            ("OIDC_ISSUER", issuer.clone()),
            ("OIDC_REDIRECT_URI", REDIRECT_URI.into()),
            ("OIDC_CLIENT_SECRET_ID", oidc_secret),
            ("OIDC_SIGNING_KEY_ID", kms_signing_key().await),
        ]);
        let polls_before = harness.next_polls();
        let instances: Vec<_> = (0..instances)
            .map(|_| LambdaFunction::start(LAMBDA_BINARY, &harness, &env))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while harness.next_polls() < polls_before + instances.len() {
            assert!(Instant::now() < deadline, "the instances never polled for work");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self {
            harness,
            sandbox,
            instances,
            proxy,
            table: backends.table,
            issuer,
            _front: front,
        }
    }

    /// POST /guest-tokens for `crm_id`, as the HTTP API shapes it.
    pub async fn post(&self, crm_id: &str) -> Value {
        self.harness.invoke(http_api_post(&crm_body(crm_id))).await.response()
    }

    /// DELETE /guest-sessions for `crm_id`, as the REST API shapes it.
    pub async fn delete(&self, crm_id: &str) -> Value {
        self.harness.invoke(delete_event(crm_id)).await.response()
    }

    /// The customer's item in the sessions table, read straight from dynalite.
    pub async fn stored(&self, crm_id: &str) -> Option<HashMap<String, AttributeValue>> {
        item_in(&self.table, crm_id).await
    }

    /// The token stored for the customer, if any (a stored guest without one has an empty token).
    pub async fn stored_token(&self, crm_id: &str) -> Option<String> {
        let item = self.stored(crm_id).await?;
        let token = item.get("token")?.as_s().ok()?;
        (!token.is_empty()).then(|| token.clone())
    }

    /// `POST /oidc/token` through the HTTP front, as Genesys sends it: the form, with the client
    /// in a Basic header when `basic` is given. Status, `WWW-Authenticate` and the JSON body.
    pub async fn oidc_token(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> TokenReply {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = reqwest::Client::new()
            .post(format!("{}/oidc/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.expect("the HTTP front answers");
        let status = response.status().as_u16();
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.expect("a JSON body");
        TokenReply {
            status,
            www_authenticate,
            body,
        }
    }

    /// Stops every instance and returns every line they printed.
    pub fn stop(&mut self) -> Vec<String> {
        self.instances.iter_mut().flat_map(LambdaFunction::stop).collect()
    }
}

#[derive(Debug)]
pub struct TokenReply {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub body: Value,
}

impl TokenReply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// Upstream calls so far: (enrich, exchange, refresh, revoke).
pub fn web_calls(sandbox: &Sandbox) -> (usize, usize, usize, usize) {
    (
        sandbox.calls(Endpoint::EnrichContact),
        sandbox.calls(Endpoint::WebDeploymentTokenExchange),
        sandbox.calls(Endpoint::WebDeploymentTokenRefresh),
        sandbox.calls(Endpoint::WebDeploymentTokenRevoke),
    )
}

async fn kms_signing_key() -> String {
    aws_sdk_kms::Client::new(&sdk_config_for(&moto().endpoint).await)
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .expect("moto creates the key")
        .key_metadata
        .expect("key metadata")
        .key_id
}
