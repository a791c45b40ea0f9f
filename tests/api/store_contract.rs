//! One contract, two stores: the in-memory store and DynamoDB (on dynalite, whose conditional
//! writes are atomic) must agree on every rule of claims, leases, conditional writes and deletes,
//! since unit tests rely on the first and production on the second.

use std::time::Duration;

use chrono::{DateTime, Utc};
use guest_token_broker::domain::{CrmIdHash, GuestId, GuestToken, Hold, SessionRecord};
use guest_token_broker::store::{DynamoDbStore, GuestStored, SessionStore};
use secrecy::SecretString;

use crate::helpers::hash_of;
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

/// After a DELETE: no guest, token, lease or claim is left; the renewal that held `lease` cannot
/// store its token nor bring the session back; the next request may claim a new guest.
async fn assert_forgotten_and_not_revived<S: SessionStore>(
    store: &S,
    hash: &CrmIdHash,
    lease: &Hold,
    now: DateTime<Utc>,
) {
    let forgotten = |record: &Option<SessionRecord>| {
        record.as_ref().is_none_or(|r| {
            r.guest_id.is_none() && r.token.is_none() && r.refresh_lease.is_none() && r.guest_claim.is_none()
        })
    };
    let record = store.get(hash).await.unwrap();
    assert!(forgotten(&record), "{record:?}");
    let late_token = token("2030-01-01T01:00:00.000Z");
    assert!(
        !store
            .put_token(hash, &guest("g-1"), &late_token, &lease.owner, now)
            .await
            .unwrap(),
        "the renewal under way is not stored"
    );
    let record = store.get(hash).await.unwrap();
    assert!(forgotten(&record), "nor does it bring the session back: {record:?}");
    assert!(
        store.claim_guest_creation(hash, &hold(20), now).await.unwrap(),
        "the next request creates a guest"
    );
}

async fn a_guest_claim_is_exclusive_until_it_expires<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-claim");
    assert!(store.claim_guest_creation(&hash, &hold(10), at(0)).await.unwrap());
    assert!(
        !store.claim_guest_creation(&hash, &hold(20), at(5)).await.unwrap(),
        "a live claim is exclusive"
    );
    let record = read(&store, &hash).await;
    assert!(record.guest_id.is_none() && record.guest_claim_live(at(5)));
    assert!(
        store.claim_guest_creation(&hash, &hold(30), at(10)).await.unwrap(),
        "an expired claim is taken over"
    );
}

async fn only_the_owner_releases_a_claim<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-release");
    let (late, current) = (hold(10), hold(30));
    assert!(store.claim_guest_creation(&hash, &late, at(0)).await.unwrap());
    assert!(
        store.claim_guest_creation(&hash, &current, at(10)).await.unwrap(),
        "taken over"
    );

    store.release_guest_claim(&hash, &late.owner).await.unwrap();
    assert_eq!(
        read(&store, &hash).await.guest_claim,
        Some(current.clone()),
        "a late holder cannot end it"
    );
    assert!(!store.claim_guest_creation(&hash, &hold(40), at(11)).await.unwrap());

    store.release_guest_claim(&hash, &current.owner).await.unwrap();
    assert!(
        store.claim_guest_creation(&hash, &hold(40), at(11)).await.unwrap(),
        "its owner can"
    );
    store
        .release_guest_claim(&hash_of("CRM-never-claimed"), &current.owner)
        .await
        .unwrap();
}

async fn a_stored_guest_ends_the_claim_leases_its_first_token_and_refuses_new_claims<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-store");
    let lease = hold(10);
    assert!(store.claim_guest_creation(&hash, &hold(10), at(0)).await.unwrap());
    assert_eq!(
        store.put_guest(&hash, &guest("g-1"), &lease, at(1)).await.unwrap(),
        GuestStored::Ours
    );
    let record = read(&store, &hash).await;
    assert_eq!(record.guest_id, Some(guest("g-1")));
    assert_eq!(record.guest_claim, None);
    assert_eq!(record.refresh_lease, Some(lease));
    assert!(record.token.is_none());
    assert!(!store.claim_guest_creation(&hash, &hold(100), at(50)).await.unwrap());
    assert_eq!(
        store.put_guest(&hash, &guest("g-2"), &hold(10), at(2)).await.unwrap(),
        GuestStored::Theirs(guest("g-1")),
        "the first guest stored stays in force"
    );
}

async fn a_guest_is_stored_even_after_its_claim_was_taken_over<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-taken-over");
    assert!(store.claim_guest_creation(&hash, &hold(10), at(0)).await.unwrap());
    assert!(store.claim_guest_creation(&hash, &hold(30), at(10)).await.unwrap());
    // The first creator's guest exists upstream: storing it beats creating another.
    assert_eq!(
        store.put_guest(&hash, &guest("g-1"), &hold(20), at(11)).await.unwrap(),
        GuestStored::Ours
    );
    assert!(!read(&store, &hash).await.guest_claim_live(at(11)));
}

