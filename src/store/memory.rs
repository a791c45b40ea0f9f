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
}

impl SessionStore for MemoryStore {
    async fn get(&self, hash: &CrmIdHash) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.with(|sessions| sessions.get(hash).cloned()))
    }

    async fn put_guest_if_absent(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        _now: DateTime<Utc>,
    ) -> Result<GuestId, StoreError> {
        Ok(self.with(|sessions| {
            let record = sessions.entry(hash.clone()).or_insert_with(|| SessionRecord {
                crm_id_hash: hash.clone(),
                guest_id: None,
                token: None,
            });
            record.guest_id.get_or_insert_with(|| guest.clone()).clone()
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
