//! One contract, two stores: the in-memory store and DynamoDB (on moto) must agree on every rule
//! of claims, leases and conditional writes, since unit tests rely on the first and production on
//! the second.

use std::time::Duration;

use chrono::{DateTime, Utc};
use guest_token_broker::domain::{GuestId, GuestToken};
use guest_token_broker::store::{DynamoDbStore, SessionStore};
use secrecy::SecretString;

use crate::helpers::hash_of;
use crate::moto::{create_sessions_table, dynamodb, unique};

fn guest(id: &str) -> GuestId {
    GuestId::new(id).unwrap()
}

fn token(expires_at: &str) -> GuestToken {
    GuestToken::new(SecretString::from("eyJ"), expires_at).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000 + seconds, 0).unwrap()
}

async fn dynamodb_store() -> DynamoDbStore {
    let table = unique("contract");
    create_sessions_table(&table).await;
    DynamoDbStore::new(dynamodb().await, table, Duration::from_secs(86_400))
}

async fn a_guest_claim_is_exclusive_until_it_expires<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-claim");
    assert!(
        store.claim_guest_creation(&hash, at(10), at(0)).await.unwrap(),
        "first claim"
    );
    assert!(
        !store.claim_guest_creation(&hash, at(20), at(5)).await.unwrap(),
        "live claim holds"
    );
    let record = store.get(&hash).await.unwrap().unwrap();
    assert!(record.guest_id.is_none() && record.guest_claim_live(at(5)));
    assert!(
        store.claim_guest_creation(&hash, at(30), at(10)).await.unwrap(),
        "expired claim is taken over"
    );
}

async fn a_released_claim_can_be_taken_at_once<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-release");
    assert!(store.claim_guest_creation(&hash, at(10), at(0)).await.unwrap());
    store.release_guest_claim(&hash).await.unwrap();
    assert!(store.claim_guest_creation(&hash, at(10), at(1)).await.unwrap());
    store.release_guest_claim(&hash_of("CRM-never-claimed")).await.unwrap();
    assert!(
        store.get(&hash_of("CRM-never-claimed")).await.unwrap().is_none(),
        "release creates nothing"
    );
}

async fn a_stored_guest_ends_the_claim_and_refuses_new_ones<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-stored");
    assert!(store.claim_guest_creation(&hash, at(10), at(0)).await.unwrap());
    let expiry = "2030-01-01T00:00:00.000Z";
    assert_eq!(
        store
            .put_guest_if_absent(&hash, &guest("g-1"), Some(&token(expiry)), at(1))
            .await
            .unwrap(),
        guest("g-1")
    );
    let record = store.get(&hash).await.unwrap().unwrap();
    assert_eq!(record.guest_claim_until, None);
    assert_eq!(record.token.unwrap().expires_at_raw(), expiry);
    assert!(!store.claim_guest_creation(&hash, at(100), at(50)).await.unwrap());
    assert_eq!(
        store
            .put_guest_if_absent(&hash, &guest("g-2"), None, at(2))
            .await
            .unwrap(),
        guest("g-1")
    );
}

async fn a_refresh_lease_is_exclusive_and_tied_to_the_token_seen<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-lease");
    let old = "2030-01-01T00:00:00.000Z";
    store
        .put_guest_if_absent(&hash, &guest("g-1"), Some(&token(old)), at(0))
        .await
        .unwrap();

    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-2"), old, at(10), at(0))
            .await
            .unwrap(),
        "other guest"
    );
    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-1"), "", at(10), at(0))
            .await
            .unwrap(),
        "stale view"
    );
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), old, at(10), at(0))
            .await
            .unwrap(),
        "first lease"
    );
    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-1"), old, at(20), at(5))
            .await
            .unwrap(),
        "live lease"
    );
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), old, at(30), at(10))
            .await
            .unwrap(),
        "expired lease"
    );

    let new = "2030-01-01T01:00:00.000Z";
    assert!(
        store
            .put_token(&hash, &guest("g-1"), &token(new), at(11))
            .await
            .unwrap()
    );
    let record = store.get(&hash).await.unwrap().unwrap();
    assert_eq!(record.refresh_lease_until, None, "storing the token ends the lease");
    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-1"), old, at(40), at(12))
            .await
            .unwrap(),
        "renewed already"
    );
}

async fn a_placeholder_session_can_be_leased_for_its_first_token<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-placeholder");
    store
        .put_guest_if_absent(&hash, &guest("g-1"), None, at(0))
        .await
        .unwrap();
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), "", at(10), at(0))
            .await
            .unwrap()
    );
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $case() { super::$case(guest_token_broker::store::MemoryStore::new()).await; })*
        }
        mod dynamodb {
            $(#[tokio::test] async fn $case() { super::$case(super::dynamodb_store().await).await; })*
        }
    };
}

contract!(
    a_guest_claim_is_exclusive_until_it_expires,
    a_released_claim_can_be_taken_at_once,
    a_stored_guest_ends_the_claim_and_refuses_new_ones,
    a_refresh_lease_is_exclusive_and_tied_to_the_token_seen,
    a_placeholder_session_can_be_leased_for_its_first_token,
);
