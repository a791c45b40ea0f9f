//! The DynamoDB session store. Items keep the Python utility's shape (`crm_id_hash`,
//! `genesys_guest_id`, `token`, `expires_at`, `updated_at`, all strings) so both can read what the
//! other wrote, plus `ttl` (epoch seconds) for DynamoDB's expiry and two coordination attributes
//! (`guest_claim_until`, `refresh_lease_until`, epoch milliseconds) the utility ignores.
//!
//! Reads are strongly consistent: a mapping written by one instance is seen by the next request
//! wherever it lands. Every coordination step is one conditional write.

mod errors;
mod item;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use crate::domain::{CrmIdHash, GuestId, GuestToken, SessionRecord};

use super::{SessionStore, StoreError};
use errors::classify;
use item::millis;

/// Placeholders for attribute names in expressions (several are DynamoDB reserved words).
const NAMES: [(&str, &str); 7] = [
    ("#guest", item::GUEST_ID),
    ("#token", item::TOKEN),
    ("#expires", item::EXPIRES_AT),
    ("#updated", item::UPDATED_AT),
    ("#ttl", item::TTL),
    ("#claim", item::GUEST_CLAIM_UNTIL),
    ("#lease", item::REFRESH_LEASE_UNTIL),
];

/// Key used by [`SessionStore::ping`]; never written.
const PING_KEY: &str = "__warm-up__";

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    retention: Duration,
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// An UpdateItem on the customer's item with `update` and `condition`. Attribute names
    /// (`#guest`, `#token`, …) and the `updated_at` / `ttl` stamps for a write at `now` are bound
    /// only where the expressions use them: DynamoDB refuses unused ones.
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
            if uses(placeholder) {
                builder = builder.expression_attribute_names(placeholder, name);
            }
        }
        if uses(":updated") {
            builder = builder.expression_attribute_values(
                ":updated",
                s(&now.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)),
            );
        }
        if uses(":ttl") {
            let expires = now.timestamp() + i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX / 2);
            builder = builder.expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()));
        }
        builder
    }

    /// Runs a conditional update: `Ok(true)` written, `Ok(false)` condition failed.
    async fn conditional(&self, update: UpdateItemFluentBuilder) -> Result<bool, StoreError> {
        match update.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(err) => Err(classify(err, &self.table)),
        }
    }
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
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = self
            .update(
                hash,
                now,
                "SET #claim = :until, #updated = :updated, #ttl = :ttl",
                "(attribute_not_exists(#guest) OR #guest = :empty) AND (attribute_not_exists(#claim) OR #claim <= :now)",
            )
            .expression_attribute_values(":until", millis(until))
            .expression_attribute_values(":now", millis(now))
            .expression_attribute_values(":empty", s(""));
        self.conditional(update).await
    }

    async fn release_guest_claim(&self, hash: &CrmIdHash) -> Result<(), StoreError> {
        let update = self.update(hash, Utc::now(), "REMOVE #claim", "attribute_exists(#claim)");
        self.conditional(update).await.map(drop)
    }

    async fn put_guest_if_absent(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: Option<&GuestToken>,
        now: DateTime<Utc>,
    ) -> Result<GuestId, StoreError> {
        // Without a token, placeholders as the Python utility wrote them keep items it reads complete.
        let (token_value, expires_at) = match token {
            Some(token) => (
                token.secret().expose_secret().to_owned(),
                token.expires_at_raw().to_owned(),
            ),
            None => (String::new(), String::new()),
        };
        let result = self
            .update(
                hash,
                now,
                "SET #guest = :guest, #token = :token, #expires = :expires, #updated = :updated, #ttl = :ttl \
                 REMOVE #claim",
                "attribute_not_exists(#guest) OR #guest = :empty",
            )
            .expression_attribute_values(":guest", s(guest.as_str()))
            .expression_attribute_values(":token", AttributeValue::S(token_value))
            .expression_attribute_values(":expires", AttributeValue::S(expires_at))
            .expression_attribute_values(":empty", s(""))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(guest.clone()),
            Err(err) => match err.as_service_error() {
                // Another writer stored a guest first: theirs is the one in force.
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => failed
                    .item()
                    .map(item::to_record)
                    .transpose()?
                    .and_then(|record| record.guest_id)
                    .ok_or_else(|| StoreError::Malformed("condition failed but no guest id is stored".into())),
                _ => Err(classify(err, &self.table)),
            },
        }
    }

    async fn lease_token_refresh(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        seen_expires_at: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let seen = if seen_expires_at.is_empty() {
            "(attribute_not_exists(#expires) OR #expires = :seen)"
        } else {
            "#expires = :seen"
        };
        let condition = format!("#guest = :guest AND {seen} AND (attribute_not_exists(#lease) OR #lease <= :now)");
        let update = self
            .update(hash, now, "SET #lease = :until", &condition)
            .expression_attribute_values(":guest", s(guest.as_str()))
            .expression_attribute_values(":seen", s(seen_expires_at))
            .expression_attribute_values(":until", millis(until))
            .expression_attribute_values(":now", millis(now));
        self.conditional(update).await
    }

    async fn put_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = self
            .update(
                hash,
                now,
                "SET #token = :token, #expires = :expires, #updated = :updated, #ttl = :ttl REMOVE #lease",
                "#guest = :guest",
            )
            .expression_attribute_values(":guest", s(guest.as_str()))
            .expression_attribute_values(":token", s(token.secret().expose_secret()))
            .expression_attribute_values(":expires", s(token.expires_at_raw()));
        self.conditional(update).await
    }

    async fn delete(&self, hash: &CrmIdHash) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(item::HASH, s(hash.as_str()))
            .send()
            .await
            .map_err(|err| classify(err, &self.table))?;
        Ok(())
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
