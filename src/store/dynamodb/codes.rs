//! Authorization codes in the sessions table, in a key namespace of their own:
//! `crm_id_hash = "oidc-code#" + hex SHA-256 of the code` (a session's key is bare hex, so the two
//! never meet). Only the hash is stored. An item carries what the code grants (the redirect URI,
//! the subject, and when bound the nonce, the PKCE challenge and the claims the agent sees), its
//! expiry (epoch milliseconds) and `ttl` (epoch seconds) so DynamoDB removes unredeemed codes:
//! the claims, personal data, live no longer than the code.
//!
//! Redeeming is one `UpdateItem` on an existing item, returning the old one: it sets the mark
//! (`redeemed_at`, and `redeemed_by`, the redeeming call's id) unless the item has one, and
//! removes everything the code granted, personal data first, leaving the key, the mark and `ttl`
//! (unchanged: the marked item goes when the code's would have). The old item says which
//! redemption this was: one without a mark is this call's (of concurrent redemptions of one code
//! exactly one, whichever instance each runs in), one with a mark a replay, no item an unknown
//! code. A mark of any type counts: nothing stored can make a code redeemable twice. One call on
//! every path, and no read: the OIDC function's role needs `UpdateItem` on code keys, nothing else.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

use crate::domain::{CodeChallenge, CodeGrant, CodeKey, CustomerProfile};
use crate::store::{CodeStore, Redemption, StoreError};

use super::{DynamoDbStore, s};

use super::errors::{classify, unless_condition_failed};
use super::item::{self, Item, instant, millis, string};

/// The prefix of a code's key in the table.
pub(crate) const KEY_PREFIX: &str = "oidc-code#";
const REDIRECT_URI: &str = "redirect_uri";
const SUBJECT: &str = "subject";
const NONCE: &str = "nonce";
const CHALLENGE: &str = "code_challenge";
const GIVEN_NAME: &str = "given_name";
const FAMILY_NAME: &str = "family_name";
const EMAIL: &str = "email";
const EXPIRES: &str = "code_expires_at";
/// When the code was redeemed (epoch milliseconds): the mark a replay is told by.
const REDEEMED_AT: &str = "redeemed_at";
/// The redeeming call's random id: the SDK's retry of that very call (its first answer lost)
/// finds its own mark, which is no replay.
const REDEEMED_BY: &str = "redeemed_by";
/// What a redemption removes: all the code granted. Replay detection needs none of it.
const GRANT: [&str; 8] = [
    REDIRECT_URI,
    SUBJECT,
    NONCE,
    CHALLENGE,
    GIVEN_NAME,
    FAMILY_NAME,
    EMAIL,
    EXPIRES,
];

fn key(code: &CodeKey) -> AttributeValue {
    AttributeValue::S(format!("{KEY_PREFIX}{}", code.as_str()))
}

/// An `UpdateItem` that only creates (the function's role has GetItem, UpdateItem and DeleteItem on
/// the table, and needs nothing more for codes).
pub(super) async fn put(client: &Client, table: &str, code: &CodeKey, grant: &CodeGrant) -> Result<(), StoreError> {
    let mut set = String::from("SET #redirect = :redirect, #subject = :subject, #expires = :expires, #ttl = :ttl");
    let mut request = client
        .update_item()
        .table_name(table)
        .key(item::HASH, key(code))
        .expression_attribute_names("#k", item::HASH)
        .expression_attribute_names("#redirect", REDIRECT_URI)
        .expression_attribute_names("#subject", SUBJECT)
        .expression_attribute_names("#expires", EXPIRES)
        .expression_attribute_names("#ttl", item::TTL)
        .expression_attribute_values(":redirect", s(&grant.redirect_uri))
        .expression_attribute_values(":subject", s(&grant.subject))
        .expression_attribute_values(":expires", millis(grant.expires_at))
        // Whole seconds, rounded up: DynamoDB's expiry never comes before the code's own.
        .expression_attribute_values(
            ":ttl",
            AttributeValue::N((grant.expires_at.timestamp() + 1).to_string()),
        )
        // A random 256-bit code never repeats; the condition makes an overwrite impossible anyway.
        .condition_expression("attribute_not_exists(#k)");
    let profile = &grant.profile;
    let optional = [
        (NONCE, grant.nonce.as_deref()),
        (CHALLENGE, grant.challenge.as_ref().map(CodeChallenge::as_str)),
        (GIVEN_NAME, profile.given_name.as_deref()),
        (FAMILY_NAME, profile.family_name.as_deref()),
        (EMAIL, profile.email.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            set.push_str(&format!(", #{name} = :{name}"));
            request = request
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), s(value));
        }
    }
    request
        .update_expression(set)
        .send()
        .await
        .map_err(|err| classify(err, table))?;
    Ok(())
}

