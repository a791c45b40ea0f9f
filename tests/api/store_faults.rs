//! One guest per customer, nothing lost: the compiled binary with DynamoDB failing on purpose (a
//! fault proxy in front of dynalite) or holding odd items, and Genesys failing mid-creation. This
//! file holds what the groups share (reading an item's attributes, an answer's guest); the tests
//! are in the files of `store_faults/`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::deployment::body_of;

fn string_attribute<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|value| value.as_s().ok()).map(String::as_str)
}

fn guest_id_of(response: &Value) -> String {
    body_of(response)["guestId"].as_str().expect("a guestId").to_owned()
}

fn number(value: &str) -> AttributeValue {
    AttributeValue::N(value.to_owned())
}

/// Writes that fail (throttled past the retries) and a creation Genesys refuses: the guest stays one.
mod creation_faults;
/// DynamoDB errors as the broker answers them: expired credentials, validation, resets, throttling.
mod error_answers;
/// Items with null or mistyped attributes, healed by the next request.
mod odd_items;
