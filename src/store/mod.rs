//! The session store port: where the broker keeps each customer's guest id and guest token.
//! Two adapters: DynamoDB (production) and an in-memory map (local runs and unit tests).

mod dynamodb;
mod memory;

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::{CrmIdHash, GuestId, GuestToken, SessionRecord};

pub use dynamodb::DynamoDbStore;
pub use memory::MemoryStore;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or unreachable after the SDK's own retries.
    #[error("the session store is unavailable")]
    Unavailable(#[source] BoxError),
    /// The table is missing or this function may not use it: an operator must act.
    #[error("session table {table:?} cannot be used: {problem}")]
    Misconfigured { table: String, problem: String },
    /// An item whose attributes do not have the expected types.
    #[error("a stored session is malformed: {0}")]
    Malformed(String),
}

/// Sessions keyed by `crm_id_hash`. Every write keeps the guest id another writer stored first.
pub trait SessionStore: Send + Sync + 'static {
    /// The stored session, if any: the one read a warm request costs.
    fn get(&self, hash: &CrmIdHash) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Stores `guest` as the customer's guest unless one is stored already, and returns the guest
    /// in force afterwards (ours, or the one that won).
    fn put_guest_if_absent(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<GuestId, StoreError>> + Send;

    /// Stores `token` for `guest`, only while `guest` is still the stored guest; `false` when the
    /// session was deleted or re-bound meanwhile (nothing is written then).
    fn put_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the session; removing a missing one is not an error.
    fn delete(&self, hash: &CrmIdHash) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One cheap call that proves the store is reachable (warm-up).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
