//! Writing a renewed token, and the refresh token beside it: sealed with the refresh-token key
//! when the store has one (a plain one is sealed at the write, which also re-writes an item from
//! before encryption at rest), else in plain text (local runs without KMS); the form not written is
//! removed, so an item never holds both. Opening a sealed one is for the renewal or revocation that
//! needs it.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{CrmIdHash, GuestId, GuestToken, HoldOwner, RefreshToken};
use crate::store::StoreError;

use super::{DynamoDbStore, s};

/// The refresh token as it is written.
enum Written {
    /// Base64 ciphertext, in `genesys_refresh_token_encrypted`.
    Sealed(String),
    /// As issued, in `genesys_refresh_token`.
    Plain(SecretString),
}

impl DynamoDbStore {
    pub(super) async fn write_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        owner: &HoldOwner,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let refresh = match (token.refresh(), &self.refresh_key) {
            (None, _) => None,
            (Some(RefreshToken::Sealed(sealed)), _) => Some(Written::Sealed(sealed.clone())),
            (Some(RefreshToken::Plain(plain)), Some(key)) => Some(Written::Sealed(key.seal(hash, plain).await?)),
            (Some(RefreshToken::Plain(plain)), None) => Some(Written::Plain(plain.clone())),
        };
        // The owner's contract has no refresh token and writes exactly what it always wrote.
        let expression = match refresh {
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
        };
        let mut update = self
            .update(hash, now, expression, "#guest = :guest AND #lease_owner = :owner")
            .expression_attribute_values(":guest", s(guest.as_str()))
            .expression_attribute_values(":owner", s(owner.as_str()))
            .expression_attribute_values(":token", s(token.secret().expose_secret()))
            .expression_attribute_values(":expires", s(token.expires_at_raw()));
        match &refresh {
            None => {}
            Some(Written::Sealed(sealed)) => update = update.expression_attribute_values(":refresh", s(sealed)),
            Some(Written::Plain(plain)) => {
                update = update.expression_attribute_values(":refresh", s(plain.expose_secret()));
            }
        }
        self.conditional(update).await
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
