//! The item shape, shared with the Python utility, and its mapping to a [`SessionRecord`].

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::{CrmIdHash, GuestId, GuestToken, SessionRecord};
use crate::store::StoreError;

pub(super) const HASH: &str = "crm_id_hash";
pub(super) const GUEST_ID: &str = "genesys_guest_id";
pub(super) const TOKEN: &str = "token";
pub(super) const EXPIRES_AT: &str = "expires_at";
pub(super) const UPDATED_AT: &str = "updated_at";
pub(super) const TTL: &str = "ttl";
pub(super) const GUEST_CLAIM_UNTIL: &str = "guest_claim_until";
pub(super) const REFRESH_LEASE_UNTIL: &str = "refresh_lease_until";

/// A point in time as stored: epoch milliseconds in a number attribute.
pub(super) fn millis(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp_millis().to_string())
}

fn instant(item: &HashMap<String, AttributeValue>, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(n)) => n
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| StoreError::Malformed(format!("attribute {name} is not epoch milliseconds"))),
        Some(_) => Err(StoreError::Malformed(format!("attribute {name} is not a number"))),
    }
}

/// A string attribute; absent or NULL reads as absent, any other type is malformed.
fn string(item: &HashMap<String, AttributeValue>, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
        Some(_) => Err(StoreError::Malformed(format!("attribute {name} is not a string"))),
    }
}

pub(super) fn to_record(item: &HashMap<String, AttributeValue>) -> Result<SessionRecord, StoreError> {
    let hash = string(item, HASH)?.ok_or_else(|| StoreError::Malformed(format!("item has no {HASH}")))?;
    let guest_id = string(item, GUEST_ID)?.and_then(GuestId::new);
    let token = match (string(item, TOKEN)?, string(item, EXPIRES_AT)?) {
        (Some(token), Some(expires_at)) => GuestToken::new(SecretString::from(token), expires_at),
        _ => None,
    };
    Ok(SessionRecord {
        crm_id_hash: CrmIdHash::from_stored(hash),
        guest_id,
        token,
        guest_claim_until: instant(item, GUEST_CLAIM_UNTIL)?,
        refresh_lease_until: instant(item, REFRESH_LEASE_UNTIL)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.to_owned())
    }

    #[test]
    fn a_python_utility_item_is_read() {
        let item = HashMap::from([
            (HASH.to_owned(), s("abc")),
            (GUEST_ID.to_owned(), s("g-1")),
            (TOKEN.to_owned(), s("eyJ")),
            (EXPIRES_AT.to_owned(), s("2024-12-15T14:30:00.000Z")),
            (UPDATED_AT.to_owned(), s("2024-12-15T13:30:00.123456+00:00")),
        ]);
        let record = to_record(&item).unwrap();
        assert_eq!(record.guest_id.unwrap().as_str(), "g-1");
        assert_eq!(record.token.unwrap().expires_at_raw(), "2024-12-15T14:30:00.000Z");
    }

    #[test]
    fn placeholders_read_as_no_token() {
        let item = HashMap::from([
            (HASH.to_owned(), s("abc")),
            (GUEST_ID.to_owned(), s("g-1")),
            (TOKEN.to_owned(), s("")),
            (EXPIRES_AT.to_owned(), s("")),
        ]);
        let record = to_record(&item).unwrap();
        assert!(record.guest_id.is_some());
        assert!(record.token.is_none());
    }

    #[test]
    fn a_wrongly_typed_attribute_is_malformed_and_named() {
        let item = HashMap::from([
            (HASH.to_owned(), s("abc")),
            (TOKEN.to_owned(), AttributeValue::N("1".into())),
        ]);
        let err = to_record(&item).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a stored session is malformed: attribute token is not a string"
        );
    }
}
