//! The DynamoDB session store. Items keep the Python utility's shape (`crm_id_hash`,
//! `genesys_guest_id`, `token`, `expires_at`, `updated_at`, all strings) so both can read what the
//! other wrote, plus `ttl` (epoch seconds) for DynamoDB's expiry and the coordination attributes
//! (`guest_claim_until` / `refresh_lease_until`, epoch milliseconds, with their `…_owner`) the
//! utility ignores.
//!
//! Reads are strongly consistent: a mapping written by one instance is seen by the next request
//! wherever it lands. Every coordination step is one conditional write, and every condition counts
//! an attribute of the wrong type (`NULL` included) as absent, as the reads do.

mod codes;
mod errors;
mod forgetting;
mod item;
mod sealing;
mod tokens;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{CrmIdHash, GuestId, GuestToken, Hold, HoldOwner, RefreshToken, SessionRecord};

use super::{GuestStored, SessionStore, StoreError};
use errors::{classify, unless_condition_failed};
use item::millis;
pub use sealing::RefreshTokenKey;

/// Placeholders for attribute names in expressions (several are DynamoDB reserved words).
const NAMES: [(&str, &str); 11] = [
    ("#refresh", item::REFRESH_TOKEN),
    ("#sealed", item::REFRESH_TOKEN_ENCRYPTED),
    ("#guest", item::GUEST_ID),
    ("#token", item::TOKEN),
    ("#expires", item::EXPIRES_AT),
    ("#updated", item::UPDATED_AT),
    ("#ttl", item::TTL),
    ("#claim_owner", item::GUEST_CLAIM_OWNER),
    ("#claim", item::GUEST_CLAIM_UNTIL),
    ("#lease_owner", item::REFRESH_LEASE_OWNER),
    ("#lease", item::REFRESH_LEASE_UNTIL),
];

/// No guest is stored: absent, of another type, or the empty placeholder.
const NO_GUEST: &str = "(attribute_not_exists(#guest) OR NOT attribute_type(#guest, :type_s) OR #guest = :empty)";
/// No live claim: absent, unreadable, or its time has passed.
const CLAIM_FREE: &str = "(attribute_not_exists(#claim) OR NOT attribute_type(#claim, :type_n) OR #claim <= :now)";
const LEASE_FREE: &str = "(attribute_not_exists(#lease) OR NOT attribute_type(#lease, :type_n) OR #lease <= :now)";
/// The stored `expires_at` is not a string (what a record's `token_stamp: None` means).
const NO_STAMP: &str = "(attribute_not_exists(#expires) OR NOT attribute_type(#expires, :type_s))";

/// Key used by [`SessionStore::ping`]; never written.
const PING_KEY: &str = "__warm-up__";
/// Attempts at a write whose condition failed while a re-read showed nothing in its way (a
/// concurrent DELETE emptied the item in between): each is one more round trip, never a spin.
const CONDITIONAL_ATTEMPTS: usize = 3;

/// Sessions and codes as items of one DynamoDB table, written with conditional updates.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    retention: Duration,
    /// Seals refresh tokens at rest; without it (local runs) they are stored in plain text.
    refresh_key: Option<RefreshTokenKey>,
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

impl DynamoDbStore {
    /// The store on `table`; a session is kept `retention` after its last write (the item's TTL).
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
            refresh_key: None,
        }
    }

    /// The store with refresh tokens sealed at rest under `key` (see [`RefreshTokenKey`]).
    pub fn with_refresh_token_key(mut self, key: RefreshTokenKey) -> Self {
        self.refresh_key = Some(key);
        self
    }

    /// The table (tests read and write its items directly).
    #[cfg(any(test, feature = "test-support"))]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// An UpdateItem on the customer's item with `update` and `condition`. Attribute names and the
    /// values every expression shares (`:now`, `:updated`, `:ttl`, `:empty`, the type names) are
    /// bound only where the expressions use them: DynamoDB refuses unused ones.
    fn update(&self, hash: &CrmIdHash, now: DateTime<Utc>, update: &str, condition: &str) -> UpdateItemFluentBuilder {
        let uses = |placeholder: &str| update.contains(placeholder) || condition.contains(placeholder);
        let mut builder = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::HASH, s(hash.as_str()))
            .update_expression(update)
            .condition_expression(condition);
        for (placeholder, name) in NAMES {
            // `#claim` is a prefix of `#claim_owner`: look for the placeholder as a whole word.
            if uses_word(update, placeholder) || uses_word(condition, placeholder) {
                builder = builder.expression_attribute_names(placeholder, name);
            }
        }
        let shared = [
            (":now", millis(now)),
            (":empty", s("")),
            (":type_s", s("S")),
            (":type_n", s("N")),
            (
                ":updated",
                s(&now.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)),
            ),
        ];
        for (placeholder, value) in shared {
            if uses(placeholder) {
                builder = builder.expression_attribute_values(placeholder, value);
            }
        }
        if uses(":ttl") {
            let retention = i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX);
            let expires = now.timestamp().saturating_add(retention);
            builder = builder.expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()));
        }
        builder
    }

    /// Runs a conditional update: `Ok(true)` written, `Ok(false)` condition failed.
    async fn conditional(&self, update: UpdateItemFluentBuilder) -> Result<bool, StoreError> {
        Ok(unless_condition_failed(update.send().await, &self.table)?.is_some())
    }
}

