//! The slot-limited pool has the property the issue-19 tests rely on: with K slots and K
//! invocations in flight, the next one is throttled at once, and a slot is free again as soon as an
//! invocation's result is back. The instances here are stand-ins on the Runtime API (each polls
//! `/next`, says it holds an invocation, and answers only when the test releases it), so the K stay
//! in flight for exactly as long as the test says: no sleeps, no timing. Two pools sharing one
//! function's slots count them once. A REST API stage front applies AWS WAF's rate-based rule per
//! client IP (its peer address: clients bound to other loopback addresses are other sources) before
//! the pool, and sends REST API events with the stage in the URL only; so does one over a harness.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use test_kit::function_pool::{FunctionPool, GatewayApi, Invocation};
use test_kit::http_front::HttpFront;
use test_kit::runtime_harness::{Outcome, RuntimeHarness};
use test_kit::waf::RateBasedRule;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const SLOTS: usize = 3;
const DEADLINE: Duration = Duration::from_secs(30);

/// A stand-in function instance: takes invocations from `/next`, reports each on `picked`, and
/// posts `{"statusCode": 200, "body": <event>}` once `release` is true.
async fn instance(runtime_api: String, picked: mpsc::UnboundedSender<Value>, mut release: watch::Receiver<bool>) {
    let client = reqwest::Client::new();
    let base = format!("http://{runtime_api}/2018-06-01/runtime/invocation");
    loop {
        let Ok(next) = client.get(format!("{base}/next")).send().await else {
            return;
        };
        let id = next.headers()["lambda-runtime-aws-request-id"]
            .to_str()
            .expect("a request id")
            .to_owned();
        let event: Value = next.json().await.expect("the event");
        let _ = picked.send(event.clone());
        if release.wait_for(|released| *released).await.is_err() {
            return;
        }
        let answer = json!({"statusCode": 200, "body": event.to_string()});
        let posted = client.post(format!("{base}/{id}/response")).json(&answer).send().await;
        assert_eq!(posted.expect("the harness answers").status(), 202);
    }
}

/// Sends K invocations to `pool` and waits (a receive with a deadline) until instances hold all K.
async fn hold_every_slot(
    pool: &Arc<FunctionPool>,
    picked_up: &mut mpsc::UnboundedReceiver<Value>,
) -> Vec<JoinHandle<Invocation>> {
    let in_flight = (0..SLOTS)
        .map(|n| {
            let pool = Arc::clone(pool);
            tokio::spawn(async move { pool.invoke(json!({ "n": n })).await })
        })
        .collect();
    for _ in 0..SLOTS {
        let event = tokio::time::timeout(DEADLINE, picked_up.recv()).await;
        assert!(matches!(event, Ok(Some(_))), "every instance took an invocation");
    }
    in_flight
}

#[tokio::test]
async fn with_k_slots_the_k_plus_first_concurrent_invocation_is_the_one_throttle() {
    let pool = FunctionPool::start(SLOTS).await;
    let (picked, mut picked_up) = mpsc::unbounded_channel();
    let (release, released) = watch::channel(false);
    for _ in 0..SLOTS {
        tokio::spawn(instance(pool.harness().runtime_api(), picked.clone(), released.clone()));
    }
    let in_flight = hold_every_slot(&pool, &mut picked_up).await;
    assert_eq!(
        pool.in_flight(),
        SLOTS,
        "K invocations are in flight, held by the instances"
    );

    assert_eq!(pool.invoke(json!({ "n": SLOTS })).await, Invocation::Throttled);
    assert_eq!(pool.throttles(), 1);

    release.send(true).expect("the instances listen");
    for (n, invocation) in in_flight.into_iter().enumerate() {
        let response = invocation.await.expect("the invocation's task ends").response();
        assert_eq!(response["body"], json!({ "n": n }).to_string());
    }
    assert_eq!((pool.served(), pool.throttles(), pool.in_flight()), (SLOTS, 1, 0));

    let again = pool.invoke(json!({ "n": "again" })).await;
    assert!(matches!(again, Invocation::Served(Outcome::Response(_))), "{again:?}");
    assert_eq!(
        (pool.served(), pool.throttles()),
        (SLOTS + 1, 1),
        "a finished invocation frees its slot"
    );
}

