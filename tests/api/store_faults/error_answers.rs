//! DynamoDB errors on a read, as the broker answers them: expired credentials, dropped connections
//! and throttling past the retries are a 503 with Retry-After (the throttles counted in the metrics
//! record), a validation error an internal error that names no table.

use crate::fleet::{error_code, post, status};
use crate::helpers::hash_of;
use crate::hot_path::deploy_behind_proxy;
use test_kit::aws_proxy::{AwsFault, FaultRule};

#[tokio::test(flavor = "multi_thread")]
async fn expired_aws_credentials_on_a_read_are_a_503_not_a_500() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    let hash = hash_of("CRM-expired");
    proxy.fail(
        FaultRule::new(
            "GetItem",
            1,
            AwsFault::Error {
                code: "ExpiredTokenException".into(),
                message: "The security token included in the request is expired".into(),
            },
        )
        .when_body_contains(hash.as_str()),
    );

    let response = post(&deployment, "CRM-expired").await;

    assert_eq!(proxy.faults_played(), 1);
    assert_eq!(status(&response), 503, "{response}");
    assert_eq!(error_code(&response), "upstream_unavailable");
    assert!(response["headers"]["retry-after"].is_string(), "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_validation_error_other_than_the_key_schema_is_an_internal_error_naming_no_table() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    let hash = hash_of("CRM-invalid");
    proxy.fail(
        FaultRule::new(
            "GetItem",
            1,
            AwsFault::Error {
                code: "ValidationException".into(),
                message: "One or more parameter values were invalid: something".into(),
            },
        )
        .when_body_contains(hash.as_str()),
    );

    let response = post(&deployment, "CRM-invalid").await;

    assert_eq!(proxy.faults_played(), 1);
    assert_eq!(status(&response), 500, "{response}");
    assert_eq!(error_code(&response), "internal_error");
    let body = response["body"].as_str().expect("a body");
    assert!(!body.contains(&deployment.table), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_dynamodb_drops_are_retried_and_a_store_that_keeps_dropping_them_is_a_503() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    let (brief, lasting) = (hash_of("CRM-reset-once"), hash_of("CRM-reset-always"));
    proxy.fail(FaultRule::new("GetItem", 1, AwsFault::Reset).when_body_contains(brief.as_str()));
    proxy.fail(FaultRule::new("GetItem", usize::MAX, AwsFault::Reset).when_body_contains(lasting.as_str()));

    let recovered = post(&deployment, "CRM-reset-once").await;
    let down = post(&deployment, "CRM-reset-always").await;

    assert_eq!(status(&recovered), 200, "{recovered}");
    assert_eq!(status(&down), 503, "{down}");
    assert_eq!(error_code(&down), "upstream_unavailable");
    assert!(down["headers"]["retry-after"].is_string(), "{down}");
    assert_eq!(
        deployment.sandbox.guests().len(),
        1,
        "nothing is created for the customer whose store is down"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_throttling_past_the_sdk_retries_is_a_503_counted_in_the_metrics_record() {
    let (mut deployment, proxy) = deploy_behind_proxy(&[]).await;
    let hash = hash_of("CRM-throttled-read");
    proxy.fail(FaultRule::new("GetItem", usize::MAX, AwsFault::Throttling).when_body_contains(hash.as_str()));

    let response = post(&deployment, "CRM-throttled-read").await;

    assert_eq!(status(&response), 503, "{response}");
    let records = crate::fleet::metrics_records(&deployment.function.stop());
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["StoreThrottles"], 1, "{}", records[0]);
    assert_eq!(records[0]["outcome"], "failed");
}
