//! A bounded soak: a fleet of instances of the compiled binary under the Runtime API harness serving
//! many customers for a while, with guest tokens that enter the sliding window every few seconds and
//! Genesys 503s and DynamoDB throttles injected all along. `SOAK_INSTANCES`, `SOAK_CUSTOMERS` and
//! `SOAK_SECONDS` (defaults 8, 40, 10) size it; `scripts/soak` runs it longer. The figures are printed
//! at the end (`--nocapture` shows them); latency is printed, never asserted. What the soak found is
//! made deterministic in the last test.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use genesys_sandbox::{Endpoint, Fault};
use serde_json::Value;

use crate::deployment::{Deployment, assert_token_body, body_of};
use crate::fleet::{logs_a_token_request, post, scale_out, served_a_request, status, stop_all};
use crate::helpers::{hash_of, upstream_calls};
use crate::hot_path::deploy_behind_proxy;
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

/// How long each token request took inside the function, from the `duration_ms` of its log line.
fn function_durations(logs: &[Vec<String>]) -> Vec<Duration> {
    let mut durations: Vec<Duration> = logs
        .iter()
        .flatten()
        .filter(|line| logs_a_token_request(line))
        .filter_map(|line| {
            line.split("duration_ms=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    durations.sort();
    durations
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    sorted
        .get((sorted.len() * percent / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// For a failure message: every line the instances logged about the first few customers in
/// `hash_prefixes`, in the order they were invoked (the trace id starts with the second), then the
/// first of their warnings and errors.
fn evidence(logs: &[Vec<String>], hash_prefixes: &HashSet<String>) -> String {
    let invoked_at = |line: &str| {
        line.split("Root=1-")
            .nth(1)
            .map(|rest| rest.chars().take(8).collect::<String>())
    };
    let mut text = String::new();
    for prefix in hash_prefixes.iter().take(3) {
        let mut lines: Vec<&String> = logs
            .iter()
            .flatten()
            .filter(|line| line.contains(prefix.as_str()))
            .collect();
        lines.sort_by_key(|line| invoked_at(line));
        text.push_str(&format!("\ninstance log lines for crm_id_hash {prefix}:\n"));
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
    }
    let problems: Vec<&String> = logs
        .iter()
        .flatten()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    text.push_str(&format!("\n{} warnings and errors, the first 40:\n", problems.len()));
    for line in problems.iter().take(40) {
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_under_faults_keeps_one_guest_per_customer_valid_tokens_and_one_renewal_per_expiry() {
    let params = Params::from_env();
    let window = WINDOW_SECONDS.to_string();
    let (mut deployment, proxy) = deploy_behind_proxy(&[("SLIDING_WINDOW_SECONDS", window.as_str())]).await;
    deployment.sandbox.set_guest_token_ttl(TOKEN_LIFETIME);
    let mut others = scale_out(&mut deployment, params.instances - 1).await;
    let traffic_time = Duration::from_secs(params.seconds);
    let started = Instant::now();
    let traffic = Traffic {
        deployment: &deployment,
        gate: tokio::sync::Semaphore::new(params.instances),
        end: started + traffic_time,
        bursts: (traffic_time.as_millis() / PAUSE.as_millis()) as usize + 1,
    };
    let customers = futures::future::join_all((0..params.customers).map(|customer| {
        let stagger =
            PAUSE * u32::try_from(customer).unwrap_or(u32::MAX) / u32::try_from(params.customers).unwrap_or(1);
        customer_traffic(&traffic, customer, stagger)
    }));
    let (answers, injected) = tokio::join!(customers, inject_faults(&deployment, &proxy, traffic.end));
    let answers: Vec<Answer> = answers.into_iter().flatten().collect();
    let run = started.elapsed();

    let (oauth_calls, creation_calls, token_calls) = upstream_calls(&deployment.sandbox);
    let guests = deployment.sandbox.guests();
    let logs = stop_all(&mut deployment, &mut others);
    let served = logs.iter().filter(|lines| served_a_request(lines)).count();

    // Answers: 200 with a token valid when it arrived, or 503 with Retry-After; nothing else.
    let mut by_status: BTreeMap<u64, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut expired = Vec::new();
    let mut least_left = Duration::MAX;
    let mut guest_answers: HashMap<usize, HashSet<String>> = HashMap::new();
    for answer in &answers {
        let code = status(&answer.response);
        *by_status.entry(code).or_default() += 1;
        match code {
            200 => {
                let body = body_of(&answer.response);
                assert_token_body(&body);
                match life_left(&body, answer.arrived) {
                    Some(left) => least_left = least_left.min(left),
                    None => expired.push(format!(
                        "{}: expiresAt {}, arrived {}, {:?} after it was queued",
                        crm_id(answer.customer),
                        body["expiresAt"],
                        answer.arrived.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        answer.latency
                    )),
                }
                guest_answers
                    .entry(answer.customer)
                    .or_default()
                    .insert(body["guestId"].as_str().unwrap_or_default().to_owned());
            }
            503 if answer.response["headers"]["retry-after"].is_string() => {}
            _ => wrong.push(answer.response.clone()),
        }
    }

    // Guests: one per customer upstream, the one stored, the one every answer named.
    let mut upstream_guests: HashMap<String, Vec<String>> = HashMap::new();
    for guest in &guests {
        let hash = guest.custom_attributes["crm_id_hash"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        upstream_guests.entry(hash).or_default().push(guest.id.clone());
    }
    let guests_per_customer_max = upstream_guests.values().map(Vec::len).max().unwrap_or(0);
    let mut guest_problems = Vec::new();
    for customer in 0..params.customers {
        let crm = crm_id(customer);
        let upstream = upstream_guests.get(hash_of(&crm).as_str()).cloned().unwrap_or_default();
        let stored = deployment.stored_guest(&crm).await;
        let answered = guest_answers.get(&customer).cloned().unwrap_or_default();
        let consistent = upstream.len() == 1
            && stored.as_ref() == upstream.first()
            && answered.len() == 1
            && answered.contains(&upstream[0]);
        if !consistent {
            guest_problems.push(format!(
                "{crm}: upstream {upstream:?}, stored {stored:?}, answered {answered:?}"
            ));
        }
    }

    // Genesys token calls. A stored token is renewed only once it is inside the window, that is
    // `TOKEN_LIFETIME - WINDOW` after Genesys issued it, and the refresh lease (conditional on the
    // token it replaces) lets one request renew it. So the stored tokens of one guest are issued at
    // least one renewal period apart, the first no earlier than the start of the run: at most
    // 1 + floor(run / period) per guest (the period less 1 ms, as Genesys writes expiries to the
    // millisecond). On top of those, only the injected faults can add calls: each consumed token 503
    // is one failed call (retried, or renewed by a later request once the lease is released), and
    // each token write that failed (at least one throttle each) hands its token out unstored, so the
    // next request renews again. Throttled reads and lease writes end in a retry or a 503 before
    // any token call. Without the lease every request in a burst that sees a token in the window
    // renews it: about BURST calls per expiry, far above this bound.
    let period = TOKEN_LIFETIME - Duration::from_secs(WINDOW_SECONDS) - Duration::from_millis(1);
    let expiries = run.as_millis() / period.as_millis();
    let per_guest = 1 + usize::try_from(expiries).unwrap_or(usize::MAX);
    let bound = guests.len() * per_guest + injected.token_503s + injected.token_write_throttles;

    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.latency).collect();
    latencies.sort();
    let in_function = function_durations(&logs);
    let renewals_possible = guests.len() * per_guest;
    println!(
        "soak: {} instances ({} served), {} customers, {:.1} s of traffic\n\
         requests {}; answers by status {:?}\n\
         guests {} (per customer max {}); calls: OAuth {}, guest creation {}, guest token {}\n\
         token calls per expiry {:.2} ({} token calls for {} guests x {} token lifetimes of {:?} before the window, \
         + {} injected token 503s + {} token-write throttles = bound {})\n\
         injected: {} token 503s, {} other Genesys 503s, {} token-write throttles, {} other DynamoDB throttles; \
         faults played by the AWS proxy {}\n\
         least lifetime left on a token handed out {:?}\n\
         latency, queued to answered: p50 {:?}, p99 {:?}, max {:?}; in the function: p50 {:?}, p99 {:?}",
        params.instances,
        served,
        params.customers,
        run.as_secs_f64(),
        answers.len(),
        by_status,
        guests.len(),
        guests_per_customer_max,
        oauth_calls,
        creation_calls,
        token_calls,
        token_calls.saturating_sub(injected.token_503s) as f64 / renewals_possible.max(1) as f64,
        token_calls,
        guests.len(),
        per_guest,
        period + Duration::from_millis(1),
        injected.token_503s,
        injected.token_write_throttles,
        bound,
        injected.token_503s,
        injected.other_503s,
        injected.token_write_throttles,
        injected.other_throttles,
        proxy.faults_played(),
        least_left,
        percentile(&latencies, 50),
        percentile(&latencies, 99),
        latencies.last().copied().unwrap_or_default(),
        percentile(&in_function, 50),
        percentile(&in_function, 99),
    );

    let suspects: HashSet<String> = guest_problems
        .iter()
        .chain(&expired)
        .filter_map(|line| line.split(':').next())
        .map(|crm| hash_of(crm).prefix(8).to_owned())
        .collect();
    let evidence = || evidence(&logs, &suspects);
    assert!(
        wrong.is_empty(),
        "answers neither 200 nor 503 with Retry-After: {wrong:?}\n{}",
        evidence()
    );
    assert!(
        guest_problems.is_empty(),
        "not one guest per customer:\n{}\n{}",
        guest_problems.join("\n"),
        evidence()
    );
    assert!(
        expired.is_empty(),
        "tokens expired when they arrived:\n{}\n{}",
        expired.join("\n"),
        evidence()
    );
    assert!(
        token_calls <= bound,
        "{token_calls} Genesys token calls, more than one per expiry plus the injected failures ({bound})\n{}",
        evidence()
    );
    assert!(served > 1, "only {served} instance served: no race");
}

/// The answer to a token request, and when it arrived.
async fn answered(deployment: &Deployment, crm_id: &str) -> (Value, DateTime<Utc>) {
    let response = post(deployment, crm_id).await;
    (response, Utc::now())
}

/// The soak's expired tokens, made deterministic: a request reads a token inside the window, its
/// lease write is held up (as a throttled write retried by the SDK is), another request takes the
/// lease and renews meanwhile, and the token the first one read expires before it answers. It must
/// not hand that token out.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_loses_the_refresh_lease_never_hands_out_a_token_that_expired_meanwhile() {
    let (mut deployment, proxy) = deploy_behind_proxy(&[("SLIDING_WINDOW_SECONDS", "5")]).await;
    let _second = scale_out(&mut deployment, 1).await;
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(1));
    assert_eq!(status(&post(&deployment, "CRM-STALE").await), 200);
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(3600));
    // Held for less than the SDK's attempt timeout (2 s), so it is one attempt, but longer than the
    // stored token has left to live.
    proxy.fail(
        FaultRule::new("UpdateItem", 1, AwsFault::Slow(Duration::from_millis(1500))).when_body_contains(LEASE_WRITE),
    );
    proxy.take();
    let first = answered(&deployment, "CRM-STALE");
    let second = async {
        // Once the first request has read the session (its lease write is then on its way), the
        // second one finds no lease, takes it and renews.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !proxy.operations().iter().any(|op| op.ends_with(".GetItem")) {
            assert!(Instant::now() < deadline, "the first request never read the session");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        answered(&deployment, "CRM-STALE").await
    };
    let (first, second) = tokio::join!(first, second);

    for (response, arrived) in [first, second] {
        assert_eq!(status(&response), 200, "{response}");
        let body = body_of(&response);
        assert!(
            life_left(&body, arrived).is_some(),
            "a token that expired at {} was handed out, arriving at {arrived}",
            body["expiresAt"]
        );
    }
}
