//! Guests this instance created whose mapping it could not store: kept until stored, so the
//! customer's next request here stores and uses the guest instead of creating another.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::domain::{CrmIdHash, GuestId};

/// Kept at most; past this, an arbitrary one is dropped (each was logged for reconciliation when
/// its store failed).
const MAX_UNSTORED: usize = 1024;

/// Guests this instance created whose mapping it could not store, by customer.
#[derive(Debug, Default)]
pub(super) struct UnstoredGuests(Mutex<HashMap<CrmIdHash, GuestId>>);

impl UnstoredGuests {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CrmIdHash, GuestId>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn get(&self, hash: &CrmIdHash) -> Option<GuestId> {
        self.lock().get(hash).cloned()
    }

    pub(super) fn remember(&self, hash: &CrmIdHash, guest: &GuestId) {
        let mut guests = self.lock();
        if guests.len() >= MAX_UNSTORED && !guests.contains_key(hash) {
            // Any one will do: each was logged for reconciliation when its store failed.
            if let Some(evicted) = guests.keys().next().cloned() {
                guests.remove(&evicted);
            }
        }
        guests.insert(hash.clone(), guest.clone());
    }

    pub(super) fn forget(&self, hash: &CrmIdHash) {
        self.lock().remove(hash);
    }
}
