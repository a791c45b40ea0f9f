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
///
/// Claims and leases coordinate requests across instances: a claim gives one request the right to
/// create a customer's guest, a lease the right to renew its token, each until a time after which
/// it may be taken over (its holder died or gave up).
pub trait SessionStore: Send + Sync + 'static {
    /// The stored session, if any: the one read a warm request costs.
    fn get(&self, hash: &CrmIdHash) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Takes the claim on creating the customer's guest until `until`; `false` when a guest is
    /// stored or another live claim holds it.
    fn claim_guest_creation(
        &self,
        hash: &CrmIdHash,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a claim up early (the creation failed), so that waiting requests can take over.
    fn release_guest_claim(&self, hash: &CrmIdHash) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores `guest`, with its first token when there is one, unless a guest is stored already,
    /// and clears the claim. Returns the guest in force afterwards (ours, or the one stored first).
    fn put_guest_if_absent(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: Option<&GuestToken>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<GuestId, StoreError>> + Send;

    /// Takes the lease on renewing the stored token until `until`; `false` when the stored token
    /// is no longer the one that expires at `seen_expires_at` (empty: none) or another live lease
    /// holds it.
    fn lease_token_refresh(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        seen_expires_at: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores `token` for `guest` and clears the lease, only while `guest` is still the stored
    /// guest; `false` when the session was deleted or re-bound meanwhile (nothing is written then).
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
