//! The request path end to end over HTTP: guest creation, stored-token hits, sliding-window
//! refresh, placeholders left by the Python utility, and session deletion.

use chrono::{DateTime, Duration as Span, Utc};
use genesys_sandbox::{ExpiresAtKey, SandboxConfig};
use guest_token_broker::domain::{Clock, GuestId, GuestToken, Hold, SessionRecord};
use secrecy::SecretString;

use crate::helpers::{Options, hash_of, spawn_app, spawn_app_with, upstream_calls};

fn expires_at(reply: &crate::helpers::Reply) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(reply.body["expiresAt"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_first_request_creates_one_guest_named_from_the_hash_and_returns_its_token() {
    let app = spawn_app().await;

    let reply = app.post_token("CRM-987654").await;

    assert_eq!(reply.status, 200);
    let guests = app.sandbox.guests();
    assert_eq!(guests.len(), 1);
    let hash = hash_of("CRM-987654");
    assert_eq!(guests[0].name, format!("crm_guest_{}", hash.prefix(12)));
    assert_eq!(guests[0].email, format!("guest_{}@internal.corp", hash.prefix(8)));
    assert_eq!(
        guests[0].custom_attributes,
        serde_json::json!({"source_system": "crm_integration", "crm_id_hash": hash.as_str()})
    );
    assert_eq!(reply.body["guestId"], guests[0].id.as_str());
    assert!(reply.body["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(reply.body["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(upstream_calls(&app.sandbox), (1, 1, 1));
}

#[tokio::test]
async fn a_repeated_request_returns_the_stored_token_with_no_upstream_call() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;

    let second = app.post_token("CRM-1").await;

    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert_eq!(upstream_calls(&app.sandbox), (1, 1, 1));
    // Each request counts into its own recorder, as each invocation's metrics record reports it.
    let (created, hit) = (&first.metrics, &second.metrics);
    assert_eq!(
        (created.guest_creations, created.hits, created.outcome),
        (1, 0, Some("created"))
    );
    assert_eq!(created.upstream_latencies_ms.len(), 3, "OAuth, guest, token");
    assert_eq!((hit.guest_creations, hit.hits, hit.outcome), (0, 1, Some("hit")));
    assert!(hit.upstream_latencies_ms.is_empty());
}

#[tokio::test]
async fn a_token_with_more_than_the_window_left_is_returned_as_stored() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;
    app.clock.set(expires_at(&first) - Span::seconds(301));

    let second = app.post_token("CRM-1").await;

    assert_eq!(second.body["token"], first.body["token"]);
    assert_eq!(upstream_calls(&app.sandbox).2, 1);
}

#[tokio::test]
async fn a_token_with_exactly_the_window_left_is_refreshed_for_the_same_guest() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;
    app.clock.set(expires_at(&first) - Span::seconds(300));

    let second = app.post_token("CRM-1").await;

    assert_ne!(second.body["token"], first.body["token"]);
    assert_eq!(second.body["guestId"], first.body["guestId"]);
    assert_eq!(upstream_calls(&app.sandbox), (1, 1, 2));
}

#[tokio::test]
async fn a_token_with_less_than_the_window_left_is_refreshed_and_stored() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;
    app.clock.set(expires_at(&first) - Span::seconds(299));

    let refreshed = app.post_token("CRM-1").await;
    app.clock.set(Utc::now());
    let again = app.post_token("CRM-1").await;

    assert_ne!(refreshed.body["token"], first.body["token"]);
    assert_eq!(
        again.body["token"], refreshed.body["token"],
        "the refreshed token was stored"
    );
    assert_eq!(upstream_calls(&app.sandbox), (1, 1, 2));
}

#[tokio::test]
async fn a_placeholder_item_reuses_its_guest_and_gets_a_token() {
    let app = spawn_app().await;
    // What the Python utility stored right after creating a guest: empty token and expiry.
    let guest = app.post_token("CRM-other").await.body["guestId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.store.insert(SessionRecord {
        guest_id: GuestId::new(guest.clone()),
        token: GuestToken::new(SecretString::from(""), ""),
        ..SessionRecord::empty(hash_of("CRM-1"))
    });

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["guestId"], guest.as_str());
    assert_eq!(upstream_calls(&app.sandbox), (1, 1, 2), "no second guest");
}

#[tokio::test]
async fn an_expired_token_is_replaced_without_creating_a_guest() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;
    app.clock.set(expires_at(&first) + Span::seconds(1));
    // The sandbox dates tokens by the real clock: the next one must outlive the moved clock.
    app.sandbox
        .set_guest_token_ttl(std::time::Duration::from_secs(3 * 3600));

    let second = app.post_token("CRM-1").await;

    assert_eq!(second.status, 200);
    assert_eq!(second.body["guestId"], first.body["guestId"]);
    assert_ne!(second.body["token"], first.body["token"]);
    assert_eq!(app.sandbox.guests().len(), 1);
}

#[tokio::test]
async fn an_upstream_expiry_in_camel_case_is_accepted() {
    let app = spawn_app_with(Options {
        sandbox: SandboxConfig {
            expires_at_key: ExpiresAtKey::CamelCase,
            ..SandboxConfig::default()
        },
        ..Options::default()
    })
    .await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 200);
    assert!(reply.body["expiresAt"].is_string());
}

