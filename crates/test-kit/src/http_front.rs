//! An HTTP front for the functions polling a [`RuntimeHarness`]: what API Gateway does, on
//! loopback. Each HTTP request becomes an event for the functions, an HTTP API (payload 2.0) one
//! from [`HttpFront::over_pool`] with [`GatewayApi::Http`], a REST API (payload 1.0) one from a
//! REST API stage; whichever function instance polls first answers it, and its response becomes
//! the HTTP answer.
//!
//! It lets a server reach the compiled function over HTTP (the Genesys sandbox calling the
//! broker's OpenID Connect routes during a code exchange). A front over a harness adds no
//! instance: a request waits for one that is free, as on Lambda with concurrency to spare. A front
//! over a [`FunctionPool`] lets the pool decide: when all its slots are busy the request is
//! throttled and answered as API Gateway answers a Lambda throttle ([`GatewayApi::throttle_answer`]),
//! and the front records the source address and path of each request so answered.
//!
//! [`HttpFront::rest_stage`] is the template's OIDC API since issue 25: a REST API stage, whose
//! events are REST API (payload 1.0) proxy events (the stage in the URL and in
//! `requestContext.path`, not in `path`), behind AWS WAF's rate-based rule on the client IP
//! ([`RateBasedRule`]), keyed on the real peer address of each connection: a client bound to
//! another loopback address (127.0.0.2) is another source. [`HttpFront::rest_stage_over_harness`]
//! is the same stage over a harness (no throttle, no rule): the OIDC API as the web-messaging
//! tests reach it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use genesys_sandbox::server::{self as http_server, PeerAddr, ServerHandle};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::function_pool::{FunctionPool, GatewayApi, Invocation};
use crate::runtime_harness::{Outcome, RuntimeHarness};
use crate::waf::{self, RateBasedRule};

/// The requests a front answered with a throttle: source address and path, in order.
type Throttled = Arc<Mutex<Vec<(IpAddr, String)>>>;

pub struct HttpFront {
    server: ServerHandle,
    throttled: Throttled,
    /// The REST API stage the front serves under (`/prod`), if any.
    stage: Option<String>,
}

impl HttpFront {
    /// Serves the functions of `pool` as `api` does, until dropped: a request the pool throttles
    /// gets API Gateway's answer to a Lambda throttle.
    pub async fn over_pool(pool: Arc<FunctionPool>, api: GatewayApi) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let throttled = Throttled::default();
        let record = Arc::clone(&throttled);
        let server = http_server::spawn(listener, move |request: Request<Bytes>| {
            let (pool, record) = (Arc::clone(&pool), Arc::clone(&record));
            async move { through_pool(&pool, &record, &request, event_for(&request), api).await }
        });
        Self {
            server,
            throttled,
            stage: None,
        }
    }

    /// Serves the functions of `pool` as the REST API stage `stage` does, until dropped, behind
    /// `waf` when given: a request the rule blocks gets API Gateway's 403 and reaches neither the
    /// stage nor the pool; a path outside the stage gets API Gateway's 403 for an unknown
    /// resource; a request the pool throttles gets API Gateway's answer to a Lambda throttle.
    pub async fn rest_stage(pool: Arc<FunctionPool>, stage: &str, waf: Option<Arc<RateBasedRule>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let throttled = Throttled::default();
        let (record, name) = (Arc::clone(&throttled), stage.to_owned());
        let server = http_server::spawn(listener, move |request: Request<Bytes>| {
            let (pool, record, waf, name) = (Arc::clone(&pool), Arc::clone(&record), waf.clone(), name.clone());
            async move {
                if waf.as_ref().is_some_and(|rule| !rule.admits(source_of(&request))) {
                    return waf::blocked_answer();
                }
                match stage_event(&request, &name) {
                    Some(event) => through_pool(&pool, &record, &request, event, GatewayApi::Rest).await,
                    None => missing_authentication_token(),
                }
            }
        });
        Self {
            server,
            throttled,
            stage: Some(stage.to_owned()),
        }
    }

    /// Serves the functions polling `harness` as the REST API stage `stage` does, until dropped: a
    /// path outside the stage gets API Gateway's 403 for an unknown resource; any other request
    /// waits for an instance that is free, as on Lambda with concurrency to spare.
    pub async fn rest_stage_over_harness(harness: Arc<RuntimeHarness>, stage: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let name = stage.to_owned();
        let server = http_server::spawn(listener, move |request: Request<Bytes>| {
            let (harness, name) = (Arc::clone(&harness), name.clone());
            async move {
                match stage_event(&request, &name) {
                    Some(event) => answer(harness.invoke(event).await),
                    None => missing_authentication_token(),
                }
            }
        });
        Self {
            server,
            throttled: Arc::default(),
            stage: Some(stage.to_owned()),
        }
    }

    /// The paths of the requests answered with a throttle so far, in order (a front over a pool).
    pub fn throttled(&self) -> Vec<String> {
        self.throttled_requests().into_iter().map(|(_, path)| path).collect()
    }

    /// The source address and path of each request answered with a throttle so far, in order.
    pub fn throttled_requests(&self) -> Vec<(IpAddr, String)> {
        self.throttled.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// `http://127.0.0.1:port`, and the stage (`/prod`) for a REST API stage: the OIDC issuer.
    pub fn base_url(&self) -> String {
        match &self.stage {
            Some(stage) => format!("{}/{stage}", self.server.base_url()),
            None => self.server.base_url(),
        }
    }
}

