//! Genesys refresh tokens through the compiled guest function (web messaging, on dynalite, KMS in
//! moto through the counting proxy): stored only encrypted and bound to their item, never
//! decrypted for a hit, items from before encryption read and re-written encrypted, KMS trouble a
//! clear 5xx on the renewal path only, and a DELETE after the jwt expired still ends the session
//! at Genesys, leaving no refresh token behind.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use test_kit::aws::{dynamodb, kms};
use test_kit::aws_proxy::{AwsFault, FaultRule};

use crate::deployment::body_of;
use crate::fleet::{delete_event, error_code, status};
use crate::helpers::hash_of;
use crate::web_fleet::{WebFleet, wait_past, web_calls};

const ENCRYPTED: &str = "genesys_refresh_token_encrypted";
const PLAIN: &str = "genesys_refresh_token";

/// KMS `Decrypt` of a stored ciphertext with the encryption context of `crm_id`'s item.
async fn decrypt_for(crm_id: &str, ciphertext: &str) -> Option<String> {
    let output = kms()
        .await
        .decrypt()
        .ciphertext_blob(Blob::new(STANDARD.decode(ciphertext).unwrap()))
        .encryption_context("crm_id_hash", hash_of(crm_id).as_str())
        .send()
        .await
        .ok()?;
    Some(String::from_utf8(output.plaintext()?.as_ref().to_vec()).unwrap())
}

/// The customer's item holds its refresh token encrypted only: no plain attribute, and no
/// attribute holding any refresh token Genesys issued. The ciphertext.
async fn assert_only_encrypted(fleet: &WebFleet, crm_id: &str) -> String {
    let item = fleet.stored(crm_id).await.expect("a stored session");
    assert!(!item.contains_key(PLAIN), "{crm_id}: a plain refresh token is stored");
    let issued = fleet.sandbox.refresh_tokens_issued();
    assert!(!issued.is_empty());
    for (name, value) in &item {
        let text = format!("{value:?}");
        assert!(
            !issued.iter().any(|token| text.contains(token.as_str())),
            "{crm_id}: {name} holds a refresh token in plain text"
        );
    }
    item[ENCRYPTED].as_s().expect("an encrypted refresh token").clone()
}

