//! An HTTP front for the functions polling a [`RuntimeHarness`]: what API Gateway's HTTP API does,
//! on loopback. Each HTTP request becomes an HTTP API (payload 2.0) event queued on the harness;
//! whichever function instance polls first answers it, and its response becomes the HTTP answer.
//!
//! It lets a server reach the compiled function over HTTP (the Genesys sandbox calling the
//! broker's OpenID Connect routes during a code exchange). A front over a harness adds no
//! instance: a request waits for one that is free, as on Lambda with concurrency to spare. A front
//! over a [`FunctionPool`] lets the pool decide: when all its slots are busy the request is
//! throttled and answered as API Gateway answers a Lambda throttle ([`GatewayApi::throttle_answer`]),
//! and the front records the path of each request so answered.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use genesys_sandbox::server::{self as http_server, ServerHandle};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::function_pool::{FunctionPool, GatewayApi, Invocation};
use crate::runtime_harness::{Outcome, RuntimeHarness};

pub struct HttpFront {
    server: ServerHandle,
    throttled: Arc<Mutex<Vec<String>>>,
}

impl HttpFront {
    /// Serves on a free loopback port until dropped.
    pub async fn start(harness: Arc<RuntimeHarness>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let server = http_server::spawn(listener, move |request: Request<Bytes>| {
            let harness = Arc::clone(&harness);
            async move { answer(harness.invoke(event_for(&request)).await) }
        });
        Self {
            server,
            throttled: Arc::default(),
        }
    }

    /// Serves the functions of `pool` as `api` does, until dropped: a request the pool throttles
    /// gets API Gateway's answer to a Lambda throttle.
    pub async fn over_pool(pool: Arc<FunctionPool>, api: GatewayApi) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let throttled: Arc<Mutex<Vec<String>>> = Arc::default();
        let record = Arc::clone(&throttled);
        let server = http_server::spawn(listener, move |request: Request<Bytes>| {
            let (pool, record) = (Arc::clone(&pool), Arc::clone(&record));
            async move {
                match pool.invoke(event_for(&request)).await {
                    Invocation::Served(outcome) => answer(outcome),
                    Invocation::Throttled => {
                        let path = request.uri().path().to_owned();
                        record.lock().unwrap_or_else(PoisonError::into_inner).push(path);
                        api.throttle_answer()
                    }
                }
            }
        });
        Self { server, throttled }
    }

    /// The paths of the requests answered with a throttle so far, in order (a front over a pool).
    pub fn throttled(&self) -> Vec<String> {
        self.throttled.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// `http://127.0.0.1:port`
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }
}

/// The HTTP API event for `request`, as API Gateway would send it (no stage prefix: `$default`).
pub fn event_for(request: &Request<Bytes>) -> Value {
    let mut headers = Map::new();
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                *joined = Value::String(format!("{},{value}", joined.as_str().unwrap_or_default()));
            })
            .or_insert(Value::String(value));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let path = request.uri().path();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": request.uri().query().unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "loopback",
            "domainName": "127.0.0.1",
            "domainPrefix": "loopback",
            "http": {
                "method": request.method().as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": request.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": now.as_millis() as u64,
        },
        "body": String::from_utf8_lossy(request.body()),
        "isBase64Encoded": false,
    })
}

/// The HTTP answer for what the function posted: its response, or a 502 for an error.
pub fn answer(outcome: Outcome) -> Response<Bytes> {
    match outcome {
        Outcome::Response(response) => response_from(&response),
        Outcome::Error(error) => {
            let mut response = Response::new(Bytes::from(format!("{error:?}")));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        }
    }
}

/// The HTTP answer for a function's HTTP API response.
fn response_from(shaped: &Value) -> Response<Bytes> {
    let body = shaped["body"].as_str().unwrap_or_default().to_owned();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = shaped["statusCode"]
        .as_u64()
        .and_then(|status| u16::try_from(status).ok())
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in shaped["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::try_from(name.as_str()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
