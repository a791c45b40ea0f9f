//! The delete's contract, in both stores: a DELETE forgets the guest, its token and its lease, and
//! no renewal under way brings them back; a creation under way keeps its claim and completes; a
//! guest stored after the delete is the customer's new one.

use chrono::{DateTime, Utc};
use guest_token_broker::domain::{CrmIdHash, Hold, SessionRecord};
use guest_token_broker::store::{GuestStored, SessionStore};

use super::{at, dynamodb_store, guest, hold, read, stored_guest_with_token, token};
use crate::helpers::hash_of;

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

contract!(
    a_delete_forgets_guest_and_token,
    a_delete_during_a_creation_keeps_its_claim,
    a_delete_after_a_claim_expired_removes_it,
    a_guest_stored_after_a_delete_emptied_the_item_is_stored,
    a_delete_during_a_renewal_removes_guest_token_and_lease,
    a_delete_of_a_new_guest_awaiting_its_first_token_removes_it_and_its_lease,
    a_claim_kept_through_a_delete_still_ends_with_its_guest_and_token,
);
