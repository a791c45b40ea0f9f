//! One deployment of the compiled function for runtime-level tests: the binary on the Runtime API
//! harness, with the Genesys sandbox as Genesys and dynalite and moto as AWS, plus the sample events.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use genesys_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;

use crate::helpers::hash_of;
use test_kit::aws::dynamodb;
use test_kit::runtime_harness::{Backends, LambdaFunction, Outcome, RuntimeError, RuntimeHarness};

/// The function under test: the Lambda crate's binary.
pub const LAMBDA_BINARY: &str = env!("CARGO_BIN_EXE_guest-token-broker");

/// The sample events the template routes (what `sam local invoke` is given; scripts/sam-local).
pub const EVENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
/// Events the function serves that the template does not route (the HTTP API's payload 2.0).
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// The customer of the sample events.
pub const SAMPLE_CRM_ID: &str = "CRM-987654";
/// The guest function's sample events, in the order that makes them a story: the REST API call
/// repeats the HTTP API call's customer, the warm-up comes between two requests, the delete
/// removes that customer's session. All but the HTTP API event (`tests/fixtures/`: the template
/// routes no HTTP API to it) are files in `events/`.
pub const GUEST_EVENTS_IN_ORDER: [&str; 6] = [
    "http-api-post-guest-tokens.json",
    "rest-api-post-guest-tokens.json",
    "scheduled-warm-up.json",
    "delete-guest-sessions.json",
    "malformed-request.json",
    "rest-api-post-auth-codes.json",
];
/// The OIDC provider function's sample events (files in `events/`): discovery, the JWKS, a token
/// request.
pub const OIDC_EVENTS: [&str; 3] = [
    "rest-api-get-oidc-discovery.json",
    "rest-api-get-oidc-jwks.json",
    "rest-api-post-oidc-token.json",
];

/// One function instance on a harness, with the sandbox as Genesys and dynalite and moto as AWS.
pub struct Deployment {
    pub function: LambdaFunction,
    pub harness: RuntimeHarness,
    pub sandbox: Sandbox,
    pub table: String,
    pub secret: String,
    /// What every instance of this deployment runs with.
    pub env: Vec<(&'static str, String)>,
}

impl Deployment {
    /// On the sandbox's default client, which goes into the credentials secret.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like [`Deployment::start`], with `env` on top of the rest.
    pub async fn start_with(env: &[(&'static str, &str)]) -> Self {
        let config = SandboxConfig::default();
        let clients = config.clients.clone();
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let url = sandbox.base_url();
        Self::start_on(sandbox, &clients, &url, env).await
    }

    /// `clients` go into the credentials secret; `env` comes on top of the rest.
    pub async fn start_on(
        sandbox: Sandbox,
        clients: &[(String, String)],
        genesys_url: &str,
        env: &[(&'static str, &str)],
    ) -> Self {
        let clients: Vec<(&str, &str)> = clients
            .iter()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
            .collect();
        let backends = Backends::create(genesys_url, &clients).await;
        let mut vars = backends.env;
        vars.extend(env.iter().map(|(name, value)| (*name, (*value).to_owned())));
        let harness = RuntimeHarness::start().await;
        let function = LambdaFunction::start(LAMBDA_BINARY, &harness, &vars);
        let secret = vars
            .iter()
            .find(|(name, _)| *name == "GENESYS_CREDENTIALS_SECRET_ID")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        Self {
            function,
            harness,
            sandbox,
            table: backends.table,
            secret,
            env: vars,
        }
    }

    /// Another instance of the same function, polling the same harness (Lambda scaling out).
    pub fn start_instance(&self) -> LambdaFunction {
        LambdaFunction::start(LAMBDA_BINARY, &self.harness, &self.env)
    }

    pub async fn invoke(&self, event: Value) -> Outcome {
        self.harness.invoke(event).await
    }

    /// The guest id stored for the customer, if a session exists.
    pub async fn stored_guest(&self, crm_id: &str) -> Option<String> {
        let item = dynamodb()
            .await
            .get_item()
            .table_name(&self.table)
            .key("crm_id_hash", AttributeValue::S(hash_of(crm_id).as_str().to_owned()))
            .send()
            .await
            .expect("dynalite answers")
            .item?;
        Some(item["genesys_guest_id"].as_s().expect("a guest id string").clone())
    }
}

/// Starts `binary` with `env` (Lambda's own variables come from the harness) and returns the init
/// error it reported through the Runtime API, with what it printed: the test fails unless it
/// reported `Runtime.ConfigurationError`, exited unsuccessfully and never asked for an event.
pub async fn init_error_of(binary: &str, env: &[(&'static str, String)]) -> (RuntimeError, Vec<String>) {
    let harness = RuntimeHarness::start().await;
    let mut function = LambdaFunction::start(binary, &harness, env);
    let error = harness.init_error().await;
    let status = function.wait_for_exit();
    let error = error.unwrap_or_else(|| panic!("no init error for {env:?}; it printed {:#?}", function.lines()));
    assert_eq!(error.error_type, "Runtime.ConfigurationError", "{error:?}");
    assert_eq!(error.header_error_type.as_deref(), Some("Runtime.ConfigurationError"));
    assert!(!status.success(), "{env:?}: {status}");
    assert_eq!(
        harness.next_polls(),
        0,
        "a function that failed its init never asks for events"
    );
    (error, function.lines().to_vec())
}

/// A sample event from `events/`, else from `tests/fixtures/`.
pub fn sample_event(name: &str) -> Value {
    let path = [EVENTS_DIR, FIXTURES_DIR]
        .map(|dir| format!("{dir}/{name}"))
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .unwrap_or_else(|| format!("{EVENTS_DIR}/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path} is not JSON: {err}"))
}

/// The sample HTTP API event with another body.
pub fn http_api_post(body: &str) -> Value {
    let mut event = sample_event("http-api-post-guest-tokens.json");
    event["body"] = body.into();
    event
}

/// The sample REST API event with another body, base64-encoded as the sample's is.
pub fn rest_api_post(body: &str) -> Value {
    let mut event = sample_event("rest-api-post-guest-tokens.json");
    event["body"] = BASE64.encode(body).into();
    event
}

pub fn crm_body(crm_id: &str) -> String {
    json!({ "crmId": crm_id }).to_string()
}

/// The response's `body` string, parsed.
#[track_caller]
pub fn body_of(response: &Value) -> Value {
    let body = response["body"]
        .as_str()
        .unwrap_or_else(|| panic!("no body string in {response}"));
    serde_json::from_str(body).unwrap_or_else(|err| panic!("the body is not JSON ({err}): {body}"))
}

/// The field names of a JSON object body.
#[track_caller]
pub fn keys_of(body: &Value) -> BTreeSet<&str> {
    body.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// A `{token, expiresAt, guestId}` body, and nothing else in it.
#[track_caller]
pub fn assert_token_body(body: &Value) {
    let keys = keys_of(body);
    assert_eq!(keys, BTreeSet::from(["expiresAt", "guestId", "token"]), "{body}");
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert!(body["guestId"].as_str().is_some_and(|g| !g.is_empty()), "{body}");
    let expires_at = body["expiresAt"].as_str().expect("expiresAt string");
    assert!(chrono::DateTime::parse_from_rfc3339(expires_at).is_ok(), "{body}");
}
