//! Spawns the broker's API on loopback against the Genesys sandbox, with the in-memory store and a
//! clock the test controls.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use guest_token_broker::api::loopback;
use guest_token_broker::credentials::{Credential, CredentialSet, CredentialSource, EnvCredentials, Pseudonyms};
use guest_token_broker::domain::{Broker, CrmId, CrmIdHash, FixedClock, Pseudonymiser};
use guest_token_broker::genesys::{GenesysClient, GenesysEndpoints, RetryPolicy};
use guest_token_broker::sandbox::server::ServerHandle;
use guest_token_broker::sandbox::{Endpoint, Sandbox, SandboxConfig};
use guest_token_broker::store::{MemoryStore, SessionStore};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;

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
    pub address: String,
    pub sandbox: Sandbox,
    pub store: S,
    pub clock: FixedClock,
    pub http: reqwest::Client,
    _server: ServerHandle,
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
pub async fn spawn_app_on<S: SessionStore + Clone>(
    options: Options,
    store: S,
    credentials: Arc<dyn CredentialSource>,
) -> TestApp<S> {
    spawn_app_hashing_with(options, store, credentials, Pseudonyms::sha256()).await
}

/// The API with the given pseudonymisation (HMAC with a key from Secrets Manager, say).
pub async fn spawn_app_hashing_with<S: SessionStore + Clone>(
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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = loopback::serve(Arc::new(broker), listener, options.budget);
    TestApp {
        address: server.base_url(),
        sandbox,
        store,
        clock,
        http: reqwest::Client::new(),
        _server: server,
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
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
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

impl<S> TestApp<S> {
    pub async fn request(&self, method: reqwest::Method, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let response = self
            .http
            .request(method, format!("{}{path}", self.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        Reply { status, headers, body }
    }

    pub async fn post_token(&self, crm_id: &str) -> Reply {
        self.request(
            reqwest::Method::POST,
            "/guest-tokens",
            json!({ "crmId": crm_id }).to_string(),
        )
        .await
    }

    pub async fn delete_session(&self, crm_id: &str) -> Reply {
        self.request(
            reqwest::Method::DELETE,
            "/guest-sessions",
            json!({ "crmId": crm_id }).to_string(),
        )
        .await
    }
}