/// Hands `event` to `pool`: its answer, or API Gateway's answer to a throttle, recorded.
async fn through_pool(
    pool: &Arc<FunctionPool>,
    record: &Throttled,
    request: &Request<Bytes>,
    event: Value,
    api: GatewayApi,
) -> Response<Bytes> {
    match pool.invoke(event).await {
        Invocation::Served(outcome) => answer(outcome),
        Invocation::Throttled => {
            let throttled = (source_of(request), request.uri().path().to_owned());
            record.lock().unwrap_or_else(PoisonError::into_inner).push(throttled);
            api.throttle_answer()
        }
    }
}

/// The address the request's connection came from.
fn source_of(request: &Request<Bytes>) -> IpAddr {
    request
        .extensions()
        .get::<PeerAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |peer| peer.0.ip())
}

/// API Gateway's answer for a path no resource of the API matches.
pub fn missing_authentication_token() -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(br#"{"message":"Missing Authentication Token"}"#));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

/// The REST API event API Gateway sends for `request` to the stage `stage` (`prod`); `None` for a
/// path outside the stage (API Gateway answers it with [`missing_authentication_token`]).
pub fn stage_event(request: &Request<Bytes>, stage: &str) -> Option<Value> {
    let path = request
        .uri()
        .path()
        .strip_prefix('/')?
        .strip_prefix(stage)
        .filter(|path| path.starts_with('/'))?;
    Some(rest_event_for(request, stage, path, source_of(request)))
}

/// The request's headers as a REST API event has them: each name with its values.
fn header_values(request: &Request<Bytes>) -> Map<String, Value> {
    let mut headers = Map::new();
    for (name, value) in request.headers() {
        let value = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        match headers.entry(name.as_str().to_owned()).or_insert_with(|| json!([])) {
            Value::Array(values) => values.push(value),
            _ => unreachable!("every entry is a list"),
        }
    }
    headers
}

/// The REST API proxy event (payload 1.0) for `request` to `path` under `stage`, from `source`.
pub fn rest_event_for(request: &Request<Bytes>, stage: &str, path: &str, source: IpAddr) -> Value {
    let multi = header_values(request);
    // `headers` holds each header's last value, as API Gateway fills it.
    let headers: Map<String, Value> = multi
        .iter()
        .map(|(name, values)| {
            (
                name.clone(),
                values.as_array().and_then(|v| v.last()).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let method = request.method().as_str();
    json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "loopback",
            "domainName": "127.0.0.1",
            "domainPrefix": "loopback",
            "httpMethod": method,
            "identity": {"sourceIp": source.to_string()},
            "path": format!("/{stage}{path}"),
            "protocol": "HTTP/1.1",
            "requestId": uuid::Uuid::new_v4().to_string(),
            "requestTimeEpoch": now.as_millis() as u64,
            "resourceId": "loopback",
            "resourcePath": path,
            "stage": stage,
        },
        "body": String::from_utf8_lossy(request.body()),
        "isBase64Encoded": false,
    })
}

/// The HTTP API event for `request`, as API Gateway would send it (no stage prefix: `$default`).
pub fn event_for(request: &Request<Bytes>) -> Value {
    // HTTP API events join a repeated header's values with commas.
    let headers: Map<String, Value> = header_values(request)
        .into_iter()
        .map(|(name, values)| {
            let values: Vec<&str> = values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (name, Value::String(values.join(",")))
        })
        .collect();
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

/// The HTTP answer for a function's response, HTTP API (`headers`) or REST API
/// (`multiValueHeaders`) shaped.
fn response_from(shaped: &Value) -> Response<Bytes> {
    let body = shaped["body"].as_str().unwrap_or_default().to_owned();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = shaped["statusCode"]
        .as_u64()
        .and_then(|status| u16::try_from(status).ok())
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let single = shaped["headers"].as_object().into_iter().flatten();
    let multi = shaped["multiValueHeaders"].as_object().into_iter().flatten();
    let values = single
        .map(|(name, value)| (name, vec![value]))
        .chain(multi.map(|(name, values)| (name, values.as_array().map(|v| v.iter().collect()).unwrap_or_default())));
    for (name, values) in values {
        for value in values {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                response.headers_mut().append(name, value);
            }
        }
    }
    response
}
