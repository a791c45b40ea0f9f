//! The slot-limited pool has the property the issue-19 tests rely on: with K slots and K
//! invocations in flight, the next one is throttled at once, and a slot is free again as soon as an
//! invocation's result is back. The instances here are stand-ins on the Runtime API (each polls
//! `/next`, says it holds an invocation, and answers only when the test releases it), so the K stay
//! in flight for exactly as long as the test says: no sleeps, no timing. Two pools sharing one
//! function's slots count them once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use test_kit::function_pool::{FunctionPool, GatewayApi, Invocation};
use test_kit::http_front::HttpFront;
use test_kit::runtime_harness::Outcome;
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
