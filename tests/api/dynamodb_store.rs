//! The DynamoDB session store against dynalite through the real SDK client: the Python utility's item
//! shape in both directions, conditional writes under a race, and failures as HTTP answers. This file
//! holds what the groups share (a fresh table, values, a raw read of an item); the tests are in the
//! files of `dynamodb_store/`.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use guest_token_broker::domain::{CrmIdHash, GuestId, GuestToken, Hold, HoldOwner};
use guest_token_broker::store::{DynamoDbStore, GuestStored, SessionStore};
use secrecy::SecretString;

use test_kit::aws::{create_sessions_table, dynamodb, unique};

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

/// Conditional writes: a token never replaces the guest nor revives a delete; one creator wins a race.
mod conditional_writes;
/// A missing table, an unreachable or hanging DynamoDB, as the broker answers them.
mod failures;
/// The item's shape, read and written as the Python utility reads and writes it.
mod python_utility;
