//! An in-memory session store: a map behind a lock, with the same conditional-write rules as the
//! DynamoDB adapter. Used by `local` and by unit tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::domain::{CrmIdHash, GuestId, GuestToken, SessionRecord};

use super::{SessionStore, StoreError};

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    sessions: Arc<Mutex<HashMap<CrmIdHash, SessionRecord>>>,
    operations: Arc<AtomicUsize>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many store operations were made, so tests can see a request never reached the store.
    pub fn operations(&self) -> usize {
        self.operations.load(Ordering::SeqCst)
    }

    /// Puts a record as it is, the way an older writer (the Python utility) would have left it.
    pub fn insert(&self, record: SessionRecord) {
        self.with(|sessions| sessions.insert(record.crm_id_hash.clone(), record));
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<CrmIdHash, SessionRecord>) -> T) -> T {
        self.operations.fetch_add(1, Ordering::SeqCst);
        f(&mut self.sessions.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn with_record<T>(&self, hash: &CrmIdHash, f: impl FnOnce(&mut SessionRecord) -> T) -> T {
        self.with(|sessions| {
            f(sessions
                .entry(hash.clone())
                .or_insert_with(|| SessionRecord::empty(hash.clone())))
        })
    }
}

impl SessionStore for MemoryStore {
    async fn get(&self, hash: &CrmIdHash) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.with(|sessions| sessions.get(hash).cloned()))
    }

    async fn claim_guest_creation(
        &self,
        hash: &CrmIdHash,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with_record(hash, |record| {
            let free = record.guest_id.is_none() && !record.guest_claim_live(now);
            if free {
                record.guest_claim_until = Some(until);
            }
            free
        }))
    }

    async fn release_guest_claim(&self, hash: &CrmIdHash) -> Result<(), StoreError> {
        self.with(|sessions| sessions.get_mut(hash).map(|record| record.guest_claim_until = None));
        Ok(())
    }

    async fn put_guest_if_absent(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: Option<&GuestToken>,
        _now: DateTime<Utc>,
    ) -> Result<GuestId, StoreError> {
        Ok(self.with_record(hash, |record| {
            if let Some(stored) = &record.guest_id {
                return stored.clone();
            }
            record.guest_id = Some(guest.clone());
            record.token = token.cloned();
            record.guest_claim_until = None;
            guest.clone()
        }))
    }

    async fn lease_token_refresh(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        seen_expires_at: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|sessions| match sessions.get_mut(hash) {
            Some(record)
                if record.guest_id.as_ref() == Some(guest)
                    && record.token.as_ref().map_or("", GuestToken::expires_at_raw) == seen_expires_at
                    && record.refresh_lease_until.is_none_or(|lease| lease <= now) =>
            {
                record.refresh_lease_until = Some(until);
                true
            }
            _ => false,
        }))
    }

    async fn put_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        _now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|sessions| match sessions.get_mut(hash) {
            Some(record) if record.guest_id.as_ref() == Some(guest) => {
                record.token = Some(token.clone());
                record.refresh_lease_until = None;
                true
            }
            _ => false,
        }))
    }

    async fn delete(&self, hash: &CrmIdHash) -> Result<(), StoreError> {
        self.with(|sessions| sessions.remove(hash));
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
