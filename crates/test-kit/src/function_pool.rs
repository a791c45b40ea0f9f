//! A Lambda function with reserved concurrency, on loopback: K instances of a compiled binary
//! polling one [`RuntimeHarness`], and a dispatcher in front that admits at most K invocations at
//! once. An invocation is in flight from its admission until the harness has its response or
//! error; while K are, the next one is refused at once, as Lambda refuses an invocation beyond a
//! function's `ReservedConcurrentExecutions`: HTTP 429 `TooManyRequestsException` (reason
//! `ReservedFunctionConcurrentInvocationLimitExceeded`). Nothing queues: a synchronous invocation
//! is never retried by Lambda, nor by API Gateway.
//!
//! What the callers see of a throttle depends on the front ([`GatewayApi`]), as found with the
//! `search` tool:
//! - "If the Lambda API rejects the invocation request, API Gateway returns a 500 error code ...
//!   the body of the response from API Gateway is `{"message": "Internal server error"}`", and
//!   "API Gateway does not retry any Lambda invocations" (AWS Lambda Developer Guide, *Handling
//!   Lambda errors with an API Gateway API*,
//!   <https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html>).
//! - REST API with a Lambda proxy integration throttled by its concurrency limit: 500,
//!   `{"message": "Internal server error"}`, `x-amzn-ErrorType: InternalServerErrorException`
//!   (re:Post, *Inconsistencies in response codes depending on whether API Gateway response
//!   settings are configured*, and *API Gateway proxy integration does not forward Lambda
//!   throttling (HTTP 429) to client*).
//! - HTTP API: "My API with a Lambda integration returns `{"message":"Internal Server Error"}`"
//!   (API Gateway Developer Guide, *Troubleshooting issues with HTTP API Lambda integrations*,
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html>).
//!
//! Two pools can share one function's slots ([`FunctionPool::sharing_slots_of`]): one function
//! whose routes two binaries answer here, as one binary answered them before the OIDC provider
//! became a function of its own.
//!
//! [`FunctionPool::invoke`] is one caller's invocation; [`FunctionPool::invoke_together`] is a burst
//! that arrives at once: every event of it is admitted (or throttled) before any is handed to an
//! instance, so which ones are throttled does not depend on how fast the instances are.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::Value;

use crate::runtime_harness::{LambdaFunction, Outcome, RuntimeHarness};

/// How long [`FunctionPool::launch`] waits for every instance to poll for work.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// What became of one invocation sent to the pool.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// Admitted, handed to an instance, and this is what it posted.
    Served(Outcome),
    /// Refused at once: all slots were busy (Lambda's 429 `TooManyRequestsException`).
    Throttled,
}

impl Invocation {
    /// The function's response; fails the test if it was throttled or posted an error.
    #[track_caller]
    pub fn response(self) -> Value {
        match self {
            Self::Served(outcome) => outcome.response(),
            Self::Throttled => panic!("expected a response, the invocation was throttled"),
        }
    }
}

/// Which API Gateway flavour stands in front of the function, for what a caller gets on a throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayApi {
    /// `AWS::ApiGatewayV2::Api`, `ProtocolType: HTTP` (payload 2.0): the OIDC routes before issue
    /// 25 (an HTTP API cannot take a WAF web ACL).
    Http,
    /// `AWS::Serverless::Api` (REST, Lambda proxy): the widget's `/guest-tokens`, and the OIDC
    /// routes since issue 25.
    Rest,
}