fn uses_word(expression: &str, placeholder: &str) -> bool {
    expression.match_indices(placeholder).any(|(at, _)| {
        !expression[at + placeholder.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

impl SessionStore for DynamoDbStore {
    async fn get(&self, hash: &CrmIdHash) -> Result<Option<SessionRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::HASH, s(hash.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| classify(err, &self.table))?;
        output.item().map(item::to_record).transpose()
    }

    async fn claim_guest_creation(
        &self,
        hash: &CrmIdHash,
        claim: &Hold,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = self
            .update(
                hash,
                now,
                "SET #claim = :until, #claim_owner = :owner, #updated = :updated, #ttl = :ttl",
                &format!("{NO_GUEST} AND {CLAIM_FREE}"),
            )
            .expression_attribute_values(":until", millis(claim.until))
            .expression_attribute_values(":owner", s(claim.owner.as_str()));
        self.conditional(update).await
    }

    async fn release_guest_claim(&self, hash: &CrmIdHash, owner: &HoldOwner) -> Result<(), StoreError> {
        let update = self
            .update(hash, Utc::now(), "REMOVE #claim, #claim_owner", "#claim_owner = :owner")
            .expression_attribute_values(":owner", s(owner.as_str()));
        self.conditional(update).await.map(drop)
    }

    async fn put_guest(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        lease: &Hold,
        now: DateTime<Utc>,
    ) -> Result<GuestStored, StoreError> {
        for _ in 0..CONDITIONAL_ATTEMPTS {
            // Placeholders for the token, as the Python utility wrote them, keep items it reads complete.
            let update = self
                .update(
                    hash,
                    now,
                    "SET #guest = :guest, #token = :empty, #expires = :empty, #lease = :until, \
                     #lease_owner = :owner, #updated = :updated, #ttl = :ttl REMOVE #claim, #claim_owner",
                    NO_GUEST,
                )
                .expression_attribute_values(":guest", s(guest.as_str()))
                .expression_attribute_values(":until", millis(lease.until))
                .expression_attribute_values(":owner", s(lease.owner.as_str()));
            if self.conditional(update).await? {
                return Ok(GuestStored::Ours);
            }
            // A guest is stored: which one is what the caller needs to know.
            if let Some(stored) = self.get(hash).await?.and_then(|record| record.guest_id) {
                return Ok(GuestStored::Theirs(stored));
            }
        }
        Err(StoreError::Malformed(
            "storing a guest was refused though no guest is stored".into(),
        ))
    }

    async fn lease_token_refresh(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        seen_stamp: Option<&str>,
        lease: &Hold,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let stamp = if seen_stamp.is_some() {
            "#expires = :seen"
        } else {
            NO_STAMP
        };
        let condition = format!("#guest = :guest AND {stamp} AND {LEASE_FREE}");
        let mut update = self
            .update(hash, now, "SET #lease = :until, #lease_owner = :owner", &condition)
            .expression_attribute_values(":guest", s(guest.as_str()))
            .expression_attribute_values(":until", millis(lease.until))
            .expression_attribute_values(":owner", s(lease.owner.as_str()));
        if let Some(seen) = seen_stamp {
            update = update.expression_attribute_values(":seen", s(seen));
        }
        self.conditional(update).await
    }

    async fn put_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        owner: &HoldOwner,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let refresh = self.refresh_to_write(hash, token).await?;
        let update = self
            .update(
                hash,
                now,
                tokens::token_update(refresh.as_ref()),
                "#guest = :guest AND #lease_owner = :owner",
            )
            .expression_attribute_values(":guest", s(guest.as_str()))
            .expression_attribute_values(":owner", s(owner.as_str()))
            .expression_attribute_values(":token", s(token.secret().expose_secret()))
            .expression_attribute_values(":expires", s(token.expires_at_raw()));
        self.conditional(tokens::with_refresh(update, refresh.as_ref())).await
    }

    async fn open_refresh_token(
        &self,
        hash: &CrmIdHash,
        refresh: &RefreshToken,
    ) -> Result<Option<SecretString>, StoreError> {
        self.open_refresh(hash, refresh).await
    }

    async fn release_token_lease(&self, hash: &CrmIdHash, owner: &HoldOwner) -> Result<(), StoreError> {
        let update = self
            .update(hash, Utc::now(), "REMOVE #lease, #lease_owner", "#lease_owner = :owner")
            .expression_attribute_values(":owner", s(owner.as_str()));
        self.conditional(update).await.map(drop)
    }

    async fn delete(&self, hash: &CrmIdHash, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.forget(hash, now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key(item::HASH, s(PING_KEY))
            .projection_expression("#k")
            .expression_attribute_names("#k", item::HASH)
            .send()
            .await
            .map_err(|err| classify(err, &self.table))?;
        Ok(())
    }
}
