//! What the hot path costs, counted rather than timed: AWS requests per warm hit through the real
//! binary (a counting proxy in front of the AWS emulators), what init primes, and the metrics records it writes.

use std::time::{Duration, Instant};

use genesys_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

use crate::deployment::{Deployment, crm_body, http_api_post};
use crate::helpers::upstream_calls;
use test_kit::aws_proxy::AwsProxy;

/// A deployment on the default sandbox whose DynamoDB and Secrets Manager calls go through a new
/// [`AwsProxy`] (which counts them and can fail them); `env` comes on top.
pub async fn deploy_behind_proxy(env: &[(&'static str, &str)]) -> (Deployment, AwsProxy) {
    let proxy = AwsProxy::start().await;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let url = sandbox.base_url();
    let through_proxy = proxy.env();
    let mut vars: Vec<(&'static str, &str)> = through_proxy
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    vars.extend_from_slice(env);
    let deployment = Deployment::start_on(sandbox, &SandboxConfig::default().clients, &url, &vars).await;
    (deployment, proxy)
}

async fn post(deployment: &Deployment, crm_id: &str) -> Value {
    let response = deployment.invoke(http_api_post(&crm_body(crm_id))).await.response();
    assert_eq!(response["statusCode"], 200, "{response}");
    response
}

/// Waits (a poll with a deadline) until the harness has seen `polls` requests for work (the
/// function finished init and asks for its first invocation).
pub(crate) async fn init_done(deployment: &Deployment, polls: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while deployment.harness.next_polls() < polls {
        assert!(Instant::now() < deadline, "the function never finished init");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_hit_costs_exactly_one_dynamodb_read_and_no_other_network_call() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    post(&deployment, "CRM-1").await;
    let genesys_before = upstream_calls(&deployment.sandbox);
    proxy.take();

    for _ in 0..10 {
        post(&deployment, "CRM-1").await;
    }

    assert_eq!(proxy.operations(), vec!["DynamoDB_20120810.GetItem"; 10]);
    assert_eq!(
        upstream_calls(&deployment.sandbox),
        genesys_before,
        "no Genesys call on a hit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn init_primes_only_the_dynamodb_connection_unless_told_not_to() {
    let (primed, primed_proxy) = deploy_behind_proxy(&[]).await;
    let (lazy, lazy_proxy) = deploy_behind_proxy(&[("PRIME_AT_INIT", "false")]).await;

    init_done(&primed, 1).await;
    init_done(&lazy, 1).await;

    // SHA-256 pseudonyms need no key and Genesys credentials wait for the first Genesys call.
    assert_eq!(primed_proxy.operations(), ["DynamoDB_20120810.GetItem"]);
    assert!(lazy_proxy.operations().is_empty(), "{:?}", lazy_proxy.operations());
    assert_eq!(
        upstream_calls(&primed.sandbox),
        (0, 0, 0),
        "priming creates nothing upstream"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hmac_pseudonyms_prime_their_key_at_init() {
    let key_secret = test_kit::aws::unique("hash-key");
    test_kit::aws::create_secret(&key_secret, r#"{"hash_key": "k3y-primed-at-init-0123456789abcdef"}"#).await;
    let env = [
        ("CRM_ID_HASH_MODE", "hmac-sha256"),
        ("CRM_ID_HASH_KEY_SECRET_ID", key_secret.as_str()),
    ];
    let (primed, proxy) = deploy_behind_proxy(&env).await;

    init_done(&primed, 1).await;

    let mut operations = proxy.operations();
    operations.sort();
    assert_eq!(
        operations,
        ["DynamoDB_20120810.GetItem", "secretsmanager.GetSecretValue"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cold_start_serving_a_stored_token_makes_one_aws_call_and_reads_no_secret() {
    let (mut deployment, proxy) = deploy_behind_proxy(&[("PRIME_AT_INIT", "false")]).await;
    post(&deployment, "CRM-1").await;
    deployment.function.stop();
    proxy.take();

    let polls_before = deployment.harness.next_polls();
    let _cold = deployment.start_instance();
    init_done(&deployment, polls_before + 1).await;
    let served = post(&deployment, "CRM-1").await;

    assert_eq!(served["statusCode"], 200);
    assert_eq!(proxy.operations(), ["DynamoDB_20120810.GetItem"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_invocation_writes_one_metrics_record_and_the_first_is_the_cold_start() {
    let (mut deployment, _proxy) = deploy_behind_proxy(&[]).await;
    post(&deployment, "CRM-1").await;
    post(&deployment, "CRM-1").await;

    let records = crate::fleet::metrics_records(&deployment.function.stop());

    assert_eq!(records.len(), 2, "{records:?}");
    let (created, hit) = (&records[0], &records[1]);
    assert_eq!(created["_aws"]["CloudWatchMetrics"][0]["Namespace"], "GuestTokenBroker");
    assert_eq!(
        (created["ColdStart"].as_u64(), created["GuestCreations"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        created["UpstreamLatency"].as_array().map(Vec::len),
        Some(3),
        "OAuth, guest, token"
    );
    assert_eq!((hit.get("ColdStart"), hit["Hits"].as_u64()), (None, Some(1)));
    assert_eq!(hit["UpstreamLatency"], serde_json::json!([]));
}