async fn a_refresh_lease_is_exclusive_and_tied_to_the_guest_and_token_seen<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-lease");
    let old = "2030-01-01T00:00:00.000Z";
    stored_guest_with_token(&store, &hash, old).await;
    let lease = |until| hold(until);
    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-2"), Some(old), &lease(10), at(0))
            .await
            .unwrap(),
        "another guest"
    );
    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-1"), None, &lease(10), at(0))
            .await
            .unwrap(),
        "another token"
    );
    let first = lease(10);
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), Some(old), &first, at(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-1"), Some(old), &lease(20), at(5))
            .await
            .unwrap(),
        "live lease"
    );
    let second = lease(30);
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), Some(old), &second, at(10))
            .await
            .unwrap(),
        "taken over"
    );

    let new = "2030-01-01T01:00:00.000Z";
    assert!(
        !store
            .put_token(&hash, &guest("g-1"), &token(new), &first.owner, at(11))
            .await
            .unwrap(),
        "a late holder cannot store over its successor"
    );
    assert!(
        store
            .put_token(&hash, &guest("g-1"), &token(new), &second.owner, at(11))
            .await
            .unwrap()
    );
    let record = read(&store, &hash).await;
    assert_eq!(record.token.unwrap().expires_at_raw(), new);
    assert_eq!(record.token_stamp.as_deref(), Some(new));
    assert_eq!(record.refresh_lease, None, "storing the token ends the lease");
    assert!(
        !store
            .lease_token_refresh(&hash, &guest("g-1"), Some(old), &lease(40), at(12))
            .await
            .unwrap(),
        "a request that saw the old token cannot renew again"
    );
}

async fn only_the_owner_releases_a_lease<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-lease-release");
    let old = "2030-01-01T00:00:00.000Z";
    stored_guest_with_token(&store, &hash, old).await;
    let (late, current) = (hold(10), hold(30));
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), Some(old), &late, at(0))
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), Some(old), &current, at(10))
            .await
            .unwrap()
    );
    store.release_token_lease(&hash, &late.owner).await.unwrap();
    assert_eq!(read(&store, &hash).await.refresh_lease, Some(current.clone()));
    store.release_token_lease(&hash, &current.owner).await.unwrap();
    assert_eq!(read(&store, &hash).await.refresh_lease, None);
}

async fn a_new_guest_session_is_leased_for_its_first_token_by_its_stamp<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-placeholder");
    let first = hold(10);
    store.put_guest(&hash, &guest("g-1"), &first, at(0)).await.unwrap();
    let stamp = read(&store, &hash).await.token_stamp;
    store.release_token_lease(&hash, &first.owner).await.unwrap();
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), stamp.as_deref(), &hold(10), at(0))
            .await
            .unwrap()
    );
}

async fn a_delete_forgets_guest_and_token<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-delete");
    stored_guest_with_token(&store, &hash, "2030-01-01T00:00:00.000Z").await;
    store.delete(&hash, at(1)).await.unwrap();
    assert!(
        store
            .get(&hash)
            .await
            .unwrap()
            .is_none_or(|record| record.guest_id.is_none() && record.token.is_none())
    );
    assert!(
        store.claim_guest_creation(&hash, &hold(10), at(1)).await.unwrap(),
        "the next request creates a guest"
    );
    store.delete(&hash_of("CRM-never-stored"), at(1)).await.unwrap();
}

async fn a_delete_during_a_creation_keeps_its_claim<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-delete-claim");
    let claim = hold(10);
    assert!(store.claim_guest_creation(&hash, &claim, at(0)).await.unwrap());

    store.delete(&hash, at(1)).await.unwrap();

    let record = read(&store, &hash).await;
    assert_eq!(
        record.guest_claim,
        Some(claim.clone()),
        "the creation under way keeps its claim"
    );
    assert!(
        !store.claim_guest_creation(&hash, &hold(20), at(2)).await.unwrap(),
        "so no second creator starts"
    );
    assert_eq!(
        store.put_guest(&hash, &guest("g-1"), &hold(10), at(3)).await.unwrap(),
        GuestStored::Ours
    );
    assert_eq!(read(&store, &hash).await.guest_id, Some(guest("g-1")));
}

async fn a_delete_after_a_claim_expired_removes_it<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-delete-expired-claim");
    assert!(store.claim_guest_creation(&hash, &hold(10), at(0)).await.unwrap());
    store.delete(&hash, at(11)).await.unwrap();
    assert!(store.get(&hash).await.unwrap().is_none());
}

