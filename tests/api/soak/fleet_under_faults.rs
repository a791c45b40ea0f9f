//! The soak's run: a fleet serves every customer's traffic while faults are injected; then one guest
//! per customer, only 200s with a live token or 503s with Retry-After, and at most one Genesys token
//! call per expiry plus the injected failures. The figures are printed; on a failure, the log lines
//! of the customers concerned.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::{
    Answer, PAUSE, Params, TOKEN_LIFETIME, Traffic, WINDOW_SECONDS, crm_id, customer_traffic, inject_faults, life_left,
};
use crate::deployment::{assert_token_body, body_of};
use crate::fleet::{logs_a_token_request, scale_out, served_a_request, status, stop_all};
use crate::helpers::{hash_of, upstream_calls};
use crate::hot_path::deploy_behind_proxy;

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
