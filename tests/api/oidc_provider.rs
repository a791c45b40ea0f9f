//! The OIDC provider's AWS parts against the emulators: codes in the sessions table (dynalite),
//! one-time under a race of redemptions; the id_token signer on a KMS key (moto), whose published
//! JWK verifies what it signed.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use guest_token_broker::domain::{CodeChallenge, CodeGrant, CodeKey, CustomerProfile};
use guest_token_broker::oidc::{Jwk, Signer, kms_public_key};
use guest_token_broker::store::{CodeStore, DynamoDbStore, Redemption};

use test_kit::aws::{create_sessions_table, dynamodb, sdk_config_for, unique};
use test_kit::emulators::moto;

use crate::auth_code_bindings::CHALLENGE;
use crate::fleet::{code_item, code_item_key};

fn grant() -> CodeGrant {
    CodeGrant {
        redirect_uri: "https://broker.example.com/callback".into(),
        subject: "54e48adaffd9".into(),
        nonce: Some("n-1".into()),
        // Every optional binding, so the round trip through DynamoDB covers each attribute.
        challenge: CodeChallenge::from_stored(CHALLENGE.into()),
        profile: CustomerProfile {
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            email: Some("ada@example.com".into()),
        },
        expires_at: Utc::now() + chrono::Duration::seconds(60),
    }
}

async fn store() -> DynamoDbStore {
    let table = unique("sessions");
    create_sessions_table(&table).await;
    DynamoDbStore::new(dynamodb().await, table, std::time::Duration::from_secs(86_400))
}

#[tokio::test]
async fn a_code_is_stored_as_its_hash_with_a_ttl_and_redeemed_once() {
    let store = store().await;
    let key = CodeKey::of("the-code");
    store.put_code(&key, &grant()).await.unwrap();
    let item = code_item(store.table(), &key).await;
    assert!(item.contains_key("ttl"));
    assert!(!format!("{item:?}").contains("the-code"), "only the hash is stored");
    let now = Utc::now();
    assert_eq!(
        store.redeem_code(&key, now).await.unwrap(),
        Redemption::Redeemed(grant_with_expiry(&item))
    );
    assert_eq!(
        store.redeem_code(&key, now).await.unwrap(),
        Redemption::AlreadyRedeemed,
        "a code works once"
    );
    assert_eq!(
        store.redeem_code(&CodeKey::of("unknown"), now).await.unwrap(),
        Redemption::Unknown
    );
}

/// The stored grant, with the expiry at the millisecond precision the store keeps.
fn grant_with_expiry(item: &HashMap<String, AttributeValue>) -> CodeGrant {
    let millis: i64 = item["code_expires_at"].as_n().unwrap().parse().unwrap();
    CodeGrant {
        expires_at: chrono::DateTime::from_timestamp_millis(millis).unwrap(),
        ..grant()
    }
}

#[tokio::test]
async fn of_concurrent_redemptions_of_one_code_exactly_one_succeeds() {
    let store = Arc::new(store().await);
    for round in 0..10 {
        let key = CodeKey::of(&format!("code-{round}"));
        store.put_code(&key, &grant()).await.unwrap();
        let redemptions = (0..8).map(|_| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move { store.redeem_code(&key, Utc::now()).await.unwrap() })
        });
        let mut outcomes: Vec<&str> = futures::future::join_all(redemptions)
            .await
            .into_iter()
            .map(|redemption| match redemption.unwrap() {
                Redemption::Redeemed(_) => "redeemed",
                Redemption::AlreadyRedeemed => "already redeemed",
                Redemption::Unknown => "unknown",
            })
            .collect();
        outcomes.sort_unstable();
        assert_eq!(
            outcomes,
            [["already redeemed"; 7].as_slice(), &["redeemed"]].concat(),
            "round {round}: one winner, and every other told it came second"
        );
    }
}

#[tokio::test]
async fn a_mark_of_any_type_keeps_a_code_spent_and_the_redemption_still_removes_the_grant() {
    let store = store().await;
    let marks = [
        ("redeemed_at", AttributeValue::S("yesterday".into())),
        ("redeemed_at", AttributeValue::Null(true)),
        ("redeemed_at", AttributeValue::Bool(false)),
        ("redeemed_at", AttributeValue::N("0".into())),
        ("redeemed_by", AttributeValue::S("another-call".into())),
        ("redeemed_by", AttributeValue::N("1".into())),
    ];
    for (round, (name, mark)) in marks.into_iter().enumerate() {
        let key = CodeKey::of(&format!("marked-{round}"));
        store.put_code(&key, &grant()).await.unwrap();
        dynamodb()
            .await
            .update_item()
            .table_name(store.table())
            .key("crm_id_hash", code_item_key(&key))
            .update_expression("SET #mark = :mark")
            .expression_attribute_names("#mark", name)
            .expression_attribute_values(":mark", mark.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            store.redeem_code(&key, Utc::now()).await.unwrap(),
            Redemption::AlreadyRedeemed,
            "{name} = {mark:?}"
        );
        let item = code_item(store.table(), &key).await;
        let mut left: Vec<&str> = item.keys().map(String::as_str).collect();
        left.sort_unstable();
        assert_eq!(
            left,
            ["crm_id_hash", "redeemed_at", "redeemed_by", "ttl"],
            "{name} = {mark:?}: the mark as it was, and no grant"
        );
        assert_eq!(item[name], mark, "an existing mark is never overwritten");
    }
}

async fn kms() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config_for(&moto().endpoint).await)
}

async fn signing_key(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

fn verifies(jwk: &Jwk, message: &[u8], signature: &[u8]) -> bool {
    PublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
        e: URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
    }
    .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
    .is_ok()
}

#[tokio::test]
async fn a_kms_key_signs_rs256_that_its_published_jwk_verifies() {
    let kms = kms().await;
    let key_id = signing_key(&kms).await;
    let signer = Signer::kms(kms.clone(), &key_id).await.unwrap();
    let signature = signer.sign(b"header.claims").await.unwrap();
    assert!(verifies(signer.jwk(), b"header.claims", &signature));
    assert!(!verifies(signer.jwk(), b"header.claimz", &signature));
    assert_eq!(
        kms_public_key(&kms, &key_id).await.unwrap().kid,
        signer.jwk().kid,
        "a stable kid"
    );
    let other = Signer::kms(kms.clone(), signing_key(&kms).await).await.unwrap();
    assert_ne!(other.jwk().kid, signer.jwk().kid);
    assert!(!verifies(other.jwk(), b"header.claims", &signature));
}

#[tokio::test]
async fn a_missing_key_is_a_configuration_problem_at_init() {
    let err = Signer::kms(
        kms().await,
        "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    )
    .await
    .err()
    .expect("a missing key is refused");
    assert!(err.to_string().contains("does not exist"), "{err}");
}
