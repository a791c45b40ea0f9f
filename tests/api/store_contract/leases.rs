//! The refresh lease's contract, in both stores: one renewal at a time, for the guest and the
//! token it saw; only its owner stores the new token or gives the lease back; a new guest's first
//! token is leased by the placeholder stamp stored with it.

use guest_token_broker::store::{GuestStored, SessionStore};

use super::{at, dynamodb_store, guest, hold, read, stored_guest_with_token, token};
use crate::helpers::hash_of;

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

/// The code path (`POST /auth-codes`): a new guest stored and its first-token lease given back at
/// once; the guest and its stamp stay, and the next token request leases it by that stamp at once,
/// before the lease's time.
async fn a_new_guests_first_token_lease_given_back_frees_it_for_the_next_request<S: SessionStore>(store: S) {
    let hash = hash_of("CRM-code-path");
    let lease = hold(10);
    assert_eq!(
        store.put_guest(&hash, &guest("g-1"), &lease, at(0)).await.unwrap(),
        GuestStored::Ours
    );
    let stamp_while_leased = read(&store, &hash).await.token_stamp;
    store.release_token_lease(&hash, &lease.owner).await.unwrap();
    let record = read(&store, &hash).await;
    assert_eq!((record.guest_id, record.refresh_lease), (Some(guest("g-1")), None));
    assert_eq!(
        record.token_stamp, stamp_while_leased,
        "giving the lease back keeps the stamp"
    );
    let seen = record.token_stamp.as_deref();
    assert!(
        store
            .lease_token_refresh(&hash, &guest("g-1"), seen, &hold(20), at(1))
            .await
            .unwrap()
    );
}

contract!(
    a_refresh_lease_is_exclusive_and_tied_to_the_guest_and_token_seen,
    only_the_owner_releases_a_lease,
    a_new_guests_first_token_lease_given_back_frees_it_for_the_next_request,
);