#[tokio::test]
async fn deleting_a_session_forgets_the_guest_and_is_idempotent() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;

    let deleted = app.delete_session("CRM-1").await;
    let deleted_again = app.delete_session("CRM-1").await;
    let after = app.post_token("CRM-1").await;

    assert_eq!(deleted.status, 204);
    assert_eq!(deleted_again.status, 204);
    assert_eq!(deleted.header("cache-control"), Some("no-store"));
    assert_ne!(
        after.body["guestId"], first.body["guestId"],
        "a new guest after the mapping was removed"
    );
    assert_eq!(app.sandbox.guests().len(), 2);
}

#[tokio::test]
async fn concurrent_first_requests_in_one_process_share_one_access_token_request() {
    let app = spawn_app().await;

    let replies = futures::future::join_all((0..8).map(|n| {
        let app = &app;
        async move { app.post_token(&format!("CRM-{n}")).await }
    }))
    .await;

    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(upstream_calls(&app.sandbox).0, 1);
}

#[tokio::test]
async fn concurrent_first_requests_for_one_customer_create_one_guest() {
    let app = spawn_app().await;

    let replies = futures::future::join_all((0..8).map(|_| app.post_token("CRM-new"))).await;

    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(app.sandbox.guests().len(), 1);
    assert!(replies.iter().all(|r| r.body["guestId"] == replies[0].body["guestId"]));
}

#[tokio::test]
async fn concurrent_requests_inside_the_window_renew_the_token_once() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;
    app.clock.set(expires_at(&first) - Span::seconds(100));

    let replies = futures::future::join_all((0..8).map(|_| app.post_token("CRM-1"))).await;

    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(upstream_calls(&app.sandbox).2, 2, "one renewal");
    let renewed = replies
        .iter()
        .filter(|r| r.body["token"] != first.body["token"])
        .count();
    assert_eq!(renewed, 1, "the others got the still-valid token at once");
}

#[tokio::test]
async fn concurrent_requests_for_an_expired_token_wait_for_one_renewal() {
    let app = spawn_app().await;
    let first = app.post_token("CRM-1").await;
    app.clock.set(expires_at(&first) + Span::seconds(1));
    // Tokens are minted on the real clock: the renewed one must outlive the moved test clock.
    app.sandbox.set_guest_token_ttl(std::time::Duration::from_secs(7200));

    let replies = futures::future::join_all((0..8).map(|_| app.post_token("CRM-1"))).await;

    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(upstream_calls(&app.sandbox).2, 2, "one renewal");
    assert!(
        replies
            .iter()
            .all(|r| r.body["token"] == replies[0].body["token"] && r.body["token"] != first.body["token"])
    );
}

#[tokio::test]
async fn a_guest_claim_left_by_a_dead_request_is_taken_over_once_it_expires() {
    let app = spawn_app().await;
    let now = app.clock.now();
    app.store.insert(SessionRecord {
        guest_claim: Some(Hold::until(now + Span::seconds(5))),
        ..SessionRecord::empty(hash_of("CRM-1"))
    });

    let waiting = app.post_token("CRM-1");
    let expire_claim = async {
        // Once the waiter is polling, move past the claim; it notices on its next read.
        while app.store.operations() < 3 {
            tokio::task::yield_now().await;
        }
        app.clock.set(now + Span::seconds(6));
    };
    let (reply, ()) = tokio::join!(waiting, expire_claim);

    assert_eq!(reply.status, 200);
    assert_eq!(app.sandbox.guests().len(), 1);
}

#[tokio::test]
async fn a_live_claim_that_outlasts_the_deadline_is_503_not_a_second_guest() {
    let app = spawn_app_with(Options {
        budget: std::time::Duration::from_millis(500),
        ..Options::default()
    })
    .await;
    app.store.insert(SessionRecord {
        guest_claim: Some(Hold::until(Utc::now() + Span::seconds(60))),
        ..SessionRecord::empty(hash_of("CRM-1"))
    });

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.error_code(), "upstream_unavailable");
    assert!(reply.error_message().contains("creating this customer's guest"));
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}

#[tokio::test]
async fn a_token_about_to_expire_is_not_handed_out_while_another_request_renews_it() {
    let app = spawn_app_with(Options {
        budget: std::time::Duration::from_millis(400),
        ..Options::default()
    })
    .await;
    let now = app.clock.now();
    let about_to_expire = (now + Span::milliseconds(500)).to_rfc3339();
    let well_inside_the_window = (now + Span::seconds(100)).to_rfc3339();
    for (crm_id, expires) in [("CRM-1", &about_to_expire), ("CRM-2", &well_inside_the_window)] {
        app.store.insert(SessionRecord {
            guest_id: GuestId::new("g-1"),
            token: GuestToken::new(SecretString::from("eyJ-old"), expires.as_str()),
            token_stamp: Some(expires.clone()),
            refresh_lease: Some(Hold::until(now + Span::seconds(60))),
            ..SessionRecord::empty(hash_of(crm_id))
        });
    }

    let nearly_expired = app.post_token("CRM-1").await;
    let still_good = app.post_token("CRM-2").await;

    assert_eq!(nearly_expired.status, 503, "{}", nearly_expired.body);
    assert!(
        nearly_expired
            .error_message()
            .contains("renewing this customer's token")
    );
    assert_eq!(
        still_good.status, 200,
        "another request renews it; this one is handed out meanwhile"
    );
    assert_eq!(still_good.body["token"], "eyJ-old");
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}
