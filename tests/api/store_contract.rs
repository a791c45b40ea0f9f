//! One contract, two stores: the in-memory store and DynamoDB (on dynalite, whose conditional
//! writes are atomic) must agree on every rule of claims, leases, conditional writes and deletes,
//! since unit tests rely on the first and production on the second. This file holds what the
//! cases share (the values they use, the `contract!` macro that runs each case on both stores);
//! the cases are in the files of `store_contract/`, one per group of rules.

use std::time::Duration;

use chrono::{DateTime, Utc};
use guest_token_broker::domain::{CrmIdHash, GuestId, GuestToken, Hold, SessionRecord};
use guest_token_broker::store::{DynamoDbStore, GuestStored, SessionStore};
use secrecy::SecretString;

use test_kit::aws::{create_sessions_table, dynamodb, unique};

fn guest(id: &str) -> GuestId {
    GuestId::new(id).unwrap()
}

fn token(expires_at: &str) -> GuestToken {
    GuestToken::new(SecretString::from("eyJ"), expires_at).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000 + seconds, 0).unwrap()
}

fn hold(until: i64) -> Hold {
    Hold::until(at(until))
}

async fn dynamodb_store() -> DynamoDbStore {
    let table = unique("contract");
    create_sessions_table(&table).await;
    DynamoDbStore::new(dynamodb().await, table, Duration::from_secs(86_400))
}

async fn read<S: SessionStore>(store: &S, hash: &CrmIdHash) -> SessionRecord {
    store.get(hash).await.unwrap().expect("a stored session")
}

/// A customer whose guest `g-1` is stored with a token expiring at `expires_at`.
async fn stored_guest_with_token<S: SessionStore>(store: &S, hash: &CrmIdHash, expires_at: &str) {
    let lease = hold(10);
    assert_eq!(
        store.put_guest(hash, &guest("g-1"), &lease, at(0)).await.unwrap(),
        GuestStored::Ours
    );
    assert!(
        store
            .put_token(hash, &guest("g-1"), &token(expires_at), &lease.owner, at(0))
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

/// Guest-creation claims: exclusive while live, released only by their owner, ended by a stored guest.
mod claims;
/// The same contract for the one-time codes.
mod codes;
/// Deletes: what a DELETE forgets, what it keeps (a creation under way), and what cannot revive it.
mod deletes;
/// Refresh leases: exclusive, tied to the guest and token seen, released only by their owner.
mod leases;
