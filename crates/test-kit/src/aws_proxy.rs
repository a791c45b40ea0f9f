//! A forwarding proxy in front of the AWS emulators that can make AWS fail on purpose.
//!
//! Requests are routed by their `X-Amz-Target` (DynamoDB to dynalite, everything else to moto), so
//! one endpoint here serves a whole function (see [`AwsProxy::env`]). Each request is recorded with its
//! operation and the time the emulator took; [`FaultRule`]s fail chosen operations (optionally
//! only requests whose body contains a string) a number of times, with a throttling error, an
//! HTTP 500, a connection closed without an answer (before or after the emulator acted on the
//! request), a slow answer or any AWS error.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::emulators::{dynalite, moto};

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Record {
    /// The full target, e.g. `DynamoDB_20120810.GetItem` or `secretsmanager.GetSecretValue`.
    pub operation: String,
    /// From reading the request to reading the emulator's answer (zero when a fault answered).
    pub elapsed: Duration,
    /// The fault played instead of (or before) forwarding, if any.
    pub fault: Option<AwsFault>,
}

/// How a faulted request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsFault {
    /// HTTP 400 `ThrottlingException` (the SDK retries it).
    Throttling,
    /// HTTP 400 `ProvisionedThroughputExceededException` (the SDK retries it).
    ProvisionedThroughputExceeded,
    /// HTTP 500 `InternalServerError`.
    ServerError,
    /// The connection is closed without an answer.
    Reset,
    /// The request is forwarded (the emulator acts on it) and the connection then closed without
    /// the answer: a write that happened while its caller saw a failure, which the SDK retries.
    AnswerLost,
    /// The request is forwarded after this delay (it still reaches the emulator).
    Slow(Duration),
    /// HTTP 400 with this error code and message.
    Error { code: String, message: String },
}

/// Fails the next `times` requests for `operation` (the part after the dot, e.g. `UpdateItem`).
#[derive(Debug, Clone)]
pub struct FaultRule {
    operation: String,
    body_contains: Option<String>,
    times: usize,
    fault: AwsFault,
}

impl FaultRule {
    pub fn new(operation: &str, times: usize, fault: AwsFault) -> Self {
        Self {
            operation: operation.to_owned(),
            body_contains: None,
            times,
            fault,
        }
    }

    /// Only requests whose body contains `text` (e.g. an attribute name the write sets).
    pub fn when_body_contains(mut self, text: &str) -> Self {
        self.body_contains = Some(text.to_owned());
        self
    }

    fn matches(&self, operation: &str, body: &[u8]) -> bool {
        self.times > 0
            && operation.rsplit('.').next() == Some(self.operation.as_str())
            && self
                .body_contains
                .as_ref()
                .is_none_or(|text| contains(body, text.as_bytes()))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len().max(1)).any(|window| window == needle)
}

#[derive(Default)]
struct State {
    rules: Vec<FaultRule>,
    records: Vec<Record>,
}