#[tokio::test]
async fn two_pools_sharing_one_functions_slots_throttle_each_other_and_free_them_for_each_other() {
    let guest = FunctionPool::start(SLOTS).await;
    let callbacks = FunctionPool::sharing_slots_of(&guest).await;
    let (picked, mut picked_up) = mpsc::unbounded_channel();
    let (release, released) = watch::channel(false);
    for pool in [&guest, &callbacks] {
        for _ in 0..SLOTS {
            tokio::spawn(instance(pool.harness().runtime_api(), picked.clone(), released.clone()));
        }
    }
    let in_flight = hold_every_slot(&guest, &mut picked_up).await;
    assert_eq!(
        (guest.in_flight(), callbacks.in_flight()),
        (SLOTS, SLOTS),
        "one count of busy slots"
    );

    assert_eq!(callbacks.invoke(json!({"callback": 1})).await, Invocation::Throttled);
    assert_eq!(
        (callbacks.throttles(), guest.throttles()),
        (1, 0),
        "counted against the pool asked"
    );

    release.send(true).expect("the instances listen");
    for invocation in in_flight {
        invocation.await.expect("the invocation's task ends").response();
    }
    let later = callbacks.invoke(json!({"callback": 2})).await;
    assert!(matches!(later, Invocation::Served(Outcome::Response(_))), "{later:?}");
    assert_eq!((guest.served(), callbacks.served(), guest.in_flight()), (SLOTS, 1, 0));
}

#[tokio::test]
async fn a_burst_is_admitted_in_order_and_what_exceeds_the_slots_is_throttled() {
    let pool = FunctionPool::start(SLOTS).await;
    let (picked, _picked_up) = mpsc::unbounded_channel();
    let (_release, released) = watch::channel(true);
    for _ in 0..SLOTS {
        tokio::spawn(instance(pool.harness().runtime_api(), picked.clone(), released.clone()));
    }
    let burst = (0..SLOTS + 2).map(|n| json!({ "n": n })).collect();
    let invocations = pool.invoke_together(burst).await;
    let throttled: Vec<usize> = invocations
        .iter()
        .enumerate()
        .filter(|(_, invocation)| **invocation == Invocation::Throttled)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(throttled, [SLOTS, SLOTS + 1], "the first K were admitted");
    assert_eq!((pool.served(), pool.throttles()), (SLOTS, 2));
}

