//! The store ports: where the broker keeps each customer's guest id and guest token
//! ([`SessionStore`]), and the one-time OIDC authorization codes ([`CodeStore`]). Two adapters
//! implement both: DynamoDB (production) and an in-memory map (local runs and unit tests).

mod dynamodb;
mod memory;

use std::future::Future;

use chrono::{DateTime, Utc};

use secrecy::SecretString;

use crate::domain::{CodeGrant, CodeKey, CrmIdHash, GuestId, GuestToken, Hold, HoldOwner, RefreshToken, SessionRecord};

pub use dynamodb::{DynamoDbStore, RefreshTokenKey};
pub use memory::MemoryStore;

/// The cause an error keeps for the log (an SDK error, as a boxed error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a store call failed; the web layer answers 503, 500 or a configuration error accordingly.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or unreachable after the SDK's own retries.
    #[error("the session store is unavailable")]
    Unavailable(#[source] BoxError),
    /// DynamoDB throttled the request past the SDK's own retries; worth retrying later.
    #[error("the session store is throttling requests")]
    Throttled(#[source] BoxError),
    /// The table is missing or this function may not use it: an operator must act.
    #[error("session table {table:?} cannot be used: {problem}")]
    Misconfigured {
        /// The table's name, as configured.
        table: String,
        /// What DynamoDB said, e.g. that the table does not exist or access is denied.
        problem: String,
    },
    /// An item the broker cannot make sense of, even counting odd attributes as absent.
    #[error("a stored session is malformed: {0}")]
    Malformed(String),
    /// The store refused a request the broker built (a bug, not an outage or a setting).
    #[error("the session store rejected a request")]
    Rejected(#[source] BoxError),
    /// KMS, which seals refresh tokens at rest, is throttling or unreachable; worth retrying later.
    #[error("the refresh-token key (KMS) is unavailable")]
    KeyUnavailable(#[source] BoxError),
    /// The refresh-token key is missing, disabled or denied to this function: an operator must act.
    #[error("the refresh-token key {key:?} cannot be used: {problem}")]
    KeyMisconfigured {
        /// The key, as configured (`REFRESH_TOKEN_KMS_KEY_ID`).
        key: String,
        /// What KMS said.
        problem: String,
    },
}

/// What storing a new guest came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestStored {
    /// Ours is stored, with the caller's renewal lease on it.
    Ours,
    /// Another guest was stored first and stays in force.
    Theirs(GuestId),
}

/// What presenting a code to [`CodeStore::redeem_code`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// This call redeemed the code: what it grants, as stored (expired or not: the caller checks).
    Redeemed(CodeGrant),
    /// The code was redeemed before: a replay (RFC 6749 §4.1.2), or a second presentation.
    AlreadyRedeemed,
    /// No such code: never issued, or gone with its item's TTL; or its item grants nothing readable.
    Unknown,
}

/// Sessions keyed by `crm_id_hash`.
///
/// Claims and leases coordinate requests across instances: a claim gives one request the right to
/// create a customer's guest, a lease the right to renew its token, each until a time after which
/// it may be taken over (its holder died or gave up). Only a hold's owner ends it early.
///
/// An attribute of the wrong type (DynamoDB `NULL`, a number where a string belongs, …) counts as
/// absent, in reads and in every condition, so such an item is healed by the next write.
pub trait SessionStore: Send + Sync + 'static {
    /// The stored session, if any: the one read a warm request costs.
    fn get(&self, hash: &CrmIdHash) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Takes the claim on creating the customer's guest; `false` when a guest is stored or another
    /// live claim holds it.
    fn claim_guest_creation(
        &self,
        hash: &CrmIdHash,
        claim: &Hold,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a claim up early (the creation failed), so that waiting requests can take over; does
    /// nothing unless `owner` still holds it.
    fn release_guest_claim(
        &self,
        hash: &CrmIdHash,
        owner: &HoldOwner,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores `guest`, without a token yet, unless a guest is stored already; ends any claim (a
    /// stored guest is what every claim waits for) and gives the caller `lease` to fetch the first
    /// token. Works whether or not the item still exists (a DELETE may have emptied it).
    fn put_guest(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        lease: &Hold,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<GuestStored, StoreError>> + Send;

    /// Takes the lease on renewing the stored token; `false` when `guest` is no longer the stored
    /// guest, the stored token is no longer the one stamped `seen_stamp` (`None`: none), or another
    /// live lease holds it.
    fn lease_token_refresh(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        seen_stamp: Option<&str>,
        lease: &Hold,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores `token` for `guest` and ends the lease, only while `guest` is the stored guest and
    /// `owner` holds the lease; `false` when the session was deleted, re-bound or taken over
    /// meanwhile (nothing is written then). A store that encrypts refresh tokens at rest seals a
    /// plain one here, and writes a sealed one as it is.
    fn put_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        owner: &HoldOwner,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The refresh token of the customer `hash` as Genesys issued it, from the form a stored
    /// session holds it in: a sealed one is decrypted (it opens for its own customer only), a
    /// plain one handed back. `None` when a sealed one cannot be opened (moved from another
    /// item, altered): it is as good as none. Called only when a renewal or a revocation needs it.
    fn open_refresh_token(
        &self,
        hash: &CrmIdHash,
        refresh: &RefreshToken,
    ) -> impl Future<Output = Result<Option<SecretString>, StoreError>> + Send;

    /// Gives a lease up early (the renewal failed); does nothing unless `owner` still holds it.
    fn release_token_lease(
        &self,
        hash: &CrmIdHash,
        owner: &HoldOwner,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the customer's guest and token. A live claim survives it: the creation under way
    /// stores its guest as usual, and requests waiting for it keep waiting instead of creating
    /// another. Removing a missing session is not an error.
    fn delete(&self, hash: &CrmIdHash, now: DateTime<Utc>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One cheap call that proves the store is reachable (warm-up).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One-time OpenID Connect authorization codes (authenticated web messaging): the guest function
/// stores them, the OIDC provider function redeems them. A port of its own, beside
/// [`SessionStore`], so the provider depends on nothing of the sessions.
pub trait CodeStore: Send + Sync + 'static {
    /// Stores a one-time authorization code's grant under the code's hash (its own key namespace,
    /// beside the sessions), expiring with the grant.
    fn put_code(&self, key: &CodeKey, grant: &CodeGrant) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the code redeemed at `now` and returns what it granted, atomically: of any number of
    /// concurrent redemptions of one code, exactly one gets [`Redemption::Redeemed`], and every
    /// later one [`Redemption::AlreadyRedeemed`] for as long as the code's item lives (its TTL is
    /// left as it was). The grant is forgotten in the same step (the claims, the subject, the
    /// challenge, the nonce): a redeemed code keeps only its mark. An expired code is redeemed like
    /// any other (the caller checks its time), so it is spent all the same.
    fn redeem_code(
        &self,
        key: &CodeKey,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send;
}