pub struct AwsProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl AwsProxy {
    pub async fn start() -> Self {
        let upstream = Upstream {
            dynamodb: dynalite().endpoint.clone(),
            other: moto().endpoint.clone(),
            client: reqwest::Client::new(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = (Arc::new(upstream), Arc::clone(&state));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (upstream, state) = (Arc::clone(&shared.0), Arc::clone(&shared.1));
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let (upstream, state) = (Arc::clone(&upstream), Arc::clone(&state));
                        async move { serve(&upstream, &state, request).await }
                    });
                    // An error here is a connection the proxy closed on purpose (Reset) or a
                    // client that went away: nothing to report.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// Where it listens, for a TLS terminator in front of it.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The variables that send a process's DynamoDB, Secrets Manager and KMS calls through the
    /// proxy (they take precedence over the emulators' own, set by `aws_env`; KMS goes on to moto
    /// like every target that is not DynamoDB's).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_DYNAMODB", self.url()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.url()),
            ("AWS_ENDPOINT_URL_KMS", self.url()),
        ]
    }

    /// Adds a rule; rules are tried in the order they were added.
    pub fn fail(&self, rule: FaultRule) {
        lock(&self.state).rules.push(rule);
    }

    /// Drops every rule: from now on every request is forwarded.
    pub fn stop_failing(&self) {
        lock(&self.state).rules.clear();
    }

    /// The operations forwarded to an emulator so far, in order (faulted ones excluded, but slow
    /// ones and those whose answer was lost included: they got through).
    pub fn operations(&self) -> Vec<String> {
        lock(&self.state)
            .records
            .iter()
            .filter(|record| {
                record.fault.is_none() || matches!(record.fault, Some(AwsFault::Slow(_) | AwsFault::AnswerLost))
            })
            .map(|record| record.operation.clone())
            .collect()
    }

    /// How many requests a fault other than `Slow` answered.
    pub fn faults_played(&self) -> usize {
        lock(&self.state)
            .records
            .iter()
            .filter(|record| record.fault.as_ref().is_some_and(|f| !matches!(f, AwsFault::Slow(_))))
            .count()
    }

    /// The requests seen since the last call, in order.
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut lock(&self.state).records)
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Upstream {
    dynamodb: String,
    other: String,
    client: reqwest::Client,
}

/// The reason a connection is closed without an answer.
#[derive(Debug)]
struct ClosedOnPurpose;

impl std::fmt::Display for ClosedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by a Reset or AnswerLost fault")
    }
}

impl std::error::Error for ClosedOnPurpose {}

async fn serve(
    upstream: &Upstream,
    state: &Mutex<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ClosedOnPurpose> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(no target)")
        .to_owned();
    let fault = take_fault(state, &operation, &body);
    let record = |elapsed, fault| {
        lock(state).records.push(Record {
            operation: operation.clone(),
            elapsed,
            fault,
        })
    };
    match fault {
        Some(AwsFault::Reset) => {
            record(Duration::ZERO, Some(AwsFault::Reset));
            return Err(ClosedOnPurpose);
        }
        Some(AwsFault::Slow(delay)) => tokio::time::sleep(delay).await,
        // Forwarded like any request; the answer is dropped below.
        Some(AwsFault::AnswerLost) => {}
        Some(other) => {
            let response = fault_response(&other);
            record(Duration::ZERO, Some(other));
            return Ok(response);
        }
        None => {}
    }
    let target = if operation.starts_with("DynamoDB_") {
        &upstream.dynamodb
    } else {
        &upstream.other
    };
    let started = Instant::now();
    let response = forward(&upstream.client, target, parts, body).await;
    let lost = fault == Some(AwsFault::AnswerLost);
    record(started.elapsed(), fault);
    if lost {
        return Err(ClosedOnPurpose);
    }
    Ok(response)
}

fn take_fault(state: &Mutex<State>, operation: &str, body: &[u8]) -> Option<AwsFault> {
    let mut state = lock(state);
    let rule = state.rules.iter_mut().find(|rule| rule.matches(operation, body))?;
    rule.times -= 1;
    Some(rule.fault.clone())
}

fn fault_response(fault: &AwsFault) -> Response<Full<Bytes>> {
    let (status, code, message) = match fault {
        AwsFault::Throttling => (StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded"),
        AwsFault::ProvisionedThroughputExceeded => (
            StatusCode::BAD_REQUEST,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        AwsFault::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal server error",
        ),
        AwsFault::Error { code, message } => (StatusCode::BAD_REQUEST, code.as_str(), message.as_str()),
        AwsFault::Reset | AwsFault::AnswerLost | AwsFault::Slow(_) => unreachable!("played by serve"),
    };
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "fault-injected")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response")
}

async fn forward(
    client: &reqwest::Client,
    target: &str,
    parts: http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = client.request(parts.method, format!("{target}{path}")).body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.expect("the emulator answers");
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != http::header::TRANSFER_ENCODING && name != http::header::CONTENT_LENGTH {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    response.body(Full::new(body)).expect("a response")
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
