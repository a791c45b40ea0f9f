//! Property tests over arbitrary HTTP events: methods, paths, headers, bodies and base64 flags, in
//! every event shape. The handler never panics, never answers 5xx to a healthy upstream, and
//! whatever it answers with a 4xx reached neither the store nor Genesys.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use genesys_sandbox::{Sandbox, SandboxConfig};
use guest_token_broker::broker::Broker;
use guest_token_broker::domain::{Deadline, SystemClock};
use guest_token_broker::genesys::{GenesysClient, GenesysEndpoints, RetryPolicy};
use guest_token_broker::lambda::handle_event;
use guest_token_broker::secrets::Pseudonyms;
use guest_token_broker::store::MemoryStore;
use guest_token_broker::telemetry::Metrics;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{credential_source, upstream_calls};

#[derive(Debug, Clone, Copy)]
enum Shape {
    RestApi,
    HttpApi,
    Alb,
}

#[derive(Debug, Clone)]
struct Request {
    shape: Shape,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    base64: bool,
    /// Built to be valid: must be answered 2xx (and so shows valid requests are exercised too).
    valid: bool,
}

fn event(request: &Request) -> Value {
    let headers: serde_json::Map<String, Value> = request
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    match request.shape {
        Shape::RestApi => json!({
            "resource": request.path, "path": request.path, "httpMethod": request.method,
            "headers": headers, "body": request.body, "isBase64Encoded": request.base64,
            "requestContext": {"stage": "prod", "requestId": "r", "httpMethod": request.method, "path": request.path}
        }),
        Shape::HttpApi => json!({
            "version": "2.0", "routeKey": "$default", "rawPath": request.path, "rawQueryString": "",
            "headers": headers, "body": request.body, "isBase64Encoded": request.base64,
            "requestContext": {"stage": "$default", "requestId": "r", "http": {"method": request.method, "path": request.path}}
        }),
        Shape::Alb => json!({
            "httpMethod": request.method, "path": request.path, "headers": headers,
            "body": request.body, "isBase64Encoded": request.base64,
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}}
        }),
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![Just(Shape::RestApi), Just(Shape::HttpApi), Just(Shape::Alb)]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["POST", "DELETE", "GET", "PUT", "PATCH", "HEAD", "OPTIONS"]).prop_map(String::from),
        1 => "[A-Z]{1,10}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["/guest-tokens", "/prod/guest-tokens", "/guest-sessions", "/v1/guest-sessions"]).prop_map(String::from),
        1 => "/[a-z/-]{0,30}",
        1 => "\\PC{0,40}",
    ]
}

fn crm_id_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => "\\PC{1,20}".prop_map(Value::String),
        1 => ".{0,300}".prop_map(Value::String),
        1 => "[ \t\n\u{0}\u{1f}\u{7f}\u{85}\u{2028}]{0,5}".prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!(["CRM-1"])),
    ]
}

fn body() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => crm_id_value().prop_map(|id| Some(json!({"crmId": id}).to_string())),
        1 => Just(None),
        1 => "\\PC{0,64}".prop_map(Some),
        1 => any::<Vec<u8>>().prop_map(|bytes| Some(String::from_utf8_lossy(&bytes).into_owned())),
        1 => (0usize..40_000).prop_map(|n| Some(format!(r#"{{"crmId":"a","pad":"{}"}}"#, "x".repeat(n)))),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        shape(),
        method(),
        path(),
        prop::collection::vec(("[a-zA-Z-]{1,12}", "\\PC{0,20}"), 0..4),
        body(),
        0u8..3,
    )
        .prop_map(|(shape, method, path, headers, body, encoding)| {
            // 0: plain, 1: correctly base64-encoded, 2: flagged base64 but left as it is.
            let (body, base64) = match encoding {
                1 => (body.map(|b| BASE64.encode(b)), true),
                2 => (body, true),
                _ => (body, false),
            };
            Request {
                shape,
                method,
                path,
                headers,
                body,
                base64,
                valid: false,
            }
        })
}

fn valid_request() -> impl Strategy<Value = Request> {
    let route = prop::sample::select(vec![
        ("POST", "/guest-tokens"),
        ("DELETE", "/guest-sessions"),
        ("POST", "/prod/guest-tokens"),
    ]);
    (shape(), route, "[A-Za-z0-9-]{1,20}", any::<bool>()).prop_map(|(shape, (method, path), crm_id, base64)| {
        let body = json!({ "crmId": crm_id }).to_string();
        Request {
            shape,
            method: method.into(),
            path: path.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(if base64 { BASE64.encode(body) } else { body }),
            base64,
            valid: true,
        }
    })
}

struct World {
    runtime: tokio::runtime::Runtime,
    sandbox: Sandbox,
    store: MemoryStore,
    broker: Broker<MemoryStore>,
}

fn world() -> World {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime.block_on(Sandbox::start(SandboxConfig::default())).unwrap();
    let url: url::Url = sandbox.base_url().parse().unwrap();
    let endpoints = GenesysEndpoints {
        api_base: url.clone(),
        login_base: url,
    };
    let credentials = Arc::new(credential_source(&SandboxConfig::default().clients));
    let genesys = GenesysClient::new(endpoints, credentials, RetryPolicy::default());
    let store = MemoryStore::new();
    let broker = Broker::new(
        store.clone(),
        genesys,
        Pseudonyms::sha256(),
        Arc::new(SystemClock),
        Duration::from_secs(300),
    );
    World {
        runtime,
        sandbox,
        store,
        broker,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_http_event_gets_a_clean_answer_and_client_errors_reach_nothing(
        request in prop_oneof![4 => request(), 1 => valid_request()]
    ) {
        thread_local! { static WORLD: World = world(); }
        WORLD.with(|world| {
            let before = (world.store.operations(), upstream_calls(&world.sandbox));
            let answer = world.runtime.block_on(handle_event(
                &world.broker,
                event(&request),
                Deadline::after(Duration::from_secs(10)),
                &Metrics::new(),
            ));
            let answer = answer.map_err(|e| TestCaseError::fail(format!("error result: {e:?}")))?;
            let status = answer["statusCode"].as_u64().unwrap_or_default();
            prop_assert!([200, 204, 400, 404, 405, 413].contains(&status), "status {status} for {request:?}");
            prop_assert!(!request.valid || status < 300, "valid request answered {status}: {request:?}");
            if status >= 400 {
                prop_assert_eq!(before, (world.store.operations(), upstream_calls(&world.sandbox)), "{:?}", request);
                let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or_default()).unwrap();
                prop_assert!(body["error"]["code"].is_string());
            }
            Ok(())
        })?;
    }
}
