//! The item's shape shared with the Python utility, in both directions: what the broker writes (a
//! TTL, strings, placeholders for a new mapping) the utility's own read logic understands, and what
//! the utility wrote the broker reads.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use guest_token_broker::domain::CrmIdHash;
use guest_token_broker::store::{DynamoDbStore, GuestStored, SessionStore};
use secrecy::ExposeSecret;

use super::{RETENTION, fresh_store, guest, raw_item, s, store_guest, token};
use crate::helpers::hash_of;
use test_kit::aws::dynamodb;
use test_kit::emulators::dynalite;
use test_kit::processes::run_shell;

async fn put_raw(store: &DynamoDbStore, item: &[(&str, &str)]) {
    let item = item.iter().map(|(k, v)| ((*k).to_owned(), s(v))).collect();
    dynamodb()
        .await
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// What the Python utility's own read logic makes of the item: the guest id, then the token it
/// would return without a refresh (or `REFRESH`).
fn python_utility_reads(store: &DynamoDbStore, hash: &CrmIdHash) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/python_utility_read.py");
    let command = format!(
        "{} {script} {} {} {}",
        test_kit::emulators::python(),
        dynalite().endpoint,
        store.table(),
        hash.as_str()
    );
    run_shell(&command).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn an_item_round_trips_in_the_python_utilitys_shape_with_a_ttl() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    let now = Utc::now();

    let (stored, lease) = store_guest(&store, &hash, "g-1").await;
    assert_eq!(stored, GuestStored::Ours);
    assert!(
        store
            .put_token(
                &hash,
                &guest("g-1"),
                &token("eyJ1", "2030-01-01T00:00:00.000Z"),
                &lease,
                now
            )
            .await
            .unwrap()
    );
    let record = store.get(&hash).await.unwrap().unwrap();

    assert_eq!(record.guest_id, Some(guest("g-1")));
    let stored = record.token.unwrap();
    assert_eq!(stored.secret().expose_secret(), "eyJ1");
    assert_eq!(stored.expires_at_raw(), "2030-01-01T00:00:00.000Z");
    let item = raw_item(&store, hash.as_str()).await.unwrap();
    for name in ["crm_id_hash", "genesys_guest_id", "token", "expires_at", "updated_at"] {
        assert!(
            matches!(item.get(name), Some(AttributeValue::S(_))),
            "{name} is a string"
        );
    }
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, now.timestamp() + RETENTION.as_secs() as i64);
}

#[tokio::test]
async fn an_item_written_by_the_python_utility_is_read() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    put_raw(
        &store,
        &[
            ("crm_id_hash", hash.as_str()),
            ("genesys_guest_id", "a1b2c3d4-e5f6-7890-abcd-ef1234567890"),
            ("token", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"),
            ("expires_at", "2030-12-15T14:30:00.000Z"),
            ("updated_at", "2030-12-15T13:30:00.123456+00:00"),
        ],
    )
    .await;

    let record = store.get(&hash).await.unwrap().unwrap();

    assert_eq!(record.guest_id, Some(guest("a1b2c3d4-e5f6-7890-abcd-ef1234567890")));
    assert_eq!(record.token.unwrap().expires_at_raw(), "2030-12-15T14:30:00.000Z");
}

#[tokio::test]
async fn an_item_written_here_is_read_by_the_python_utilitys_own_logic() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    let expires = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (_, lease) = store_guest(&store, &hash, "g-1").await;
    store
        .put_token(
            &hash,
            &guest("g-1"),
            &token("eyJ-from-rust", &expires),
            &lease,
            Utc::now(),
        )
        .await
        .unwrap();

    assert_eq!(python_utility_reads(&store, &hash), ["g-1", "eyJ-from-rust"]);
}

#[tokio::test]
async fn placeholder_items_read_as_no_token_and_keep_their_guest() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    put_raw(
        &store,
        &[
            ("crm_id_hash", hash.as_str()),
            ("genesys_guest_id", "g-1"),
            ("token", ""),
            ("expires_at", ""),
        ],
    )
    .await;

    let record = store.get(&hash).await.unwrap().unwrap();
    let (kept, _) = store_guest(&store, &hash, "g-2").await;

    assert!(record.token.is_none());
    assert_eq!(kept, GuestStored::Theirs(guest("g-1")));
}

#[tokio::test]
async fn a_new_mapping_writes_placeholders_the_python_utility_understands() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");

    store_guest(&store, &hash, "g-1").await;

    let item = raw_item(&store, hash.as_str()).await.unwrap();
    assert_eq!(item["token"], s(""));
    assert_eq!(item["expires_at"], s(""));
    assert_eq!(python_utility_reads(&store, &hash), ["g-1", "REFRESH"]);
}
