//! The Lambda Runtime API on loopback, and the compiled `guest-token-broker` binary polling it: what
//! `sam local invoke` does, without Docker.
//!
//! The harness and the processes are separate: any number of function processes may poll one
//! harness, and each queued invocation goes to whichever of them polls first. This file is the
//! harness (the Runtime API's routes, the invocation queue); the function processes, their
//! environment and the backends they are pointed at are in `runtime_harness/function.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use genesys_sandbox::server::{self as http_server, ServerHandle};
use http::{Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

mod function;

pub use function::{Backends, LambdaFunction, lambda_env};

pub const FUNCTION_NAME: &str = "guest-token-broker";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:guest-token-broker";
/// The template's default function timeout.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an invocation may wait for a function to poll for it (a debug binary starting up).
const PICKUP_DEADLINE: Duration = Duration::from_secs(60);
/// How long after an invocation's own deadline the harness still waits for its result.
const RESULT_GRACE: Duration = Duration::from_secs(5);
/// How long `init_error` waits for a report.
const INIT_ERROR_DEADLINE: Duration = Duration::from_secs(60);

const API_PREFIX: &str = "/2018-06-01/runtime/";
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// What an invocation came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The JSON posted to `/invocation/{id}/response`.
    Response(Value),
    /// What was posted to `/invocation/{id}/error`.
    Error(RuntimeError),
}

/// An error posted to `/invocation/{id}/error` or `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeError {
    pub error_type: String,
    pub error_message: String,
    /// The `Lambda-Runtime-Function-Error-Type` header, if it was sent.
    pub header_error_type: Option<String>,
}

impl Outcome {
    /// The function's result; fails the test if it posted an error instead.
    #[track_caller]
    pub fn response(self) -> Value {
        match self {
            Self::Response(value) => value,
            Self::Error(error) => panic!("expected a response, the function posted an error: {error:?}"),
        }
    }
}

impl RuntimeError {
    fn posted(request: &Request<Bytes>) -> Self {
        let body: Value = serde_json::from_slice(request.body()).unwrap_or_default();
        let field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        Self {
            error_type: field("errorType"),
            error_message: field("errorMessage"),
            header_error_type: request
                .headers()
                .get(ERROR_TYPE_HEADER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        }
    }
}

pub struct RuntimeHarness {
    shared: Arc<Shared>,
    server: ServerHandle,
}

struct Shared {
    queue: mpsc::UnboundedSender<Queued>,
    /// Pollers of `/next` take turns on the receiver (tokio's mutex is fair, first come first
    /// served), so each invocation is handed to exactly one of them.
    queued: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    /// Invocations handed out or queued whose result has not been posted yet.
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_errors: watch::Sender<Vec<RuntimeError>>,
    next_polls: AtomicUsize,
    /// Run once, on the first `/next`, before anything is handed out (the benchmark moves the
    /// function into a CPU-limited cgroup there, as Lambda ends init at full CPU).
    first_poll: Mutex<Option<FirstPollHook>>,
    /// When the first poll arrived, and how long the first-poll hook took (the poll waits for it).
    first_poll_hook: Mutex<Option<(Instant, Duration)>>,
    /// When the latest invocation was handed out.
    handed_out: Mutex<Option<Instant>>,
}

type FirstPollHook = Box<dyn FnOnce() + Send>;

struct Queued {
    request_id: String,
    payload: Value,
    timeout: Duration,
}

impl RuntimeHarness {
    pub async fn start() -> Self {
        Self::start_with_first_poll_hook(|| ()).await
    }

