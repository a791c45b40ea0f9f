//! Forgetting a session: its item is deleted, unless a creation holds its claim; then everything
//! but the claim goes (guest, token, lease, and the refresh token in either of its forms), so the
//! creation completes and no refresh token is left behind either way.

use chrono::{DateTime, Utc};

use crate::domain::CrmIdHash;
use crate::store::StoreError;

use super::errors::unless_condition_failed;
use super::item::{self, millis};
use super::{CLAIM_FREE, CONDITIONAL_ATTEMPTS, DynamoDbStore, s};

impl DynamoDbStore {
    /// The item deleted, or, while a creation holds its claim, emptied of everything but the claim.
    pub(super) async fn forget(&self, hash: &CrmIdHash, now: DateTime<Utc>) -> Result<(), StoreError> {
        for _ in 0..CONDITIONAL_ATTEMPTS {
            if self.delete_unless_claimed(hash, now).await? {
                return Ok(());
            }
            // A creation is under way: forget everything but its claim.
            let update = self.update(
                hash,
                now,
                "REMOVE #guest, #token, #expires, #refresh, #sealed, #lease, #lease_owner SET #updated = :updated",
                "attribute_type(#claim, :type_n) AND #claim > :now",
            );
            if self.conditional(update).await? {
                return Ok(());
            }
        }
        Err(StoreError::Malformed(
            "the session could neither be deleted nor emptied around its claim".into(),
        ))
    }

    /// DeleteItem, unless a live claim is on the item: `Ok(false)` then.
    async fn delete_unless_claimed(&self, hash: &CrmIdHash, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(item::HASH, s(hash.as_str()))
            .condition_expression(CLAIM_FREE)
            .expression_attribute_names("#claim", item::GUEST_CLAIM_UNTIL)
            .expression_attribute_values(":type_n", s("N"))
            .expression_attribute_values(":now", millis(now))
            .send()
            .await;
        Ok(unless_condition_failed(result, &self.table)?.is_some())
    }
}
