//! Issue 25.1 through the compiled binaries: one source flooding the public OIDC API with refused
//! token requests, while Genesys makes its callbacks for K first tokens. The OIDC function is a
//! pool of slots (its reserved concurrency) behind a REST API stage front, as in
//! `tests/api/slot_limit.rs`; the flooder's connections come from 127.0.0.2, the sandbox's
//! (Genesys's) from 127.0.0.1.
//!
//! The same flood runs twice: first as many refused requests as the rule allows one source in a
//! window (`OidcRateLimitPerSource`, read from template.yaml: 300), one per slot at a time so
//! that all are served; then, while the first tokens are asked for, as many flood requests at once
//! as the pool has slots eight times over, until the first tokens are answered. Without the rule
//! the flood takes the slots and Genesys's callbacks are throttled; behind the rule (the front's
//! model of `OidcApiWebAcl`) every flood request past the limit is blocked with 403 before it
//! reaches a slot, and every first token gets its jwt.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use test_kit::template::Template;
use test_kit::waf::RateBasedRule;
use tokio::sync::watch;

use crate::fleet::{counts_of, metrics_records};
use crate::slot_limit::{Answer, K, OIDC_SLOTS, Routing, Stack, customers};

const FLOODER: [u8; 4] = [127, 0, 0, 2];
const GENESYS: [u8; 4] = [127, 0, 0, 1];
/// Flood requests in flight at once while the first tokens are asked for.
const FLOOD_CONCURRENCY: usize = 8 * OIDC_SLOTS;
/// Bounds each flood task, should the first tokens never be answered.
const MAX_REQUESTS_PER_TASK: usize = 20_000;

/// What came of one run: the widget's answers, the callbacks throttled, the flood's statuses.
struct Run {
    answers: Vec<Answer>,
    callbacks_throttled: Vec<String>,
    /// The statuses of the flood while the first tokens were asked for.
    flood: Vec<u16>,
    /// Requests the OIDC function served (the flood's that reached it, and the callbacks).
    served: usize,
    /// `OidcInvalidClient` summed over the OIDC function's metrics records.
    invalid_clients: u64,
    stack: Stack,
}

/// An unauthenticated token request from the flooder: refused `invalid_client` where it arrives.
async fn refused_request(client: &reqwest::Client, url: &str) -> u16 {
    let request = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded");
    let answer = request
        .body("grant_type=authorization_code&code=x&redirect_uri=y")
        .send()
        .await;
    answer.expect("the front answers").status().as_u16()
}