    /// Like [`RuntimeHarness::start`]; `hook` runs once, when the first `/next` arrives, before
    /// that poll is answered.
    pub async fn start_with_first_poll_hook(hook: impl FnOnce() + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let (queue, queued) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue,
            queued: tokio::sync::Mutex::new(queued),
            waiting: Mutex::new(HashMap::new()),
            init_errors: watch::Sender::new(Vec::new()),
            next_polls: AtomicUsize::new(0),
            first_poll: Mutex::new(Some(Box::new(hook))),
            first_poll_hook: Mutex::new(None),
            handed_out: Mutex::new(None),
        });
        let handler_state = Arc::clone(&shared);
        let server = http_server::spawn(listener, move |request| {
            let shared = Arc::clone(&handler_state);
            async move { shared.serve(request).await }
        });
        Self { shared, server }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.server.local_addr().to_string()
    }

    /// Queues `payload` with the default timeout and waits for its result.
    pub async fn invoke(&self, payload: Value) -> Outcome {
        self.invoke_with_timeout(payload, INVOCATION_TIMEOUT).await
    }

    /// Queues `payload` and waits for its result. `timeout` sets the deadline the function is given
    /// (`Lambda-Runtime-Deadline-Ms`, counted from when a function picks the invocation up); the
    /// test fails if no function picks it up or answers in time.
    pub async fn invoke_with_timeout(&self, payload: Value, timeout: Duration) -> Outcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (sender, result) = oneshot::channel();
        lock(&self.shared.waiting).insert(request_id.clone(), sender);
        let queued = Queued {
            request_id: request_id.clone(),
            payload,
            timeout,
        };
        // The receiver lives as long as `shared`, so the queue is open.
        let _ = self.shared.queue.send(queued);
        let wait = PICKUP_DEADLINE + timeout + RESULT_GRACE;
        match tokio::time::timeout(wait, result).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!(
                "invocation {request_id} got no result within {wait:?}; /next was polled {} times \
                 (is a function running against {}?)",
                self.next_polls(),
                self.runtime_api()
            ),
        }
    }

    /// The first error posted to `/init/error`, waiting up to a deadline for one; `None` if none
    /// came by then.
    pub async fn init_error(&self) -> Option<RuntimeError> {
        let mut reported = self.shared.init_errors.subscribe();
        let first = tokio::time::timeout(INIT_ERROR_DEADLINE, reported.wait_for(|errors| !errors.is_empty())).await;
        match first {
            Ok(Ok(errors)) => errors.first().cloned(),
            _ => None,
        }
    }

    /// When the latest invocation was handed out to a function (its `/next` answered).
    pub fn last_handed_out(&self) -> Option<Instant> {
        *lock(&self.shared.handed_out)
    }

    /// When the first poll arrived and how long the first-poll hook held it up, once it has run.
    pub fn first_poll(&self) -> Option<(Instant, Duration)> {
        *lock(&self.shared.first_poll_hook)
    }

    /// How many times `/next` has been requested so far.
    pub fn next_polls(&self) -> usize {
        self.shared.next_polls.load(Ordering::SeqCst)
    }
}

impl Shared {
    async fn serve(&self, request: Request<Bytes>) -> Response<Bytes> {
        let path = request.uri().path().strip_prefix(API_PREFIX).unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        match (request.method(), segments.as_slice()) {
            (&Method::GET, ["invocation", "next"]) => self.next().await,
            (&Method::POST, ["invocation", id, "response"]) => {
                let body = serde_json::from_slice(request.body())
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(request.body()).into_owned()));
                self.finish(id, Outcome::Response(body))
            }
            (&Method::POST, ["invocation", id, "error"]) => {
                self.finish(id, Outcome::Error(RuntimeError::posted(&request)))
            }
            (&Method::POST, ["init", "error"]) => {
                let error = RuntimeError::posted(&request);
                self.init_errors.send_modify(|errors| errors.push(error));
                accepted()
            }
            _ => reply(
                StatusCode::NOT_FOUND,
                &json!({"errorType": "InvalidRoute", "errorMessage": "not a Runtime API route"}),
            ),
        }
    }

    /// Long-polls until an invocation is queued, then hands it out with the headers Lambda sends.
    async fn next(&self) -> Response<Bytes> {
        self.next_polls.fetch_add(1, Ordering::SeqCst);
        let hook = lock(&self.first_poll).take();
        if let Some(hook) = hook {
            let started = Instant::now();
            hook();
            *lock(&self.first_poll_hook) = Some((started, started.elapsed()));
        }
        let Some(invocation) = self.queued.lock().await.recv().await else {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"errorType": "ServiceException", "errorMessage": "the harness is shutting down"}),
            );
        };
        let deadline = SystemTime::now() + invocation.timeout;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        let mut response = reply(StatusCode::OK, &invocation.payload);
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: String| {
            headers.insert(name, value.parse().expect("a valid header value"));
        };
        set("lambda-runtime-aws-request-id", invocation.request_id);
        set("lambda-runtime-deadline-ms", deadline_ms.to_string());
        set("lambda-runtime-invoked-function-arn", FUNCTION_ARN.to_owned());
        set("lambda-runtime-trace-id", trace_id());
        *lock(&self.handed_out) = Some(Instant::now());
        response
    }

    fn finish(&self, request_id: &str, outcome: Outcome) -> Response<Bytes> {
        match lock(&self.waiting).remove(request_id) {
            Some(waiter) => {
                // The invoking test may have given up already; the result is then of no interest.
                let _ = waiter.send(outcome);
                accepted()
            }
            None => reply(
                StatusCode::BAD_REQUEST,
                &json!({
                    "errorType": "InvalidRequestID",
                    "errorMessage": format!("no invocation {request_id} is waiting for a result"),
                }),
            ),
        }
    }
}

/// An X-Ray trace header like the ones Lambda passes on.
fn trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let root = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=1",
        &root[..24],
        &parent[..16]
    )
}

fn accepted() -> Response<Bytes> {
    reply(StatusCode::ACCEPTED, &json!({"status": "OK"}))
}

fn reply(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
