//! Items as an older or foreign writer may have left them (null, numbers, maps where strings
//! belong): the next request heals them, creating a guest only when none is usable, and never
//! spins on them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::{guest_id_of, number, string_attribute};
use crate::deployment::{Deployment, body_of};
use crate::fleet::{post, status, stored_item};
use crate::helpers::hash_of;
use test_kit::aws::dynamodb;

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
