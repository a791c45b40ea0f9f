//! The genesys-web-messaging mode as Lambda runs it, for tests through the compiled binaries: the
//! guest function's instances poll one Runtime API harness, the OIDC provider function's another,
//! and a REST API stage front (the template's `OidcApi`, stage `prod`: the issuer is
//! `<front>/prod`) turns the sandbox's calls to the provider's routes into REST API (payload 1.0)
//! events for whichever provider instance is free (as API Gateway and Lambda's scaling would). The
//! signing key is a KMS key in moto and the integration's client a secret in moto. DynamoDB,
//! Secrets Manager and KMS calls go through an [`AwsProxy`] that counts them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use genesys_sandbox::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint,
    Sandbox, SandboxConfig,
};
use serde_json::{Value, json};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::deployment::{LAMBDA_BINARY, crm_body, rest_api_post, sample_event};
use crate::fleet::{delete_event, item_in};
use test_kit::aws::{create_encryption_key, create_secret, create_signing_key, unique};
use test_kit::aws_proxy::AwsProxy;
use test_kit::http_front::HttpFront;
use test_kit::runtime_harness::{Backends, LambdaFunction, RuntimeHarness};

/// The OIDC provider function's binary.
pub const OIDC_BINARY: &str = env!("CARGO_BIN_EXE_oidc-provider");
/// The provider's pool: a callback takes an instance for a few milliseconds.
const OIDC_INSTANCES: usize = 2;
/// The OIDC API's stage (the template's `StageName` default), in its URL and so in the issuer.
pub const OIDC_STAGE: &str = "prod";

