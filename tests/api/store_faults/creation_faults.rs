//! A guest's creation with its writes failing: a guest write throttled past the SDK's retries is
//! stored by the broker's own retry, a guest whose write never got through is the one the next
//! request gets, a failed creation releases only its own claim, and a token whose write keeps
//! failing is handed out all the same.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use genesys_sandbox::{Endpoint, Fault};

use super::{guest_id_of, number, string_attribute};
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
