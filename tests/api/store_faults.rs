//! One guest per customer, nothing lost: the compiled binary with DynamoDB failing on purpose (a
//! fault proxy in front of dynalite) or holding odd items, and Genesys failing mid-creation.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use genesys_sandbox::{Endpoint, Fault};
use serde_json::Value;

use crate::deployment::{Deployment, body_of};
use crate::fleet::{error_code, post, post_within, status, stored_item};
use crate::helpers::hash_of;
use crate::hot_path::deploy_behind_proxy;
use test_kit::aws::dynamodb;
use test_kit::aws_proxy::{AwsFault, FaultRule};

/// Only the write that stores a new guest (`put_guest`): its update expression sets the guest id.
const STORES_THE_GUEST: &str = "SET #guest = :guest";
/// Only the write that stores a token (`put_token`): no other write binds `:token`.
const STORES_THE_TOKEN: &str = ":token";

fn string_attribute<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|value| value.as_s().ok()).map(String::as_str)
}

fn guest_id_of(response: &Value) -> String {
    body_of(response)["guestId"].as_str().expect("a guestId").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_guest_is_stored_though_its_write_is_throttled_past_the_sdk_retries() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    // Four refusals: the SDK's three attempts all fail once, then the broker's own retry meets one
    // more before it gets through.
    proxy.fail(FaultRule::new("UpdateItem", 2, AwsFault::Throttling).when_body_contains(STORES_THE_GUEST));
    proxy.fail(
        FaultRule::new("UpdateItem", 2, AwsFault::ProvisionedThroughputExceeded).when_body_contains(STORES_THE_GUEST),
    );

    let response = post(&deployment, "CRM-throttled").await;

    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(proxy.faults_played(), 4, "every refusal was played");
    let guests = deployment.sandbox.guests();
    assert_eq!(guests.len(), 1, "{guests:?}");
    assert_eq!(guest_id_of(&response), guests[0].id);
    assert_eq!(
        deployment.stored_guest("CRM-throttled").await.as_deref(),
        Some(guests[0].id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_whose_mapping_could_not_be_stored_is_the_one_the_next_request_gets() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    proxy.fail(FaultRule::new("UpdateItem", usize::MAX, AwsFault::Throttling).when_body_contains(STORES_THE_GUEST));

    let failed = post_within(&deployment, "CRM-unstored", Duration::from_secs(5)).await;
    assert_eq!(status(&failed), 503, "{failed}");
    assert_eq!(error_code(&failed), "upstream_unavailable");
    assert_eq!(deployment.sandbox.guests().len(), 1, "the guest was created upstream");

    proxy.stop_failing();
    let response = post(&deployment, "CRM-unstored").await;

    assert_eq!(status(&response), 200, "{response}");
    let guests = deployment.sandbox.guests();
    assert_eq!(guests.len(), 1, "no second guest: {guests:?}");
    assert_eq!(guest_id_of(&response), guests[0].id, "the guest created first");
    assert_eq!(
        deployment.stored_guest("CRM-unstored").await.as_deref(),
        Some(guests[0].id.as_str())
    );
}

/// An item as an older or foreign writer may have left it: `attributes` on top of the key.
async fn put_raw_item(deployment: &Deployment, crm_id: &str, attributes: Vec<(&str, AttributeValue)>) {
    let mut item = HashMap::from([(
        "crm_id_hash".to_owned(),
        AttributeValue::S(hash_of(crm_id).as_str().to_owned()),
    )]);
    item.extend(attributes.into_iter().map(|(name, value)| (name.to_owned(), value)));
    dynamodb()
        .await
        .put_item()
        .table_name(&deployment.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("dynalite stores the item");
}

fn null() -> AttributeValue {
    AttributeValue::Null(true)
}

fn number(value: &str) -> AttributeValue {
    AttributeValue::N(value.to_owned())
}

fn map() -> AttributeValue {
    AttributeValue::M(HashMap::from([("value".to_owned(), AttributeValue::S("eyJ".into()))]))
}

/// After a 200 for `crm_id`: the item holds the answer's guest, token and expiry, all strings.
#[track_caller]
fn assert_healed(crm_id: &str, response: &Value, item: &HashMap<String, AttributeValue>) {
    let body = body_of(response);
    assert_eq!(
        string_attribute(item, "genesys_guest_id"),
        body["guestId"].as_str(),
        "{crm_id}: {item:?}"
    );
    assert_eq!(
        string_attribute(item, "token"),
        body["token"].as_str(),
        "{crm_id}: {item:?}"
    );
    assert_eq!(
        string_attribute(item, "expires_at"),
        body["expiresAt"].as_str(),
        "{crm_id}: {item:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn items_with_null_or_mistyped_attributes_are_healed_by_the_next_request_not_spun_on() {
    let deployment = Deployment::start().await;

    // No usable guest: the request creates one.
    let without_guest: [(&str, Vec<(&str, AttributeValue)>); 2] = [
        (
            "CRM-all-null",
            vec![
                ("genesys_guest_id", null()),
                ("token", null()),
                ("expires_at", null()),
                ("guest_claim_until", null()),
                ("guest_claim_owner", null()),
                ("refresh_lease_until", null()),
                ("refresh_lease_owner", null()),
            ],
        ),
        (
            "CRM-numeric-guest",
            vec![
                ("genesys_guest_id", number("42")),
                ("token", number("1")),
                ("expires_at", number("1700000000")),
                ("guest_claim_until", AttributeValue::S("soon".into())),
            ],
        ),
    ];
    for (crm_id, attributes) in without_guest {
        put_raw_item(&deployment, crm_id, attributes).await;
        let guests_before = deployment.sandbox.guests().len();

        let response = post(&deployment, crm_id).await;

        assert_eq!(status(&response), 200, "{crm_id}: {response}");
        assert_eq!(deployment.sandbox.guests().len(), guests_before + 1, "{crm_id}");
        assert_healed(
            crm_id,
            &response,
            &stored_item(&deployment, crm_id).await.expect("an item"),
        );
    }

    // A guest that exists upstream with a token that cannot be read: the token is renewed.
    let with_guest: [(&str, Vec<(&str, AttributeValue)>); 4] = [
        (
            "CRM-null-token",
            vec![
                ("token", null()),
                ("expires_at", null()),
                ("guest_claim_until", null()),
                ("refresh_lease_until", null()),
            ],
        ),
        (
            "CRM-numeric-token",
            vec![("token", number("1")), ("expires_at", number("1700000000"))],
        ),
        ("CRM-map-token", vec![("token", map()), ("expires_at", map())]),
        (
            "CRM-token-without-expiry",
            vec![
                ("token", AttributeValue::S("eyJ-old".into())),
                ("expires_at", null()),
                ("refresh_lease_until", AttributeValue::S("later".into())),
                ("refresh_lease_owner", number("7")),
            ],
        ),
    ];
    for (crm_id, mut attributes) in with_guest {
        assert_eq!(status(&post(&deployment, crm_id).await), 200, "{crm_id}");
        let guest = deployment.stored_guest(crm_id).await.expect("a stored guest");
        attributes.push(("genesys_guest_id", AttributeValue::S(guest.clone())));
        put_raw_item(&deployment, crm_id, attributes).await;
        let guests_before = deployment.sandbox.guests().len();

        let response = post(&deployment, crm_id).await;

        assert_eq!(status(&response), 200, "{crm_id}: {response}");
        assert_eq!(guest_id_of(&response), guest, "{crm_id}: the stored guest is kept");
        assert_eq!(
            deployment.sandbox.guests().len(),
            guests_before,
            "{crm_id}: no new guest"
        );
        assert_healed(
            crm_id,
            &response,
            &stored_item(&deployment, crm_id).await.expect("an item"),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_creation_releases_only_its_own_claim_never_a_successors() {
    let deployment = Deployment::start().await;
    // The creation waits out a Retry-After (the request is at Genesys meanwhile), then is refused.
    deployment
        .sandbox
        .push_fault(Endpoint::CreateGuest, Fault::status(429).retry_after(2));
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(403));
    let successor_until = (chrono::Utc::now() + chrono::Duration::seconds(60)).timestamp_millis();

    let take_over = async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while deployment.sandbox.calls(Endpoint::CreateGuest) == 0 {
            assert!(Instant::now() < deadline, "the request never reached Genesys");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A successor took the claim over (as it would once ours had expired).
        dynamodb()
            .await
            .update_item()
            .table_name(&deployment.table)
            .key(
                "crm_id_hash",
                AttributeValue::S(hash_of("CRM-claim").as_str().to_owned()),
            )
            .update_expression("SET guest_claim_owner = :owner, guest_claim_until = :until")
            .condition_expression("attribute_exists(guest_claim_until)")
            .expression_attribute_values(":owner", AttributeValue::S("successor".into()))
            .expression_attribute_values(":until", number(&successor_until.to_string()))
            .send()
            .await
            .expect("the request's claim is stored and is taken over");
        assert_eq!(
            deployment.sandbox.calls(Endpoint::CreateGuest),
            1,
            "the take-over happened while the request was still waiting at Genesys"
        );
    };
    let (response, ()) = tokio::join!(post(&deployment, "CRM-claim"), take_over);

    assert_eq!(status(&response), 502, "{response}");
    assert_eq!(deployment.sandbox.calls(Endpoint::CreateGuest), 2);
    let item = stored_item(&deployment, "CRM-claim").await.expect("an item");
    assert_eq!(
        string_attribute(&item, "guest_claim_owner"),
        Some("successor"),
        "{item:?}"
    );
    assert_eq!(
        item.get("guest_claim_until").and_then(|v| v.as_n().ok()),
        Some(&successor_until.to_string()),
        "{item:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_aws_credentials_on_a_read_are_a_503_not_a_500() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    let hash = hash_of("CRM-expired");
    proxy.fail(
        FaultRule::new(
            "GetItem",
            1,
            AwsFault::Error {
                code: "ExpiredTokenException".into(),
                message: "The security token included in the request is expired".into(),
            },
        )
        .when_body_contains(hash.as_str()),
    );

    let response = post(&deployment, "CRM-expired").await;

    assert_eq!(proxy.faults_played(), 1);
    assert_eq!(status(&response), 503, "{response}");
    assert_eq!(error_code(&response), "upstream_unavailable");
    assert!(response["headers"]["retry-after"].is_string(), "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_validation_error_other_than_the_key_schema_is_an_internal_error_naming_no_table() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    let hash = hash_of("CRM-invalid");
    proxy.fail(
        FaultRule::new(
            "GetItem",
            1,
            AwsFault::Error {
                code: "ValidationException".into(),
                message: "One or more parameter values were invalid: something".into(),
            },
        )
        .when_body_contains(hash.as_str()),
    );

    let response = post(&deployment, "CRM-invalid").await;

    assert_eq!(proxy.faults_played(), 1);
    assert_eq!(status(&response), 500, "{response}");
    assert_eq!(error_code(&response), "internal_error");
    let body = response["body"].as_str().expect("a body");
    assert!(!body.contains(&deployment.table), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_whose_store_write_keeps_failing_is_still_handed_out() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    proxy.fail(FaultRule::new("UpdateItem", usize::MAX, AwsFault::Throttling).when_body_contains(STORES_THE_TOKEN));

    let response = post(&deployment, "CRM-token-unstored").await;

    assert_eq!(status(&response), 200, "{response}");
    crate::deployment::assert_token_body(&body_of(&response));
    assert!(proxy.faults_played() >= 3, "the write failed past the SDK's retries");
    let item = stored_item(&deployment, "CRM-token-unstored").await.expect("an item");
    assert_eq!(
        string_attribute(&item, "genesys_guest_id"),
        Some(guest_id_of(&response).as_str())
    );
    let stored_tokens: BTreeSet<_> = ["token", "expires_at"]
        .iter()
        .filter_map(|name| string_attribute(&item, name))
        .collect();
    assert_eq!(
        stored_tokens,
        BTreeSet::from([""]),
        "the token was not stored: {item:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_dynamodb_drops_are_retried_and_a_store_that_keeps_dropping_them_is_a_503() {
    let (deployment, proxy) = deploy_behind_proxy(&[]).await;
    let (brief, lasting) = (hash_of("CRM-reset-once"), hash_of("CRM-reset-always"));
    proxy.fail(FaultRule::new("GetItem", 1, AwsFault::Reset).when_body_contains(brief.as_str()));
    proxy.fail(FaultRule::new("GetItem", usize::MAX, AwsFault::Reset).when_body_contains(lasting.as_str()));

    let recovered = post(&deployment, "CRM-reset-once").await;
    let down = post(&deployment, "CRM-reset-always").await;

    assert_eq!(status(&recovered), 200, "{recovered}");
    assert_eq!(status(&down), 503, "{down}");
    assert_eq!(error_code(&down), "upstream_unavailable");
    assert!(down["headers"]["retry-after"].is_string(), "{down}");
    assert_eq!(
        deployment.sandbox.guests().len(),
        1,
        "nothing is created for the customer whose store is down"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_throttling_past_the_sdk_retries_is_a_503_counted_in_the_metrics_record() {
    let (mut deployment, proxy) = deploy_behind_proxy(&[]).await;
    let hash = hash_of("CRM-throttled-read");
    proxy.fail(FaultRule::new("GetItem", usize::MAX, AwsFault::Throttling).when_body_contains(hash.as_str()));

    let response = post(&deployment, "CRM-throttled-read").await;

    assert_eq!(status(&response), 503, "{response}");
    let records = crate::fleet::metrics_records(&deployment.function.stop());
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["StoreThrottles"], 1, "{}", records[0]);
    assert_eq!(records[0]["outcome"], "failed");
}