impl GatewayApi {
    /// API Gateway's answer when Lambda throttled the invocation (see the module doc).
    pub fn throttle_answer(self) -> Response<Bytes> {
        let (body, error_type) = match self {
            Self::Http => (r#"{"message":"Internal Server Error"}"#, None),
            Self::Rest => (
                r#"{"message": "Internal server error"}"#,
                Some("InternalServerErrorException"),
            ),
        };
        let mut response = Response::new(Bytes::from_static(body.as_bytes()));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(error_type) = error_type {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        }
        response
    }

    /// The status a caller of this API gets for `invocation`: the function's `statusCode` when it
    /// was served, the throttle answer's otherwise (502 for a function error, as API Gateway).
    pub fn status_of(self, invocation: &Invocation) -> u16 {
        match invocation {
            Invocation::Served(Outcome::Response(response)) => response["statusCode"]
                .as_u64()
                .and_then(|status| u16::try_from(status).ok())
                .unwrap_or(502),
            Invocation::Served(Outcome::Error(_)) => 502,
            Invocation::Throttled => self.throttle_answer().status().as_u16(),
        }
    }
}

/// A function's reserved concurrency: its slots, and how many are busy.
struct Capacity {
    slots: usize,
    in_flight: AtomicUsize,
}

/// K slots (its own, or another pool's), the harness its instances poll, and what the dispatcher
/// counted.
pub struct FunctionPool {
    harness: RuntimeHarness,
    capacity: Arc<Capacity>,
    throttles: AtomicUsize,
    served: AtomicUsize,
    instances: Mutex<Vec<LambdaFunction>>,
}

/// One admitted invocation's hold on a slot; the slot is free again when this is dropped.
pub struct Slot {
    pool: Arc<FunctionPool>,
}

impl Slot {
    /// Hands `event` to an instance and waits for its result; the slot is released after it.
    pub async fn invoke(self, event: Value) -> Outcome {
        let outcome = self.pool.harness.invoke(event).await;
        self.pool.served.fetch_add(1, Ordering::SeqCst);
        outcome
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.capacity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FunctionPool {
    /// A pool of `slots` (the reserved concurrency) on a fresh harness, with no instance yet: its
    /// front can be started (and its URL put into the environment) before [`FunctionPool::launch`].
    pub async fn start(slots: usize) -> Arc<Self> {
        assert!(slots > 0, "a function needs at least one slot");
        Self::on(Arc::new(Capacity {
            slots,
            in_flight: AtomicUsize::new(0),
        }))
        .await
    }

    /// A pool whose invocations take `function`'s slots: the same function (one reserved
    /// concurrency) for routes that another binary answers here. It launches as many instances
    /// as the function has slots, and at most that many invocations of both pools run at once.
    pub async fn sharing_slots_of(function: &Arc<Self>) -> Arc<Self> {
        Self::on(Arc::clone(&function.capacity)).await
    }

    async fn on(capacity: Arc<Capacity>) -> Arc<Self> {
        Arc::new(Self {
            harness: RuntimeHarness::start().await,
            capacity,
            throttles: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            instances: Mutex::new(Vec::new()),
        })
    }

    /// Starts one instance of `binary` with `env` per slot and waits (a poll with a deadline)
    /// until every one of them polls for work.
    pub async fn launch(&self, binary: &str, env: &[(&str, String)]) {
        let polls_before = self.harness.next_polls();
        let started: Vec<_> = (0..self.slots())
            .map(|_| LambdaFunction::start(binary, &self.harness, env))
            .collect();
        self.instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(started);
        let deadline = Instant::now() + READY_DEADLINE;
        while self.harness.next_polls() < polls_before + self.slots() {
            assert!(Instant::now() < deadline, "the pool's instances never polled for work");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A slot if one is free (the invocation is in flight from now on), or `None`, counted as a
    /// throttle, when all are busy.
    pub fn try_admit(self: &Arc<Self>) -> Option<Slot> {
        let capacity = &self.capacity;
        let admitted = capacity
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |busy| {
                (busy < capacity.slots).then_some(busy + 1)
            })
            .is_ok();
        if admitted {
            Some(Slot { pool: Arc::clone(self) })
        } else {
            self.throttles.fetch_add(1, Ordering::SeqCst);
            None
        }
    }

    /// One invocation: throttled at once if all slots are busy, else served by an instance.
    pub async fn invoke(self: &Arc<Self>, event: Value) -> Invocation {
        match self.try_admit() {
            Some(slot) => Invocation::Served(slot.invoke(event).await),
            None => Invocation::Throttled,
        }
    }

    /// A burst arriving at once: all of `events` are admitted or throttled, in order, before any is
    /// handed out; then the admitted ones run concurrently. Results in the order of `events`.
    pub async fn invoke_together(self: &Arc<Self>, events: Vec<Value>) -> Vec<Invocation> {
        let admitted: Vec<_> = events.into_iter().map(|event| (self.try_admit(), event)).collect();
        let runs: Vec<_> = admitted
            .into_iter()
            .map(|(slot, event)| slot.map(|slot| tokio::spawn(slot.invoke(event))))
            .collect();
        let mut invocations = Vec::with_capacity(runs.len());
        for run in runs {
            invocations.push(match run {
                Some(run) => Invocation::Served(run.await.expect("an invocation's task ends")),
                None => Invocation::Throttled,
            });
        }
        invocations
    }

    /// The reserved concurrency (shared, for a pool sharing another's slots).
    pub fn slots(&self) -> usize {
        self.capacity.slots
    }

    /// Invocations admitted and not finished yet (of both pools, when slots are shared).
    pub fn in_flight(&self) -> usize {
        self.capacity.in_flight.load(Ordering::SeqCst)
    }

    /// Invocations of this pool refused because all slots were busy.
    pub fn throttles(&self) -> usize {
        self.throttles.load(Ordering::SeqCst)
    }

    /// Invocations of this pool admitted whose result came back.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// The harness the instances poll (for tests that run their own pollers).
    pub fn harness(&self) -> &RuntimeHarness {
        &self.harness
    }

    /// Stops every instance and returns what each printed.
    pub fn stop(&self) -> Vec<Vec<String>> {
        let mut instances = self.instances.lock().unwrap_or_else(PoisonError::into_inner);
        instances.iter_mut().map(LambdaFunction::stop).collect()
    }
}
