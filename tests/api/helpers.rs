//! The broker in process, driven the way Lambda drives it: each request is an HTTP API event (the
//! fixture in `tests/fixtures/`, with the method, path and body the test gives) handed to
//! `lambda::handle_event`, the path that ships. Genesys is the sandbox; the store is in memory
//! (or any other), and the clock is the test's.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use genesys_sandbox::{Endpoint, Sandbox, SandboxConfig};
use guest_token_broker::broker::Broker;
use guest_token_broker::domain::{CrmId, CrmIdHash, Deadline, FixedClock, Pseudonymiser};
use guest_token_broker::genesys::{GenesysClient, GenesysEndpoints, RetryPolicy};
use guest_token_broker::lambda;
use guest_token_broker::secrets::{Credential, CredentialSet, CredentialSource, EnvCredentials, Pseudonyms};
use guest_token_broker::store::{CodeStore, MemoryStore, SessionStore};
use guest_token_broker::telemetry::{Metrics, MetricsSnapshot};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::deployment::sample_event;

pub struct Options {
    pub sandbox: SandboxConfig,
    /// `None`: the sandbox's own clients, in order.
    pub credentials: Option<Vec<(String, String)>>,
    pub retry: RetryPolicy,
    pub window: Duration,
    /// Each request's deadline, as an invocation's remaining time.
    pub budget: Duration,
    /// Point Genesys somewhere other than the sandbox (e.g. a closed port).
    pub genesys_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sandbox: SandboxConfig::default(),
            credentials: None,
            retry: RetryPolicy::default(),
            window: Duration::from_secs(300),
            budget: Duration::from_secs(10),
            genesys_url: None,
        }
    }
}

pub struct TestApp<S = MemoryStore> {
    pub broker: Arc<Broker<S>>,
    pub sandbox: Sandbox,
    pub store: S,
    pub clock: FixedClock,
    budget: Duration,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let credentials = options
        .credentials
        .clone()
        .unwrap_or_else(|| options.sandbox.clients.clone());
    spawn_app_on(options, MemoryStore::new(), Arc::new(credential_source(&credentials))).await
}

/// The API on any store and credential source (DynamoDB on dynalite and Secrets Manager on moto, say).
pub async fn spawn_app_on<S: SessionStore + CodeStore + Clone>(
    options: Options,
    store: S,
    credentials: Arc<dyn CredentialSource>,
) -> TestApp<S> {
    spawn_app_hashing_with(options, store, credentials, Pseudonyms::sha256()).await
}

/// The API with the given pseudonymisation (HMAC with a key from Secrets Manager, say).
pub async fn spawn_app_hashing_with<S: SessionStore + CodeStore + Clone>(
    options: Options,
    store: S,
    credentials: Arc<dyn CredentialSource>,
    pseudonyms: Pseudonyms,
) -> TestApp<S> {
    let sandbox = Sandbox::start(options.sandbox).await.expect("sandbox starts");
    let base = options.genesys_url.unwrap_or_else(|| sandbox.base_url());
    let endpoints = GenesysEndpoints {
        api_base: base.parse().unwrap(),
        login_base: base.parse().unwrap(),
    };
    let genesys = GenesysClient::new(endpoints, credentials, options.retry);
    let clock = FixedClock::at(Utc::now());
    let broker = Broker::new(
        store.clone(),
        genesys,
        pseudonyms,
        Arc::new(clock.clone()),
        options.window,
    );
    TestApp {
        broker: Arc::new(broker),
        sandbox,
        store,
        clock,
        budget: options.budget,
    }
}

pub fn credential_source(pairs: &[(String, String)]) -> EnvCredentials {
    let credentials = pairs
        .iter()
        .map(|(id, secret)| Credential {
            client_id: id.clone(),
            client_secret: SecretString::from(secret.clone()),
        })
        .collect();
    EnvCredentials::new(CredentialSet::new(credentials).unwrap())
}

pub fn pair(id: &str, secret: &str) -> (String, String) {
    (id.to_owned(), secret.to_owned())
}

pub fn hash_of(crm_id: &str) -> CrmIdHash {
    Pseudonymiser::Sha256.hash(&CrmId::parse(crm_id).unwrap())
}

/// Upstream calls so far: (OAuth, guest creation, guest token).
pub fn upstream_calls(sandbox: &Sandbox) -> (usize, usize, usize) {
    (
        sandbox.calls(Endpoint::OAuthToken),
        sandbox.calls(Endpoint::CreateGuest),
        sandbox.calls(Endpoint::GuestToken),
    )
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    /// What the request counted, as its invocation's metrics record would report it.
    pub metrics: MetricsSnapshot,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

impl<S: SessionStore + CodeStore> TestApp<S> {
    /// An app from parts built elsewhere (another upstream mode, say).
    pub fn from_parts(broker: Arc<Broker<S>>, sandbox: Sandbox, store: S, clock: FixedClock, budget: Duration) -> Self {
        Self {
            broker,
            sandbox,
            store,
            clock,
            budget,
        }
    }

    /// One request as an HTTP API event through `lambda::handle_event`, with the test's budget as
    /// the invocation's remaining time.
    pub async fn request(&self, method: Method, path: &str, body: impl Into<String>) -> Reply {
        let mut event = sample_event("http-api-post-guest-tokens.json");
        event["rawPath"] = path.into();
        event["requestContext"]["http"]["method"] = method.as_str().into();
        event["requestContext"]["http"]["path"] = path.into();
        event["body"] = body.into().into();
        let metrics = Metrics::new();
        let response = lambda::handle_event(self.broker.as_ref(), event, Deadline::after(self.budget), &metrics)
            .await
            .expect("an HTTP event gets an HTTP response");
        let mut headers = HeaderMap::new();
        for (name, value) in response["headers"].as_object().into_iter().flatten() {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
        let body = match response["body"].as_str() {
            None | Some("") => Value::Null,
            Some(text) => serde_json::from_str(text).expect("JSON body"),
        };
        Reply {
            status: response["statusCode"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or_default(),
            headers,
            body,
            metrics: metrics.snapshot(),
        }
    }

    pub async fn post_token(&self, crm_id: &str) -> Reply {
        self.request(Method::POST, "/guest-tokens", json!({ "crmId": crm_id }).to_string())
            .await
    }

    pub async fn delete_session(&self, crm_id: &str) -> Reply {
        self.request(
            Method::DELETE,
            "/guest-sessions",
            json!({ "crmId": crm_id }).to_string(),
        )
        .await
    }
}
