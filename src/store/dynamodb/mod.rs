//! The DynamoDB session store. Items keep the Python utility's shape (`crm_id_hash`,
//! `genesys_guest_id`, `token`, `expires_at`, `updated_at`, all strings) so both can read what the
//! other wrote, plus `ttl` (epoch seconds) for DynamoDB's expiry.
//!
//! Reads are strongly consistent: a mapping written by one instance is seen by the next request
//! wherever it lands, so no instance creates a second guest from a stale read.

mod errors;
mod item;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use crate::domain::{CrmIdHash, GuestId, GuestToken, SessionRecord};

use super::{SessionStore, StoreError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use errors::classify;

/// Key used by [`SessionStore::ping`]; never written.
const PING_KEY: &str = "__warm-up__";

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    retention: Duration,
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

    fn key(hash: &str) -> AttributeValue {
        AttributeValue::S(hash.to_owned())
    }

    /// `updated_at` and `ttl` for a write made at `now`.
    fn stamp(&self, now: DateTime<Utc>) -> (AttributeValue, AttributeValue) {
        let expires = now.timestamp() + self.retention.as_secs() as i64;
        (
            AttributeValue::S(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)),
            AttributeValue::N(expires.to_string()),
        )
    }

    fn fail<E>(
        &self,
        err: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> StoreError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        classify(err, &self.table)
    }
}

impl SessionStore for DynamoDbStore {
    async fn get(&self, hash: &CrmIdHash) -> Result<Option<SessionRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::HASH, Self::key(hash.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| self.fail(err))?;
        output.item().map(item::to_record).transpose()
    }

    async fn put_guest_if_absent(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        now: DateTime<Utc>,
    ) -> Result<GuestId, StoreError> {
        let (updated_at, ttl) = self.stamp(now);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::HASH, Self::key(hash.as_str()))
            // Placeholders for token and expiry, as the Python utility wrote them, keep items it
            // reads complete; an existing token (there is none without a guest) is left alone.
            .update_expression(
                "SET #guest = :guest, #updated = :updated, #ttl = :ttl, \
                 #token = if_not_exists(#token, :empty), #expires = if_not_exists(#expires, :empty)",
            )
            .condition_expression("attribute_not_exists(#guest) OR #guest = :empty")
            .expression_attribute_names("#guest", item::GUEST_ID)
            .expression_attribute_names("#updated", item::UPDATED_AT)
            .expression_attribute_names("#ttl", item::TTL)
            .expression_attribute_names("#token", item::TOKEN)
            .expression_attribute_names("#expires", item::EXPIRES_AT)
            .expression_attribute_values(":guest", AttributeValue::S(guest.as_str().to_owned()))
            .expression_attribute_values(":updated", updated_at)
            .expression_attribute_values(":ttl", ttl)
            .expression_attribute_values(":empty", AttributeValue::S(String::new()))
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
                _ => Err(self.fail(err)),
            },
        }
    }

    async fn put_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (updated_at, ttl) = self.stamp(now);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::HASH, Self::key(hash.as_str()))
            .update_expression("SET #token = :token, #expires = :expires, #updated = :updated, #ttl = :ttl")
            .condition_expression("#guest = :guest")
            .expression_attribute_names("#guest", item::GUEST_ID)
            .expression_attribute_names("#token", item::TOKEN)
            .expression_attribute_names("#expires", item::EXPIRES_AT)
            .expression_attribute_names("#updated", item::UPDATED_AT)
            .expression_attribute_names("#ttl", item::TTL)
            .expression_attribute_values(":guest", AttributeValue::S(guest.as_str().to_owned()))
            .expression_attribute_values(":token", AttributeValue::S(token.secret().expose_secret().to_owned()))
            .expression_attribute_values(":expires", AttributeValue::S(token.expires_at_raw().to_owned()))
            .expression_attribute_values(":updated", updated_at)
            .expression_attribute_values(":ttl", ttl)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.fail(err)),
        }
    }

    async fn delete(&self, hash: &CrmIdHash) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(item::HASH, Self::key(hash.as_str()))
            .send()
            .await
            .map_err(|err| self.fail(err))?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key(item::HASH, Self::key(PING_KEY))
            .projection_expression("#k")
            .expression_attribute_names("#k", item::HASH)
            .send()
            .await
            .map_err(|err| self.fail(err))?;
        Ok(())
    }
}