async fn a_guest_stored_after_a_delete_emptied_the_item_is_stored<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-store-after-delete");
    stored_guest_with_token(&store, &hash, "2030-01-01T00:00:00.000Z").await;
    store.delete(&hash, at(1)).await.unwrap();
    assert_eq!(
        store.put_guest(&hash, &guest("g-2"), &hold(10), at(2)).await.unwrap(),
        GuestStored::Ours
    );
    assert!(
        !store
            .put_token(
                &hash,
                &guest("g-1"),
                &token("2030-01-01T01:00:00.000Z"),
                &hold(10).owner,
                at(2)
            )
            .await
            .unwrap(),
        "a renewal of the deleted guest is not stored"
    );
}

async fn a_delete_during_a_renewal_removes_guest_token_and_lease<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-delete-renewal");
    let old = "2030-01-01T00:00:00.000Z";
    stored_guest_with_token(&store, &hash, old).await;
    let lease = hold(10);
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), Some(old), &lease, at(0))
            .await
            .unwrap()
    );

    store.delete(&hash, at(1)).await.unwrap();

    assert_forgotten_and_not_revived(&store, &hash, &lease, at(2)).await;
}

async fn a_delete_of_a_new_guest_awaiting_its_first_token_removes_it_and_its_lease<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-delete-first-token");
    let lease = hold(10);
    assert!(store.claim_guest_creation(&hash, &hold(10), at(0)).await.unwrap());
    assert_eq!(
        store.put_guest(&hash, &guest("g-1"), &lease, at(1)).await.unwrap(),
        GuestStored::Ours
    );

    store.delete(&hash, at(2)).await.unwrap();

    assert_forgotten_and_not_revived(&store, &hash, &lease, at(3)).await;
}

async fn a_claim_kept_through_a_delete_still_ends_with_its_guest_and_token<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-delete-claim-completes");
    let claim = hold(10);
    assert!(store.claim_guest_creation(&hash, &claim, at(0)).await.unwrap());
    store.delete(&hash, at(1)).await.unwrap();
    store.delete(&hash, at(2)).await.unwrap();
    assert_eq!(
        read(&store, &hash).await.guest_claim,
        Some(claim),
        "two deletes keep it too"
    );

    let lease = hold(10);
    assert_eq!(
        store.put_guest(&hash, &guest("g-1"), &lease, at(3)).await.unwrap(),
        GuestStored::Ours
    );
    let expires_at = "2030-01-01T01:00:00.000Z";
    assert!(
        store
            .put_token(&hash, &guest("g-1"), &token(expires_at), &lease.owner, at(4))
            .await
            .unwrap()
    );
    let record = read(&store, &hash).await;
    assert_eq!(record.guest_id, Some(guest("g-1")));
    assert_eq!(
        record.token.map(|t| t.expires_at_raw().to_owned()).as_deref(),
        Some(expires_at)
    );
    assert_eq!((record.guest_claim, record.refresh_lease), (None, None));
}

/// The code path (`POST /auth-codes`): a new guest stored and its first-token lease given back at
/// once; the guest stays, and the next token request leases it at once, before the lease's time.
async fn a_new_guests_first_token_lease_given_back_frees_it_for_the_next_request<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-code-path");
    let lease = hold(10);
    assert_eq!(
        store.put_guest(&hash, &guest("g-1"), &lease, at(0)).await.unwrap(),
        GuestStored::Ours
    );
    store.release_token_lease(&hash, &lease.owner).await.unwrap();
    let record = read(&store, &hash).await;
    assert_eq!((record.guest_id, record.refresh_lease), (Some(guest("g-1")), None));
    let seen = record.token_stamp.as_deref();
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), seen, &hold(20), at(1))
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
    only_the_owner_releases_a_claim,
    a_stored_guest_ends_the_claim_leases_its_first_token_and_refuses_new_claims,
    a_guest_is_stored_even_after_its_claim_was_taken_over,
    a_refresh_lease_is_exclusive_and_tied_to_the_guest_and_token_seen,
    only_the_owner_releases_a_lease,
    a_new_guest_session_is_leased_for_its_first_token_by_its_stamp,
    a_delete_forgets_guest_and_token,
    a_delete_during_a_creation_keeps_its_claim,
    a_delete_after_a_claim_expired_removes_it,
    a_guest_stored_after_a_delete_emptied_the_item_is_stored,
    a_delete_during_a_renewal_removes_guest_token_and_lease,
    a_delete_of_a_new_guest_awaiting_its_first_token_removes_it_and_its_lease,
    a_claim_kept_through_a_delete_still_ends_with_its_guest_and_token,
    a_new_guests_first_token_lease_given_back_frees_it_for_the_next_request,
);

/// The same contract for the one-time codes.
mod codes;