pub(super) async fn redeem(
    client: &Client,
    table: &str,
    code: &CodeKey,
    now: DateTime<Utc>,
) -> Result<Redemption, StoreError> {
    let attempt = format!("{:032x}", fastrand::u128(..));
    let removed: Vec<String> = GRANT.iter().map(|name| format!("#{name}")).collect();
    let mut request = client
        .update_item()
        .table_name(table)
        .key(item::HASH, key(code))
        .update_expression(format!(
            "SET #redeemed_at = if_not_exists(#redeemed_at, :now), \
             #redeemed_by = if_not_exists(#redeemed_by, :attempt) REMOVE {}",
            removed.join(", ")
        ))
        // An unknown code creates nothing.
        .condition_expression("attribute_exists(#k)")
        .expression_attribute_names("#k", item::HASH)
        .expression_attribute_names("#redeemed_at", REDEEMED_AT)
        .expression_attribute_names("#redeemed_by", REDEEMED_BY)
        .expression_attribute_values(":now", millis(now))
        .expression_attribute_values(":attempt", s(&attempt))
        .return_values(ReturnValue::AllOld);
    for (placeholder, name) in removed.iter().zip(GRANT) {
        request = request.expression_attribute_names(placeholder, name);
    }
    match unless_condition_failed(request.send().await, table)? {
        Some(output) => output
            .attributes()
            .map_or(Ok(Redemption::Unknown), |old| redemption(old, &attempt)),
        None => Ok(Redemption::Unknown),
    }
}

/// What the item before this redemption says it was.
fn redemption(old: &Item, attempt: &str) -> Result<Redemption, StoreError> {
    if !old.contains_key(REDEEMED_AT) && !old.contains_key(REDEEMED_BY) {
        return Ok(to_grant(old).map_or(Redemption::Unknown, Redemption::Redeemed));
    }
    if string(old, REDEEMED_BY).as_deref() == Some(attempt) {
        // This call redeemed it, and the grant went with the answer DynamoDB gave the first try.
        return Err(StoreError::Unavailable(
            "DynamoDB's answer to a code's redemption was lost; the code is spent".into(),
        ));
    }
    Ok(Redemption::AlreadyRedeemed)
}

/// A stored grant; an item missing a field (or of the wrong types) grants nothing.
fn to_grant(item: &Item) -> Option<CodeGrant> {
    Some(CodeGrant {
        redirect_uri: string(item, REDIRECT_URI)?,
        subject: string(item, SUBJECT)?,
        nonce: string(item, NONCE),
        // A stored challenge that is unreadable binds a verifier no one has: nothing is granted.
        challenge: match string(item, CHALLENGE) {
            Some(stored) => Some(CodeChallenge::from_stored(stored)?),
            None => None,
        },
        profile: CustomerProfile {
            given_name: string(item, GIVEN_NAME),
            family_name: string(item, FAMILY_NAME),
            email: string(item, EMAIL),
        },
        expires_at: instant(item, EXPIRES)?,
    })
}

impl CodeStore for DynamoDbStore {
    async fn put_code(&self, key: &CodeKey, grant: &CodeGrant) -> Result<(), StoreError> {
        put(&self.client, &self.table, key, grant).await
    }

    async fn redeem_code(&self, key: &CodeKey, now: DateTime<Utc>) -> Result<Redemption, StoreError> {
        redeem(&self.client, &self.table, key, now).await
    }
}
