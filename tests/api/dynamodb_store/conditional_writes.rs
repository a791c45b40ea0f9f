//! The store's conditional writes on dynalite (atomic, as DynamoDB's are): a token update never
//! replaces the guest nor brings a deleted session back, a delete is idempotent, and of eight
//! concurrent creators exactly one stores its guest while all see it.

use chrono::Utc;
use guest_token_broker::store::{GuestStored, SessionStore};

use super::{fresh_store, guest, raw_item, store_guest, token};
use crate::helpers::hash_of;

#[tokio::test]
async fn a_token_update_never_replaces_the_guest_nor_revives_a_deleted_session() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    let (_, lease) = store_guest(&store, &hash, "g-1").await;

    let for_other_guest = store
        .put_token(
            &hash,
            &guest("g-2"),
            &token("t", "2030-01-01T00:00:00Z"),
            &lease,
            Utc::now(),
        )
        .await;
    store.delete(&hash, Utc::now()).await.unwrap();
    let after_delete = store
        .put_token(
            &hash,
            &guest("g-1"),
            &token("t", "2030-01-01T00:00:00Z"),
            &lease,
            Utc::now(),
        )
        .await;

    assert!(!for_other_guest.unwrap());
    assert!(!after_delete.unwrap());
    assert!(raw_item(&store, hash.as_str()).await.is_none());
}

#[tokio::test]
async fn deleting_removes_the_item_and_deleting_again_is_fine() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-1");
    store_guest(&store, &hash, "g-1").await;

    store.delete(&hash, Utc::now()).await.unwrap();
    store.delete(&hash, Utc::now()).await.unwrap();

    assert!(store.get(&hash).await.unwrap().is_none());
}

#[tokio::test]
async fn eight_concurrent_creators_store_exactly_one_guest_and_all_see_it() {
    let store = fresh_store().await;
    let hash = hash_of("CRM-race");

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (store, hash) = (store.clone(), hash.clone());
        tasks.spawn(async move { store_guest(&store, &hash, &format!("g-{n}")).await.0 });
    }
    let answers: Vec<GuestStored> = tasks.join_all().await;

    let stored = store.get(&hash).await.unwrap().unwrap().guest_id.unwrap();
    let ours = answers.iter().filter(|a| **a == GuestStored::Ours).count();
    assert_eq!(ours, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| *a == GuestStored::Ours || *a == GuestStored::Theirs(stored.clone())),
        "{answers:?} vs {stored:?}"
    );
}
