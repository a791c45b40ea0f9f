//! The fault suite: every upstream fault the broker must ride out, through the real binary under
//! the Runtime API harness, with the Genesys sandbox and the AWS emulators behind it; and instances of the
//! binary racing for one customer.

use std::time::{Duration, Instant};

use genesys_sandbox::{Endpoint, Fault, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::deployment::{Deployment, body_of};
use crate::fleet::{
    closed_port_url, deploy_with_clients, error_code, instances_that_served, post, post_within, scale_out, status,
};
use crate::helpers::upstream_calls;
use test_kit::aws::rotate_secret;

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_retry_after_twice_is_waited_out_then_succeeds() {
    let mut deployment = Deployment::start().await;
    deployment
        .sandbox
        .push_fault(Endpoint::GuestToken, Fault::status(429).retry_after(1));
    deployment
        .sandbox
        .push_fault(Endpoint::GuestToken, Fault::status(429).retry_after(1));

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(upstream_calls(&deployment.sandbox), (1, 1, 3));
    let lines = deployment.function.stop();
    let waits: Vec<_> = lines.iter().filter(|l| l.contains("retrying Genesys call")).collect();
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(
        waits.iter().all(|l| l.contains("wait_ms=1000")),
        "waited the Retry-After seconds: {waits:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_503_from_guest_creation_is_retried_and_succeeds() {
    let deployment = Deployment::start().await;
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(503));

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(upstream_calls(&deployment.sandbox), (1, 2, 1));
    assert_eq!(deployment.sandbox.guests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_is_502_after_exactly_one_call() {
    let deployment = Deployment::start().await;
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(403));

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 502, "{response}");
    assert_eq!(error_code(&response), "upstream_rejected");
    assert_eq!(upstream_calls(&deployment.sandbox), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_first_credential_falls_back_to_the_second() {
    let deployment = deploy_with_clients(&[("first", "s1"), ("second", "s2")], &[]).await;
    deployment.sandbox.revoke_client("first");

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(deployment.sandbox.oauth_client_ids(), ["second"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_rotated_to_a_brand_new_credential_is_picked_up_without_a_restart() {
    let deployment = deploy_with_clients(&[("old", "old-secret")], &[]).await;
    assert_eq!(status(&post(&deployment, "CRM-1").await), 200);

    rotate_secret(
        &deployment.secret,
        &test_kit::aws::credentials_document(&[("new", "new-secret")]),
    )
    .await;
    deployment.sandbox.add_client("new", "new-secret");
    deployment.sandbox.revoke_client("old");
    deployment.sandbox.expire_access_tokens();
    let response = post(&deployment, "CRM-2").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(deployment.sandbox.oauth_client_ids(), ["old", "new"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_access_token_expired_mid_run_is_replaced_and_the_request_succeeds() {
    let deployment = Deployment::start().await;
    assert_eq!(status(&post(&deployment, "CRM-1").await), 200);
    deployment.sandbox.expire_access_tokens();

    let response = post(&deployment, "CRM-2").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(deployment.sandbox.calls(Endpoint::OAuthToken), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_genesys_is_503_within_the_invocation_deadline() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let clients = SandboxConfig::default().clients;
    let deployment = Deployment::start_on(sandbox, &clients, &closed_port_url(), &[]).await;
    let timeout = Duration::from_secs(3);

    let started = Instant::now();
    let response = post_within(&deployment, "CRM-1", timeout).await;

    assert!(started.elapsed() < timeout, "answered after the deadline");
    assert_eq!(status(&response), 503, "{response}");
    assert_eq!(error_code(&response), "upstream_unavailable");
    assert!(response["headers"]["retry-after"].is_string(), "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_genesys_hanging_past_the_deadline_is_503_within_it() {
    let deployment = Deployment::start().await;
    for _ in 0..4 {
        deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::hang());
    }
    let timeout = Duration::from_secs(3);

    let started = Instant::now();
    let response = post_within(&deployment, "CRM-1", timeout).await;

    assert!(started.elapsed() < timeout, "answered after the deadline");
    assert_eq!(status(&response), 503, "{response}");
    assert!(response["headers"]["retry-after"].is_string(), "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_dynamodb_is_503_with_nothing_sent_to_genesys() {
    let dynamodb_url = closed_port_url();
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let url = sandbox.base_url();
    let clients = SandboxConfig::default().clients;
    let deployment = Deployment::start_on(
        sandbox,
        &clients,
        &url,
        &[("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_url.as_str())],
    )
    .await;

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 503, "{response}");
    assert_eq!(error_code(&response), "upstream_unavailable");
    assert_eq!(upstream_calls(&deployment.sandbox), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_token_endpoint_backs_off_without_rotating() {
    let deployment = deploy_with_clients(&[("first", "s1"), ("second", "s2")], &[]).await;
    let rate_limited = json!({"error": "invalid_request", "description": "rate limit exceeded"});
    deployment
        .sandbox
        .push_fault(Endpoint::OAuthToken, Fault::status(400).body(rate_limited));

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(deployment.sandbox.calls(Endpoint::OAuthToken), 2);
    assert_eq!(deployment.sandbox.oauth_client_ids(), ["first"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_instances_racing_one_new_customer_create_one_guest() {
    let mut deployment = Deployment::start().await;
    let mut others = scale_out(&mut deployment, 7).await;

    let responses = futures::future::join_all((0..8).map(|_| post(&deployment, "CRM-race"))).await;

    assert!(responses.iter().all(|r| status(r) == 200), "{responses:?}");
    let guests: Vec<Value> = responses.iter().map(|r| body_of(r)["guestId"].clone()).collect();
    assert!(guests.iter().all(|g| *g == guests[0]), "{guests:?}");
    assert_eq!(deployment.sandbox.guests().len(), 1);
    let served = instances_that_served(&mut deployment, &mut others);
    assert!(served > 1, "only {served} instance served: no race");
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_instances_racing_one_token_inside_the_window_renew_it_at_most_once() {
    // A window longer than the first token's life puts it inside the window at once; the renewed
    // token lives long enough to be outside it.
    let deployment = deploy_with_clients(
        &[("sandbox-client", "sandbox-secret")],
        &[("SLIDING_WINDOW_SECONDS", "3500")],
    )
    .await;
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(3000));
    assert_eq!(status(&post(&deployment, "CRM-race").await), 200);
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(7200));
    let _others: Vec<_> = (1..8).map(|_| deployment.start_instance()).collect();

    let responses = futures::future::join_all((0..8).map(|_| post(&deployment, "CRM-race"))).await;

    assert!(responses.iter().all(|r| status(r) == 200), "{responses:?}");
    assert!(
        deployment.sandbox.calls(Endpoint::GuestToken) <= 2,
        "one token call, plus at most one renewal"
    );
}