/// `count` processes of `binary` with `env`, returned once all of them poll `harness` for work.
pub async fn start_polling(
    harness: &Arc<RuntimeHarness>,
    binary: &str,
    env: &[(&'static str, String)],
    count: usize,
) -> Vec<LambdaFunction> {
    let polls_before = harness.next_polls();
    let instances: Vec<_> = (0..count)
        .map(|_| LambdaFunction::start(binary, harness, env))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while harness.next_polls() < polls_before + instances.len() {
        assert!(Instant::now() < deadline, "the instances never polled for work");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    instances
}

/// The redirect URI the fleet's broker binds its codes to.
pub const REDIRECT_URI: &str = "https://broker.example.com/oidc/callback";

pub struct WebFleet {
    pub harness: Arc<RuntimeHarness>,
    pub sandbox: Sandbox,
    pub instances: Vec<LambdaFunction>,
    /// The OIDC provider function's instances (behind the REST API stage front, the issuer).
    pub oidc_instances: Vec<LambdaFunction>,
    /// The harness the OIDC provider function's instances poll (its events go straight to it).
    pub oidc_harness: Arc<RuntimeHarness>,
    pub proxy: AwsProxy,
    pub table: String,
    /// The secret holding the integration's client, which the provider reads.
    pub oidc_secret: String,
    /// The provider's environment, as its instances run now.
    pub oidc_env: Vec<(&'static str, String)>,
    /// The broker's issuer: the REST API stage front's URL, `http://127.0.0.1:port/prod`.
    pub issuer: String,
    /// What the provider's instances replaced by [`WebFleet::redeploy_oidc`] printed.
    pub retired_lines: Vec<String>,
    _front: HttpFront,
}

impl WebFleet {
    /// `instances` processes of the function in web messaging mode, all polling for work.
    pub async fn start(instances: usize) -> Self {
        Self::start_with(instances, |_| ()).await
    }

    /// Like [`WebFleet::start`], with `before_init` run on the backends before any instance
    /// starts (e.g. to make AWS fail during the instances' init, or to change their environment).
    pub async fn start_with(instances: usize, before_init: impl FnOnce(&mut WebBackends)) -> Self {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
        let url = sandbox.base_url();
        Self::start_on(sandbox, &url, instances, before_init).await
    }

    /// Like [`WebFleet::start_with`], on a sandbox the test started, with Genesys at `genesys_url`
    /// (the sandbox's, or a proxy's in front of it).
    pub async fn start_on(
        sandbox: Sandbox,
        genesys_url: &str,
        instances: usize,
        before_init: impl FnOnce(&mut WebBackends),
    ) -> Self {
        let harness = Arc::new(RuntimeHarness::start().await);
        // The OIDC provider is a function of its own, behind its own REST API stage (the issuer).
        let oidc_harness = Arc::new(RuntimeHarness::start().await);
        let front = HttpFront::rest_stage_over_harness(Arc::clone(&oidc_harness), OIDC_STAGE).await;
        let issuer = front.base_url();
        let mut backends = WebBackends::create(&sandbox, genesys_url, &issuer).await;
        before_init(&mut backends);
        let WebBackends {
            guest_env,
            oidc_env,
            proxy,
            table,
            oidc_secret,
        } = backends;
        let instances = start_polling(&harness, LAMBDA_BINARY, &guest_env, instances).await;
        let oidc_instances = start_polling(&oidc_harness, OIDC_BINARY, &oidc_env, OIDC_INSTANCES).await;
        Self {
            harness,
            sandbox,
            instances,
            oidc_instances,
            oidc_harness,
            proxy,
            table,
            oidc_secret,
            oidc_env,
            issuer,
            retired_lines: Vec::new(),
            _front: front,
        }
    }

    /// The provider deployed anew with `change` made to its environment, as a deployment switches
    /// a setting: its instances stop (their lines go to `retired_lines`), new ones start polling.
    pub async fn redeploy_oidc(&mut self, change: impl FnOnce(&mut Vec<(&'static str, String)>)) {
        change(&mut self.oidc_env);
        for mut instance in self.oidc_instances.drain(..) {
            self.retired_lines.extend(instance.stop());
        }
        self.oidc_instances = start_polling(&self.oidc_harness, OIDC_BINARY, &self.oidc_env, OIDC_INSTANCES).await;
    }

    /// POST /guest-tokens for `crm_id`, as the REST API (the template's `Api`) shapes it.
    pub async fn post(&self, crm_id: &str) -> Value {
        self.harness.invoke(rest_api_post(&crm_body(crm_id))).await.response()
    }

    /// POST /auth-codes with `body` ([`auth_code_event`]).
    pub async fn auth_code(&self, body: &Value) -> Value {
        self.harness.invoke(auth_code_event(body)).await.response()
    }

    /// What a code answer resolved, handed to the sandbox as the Messenger's Auth plugin hands it
    /// to Genesys's exchange: the status and the body (`{jwt, refreshToken}` on success).
    pub async fn messenger_exchange(&self, resolved: &Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!(
                "{}{}",
                self.sandbox.base_url(),
                Endpoint::MessengerAuthCode.path()
            ))
            .json(resolved)
            .send()
            .await
            .expect("the sandbox answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
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

    /// `POST /oidc/token` through the OIDC API's stage, as Genesys sends it: the form, with the client
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
        let response = request.send().await.expect("the OIDC API answers");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let (www_authenticate, cache_control, pragma) =
            (header("www-authenticate"), header("cache-control"), header("pragma"));
        let body = response.json().await.expect("a JSON body");
        TokenReply {
            status,
            www_authenticate,
            cache_control,
            pragma,
            body,
        }
    }

    /// Stops every instance and returns every line they printed.
    pub fn stop(&mut self) -> Vec<String> {
        self.instances
            .iter_mut()
            .chain(&mut self.oidc_instances)
            .flat_map(LambdaFunction::stop)
            .collect()
    }
}

/// What a web-messaging function runs against: a fresh sessions table and credentials secret, the
/// integration's client in a secret and a KMS signing key in moto, AWS through a counting proxy,
/// and the sandbox told that the provider's issuer is `issuer`.
pub struct WebBackends {
    /// The guest function's environment (Lambda's own variables come on top, from the harness).
    pub guest_env: Vec<(&'static str, String)>,
    /// The OIDC provider function's environment.
    pub oidc_env: Vec<(&'static str, String)>,
    pub proxy: AwsProxy,
    pub table: String,
    /// The secret holding the integration's client (`OIDC_CLIENT_SECRET_ID`).
    pub oidc_secret: String,
}

impl WebBackends {
    /// `extra` on top of both functions' environments.
    pub fn add_env(&mut self, extra: &[(&'static str, &str)]) {
        for env in [&mut self.guest_env, &mut self.oidc_env] {
            env.extend(extra.iter().map(|(name, value)| (*name, (*value).to_owned())));
        }
    }

    /// Genesys at `genesys_url` (the sandbox's, or a proxy's in front of it).
    pub async fn create(sandbox: &Sandbox, genesys_url: &str, issuer: &str) -> Self {
        sandbox.set_oidc_issuer(issuer);
        let clients = SandboxConfig::default().clients;
        let clients: Vec<(&str, &str)> = clients
            .iter()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
            .collect();
        let backends = Backends::create(genesys_url, &clients).await;
        let mut env = backends.env;
        let proxy = AwsProxy::start().await;
        let oidc_secret = unique("oidc-client");
        create_secret(
            &oidc_secret,
            &json!({"client_id": DEFAULT_OIDC_CLIENT_ID, "client_secret": DEFAULT_OIDC_CLIENT_SECRET}).to_string(),
        )
        .await;
        env.extend(proxy.env());
        let mut oidc_env = env.clone();
        env.extend([
            ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging".into()),
            ("GENESYS_DEPLOYMENT_ID", DEFAULT_DEPLOYMENT_ID.into()),
            ("GENESYS_EXTERNAL_SOURCE_ID", DEFAULT_EXTERNAL_SOURCE_ID.into()),
            ("OIDC_REDIRECT_URI", REDIRECT_URI.into()),
            // Refresh tokens sealed at rest (KMS through the proxy, as every AWS call).
            ("REFRESH_TOKEN_KMS_KEY_ID", create_encryption_key().await),
        ]);
        oidc_env.extend([
            ("OIDC_ISSUER", issuer.to_owned()),
            ("OIDC_CLIENT_SECRET_ID", oidc_secret.clone()),
            ("OIDC_SIGNING_KEY_ID", create_signing_key().await),
        ]);
        Self {
            guest_env: env,
            oidc_env,
            proxy,
            table: backends.table,
            oidc_secret,
        }
    }
}

#[derive(Debug)]
pub struct TokenReply {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub cache_control: Option<String>,
    pub pragma: Option<String>,
    pub body: Value,
}

impl TokenReply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    /// `Cache-Control: no-store` and `Pragma: no-cache`, as RFC 6749 §5.1 asks of token answers.
    #[track_caller]
    pub fn assert_never_cached(&self) {
        assert_eq!(
            (self.cache_control.as_deref(), self.pragma.as_deref()),
            (Some("no-store"), Some("no-cache")),
            "{self:?}"
        );
    }
}

/// POST /auth-codes with `body`, as the REST API shapes it (the sample event's).
pub fn auth_code_event(body: &Value) -> Value {
    let mut event = sample_event("rest-api-post-auth-codes.json");
    event["body"] = BASE64.encode(body.to_string()).into();
    event
}

/// Waits (a poll with a deadline) until `expires_at` (RFC 3339, a jwt's expiry) has passed.
pub async fn wait_past(expires_at: &str) {
    let expires_at = chrono::DateTime::parse_from_rfc3339(expires_at).expect("an RFC 3339 expiry");
    let deadline = Instant::now() + Duration::from_secs(10);
    while chrono::Utc::now() <= expires_at {
        assert!(Instant::now() < deadline, "the jwt never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
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
