//! criterion micro-benchmarks of the broker's hot path, on the in-memory store so that only the
//! broker's own work is timed (no network, no DynamoDB):
//!
//! - `pseudonymise/*`: CRM id → `crm_id_hash` (lowercase hex SHA-256, and HMAC-SHA256 for comparison);
//! - `api_handle/warm_hit`: one `POST /guest-tokens` through [`api::handle`] for a customer whose stored
//!   token is fresh: body parsing, hashing, one store read, the sliding-window check, the JSON answer;
//! - `lambda_event/*`: the same request as an API Gateway HTTP API (payload 2.0) event through
//!   [`lambda::handle_event`] (classification, body decoding, the handler, response shaping), and
//!   classification alone.
//!
//! No tracing subscriber is installed, so the handler's log line costs only its disabled callsite;
//! the runtime bench (`benches/runtime.rs`) times the real binary, logging included.
//!
//! Run with `cargo bench --bench hot_path`.

// The broker's request path nests futures deeply; computing their layout needs more than 128.
#![recursion_limit = "256"]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use guest_token_broker::api;
use guest_token_broker::broker::Broker;
use guest_token_broker::domain::{CrmId, Deadline, GuestId, GuestToken, Pseudonymiser, SessionRecord, SystemClock};
use guest_token_broker::genesys::{GenesysClient, GenesysEndpoints, RetryPolicy};
use guest_token_broker::lambda::{self, Invocation};
use guest_token_broker::secrets::{Credential, CredentialSet, EnvCredentials, Pseudonyms};
use guest_token_broker::store::MemoryStore;
use guest_token_broker::telemetry::Metrics;
use guest_token_broker::web::ApiRequest;
use http::Method;
use secrecy::{SecretSlice, SecretString};
use serde_json::Value;

const CRM_ID: &str = "CRM-987654";
const SAMPLE_EVENT: &str = include_str!("../tests/fixtures/http-api-post-guest-tokens.json");
/// Nothing listens here: a hit makes no upstream call, and a bench that made one would fail.
const UNUSED_GENESYS_URL: &str = "http://127.0.0.1:9";
const WINDOW: Duration = Duration::from_secs(300);
/// A generous request deadline: nothing in a hit waits.
const BUDGET: Duration = Duration::from_secs(10);

/// A broker on a memory store holding `CRM_ID`'s session with a token valid for another hour.
fn broker_with_fresh_session() -> Broker<MemoryStore> {
    let credentials = CredentialSet::new(vec![Credential {
        client_id: "bench-client".into(),
        client_secret: SecretString::from("bench-secret"),
    }])
    .expect("one credential");
    let endpoints = GenesysEndpoints {
        api_base: UNUSED_GENESYS_URL.parse().expect("a URL"),
        login_base: UNUSED_GENESYS_URL.parse().expect("a URL"),
    };
    let genesys = GenesysClient::new(
        endpoints,
        Arc::new(EnvCredentials::new(credentials)),
        RetryPolicy::default(),
    );
    let store = MemoryStore::new();
    store.insert(fresh_session());
    Broker::new(store, genesys, Pseudonyms::sha256(), Arc::new(SystemClock), WINDOW)
}

fn fresh_session() -> SessionRecord {
    let expires_at = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let hash = Pseudonymiser::Sha256.hash(&CrmId::parse(CRM_ID).expect("a valid id"));
    SessionRecord {
        guest_id: GuestId::new("a1b2c3d4-e5f6-7890-abcd-ef1234567890"),
        token: GuestToken::new(SecretString::from("eyJhbGciOiJSUzI1NiJ9.bench.token"), expires_at),
        ..SessionRecord::empty(hash)
    }
}

fn sample_event() -> Value {
    let mut event: Value = serde_json::from_str(SAMPLE_EVENT).expect("the sample event is JSON");
    event["body"] = serde_json::json!({ "crmId": CRM_ID }).to_string().into();
    event
}

fn runtime() -> tokio::runtime::Runtime {
    // The Lambda binary runs on a current-thread runtime; so does the bench.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn pseudonymise(c: &mut Criterion) {
    let crm_id = CrmId::parse(CRM_ID).expect("a valid id");
    let hmac = Pseudonymiser::HmacSha256(SecretSlice::from(vec![7u8; 32]));
    let mut group = c.benchmark_group("pseudonymise");
    group.bench_function("sha256", |b| b.iter(|| Pseudonymiser::Sha256.hash(black_box(&crm_id))));
    group.bench_function("hmac_sha256", |b| b.iter(|| hmac.hash(black_box(&crm_id))));
    group.bench_function("parse_and_sha256", |b| {
        b.iter(|| Pseudonymiser::Sha256.hash(&CrmId::parse(black_box(CRM_ID)).expect("a valid id")))
    });
    group.finish();
}

fn api_handle(c: &mut Criterion) {
    let rt = runtime();
    let broker = broker_with_fresh_session();
    let body = serde_json::json!({ "crmId": CRM_ID }).to_string();
    let request = ApiRequest::new(&Method::POST, "/prod/guest-tokens", body.as_bytes());
    let metrics = Metrics::new();
    assert_eq!(
        rt.block_on(api::handle(&broker, request, Deadline::after(BUDGET), &metrics))
            .status(),
        200,
        "the bench request is a warm hit"
    );
    c.bench_function("api_handle/warm_hit", |b| {
        b.to_async(&rt)
            .iter(|| api::handle(&broker, black_box(request), Deadline::after(BUDGET), &metrics))
    });
}

fn lambda_event(c: &mut Criterion) {
    let rt = runtime();
    let broker = broker_with_fresh_session();
    let event = sample_event();
    let metrics = Metrics::new();
    let first = rt
        .block_on(lambda::handle_event(
            &broker,
            event.clone(),
            Deadline::after(BUDGET),
            &metrics,
        ))
        .expect("an HTTP response");
    assert_eq!(first["statusCode"], 200, "the bench event is a warm hit: {first}");

    let mut group = c.benchmark_group("lambda_event");
    group.bench_function("classify_http_api_v2", |b| {
        b.iter_batched(
            || event.clone(),
            |payload| matches!(Invocation::classify(payload), Invocation::Http(_)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("http_api_v2_warm_hit", |b| {
        b.to_async(&rt).iter_batched(
            || event.clone(),
            |payload| lambda::handle_event(&broker, payload, Deadline::after(BUDGET), &metrics),
            criterion::BatchSize::SmallInput,
        )
    });
    let text = event.to_string();
    group.bench_function("parse_and_handle_http_api_v2_warm_hit", |b| {
        // From the bytes the Runtime API delivers, where the Lambda runtime starts.
        b.to_async(&rt).iter(|| {
            let payload: Value = serde_json::from_str(black_box(&text)).expect("JSON");
            lambda::handle_event(&broker, payload, Deadline::after(BUDGET), &metrics)
        })
    });
    group.finish();
}

criterion_group!(benches, pseudonymise, api_handle, lambda_event);
criterion_main!(benches);
