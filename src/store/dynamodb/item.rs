//! The item shape, shared with the Python utility, and its mapping to a [`SessionRecord`].

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::{CrmIdHash, GuestId, GuestToken, Hold, HoldOwner, RefreshToken, SessionRecord};
use crate::store::StoreError;

pub(super) const HASH: &str = "crm_id_hash";
pub(super) const GUEST_ID: &str = "genesys_guest_id";
pub(super) const TOKEN: &str = "token";
pub(super) const EXPIRES_AT: &str = "expires_at";
pub(super) const UPDATED_AT: &str = "updated_at";
pub(super) const TTL: &str = "ttl";
pub(super) const GUEST_CLAIM_UNTIL: &str = "guest_claim_until";
pub(super) const GUEST_CLAIM_OWNER: &str = "guest_claim_owner";
pub(super) const REFRESH_LEASE_UNTIL: &str = "refresh_lease_until";
pub(super) const REFRESH_LEASE_OWNER: &str = "refresh_lease_owner";
/// Authenticated web messaging only: the refresh token that renews `token` upstream, in plain
/// text (items written without a refresh-token key, or before encryption at rest).
pub(super) const REFRESH_TOKEN: &str = "genesys_refresh_token";
/// The same, sealed with the refresh-token key: base64 of its KMS ciphertext.
pub(super) const REFRESH_TOKEN_ENCRYPTED: &str = "genesys_refresh_token_encrypted";

pub(super) type Item = HashMap<String, AttributeValue>;

/// A point in time as stored: epoch milliseconds in a number attribute.
pub(crate) fn millis(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp_millis().to_string())
}

/// A string attribute. Absent, `NULL` or another type all read as absent (and the write
/// conditions treat them the same way), so an odd item is renewed and overwritten, never an error.
pub(super) fn string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        Some(AttributeValue::Null(_)) | None => None,
        Some(_) => {
            tracing::warn!(
                attribute = name,
                "a stored attribute is not a string; treating it as absent"
            );
            None
        }
    }
}

/// An epoch-milliseconds attribute; unreadable reads as absent, like [`string`].
pub(super) fn instant(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis),
        _ => None,
    }
}

/// A claim or lease: it exists when its time is readable (the write conditions test only the
/// time). One written without an owner, by an older version, has the empty owner: it runs to its
/// time like any other, and no request of this version can end it early.
fn hold(item: &Item, until: &str, owner: &str) -> Option<Hold> {
    Some(Hold {
        until: instant(item, until)?,
        owner: HoldOwner::from_stored(string(item, owner).unwrap_or_default()),
    })
}

/// The sealed refresh token if the item has one, else the plain one an older write left; opened
/// only when needed, never here (a hit reads the item and nothing else).
fn refresh_token(item: &Item) -> Option<RefreshToken> {
    string(item, REFRESH_TOKEN_ENCRYPTED)
        .and_then(RefreshToken::sealed)
        .or_else(|| {
            string(item, REFRESH_TOKEN)
                .map(SecretString::from)
                .and_then(RefreshToken::plain)
        })
}

pub(super) fn to_record(item: &Item) -> Result<SessionRecord, StoreError> {
    let hash = string(item, HASH).ok_or_else(|| StoreError::Malformed(format!("item has no string {HASH}")))?;
    let token_stamp = string(item, EXPIRES_AT);
    let token = match (string(item, TOKEN), &token_stamp) {
        (Some(token), Some(expires_at)) => GuestToken::new(SecretString::from(token), expires_at.clone())
            .map(|token| token.with_refresh(refresh_token(item))),
        _ => None,
    };
    Ok(SessionRecord {
        crm_id_hash: CrmIdHash::from_stored(hash),
        guest_id: string(item, GUEST_ID).and_then(GuestId::new),
        token,
        token_stamp,
        guest_claim: hold(item, GUEST_CLAIM_UNTIL, GUEST_CLAIM_OWNER),
        refresh_lease: hold(item, REFRESH_LEASE_UNTIL, REFRESH_LEASE_OWNER),
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
    fn a_sealed_refresh_token_is_read_sealed_and_a_plain_one_from_an_older_item_plain() {
        let item = |refresh: &[(&str, &str)]| {
            let mut item = HashMap::from([
                (HASH.to_owned(), s("abc")),
                (TOKEN.to_owned(), s("eyJ")),
                (EXPIRES_AT.to_owned(), s("2024-12-15T14:30:00.000Z")),
            ]);
            item.extend(refresh.iter().map(|(name, value)| ((*name).to_owned(), s(value))));
            to_record(&item).unwrap().token.unwrap()
        };
        let sealed = item(&[(REFRESH_TOKEN_ENCRYPTED, "c2VhbGVk"), (REFRESH_TOKEN, "rt-plain")]);
        assert!(
            matches!(sealed.refresh(), Some(RefreshToken::Sealed(c)) if c == "c2VhbGVk"),
            "the sealed one wins"
        );
        let plain = item(&[(REFRESH_TOKEN, "rt-plain")]);
        assert!(matches!(plain.refresh(), Some(RefreshToken::Plain(_))));
        assert!(
            item(&[(REFRESH_TOKEN_ENCRYPTED, ""), (REFRESH_TOKEN, "")])
                .refresh()
                .is_none()
        );
    }

    #[test]
    fn attributes_of_the_wrong_type_or_null_read_as_absent() {
        let item = HashMap::from([
            (HASH.to_owned(), s("abc")),
            (GUEST_ID.to_owned(), AttributeValue::Null(true)),
            (TOKEN.to_owned(), AttributeValue::N("1".into())),
            (EXPIRES_AT.to_owned(), s("2024-12-15T14:30:00.000Z")),
            (GUEST_CLAIM_UNTIL.to_owned(), s("soon")),
            (
                REFRESH_LEASE_UNTIL.to_owned(),
                AttributeValue::N("99999999999999999999999".into()),
            ),
            (REFRESH_LEASE_OWNER.to_owned(), s("o")),
        ]);
        let record = to_record(&item).unwrap();
        assert!(record.guest_id.is_none());
        assert!(record.token.is_none());
        assert_eq!(record.token_stamp.as_deref(), Some("2024-12-15T14:30:00.000Z"));
        assert!(record.guest_claim.is_none());
        assert!(record.refresh_lease.is_none());
    }
}
