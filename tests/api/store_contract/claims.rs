//! The guest-creation claim's contract, in both stores: one creator at a time while the claim
//! lives, taken over once it expires, released only by its owner, and ended by the guest it was
//! for (which is stored even when the claim was taken over meanwhile).

use guest_token_broker::store::{GuestStored, SessionStore};

use super::{at, dynamodb_store, guest, hold, read};
use crate::helpers::hash_of;

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

contract!(
    a_guest_claim_is_exclusive_until_it_expires,
    only_the_owner_releases_a_claim,
    a_stored_guest_ends_the_claim_leases_its_first_token_and_refuses_new_claims,
    a_guest_is_stored_even_after_its_claim_was_taken_over,
);