#[tokio::test]
async fn a_front_over_a_full_pool_answers_what_api_gateway_answers_for_a_lambda_throttle() {
    let pool = FunctionPool::start(1).await;
    let http = HttpFront::over_pool(Arc::clone(&pool), GatewayApi::Http).await;
    let rest = HttpFront::over_pool(Arc::clone(&pool), GatewayApi::Rest).await;
    let _held = pool.try_admit().expect("the one slot");
    let client = reqwest::Client::new();

    let answer = client
        .get(format!("{}/.well-known/openid-configuration", http.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 500);
    assert_eq!(answer.text().await.unwrap(), r#"{"message":"Internal Server Error"}"#);
    assert_eq!(http.throttled(), ["/.well-known/openid-configuration"]);

    let answer = client
        .post(format!("{}/guest-tokens", rest.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 500);
    assert_eq!(answer.headers()["x-amzn-errortype"], "InternalServerErrorException");
    assert_eq!(answer.text().await.unwrap(), r#"{"message": "Internal server error"}"#);
    assert_eq!(pool.throttles(), 2);
    assert_eq!(GatewayApi::Rest.status_of(&Invocation::Throttled), 500);
}

/// A REST API stage front over a pool of `SLOTS` stand-ins that answer at once (with the event as
/// their body), behind `rule`.
async fn stage_front(rule: Option<Arc<RateBasedRule>>) -> (Arc<FunctionPool>, HttpFront) {
    let pool = FunctionPool::start(SLOTS).await;
    let (picked, _picked_up) = mpsc::unbounded_channel();
    let (_release, released) = watch::channel(true);
    for _ in 0..SLOTS {
        tokio::spawn(instance(pool.harness().runtime_api(), picked.clone(), released.clone()));
    }
    let front = HttpFront::rest_stage(Arc::clone(&pool), "prod", rule).await;
    (pool, front)
}

/// A client whose connections come from `last` in 127.0.0.0/8 (Linux routes all of it to lo).
fn client_from(last: u8) -> reqwest::Client {
    let from = IpAddr::from([127, 0, 0, last]);
    reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("a client")
}

/// The statuses of `count` GETs of the JWKS from `client`, one after another.
async fn statuses(client: &reqwest::Client, front: &HttpFront, count: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(count);
    for _ in 0..count {
        let url = format!("{}/.well-known/jwks.json", front.base_url());
        statuses.push(
            client
                .get(url)
                .send()
                .await
                .expect("the front answers")
                .status()
                .as_u16(),
        );
    }
    statuses
}

#[tokio::test]
async fn the_rate_rule_blocks_a_source_beyond_its_limit_with_wafs_403_and_leaves_other_sources_alone() {
    let rule = Arc::new(RateBasedRule::new(10));
    let (pool, front) = stage_front(Some(Arc::clone(&rule))).await;
    let flooder = client_from(2);

    let flood = statuses(&flooder, &front, 15).await;
    assert_eq!(flood, [[200; 10].as_slice(), &[403; 5]].concat());
    let blocked = flooder.get(front.base_url() + "/oidc/token").send().await.unwrap();
    assert_eq!(
        (
            blocked.status().as_u16(),
            blocked.headers()["x-amzn-errortype"].to_str().unwrap()
        ),
        (403, "ForbiddenException")
    );
    assert_eq!(blocked.text().await.unwrap(), r#"{"message":"Forbidden"}"#);
    assert_eq!(
        (rule.blocked_from(IpAddr::from([127, 0, 0, 2])), pool.served()),
        (6, 10),
        "a blocked request reaches no function"
    );
    assert_eq!(statuses(&client_from(1), &front, 3).await, [200; 3], "another source");

    rule.next_window();
    assert_eq!(statuses(&flooder, &front, 1).await, [200], "a new window counts again");
}

#[tokio::test]
async fn the_allow_list_exempts_its_ranges_from_the_rate_rule_and_nobody_else() {
    let rule = Arc::new(RateBasedRule::new(10).exempting("127.0.0.2/32,198.51.100.0/24"));
    let (pool, front) = stage_front(Some(Arc::clone(&rule))).await;

    assert_eq!(statuses(&client_from(2), &front, 15).await, [200; 15]);
    assert_eq!(rule.counted_from(IpAddr::from([127, 0, 0, 2])), 0, "never counted");
    let other = statuses(&client_from(3), &front, 12).await;
    assert_eq!(other, [[200; 10].as_slice(), &[403; 2]].concat());
    assert_eq!(pool.served(), 25);
}

#[tokio::test]
async fn a_rest_stage_front_sends_rest_api_events_with_the_stage_in_the_url_only() {
    let (pool, front) = stage_front(None).await;
    assert_stage_events(&front).await;
    assert_eq!(pool.served(), 1);
}

#[tokio::test]
async fn a_rest_stage_front_over_a_harness_sends_the_same_events_with_the_stage_in_the_url_only() {
    let harness = Arc::new(RuntimeHarness::start().await);
    let (picked, _picked_up) = mpsc::unbounded_channel();
    let (_release, released) = watch::channel(true);
    tokio::spawn(instance(harness.runtime_api(), picked, released));
    let front = HttpFront::rest_stage_over_harness(Arc::clone(&harness), "prod").await;
    // The stand-in answers every event with a 200: the 403 outside the stage is the front's.
    assert_stage_events(&front).await;
}

/// One request from 127.0.0.2 into `front`'s stage `prod` comes to the stand-in as a REST API
/// event with the stage in the URL only (the stand-in answers with the event); one outside the
/// stage gets API Gateway's 403.
async fn assert_stage_events(front: &HttpFront) {
    assert!(front.base_url().ends_with("/prod"), "{}", front.base_url());
    let answer = client_from(2)
        .post(front.base_url() + "/oidc/token")
        .header("authorization", "Basic abc")
        .body("grant_type=authorization_code")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let event: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(
        (&event["httpMethod"], &event["path"]),
        (&json!("POST"), &json!("/oidc/token"))
    );
    let context = &event["requestContext"];
    assert_eq!(
        (&context["path"], &context["stage"], &context["identity"]["sourceIp"]),
        (&json!("/prod/oidc/token"), &json!("prod"), &json!("127.0.0.2"))
    );
    assert_eq!(event["multiValueHeaders"]["authorization"], json!(["Basic abc"]));
    assert_eq!(event["body"], "grant_type=authorization_code");

    let outside = reqwest::get(front.base_url().replace("/prod", "/oidc/token"))
        .await
        .unwrap();
    assert_eq!(outside.status(), 403, "no resource outside the stage");
}
