//! Through the compiled binary: the pseudonym mode is configuration, so a customer is never hashed
//! two ways (a key that changes under a running instance stops it, a `hash_key` left in the
//! credentials secret is refused in SHA-256 mode), and 500 answers name no secret; failed Genesys
//! answers are logged with their `ININ-Correlation-Id`.

use genesys_sandbox::{Endpoint, Fault};

use crate::deployment::{Deployment, body_of};
use crate::fleet::{error_code, post, status};
use test_kit::aws::{create_secret, delete_secret, rotate_secret, unique};

/// The binary in HMAC mode on a key secret of its own that it re-reads on every request, after
/// it has hashed CRM-1 with the first key (one guest).
async fn hmac_deployment_that_served_crm_1() -> (Deployment, String) {
    let key_secret = unique("hash-key");
    create_secret(&key_secret, r#"{"hash_key": "first-key-with-32-bytes-or-more-1"}"#).await;
    let deployment = Deployment::start_with(&[
        ("CRM_ID_HASH_MODE", "hmac-sha256"),
        ("CRM_ID_HASH_KEY_SECRET_ID", key_secret.as_str()),
        ("CRM_ID_HASH_KEY_CHECK_SECONDS", "0"),
    ])
    .await;
    assert_eq!(status(&post(&deployment, "CRM-1").await), 200);
    (deployment, key_secret)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_key_changed_under_a_running_instance_stops_it_rather_than_hash_anyone_anew() {
    let (deployment, key_secret) = hmac_deployment_that_served_crm_1().await;

    rotate_secret(&key_secret, r#"{"hash_key": "second-key-with-32-bytes-or-more-2"}"#).await;
    let after = post(&deployment, "CRM-1").await;

    assert_eq!(status(&after), 500, "{after}");
    assert_eq!(error_code(&after), "configuration_error");
    assert!(
        !after.to_string().contains("second-key-with-32-bytes-or-more-2") && !after.to_string().contains(&key_secret)
    );
    assert_eq!(
        deployment.sandbox.guests().len(),
        1,
        "never a second guest under another hash"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_key_secret_deleted_under_a_running_instance_stops_it_and_the_answer_names_no_secret() {
    let (deployment, key_secret) = hmac_deployment_that_served_crm_1().await;

    delete_secret(&key_secret).await;
    let after = post(&deployment, "CRM-2").await;

    assert_eq!(status(&after), 500, "{after}");
    assert_eq!(error_code(&after), "configuration_error");
    let text = after.to_string();
    assert!(!text.contains(&key_secret) && !text.contains("arn:aws"), "{text}");
    assert_eq!(deployment.sandbox.guests().len(), 1, "CRM-2 was never hashed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_key_left_in_the_credentials_secret_is_refused_in_sha256_mode() {
    let deployment = Deployment::start_with(&[]).await;
    let document = serde_json::json!({
        "credentials": [{"client_id": "sandbox-client", "client_secret": "sandbox-secret"}],
        "hash_key": "legacy-key",
    });
    rotate_secret(&deployment.secret, &document.to_string()).await;

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 500, "{response}");
    assert_eq!(error_code(&response), "configuration_error");
    let message = body_of(&response)["error"]["message"].to_string();
    assert!(message.contains("CRM_ID_HASH_MODE"), "{message}");
    assert!(!message.contains("legacy-key"), "{message}");
    assert!(deployment.sandbox.guests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_is_a_500_that_names_no_secret() {
    let missing = unique("no-such-secret");
    let deployment = Deployment::start_with(&[("GENESYS_CREDENTIALS_SECRET_ID", missing.as_str())]).await;

    let response = post(&deployment, "CRM-1").await;

    assert_eq!(status(&response), 500, "{response}");
    assert_eq!(error_code(&response), "configuration_error");
    assert!(!response.to_string().contains(&missing), "{response}");
    assert!(!response.to_string().contains("arn:aws"), "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_genesys_answer_is_logged_with_its_inin_correlation_id() {
    let mut deployment = Deployment::start_with(&[]).await;
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(403));

    assert_eq!(status(&post(&deployment, "CRM-1").await), 502);

    let lines = deployment.function.stop();
    let failed = lines
        .iter()
        .find(|line| line.contains("Genesys answered with an error"))
        .unwrap_or_else(|| panic!("no line for the failed answer: {lines:#?}"));
    let id = failed
        .split("inin_correlation_id=")
        .nth(1)
        .map(|rest| rest.trim_matches('"').split(['"', ' ']).next().unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(id.len(), 36, "a UUID: {failed}");
}
