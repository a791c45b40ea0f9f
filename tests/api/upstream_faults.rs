//! What Genesys and Secrets Manager send or fail to send can be of any size or shape: through the
//! compiled binary, numbers beyond any range are clamped, a guest creation that may have reached
//! Genesys is never sent twice, refused credentials are not asked again per request, and a
//! Secrets Manager outage costs one request per grace period, not every request.

use std::time::Duration;

use genesys_sandbox::{Endpoint, Fault};
use serde_json::json;

use crate::deployment::Deployment;
use crate::fleet::{deploy_with_clients, error_code, post, status};
use crate::hot_path::deploy_behind_proxy;
use test_kit::aws_proxy::{AwsFault, FaultRule};

/// The most a caller is told to wait, whatever Genesys said.
const MAX_RETRY_AFTER_SECONDS: u64 = 120;

fn retry_after_seconds(response: &serde_json::Value) -> u64 {
    response["headers"]["retry-after"]
        .as_str()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("a numeric Retry-After: {response}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_of_any_size_is_clamped_and_passed_on_bounded() {
    let deployment = Deployment::start().await;
    // Waiting that long does not fit the deadline: each request gives up at its first 429.
    for huge in [9_223_372_036_854_775_807, u64::MAX] {
        deployment
            .sandbox
            .push_fault(Endpoint::CreateGuest, Fault::status(429).retry_after(huge));
    }

    let first = post(&deployment, "CRM-1").await;
    let second = post(&deployment, "CRM-2").await;

    for response in [&first, &second] {
        assert_eq!(status(response), 503, "{response}");
        assert!(retry_after_seconds(response) <= MAX_RETRY_AFTER_SECONDS, "{response}");
    }
    // The process is alive and well: nothing panicked.
    assert_eq!(status(&post(&deployment, "CRM-3").await), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn expires_in_of_any_size_or_sign_never_panics() {
    let deployment = Deployment::start().await;
    for expires_in in [
        json!(9_223_372_036_854_775_807_u64),
        json!(-1),
        json!(1e300),
        json!(-9_223_372_036_854_775_807_i64),
    ] {
        // A token the sandbox does not know, with an odd lifetime: the guest call answers 401,
        // the broker asks for a real token and goes on.
        deployment.sandbox.push_fault(
            Endpoint::OAuthToken,
            Fault::status(200).body(json!({"access_token": "odd", "expires_in": expires_in})),
        );
        deployment.sandbox.expire_access_tokens();
        let response = post(&deployment, &format!("CRM-{expires_in}")).await;
        assert_eq!(status(&response), 200, "expires_in {expires_in}: {response}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_tokens_with_expiries_far_past_far_future_or_of_the_wrong_type_never_panic() {
    let deployment = Deployment::start().await;
    let cases = [
        (json!("1970-01-01T00:00:00Z"), 502),
        (json!("0001-01-01T00:00:00Z"), 502),
        (json!("9999-12-31T23:59:59.999Z"), 200),
        (json!("+262143-12-31T23:59:59Z"), 502),
        (json!(9_223_372_036_854_775_807_u64), 502),
        (json!({"at": "2030-01-01T00:00:00Z"}), 502),
    ];
    for (n, (expires_at, expected)) in cases.into_iter().enumerate() {
        deployment.sandbox.push_fault(
            Endpoint::GuestToken,
            Fault::status(200).body(json!({"token": "eyJ-odd", "expiresAt": expires_at})),
        );
        let response = post(&deployment, &format!("CRM-{n}")).await;
        assert_eq!(status(&response), expected, "expiresAt {expires_at}: {response}");
        if expected == 502 {
            assert_eq!(error_code(&response), "upstream_rejected", "{response}");
        }
    }
    assert_eq!(status(&post(&deployment, "CRM-after").await), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_body_larger_than_any_answer_is_refused_without_a_panic() {
    let deployment = Deployment::start().await;
    let huge = "x".repeat(1024 * 1024);
    deployment.sandbox.push_fault(
        Endpoint::GuestToken,
        Fault::status(200).body(json!({"token": huge, "expiresAt": "2030-01-01T00:00:00Z"})),
    );

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 502, "{response}");
    assert_eq!(error_code(&response), "upstream_rejected");
    assert!(!response.to_string().contains("xxxxxxxx"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_creation_answered_500_is_not_sent_again() {
    let deployment = Deployment::start().await;
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(500));

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 503, "{response}");
    assert_eq!(error_code(&response), "upstream_unavailable");
    assert_eq!(
        deployment.sandbox.calls(Endpoint::CreateGuest),
        1,
        "a 500 may come after the guest was made"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_creation_that_timed_out_after_sending_is_not_sent_again() {
    let mut deployment = Deployment::start_with(&[("GENESYS_ATTEMPT_TIMEOUT_MS", "300")]).await;
    // Genesys makes the guest, but only after the broker stopped waiting.
    deployment
        .sandbox
        .push_fault(Endpoint::CreateGuest, Fault::delay(Duration::from_millis(900)));

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 503, "{response}");
    assert_eq!(deployment.sandbox.calls(Endpoint::CreateGuest), 1);
    let logs = deployment.function.stop();
    assert!(
        logs.iter().any(|line| line.contains("may have reached Genesys")),
        "the possible unmapped guest is logged for reconciliation"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_creation_that_genesys_did_not_serve_is_retried() {
    let deployment = Deployment::start().await;
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(503));
    deployment
        .sandbox
        .push_fault(Endpoint::CreateGuest, Fault::status(429).retry_after(0));

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(deployment.sandbox.calls(Endpoint::CreateGuest), 3);
    assert_eq!(deployment.sandbox.guests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_credential_set_costs_one_oauth_call_per_instance_not_per_request() {
    let deployment = deploy_with_clients(&[("only", "only-secret")], &[]).await;
    deployment.sandbox.revoke_client("only");

    let answers: Vec<u64> = futures::future::join_all((0..4).map(|n| {
        let deployment = &deployment;
        async move { status(&post(deployment, &format!("CRM-{n}")).await) }
    }))
    .await;

    assert_eq!(answers, [502; 4]);
    assert_eq!(deployment.sandbox.calls(Endpoint::OAuthToken), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secrets_manager_outage_is_paid_for_once_per_grace_period_not_by_every_request() {
    // Every request that needs Genesys reads the secret again (no cache), so an outage shows.
    let (deployment, proxy) = deploy_behind_proxy(&[("CREDENTIALS_CACHE_SECONDS", "0")]).await;
    assert_eq!(status(&post(&deployment, "CRM-0").await), 200);
    proxy.fail(FaultRule::new("GetSecretValue", 1000, AwsFault::ServerError));

    let mut answers = Vec::new();
    for n in 1..=5 {
        answers.push(status(&post(&deployment, &format!("CRM-{n}")).await));
    }

    assert_eq!(answers, [200; 5], "the last set read keeps serving");
    let failed_reads = proxy.faults_played();
    assert!(
        (1..=3).contains(&failed_reads),
        "one request's read (with the SDK's retries) during the grace period, not one per request: {failed_reads}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_instances_finding_an_expired_token_while_genesys_is_slow_cause_one_renewal() {
    let mut deployment = Deployment::start().await;
    assert_eq!(status(&post(&deployment, "CRM-slow").await), 200);
    test_kit::aws::dynamodb()
        .await
        .update_item()
        .table_name(&deployment.table)
        .key(
            "crm_id_hash",
            aws_sdk_dynamodb::types::AttributeValue::S(crate::helpers::hash_of("CRM-slow").as_str().to_owned()),
        )
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::S("2001-01-01T00:00:00Z".into()),
        )
        .send()
        .await
        .expect("dynalite expires the stored token");
    for _ in 0..8 {
        deployment
            .sandbox
            .push_fault(Endpoint::GuestToken, Fault::delay(Duration::from_millis(2500)));
    }
    let mut others = crate::fleet::scale_out(&mut deployment, 7).await;

    let responses = futures::future::join_all((0..8).map(|_| post(&deployment, "CRM-slow"))).await;

    for response in &responses {
        match status(response) {
            200 => {}
            503 => assert!(response["headers"]["retry-after"].is_string(), "{response}"),
            _ => panic!("{response}"),
        }
    }
    assert!(responses.iter().any(|r| status(r) == 200), "{responses:?}");
    assert_eq!(
        deployment.sandbox.calls(Endpoint::GuestToken),
        2,
        "the first token, then one renewal however many instances found it expired"
    );
    assert!(
        crate::fleet::instances_that_served(&mut deployment, &mut others) > 1,
        "the requests raced"
    );
}
