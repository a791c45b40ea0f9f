//! The refresh token beside a renewed token, as the write stores it: sealed with the refresh-token
//! key when the store has one (a plain one is sealed at the write, which also re-writes an item
//! from before encryption at rest), else in plain text (local runs without KMS); the form not
//! written is removed, so an item never holds both. Opening a sealed one is for the renewal or
//! revocation that needs it.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{CrmIdHash, GuestToken, RefreshToken};
use crate::store::StoreError;

use super::{DynamoDbStore, s};

/// The refresh token as it is written.
pub(super) enum Written {
    /// Base64 ciphertext, in `genesys_refresh_token_encrypted`.
    Sealed(String),
    /// As issued, in `genesys_refresh_token`.
    Plain(SecretString),
}

/// The token write's update expression; the owner's contract has no refresh token and writes
/// exactly what it always wrote.
pub(super) fn token_update(refresh: Option<&Written>) -> &'static str {
    match refresh {
        None => {
            "SET #token = :token, #expires = :expires, #updated = :updated, #ttl = :ttl \
             REMOVE #lease, #lease_owner"
        }
        Some(Written::Sealed(_)) => {
            "SET #token = :token, #expires = :expires, #sealed = :refresh, #updated = :updated, #ttl = :ttl \
             REMOVE #refresh, #lease, #lease_owner"
        }
        Some(Written::Plain(_)) => {
            "SET #token = :token, #expires = :expires, #refresh = :refresh, #updated = :updated, #ttl = :ttl \
             REMOVE #sealed, #lease, #lease_owner"
        }
    }
}

/// `update` with the refresh token's value bound, when there is one.
pub(super) fn with_refresh(update: UpdateItemFluentBuilder, refresh: Option<&Written>) -> UpdateItemFluentBuilder {
    match refresh {
        None => update,
        Some(Written::Sealed(sealed)) => update.expression_attribute_values(":refresh", s(sealed)),
        Some(Written::Plain(plain)) => update.expression_attribute_values(":refresh", s(plain.expose_secret())),
    }
}

impl DynamoDbStore {
    /// The refresh token of `token` as the write stores it for the customer `hash` (a KMS
    /// `Encrypt` when a plain one is sealed).
    pub(super) async fn refresh_to_write(
        &self,
        hash: &CrmIdHash,
        token: &GuestToken,
    ) -> Result<Option<Written>, StoreError> {
        Ok(match (token.refresh(), &self.refresh_key) {
            (None, _) => None,
            (Some(RefreshToken::Sealed(sealed)), _) => Some(Written::Sealed(sealed.clone())),
            (Some(RefreshToken::Plain(plain)), Some(key)) => Some(Written::Sealed(key.seal(hash, plain).await?)),
            (Some(RefreshToken::Plain(plain)), None) => Some(Written::Plain(plain.clone())),
        })
    }

    pub(super) async fn open_refresh(
        &self,
        hash: &CrmIdHash,
        refresh: &RefreshToken,
    ) -> Result<Option<SecretString>, StoreError> {
        match (refresh, &self.refresh_key) {
            (RefreshToken::Plain(token), _) => Ok(Some(token.clone())),
            (RefreshToken::Sealed(sealed), Some(key)) => key.open(hash, sealed).await,
            (RefreshToken::Sealed(_), None) => {
                tracing::warn!(
                    "a sealed refresh token is stored but no refresh-token key is configured; treating it as absent"
                );
                Ok(None)
            }
        }
    }
}