async fn flood_while_first_tokens(waf: Option<Arc<RateBasedRule>>, limit: usize) -> Run {
    let stack = Stack::start_behind(Routing::OwnOidcFunction, waf).await;
    let url = format!("{}/oidc/token", stack.oidc_api.base_url());
    let flooder = reqwest::Client::builder()
        .local_address(IpAddr::from(FLOODER))
        .build()
        .expect("a client");

    // The flood up to the limit: one request per slot at a time, so every one is served.
    let ramp: Vec<_> = (0..OIDC_SLOTS)
        .map(|task| {
            let (flooder, url) = (flooder.clone(), url.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in (task..limit).step_by(OIDC_SLOTS) {
                    statuses.push(refused_request(&flooder, &url).await);
                }
                statuses
            })
        })
        .collect();
    for task in ramp {
        assert!(
            task.await.unwrap().iter().all(|status| *status == 401),
            "refused where served"
        );
    }

    // The flood goes on, many at once, until the first tokens are answered.
    let (stop, stopped) = watch::channel(false);
    let answered = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> = (0..FLOOD_CONCURRENCY)
        .map(|_| {
            let (flooder, url, stopped, answered) =
                (flooder.clone(), url.clone(), stopped.clone(), Arc::clone(&answered));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !*stopped.borrow() && statuses.len() < MAX_REQUESTS_PER_TASK {
                    statuses.push(refused_request(&flooder, &url).await);
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                statuses
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.load(Ordering::SeqCst) < 2 * FLOOD_CONCURRENCY {
        assert!(Instant::now() < deadline, "the flood never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let answers = stack.first_tokens(&customers(0)).await;
    stop.send(true).expect("the flood listens");
    let mut statuses = Vec::new();
    for task in flood {
        statuses.extend(task.await.unwrap());
    }

    let callbacks_throttled = stack
        .oidc_api
        .throttled_requests()
        .into_iter()
        .filter(|(source, _)| *source == IpAddr::from(GENESYS))
        .map(|(_, path)| path)
        .collect();
    stack.guest.stop();
    let lines: Vec<String> = stack.oidc.stop().into_iter().flatten().collect();
    let invalid_clients = counts_of(&metrics_records(&lines), "OidcInvalidClient").iter().sum();
    Run {
        answers,
        callbacks_throttled,
        flood: statuses,
        served: stack.oidc.served(),
        invalid_clients,
        stack,
    }
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|each| **each == status).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_rate_rule_one_source_flooding_the_token_endpoint_makes_genesys_callbacks_fail() {
    let limit = RateBasedRule::from_template(&Template::load()).limit();
    let limit = usize::try_from(limit).expect("a limit that fits");
    let run = flood_while_first_tokens(None, limit).await;
    let jwts = run.answers.iter().filter(|answer| answer.jwt).count();
    eprintln!(
        "oidc_flood without the rule: K={K} jwts={jwts} callbacks_throttled={:?} flood: {} answers, \
         401={} 500={} served={}",
        run.callbacks_throttled,
        run.flood.len(),
        count(&run.flood, 401),
        count(&run.flood, 500),
        run.served,
    );
    assert!(
        !run.callbacks_throttled.is_empty(),
        "Genesys's callbacks were throttled"
    );
    assert!(jwts < K, "not every first token got a jwt: {:?}", run.answers);
    for answer in run.answers.iter().filter(|answer| !answer.jwt) {
        assert_eq!(
            (answer.status, answer.error.as_str()),
            (502, "upstream_rejected"),
            "{answer:?}"
        );
    }
    assert!(
        count(&run.flood, 401) > 0,
        "the flood past the limit reached the function"
    );
    assert_eq!(count(&run.flood, 403), 0, "nothing blocks it");
    assert_eq!(run.stack.sandbox.exchange_failures().len(), K - jwts);
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_the_rate_rule_the_same_flood_is_blocked_and_every_first_token_gets_its_jwt() {
    let rule = Arc::new(RateBasedRule::from_template(&Template::load()));
    let limit = usize::try_from(rule.limit()).expect("a limit that fits");
    let run = flood_while_first_tokens(Some(Arc::clone(&rule)), limit).await;
    eprintln!(
        "oidc_flood behind the rule (limit {limit}): K={K} answers={:?} flood: {} answers, all 403; \
         served={} invalid_clients={}",
        run.answers.iter().map(|answer| answer.status).collect::<Vec<_>>(),
        run.flood.len(),
        run.served,
        run.invalid_clients,
    );
    for answer in &run.answers {
        assert!(answer.status == 200 && answer.jwt, "{:?}", run.answers);
    }
    assert_eq!(run.callbacks_throttled, Vec::<String>::new());
    assert_eq!(run.stack.oidc.throttles(), 0, "no request at all was throttled");
    assert!(!run.flood.is_empty());
    assert_eq!(
        count(&run.flood, 403),
        run.flood.len(),
        "every flood request past the limit is blocked"
    );
    let flood_blocked = u64::try_from(run.flood.len()).unwrap();
    assert_eq!(rule.blocked_from(IpAddr::from(FLOODER)), flood_blocked);
    assert_eq!(rule.blocked_from(IpAddr::from(GENESYS)), 0);
    // What reached the function: the flood up to the limit, refused there, and Genesys's three
    // callbacks per first token.
    assert_eq!(run.invalid_clients, u64::try_from(limit).unwrap());
    assert_eq!(run.served, limit + 3 * K);
    assert_eq!(run.stack.sandbox.provider_token_calls(), K);
}
