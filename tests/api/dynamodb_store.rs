//! The DynamoDB session store against dynalite through the real SDK client: the Python utility's item
//! shape in both directions, conditional writes under a race, and failures as HTTP answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use guest_token_broker::domain::{CrmIdHash, GuestId, GuestToken, Hold, HoldOwner};
use guest_token_broker::store::{DynamoDbStore, GuestStored, SessionStore, StoreError};
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{Options, credential_source, hash_of, pair, spawn_app_on, upstream_calls};
use test_kit::aws::{create_sessions_table, dynamodb, unique};
use test_kit::emulators::dynalite;
use test_kit::processes::run_shell;

const RETENTION: Duration = Duration::from_secs(30 * 86_400);

async fn fresh_store() -> DynamoDbStore {
    let table = unique("sessions");
    create_sessions_table(&table).await;
    DynamoDbStore::new(dynamodb().await, table, RETENTION)
}

fn guest(id: &str) -> GuestId {
    GuestId::new(id).unwrap()
}

fn token(value: &str, expires_at: &str) -> GuestToken {
    GuestToken::new(SecretString::from(value.to_owned()), expires_at).unwrap()
}

/// Stores `guest` as a creator does; returns the owner of the lease on its first token.
async fn store_guest(store: &DynamoDbStore, hash: &CrmIdHash, id: &str) -> (GuestStored, HoldOwner) {
    let lease = Hold::until(Utc::now() + chrono::Duration::seconds(10));
    let stored = store.put_guest(hash, &guest(id), &lease, Utc::now()).await.unwrap();
    (stored, lease.owner)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

async fn raw_item(store: &DynamoDbStore, hash: &str) -> Option<HashMap<String, AttributeValue>> {
    dynamodb()
        .await
        .get_item()
        .table_name(store.table())
        .key("crm_id_hash", s(hash))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

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

#[tokio::test]
async fn a_token_update_never_replaces_the_guest_nor_revives_a_deleted_session() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    let (_, lease) = store_guest(&store, &hash, "g-1").await;

    let for_other_guest = store
        .put_token(
            &hash,
            &guest("g-2"),
            &token("t", "2030-01-01T00:00:00Z"),
            &lease,
            Utc::now(),
        )
        .await;
    store.delete(&hash, Utc::now()).await.unwrap();
    let after_delete = store
        .put_token(
            &hash,
            &guest("g-1"),
            &token("t", "2030-01-01T00:00:00Z"),
            &lease,
            Utc::now(),
        )
        .await;

    assert!(!for_other_guest.unwrap());
    assert!(!after_delete.unwrap());
    assert!(raw_item(&store, hash.as_str()).await.is_none());
}

#[tokio::test]
async fn deleting_removes_the_item_and_deleting_again_is_fine() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    store_guest(&store, &hash, "g-1").await;

    store.delete(&hash, Utc::now()).await.unwrap();
    store.delete(&hash, Utc::now()).await.unwrap();

    assert!(store.get(&hash).await.unwrap().is_none());
}

#[tokio::test]
async fn eight_concurrent_creators_store_exactly_one_guest_and_all_see_it() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-race");

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (store, hash) = (store.clone(), hash.clone());
        tasks.spawn(async move { store_guest(&store, &hash, &format!("g-{n}")).await.0 });
    }
    let answers: Vec<GuestStored> = tasks.join_all().await;

    let stored = store.get(&hash).await.unwrap().unwrap().guest_id.unwrap();
    let ours = answers.iter().filter(|a| **a == GuestStored::Ours).count();
    assert_eq!(ours, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| *a == GuestStored::Ours || *a == GuestStored::Theirs(stored.clone())),
        "{answers:?} vs {stored:?}"
    );
}

#[tokio::test]
async fn a_missing_table_is_a_configuration_error_named_in_the_log_only() {
    let store = DynamoDbStore::new(dynamodb().await, "NoSuchSessions", RETENTION);
    let err = store.get(&hash_of("CRM-1")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Misconfigured { ref table, .. } if table == "NoSuchSessions"),
        "{err:?}"
    );

    let app = spawn_app_on(
        Options::default(),
        store,
        Arc::new(credential_source(&[pair("sandbox-client", "sandbox-secret")])),
    )
    .await;
    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 500);
    assert_eq!(reply.error_code(), "configuration_error");
    assert!(
        !reply.error_message().contains("NoSuchSessions"),
        "{}",
        reply.error_message()
    );
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_503_and_nothing_is_created_upstream() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = test_kit::aws::sdk_config_for(&dynalite().endpoint)
        .await
        .into_builder()
        .endpoint_url(endpoint)
        .build();
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), "Sessions", RETENTION);
    let app = spawn_app_on(
        Options::default(),
        store,
        Arc::new(credential_source(&[pair("sandbox-client", "sandbox-secret")])),
    )
    .await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.error_code(), "upstream_unavailable");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}

#[tokio::test]
async fn a_hanging_dynamodb_is_503_within_the_deadline() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let _hang = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let config = test_kit::aws::sdk_config_for(&dynalite().endpoint)
        .await
        .into_builder()
        .endpoint_url(endpoint)
        .build();
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), "Sessions", RETENTION);
    let options = Options {
        budget: Duration::from_millis(300),
        ..Options::default()
    };
    let app = spawn_app_on(
        options,
        store,
        Arc::new(credential_source(&[pair("sandbox-client", "sandbox-secret")])),
    )
    .await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert!(reply.error_message().contains("deadline"));
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}
