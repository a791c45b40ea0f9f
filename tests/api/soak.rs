//! A bounded soak: a fleet of instances of the compiled binary under the Runtime API harness serving
//! many customers for a while, with guest tokens that enter the sliding window every few seconds and
//! Genesys 503s and DynamoDB throttles injected all along. `SOAK_INSTANCES`, `SOAK_CUSTOMERS` and
//! `SOAK_SECONDS` (defaults 8, 40, 10) size it; `scripts/soak` runs it longer. The figures are printed
//! at the end (`--nocapture` shows them); latency is printed, never asserted. What the soak found is
//! made deterministic in `soak/lost_lease.rs`.
//!
//! This file holds the workload: its sizes, each customer's traffic and the faults injected
//! meanwhile. The run and its verdict are in `soak/fleet_under_faults.rs`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use genesys_sandbox::{Endpoint, Fault};
use serde_json::Value;

use crate::deployment::Deployment;
use crate::fleet::post;
use test_kit::aws_proxy::{AwsFault, AwsProxy, FaultRule};

/// What the sandbox gives every guest token to live.
const TOKEN_LIFETIME: Duration = Duration::from_secs(8);
/// `SLIDING_WINDOW_SECONDS`: a token with less than this left is renewed, so each token is handed
/// out as it is for `TOKEN_LIFETIME - WINDOW` (3 s), then renewed. The window is wider than a
/// renewal takes under the injected faults (SDK backoff on throttled writes, Genesys retries), so a
/// customer asking often is renewed well before expiry; one whose requests are seconds apart (many
/// customers, as `scripts/soak` runs) finds its token at any point of its life, down to the last
/// milliseconds.
const WINDOW_SECONDS: u64 = 5;
/// Concurrent requests for one customer in each of its bursts: what makes instances race for the
/// customer's guest claim and refresh lease.
const BURST: usize = 3;
/// Pause between two bursts of one customer.
const PAUSE: Duration = Duration::from_millis(250);
/// How often faults are injected while the traffic runs.
const FAULT_TICK: Duration = Duration::from_millis(500);
/// The write that stores a renewed token (`put_token`); the guest write stores empty placeholders.
const TOKEN_WRITE: &str = "#token = :token";
/// The writes that take a refresh lease or store a new guest with its lease.
const LEASE_WRITE: &str = "#lease = :until";

struct Params {
    instances: usize,
    customers: usize,
    seconds: u64,
}

impl Params {
    fn from_env() -> Self {
        Self {
            instances: env_number("SOAK_INSTANCES", 8).max(1),
            customers: env_number("SOAK_CUSTOMERS", 40).max(1),
            seconds: env_number("SOAK_SECONDS", 10).max(1) as u64,
        }
    }
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}

fn crm_id(customer: usize) -> String {
    format!("CRM-SOAK-{customer:05}")
}

/// One answer as the caller saw it.
struct Answer {
    customer: usize,
    response: Value,
    arrived: DateTime<Utc>,
    latency: Duration,
}

/// How long the token of a 200 body still had to live when it `arrived`; `None` if it had expired.
fn life_left(body: &Value, arrived: DateTime<Utc>) -> Option<Duration> {
    let expires_at = DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap_or_default())
        .expect("an RFC 3339 expiresAt")
        .with_timezone(&Utc);
    (expires_at - arrived).to_std().ok().filter(|left| !left.is_zero())
}

/// What was injected, to work out how many extra Genesys token calls the faults may cost.
#[derive(Default)]
struct Injected {
    /// 503s queued on the guest-token endpoint: each consumed one costs one more token call.
    token_503s: usize,
    /// 503s queued on guest creation and OAuth: retried, but no token call.
    other_503s: usize,
    /// Throttles on the token write: a token whose write failed is handed out unstored and the next
    /// request renews it again, so each failed write costs at most one more token call, and needs
    /// at least one throttle.
    token_write_throttles: usize,
    /// Throttles on reads and lease writes: they cost time or a 503, never a token call.
    other_throttles: usize,
}

/// What every customer's traffic shares.
struct Traffic<'a> {
    deployment: &'a Deployment,
    /// Bursts in flight at once, one per instance (`BURST` invocations each): invocations wait here
    /// rather than pile up in the harness's queue, so the latency measured is the function's plus a
    /// short queue.
    gate: tokio::sync::Semaphore,
    end: Instant,
    /// The count bound: bursts per customer at most.
    bursts: usize,
}

/// Bursts of `BURST` concurrent requests for one customer, at least `PAUSE` apart, until the end
/// or the count bound; the first burst is staggered so the customers do not all start at once.
async fn customer_traffic(traffic: &Traffic<'_>, customer: usize, start_after: Duration) -> Vec<Answer> {
    tokio::time::sleep(start_after).await;
    let crm = crm_id(customer);
    let mut answers = Vec::new();
    for _ in 0..traffic.bursts {
        if Instant::now() >= traffic.end {
            break;
        }
        let Ok(turn) = traffic.gate.acquire().await else {
            break;
        };
        let burst = (0..BURST).map(|_| async {
            let sent = Instant::now();
            let response = post(traffic.deployment, &crm).await;
            Answer {
                customer,
                response,
                arrived: Utc::now(),
                latency: sent.elapsed(),
            }
        });
        answers.extend(futures::future::join_all(burst).await);
        drop(turn);
        tokio::time::sleep(PAUSE).await;
    }
    answers
}

/// Queues Genesys 503s and DynamoDB throttles every `FAULT_TICK` until `end`; every eighth tick is a
/// brown-out of several token 503s in a row, enough for some requests to run out of attempts.
async fn inject_faults(deployment: &Deployment, proxy: &AwsProxy, end: Instant) -> Injected {
    let mut injected = Injected::default();
    let sandbox = &deployment.sandbox;
    for endpoint in [Endpoint::CreateGuest, Endpoint::CreateGuest, Endpoint::OAuthToken] {
        sandbox.push_fault(endpoint, Fault::status(503));
        injected.other_503s += 1;
    }
    let mut tick = 0;
    while Instant::now() < end {
        let token_503s = if tick % 8 == 7 { 6 } else { 1 };
        for _ in 0..token_503s {
            sandbox.push_fault(Endpoint::GuestToken, Fault::status(503));
        }
        injected.token_503s += token_503s;
        proxy.fail(FaultRule::new("GetItem", 2, AwsFault::Throttling));
        proxy.fail(FaultRule::new("UpdateItem", 1, AwsFault::Throttling).when_body_contains(LEASE_WRITE));
        injected.other_throttles += 3;
        if tick % 2 == 1 {
            proxy.fail(FaultRule::new("UpdateItem", 1, AwsFault::Throttling).when_body_contains(TOKEN_WRITE));
            injected.token_write_throttles += 1;
        }
        tick += 1;
        tokio::time::sleep(FAULT_TICK).await;
    }
    injected
}

/// The soak itself: the fleet's run, its figures and what it must hold.
mod fleet_under_faults;
/// The expired tokens the soak once found, made deterministic.
mod lost_lease;