/// Rewrites the customer's item with `update` and its `values` (straight to dynalite).
async fn rewrite(fleet: &WebFleet, crm_id: &str, update: &str, values: &[(&str, &str)]) {
    let mut request = dynamodb()
        .await
        .update_item()
        .table_name(&fleet.table)
        .key("crm_id_hash", AttributeValue::S(hash_of(crm_id).as_str().to_owned()))
        .update_expression(update);
    for (placeholder, value) in values {
        request = request.expression_attribute_values(*placeholder, AttributeValue::S((*value).to_owned()));
    }
    request.send().await.expect("dynalite rewrites the item");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_is_stored_only_encrypted_for_its_item_and_a_hit_never_decrypts_it() {
    let fleet = WebFleet::start(2).await;
    assert_eq!(status(&fleet.post("CRM-SEALED-1").await), 200);
    let ciphertext = assert_only_encrypted(&fleet, "CRM-SEALED-1").await;
    let issued = fleet.sandbox.refresh_tokens_issued();
    assert_eq!(
        decrypt_for("CRM-SEALED-1", &ciphertext).await.as_deref(),
        Some(issued[0].as_str()),
        "it opens for its own item"
    );
    assert_eq!(
        decrypt_for("CRM-SEALED-2", &ciphertext).await,
        None,
        "the encryption context binds it to its item"
    );
    fleet.proxy.take();
    assert_eq!(status(&fleet.post("CRM-SEALED-1").await), 200);
    assert_eq!(
        fleet.proxy.operations(),
        ["DynamoDB_20120810.GetItem"],
        "a hit is one read, no decryption"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewal_decrypts_the_refresh_token_once_and_keeps_its_ciphertext() {
    let fleet = WebFleet::start(2).await;
    // Jwts living 120 s are inside the 300 s sliding window: the next request renews.
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(120));
    assert_eq!(status(&fleet.post("CRM-RENEW-1").await), 200);
    let before = assert_only_encrypted(&fleet, "CRM-RENEW-1").await;
    fleet.proxy.take();

    assert_eq!(status(&fleet.post("CRM-RENEW-1").await), 200);

    assert_eq!(
        web_calls(&fleet.sandbox),
        (1, 1, 1, 0),
        "renewed with the refresh token"
    );
    let kms_calls: Vec<String> = fleet
        .proxy
        .operations()
        .into_iter()
        .filter(|operation| operation.starts_with("TrentService."))
        .collect();
    assert_eq!(kms_calls, ["TrentService.Decrypt"], "no new encryption per renewal");
    assert_eq!(assert_only_encrypted(&fleet, "CRM-RENEW-1").await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_from_before_encryption_is_renewed_with_its_plain_refresh_token_and_rewritten_encrypted() {
    let fleet = WebFleet::start(2).await;
    // Jwts living 120 s are inside the 300 s sliding window: every request renews.
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(120));
    assert_eq!(status(&fleet.post("CRM-LEGACY-1").await), 200);
    let issued = fleet.sandbox.refresh_tokens_issued().remove(0);
    // As a version before encryption at rest wrote it.
    rewrite(
        &fleet,
        "CRM-LEGACY-1",
        &format!("SET {PLAIN} = :plain REMOVE {ENCRYPTED}"),
        &[(":plain", &issued)],
    )
    .await;

    let renewed = fleet.post("CRM-LEGACY-1").await;

    assert_eq!(status(&renewed), 200, "{renewed}");
    assert_eq!(
        web_calls(&fleet.sandbox),
        (1, 1, 1, 0),
        "renewed with the plain refresh token"
    );
    let ciphertext = assert_only_encrypted(&fleet, "CRM-LEGACY-1").await;
    assert_eq!(decrypt_for("CRM-LEGACY-1", &ciphertext).await, Some(issued));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ciphertext_moved_to_another_customers_item_does_not_open_and_a_new_code_is_exchanged() {
    let fleet = WebFleet::start(2).await;
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(120));
    for crm_id in ["CRM-MOVED-A", "CRM-MOVED-B"] {
        assert_eq!(status(&fleet.post(crm_id).await), 200);
    }
    let stolen = assert_only_encrypted(&fleet, "CRM-MOVED-A").await;
    rewrite(
        &fleet,
        "CRM-MOVED-B",
        &format!("SET {ENCRYPTED} = :moved"),
        &[(":moved", &stolen)],
    )
    .await;

    let renewed = fleet.post("CRM-MOVED-B").await;

    assert_eq!(status(&renewed), 200, "{renewed}");
    assert_eq!(
        web_calls(&fleet.sandbox),
        (2, 3, 0, 0),
        "A's refresh token was never used for B: B exchanged a new code"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_kms_failing_a_renewal_is_a_clear_5xx_while_stored_tokens_are_still_handed_out() {
    let fleet = WebFleet::start(2).await;
    assert_eq!(status(&fleet.post("CRM-KMS-HIT").await), 200);
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(120));
    assert_eq!(status(&fleet.post("CRM-KMS-RENEW").await), 200);
    let cases = [
        (AwsFault::ServerError, 503, "upstream_unavailable"),
        (
            AwsFault::Error {
                code: "AccessDeniedException".into(),
                message: "not authorized to perform kms:Decrypt".into(),
            },
            500,
            "configuration_error",
        ),
    ];
    for (fault, expected_status, expected_code) in cases {
        fleet.proxy.fail(FaultRule::new("Decrypt", 10, fault));
        let renewal = fleet.post("CRM-KMS-RENEW").await;
        assert_eq!(
            (status(&renewal), error_code(&renewal).as_str()),
            (expected_status, expected_code),
            "{renewal}"
        );
        let message = body_of(&renewal)["error"]["message"].to_string();
        assert!(message.contains("refresh-token key"), "{message}");
        fleet.proxy.take();
        assert_eq!(status(&fleet.post("CRM-KMS-HIT").await), 200, "a hit needs no KMS");
        assert_eq!(fleet.proxy.operations(), ["DynamoDB_20120810.GetItem"]);
        fleet.proxy.stop_failing();
    }
    assert_eq!(status(&fleet.post("CRM-KMS-RENEW").await), 200, "KMS back, renewed");
}

/// Waits (a poll with a deadline) until the customer's stored jwt has expired.
async fn until_the_stored_jwt_expired(fleet: &WebFleet, crm_id: &str) {
    let item = fleet.stored(crm_id).await.expect("a stored session");
    wait_past(item["expires_at"].as_s().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_after_the_jwt_expired_renews_it_to_revoke_the_session_and_leaves_no_refresh_token() {
    let fleet = WebFleet::start(2).await;
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(2));
    assert_eq!(status(&fleet.post("CRM-GONE-1").await), 200);
    assert_only_encrypted(&fleet, "CRM-GONE-1").await;
    until_the_stored_jwt_expired(&fleet, "CRM-GONE-1").await;

    assert_eq!(status(&fleet.delete("CRM-GONE-1").await), 204);

    assert_eq!(
        web_calls(&fleet.sandbox),
        (1, 1, 1, 1),
        "renewed once with the refresh token, then the new jwt revoked"
    );
    let sessions = fleet.sandbox.web_sessions();
    assert!(
        sessions[0].revoked,
        "the session and its refresh token ended: {sessions:?}"
    );
    assert!(fleet.stored("CRM-GONE-1").await.is_none(), "nothing stays stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_after_the_jwt_expired_forgets_the_session_even_when_kms_or_genesys_fail() {
    let fleet = WebFleet::start(2).await;
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(2));
    for crm_id in ["CRM-GONE-KMS", "CRM-GONE-LAPSED"] {
        assert_eq!(status(&fleet.post(crm_id).await), 200);
        until_the_stored_jwt_expired(&fleet, crm_id).await;
    }
    fleet.proxy.fail(FaultRule::new("Decrypt", 10, AwsFault::ServerError));
    assert_eq!(status(&fleet.delete("CRM-GONE-KMS").await), 204, "best effort");
    assert!(fleet.stored("CRM-GONE-KMS").await.is_none());
    fleet.proxy.stop_failing();
    // The refresh token has lapsed at Genesys: nothing is left to revoke.
    fleet.sandbox.expire_refresh_tokens();
    assert_eq!(status(&fleet.delete("CRM-GONE-LAPSED").await), 204);
    assert!(fleet.stored("CRM-GONE-LAPSED").await.is_none());
    assert_eq!(
        web_calls(&fleet.sandbox),
        (2, 2, 1, 0),
        "one refresh refused (the lapsed token), no revocation attempted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_is_answered_in_time_while_kms_is_too_slow_to_open_the_refresh_token_for_revocation() {
    let fleet = WebFleet::start(2).await;
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(2));
    assert_eq!(status(&fleet.post("CRM-GONE-SLOW").await), 200);
    until_the_stored_jwt_expired(&fleet, "CRM-GONE-SLOW").await;
    // KMS answers after the invocation's deadline: the delete is done before it asks, so the
    // caller hears 204, not a 503 for a session already forgotten.
    fleet
        .proxy
        .fail(FaultRule::new("Decrypt", 10, AwsFault::Slow(Duration::from_secs(5))));
    let answer = fleet
        .harness
        .invoke_with_timeout(delete_event("CRM-GONE-SLOW"), Duration::from_secs(2))
        .await
        .response();
    assert_eq!(status(&answer), 204, "{answer}");
    assert!(fleet.stored("CRM-GONE-SLOW").await.is_none(), "forgotten");
    fleet.proxy.stop_failing();
}
