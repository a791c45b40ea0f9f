//! An in-memory session store: a map behind a lock, with the same conditional-write rules as the
//! DynamoDB adapter (the store contract suite runs against both). Used by `local` and unit tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::{CodeGrant, CodeKey, CrmIdHash, GuestId, GuestToken, Hold, HoldOwner, RefreshToken, SessionRecord};

use super::{CodeStore, GuestStored, Redemption, SessionStore, StoreError};

/// Sessions and codes in process memory, shared by clones; lost when the process ends.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    sessions: Arc<Mutex<HashMap<CrmIdHash, SessionRecord>>>,
    /// Each code's grant until it is redeemed, then `None`: the mark a replay is told by.
    codes: Arc<Mutex<HashMap<CodeKey, Option<CodeGrant>>>>,
    operations: Arc<AtomicUsize>,
}

impl MemoryStore {
    /// An empty store.
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

    /// Runs `f` on the customer's record, created empty when missing (as an UpdateItem does).
    fn with_record<T>(&self, hash: &CrmIdHash, f: impl FnOnce(&mut SessionRecord) -> T) -> T {
        self.with(|sessions| {
            f(sessions
                .entry(hash.clone())
                .or_insert_with(|| SessionRecord::empty(hash.clone())))
        })
    }

    /// Runs `f` on the customer's record when there is one.
    fn with_existing<T>(&self, hash: &CrmIdHash, f: impl FnOnce(&mut SessionRecord) -> T) -> Option<T> {
        self.with(|sessions| sessions.get_mut(hash).map(f))
    }
}

fn held_by(hold: Option<&Hold>, owner: &HoldOwner) -> bool {
    hold.is_some_and(|hold| &hold.owner == owner)
}

impl SessionStore for MemoryStore {
    async fn get(&self, hash: &CrmIdHash) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.with(|sessions| sessions.get(hash).cloned()))
    }

    async fn claim_guest_creation(
        &self,
        hash: &CrmIdHash,
        claim: &Hold,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with_record(hash, |record| {
            let free = record.guest_id.is_none() && !record.guest_claim_live(now);
            if free {
                record.guest_claim = Some(claim.clone());
            }
            free
        }))
    }

    async fn release_guest_claim(&self, hash: &CrmIdHash, owner: &HoldOwner) -> Result<(), StoreError> {
        self.with_existing(hash, |record| {
            if held_by(record.guest_claim.as_ref(), owner) {
                record.guest_claim = None;
            }
        });
        Ok(())
    }

    async fn put_guest(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        lease: &Hold,
        _now: DateTime<Utc>,
    ) -> Result<GuestStored, StoreError> {
        Ok(self.with_record(hash, |record| {
            if let Some(stored) = &record.guest_id {
                return GuestStored::Theirs(stored.clone());
            }
            record.guest_id = Some(guest.clone());
            record.token = None;
            record.token_stamp = Some(String::new());
            record.guest_claim = None;
            record.refresh_lease = Some(lease.clone());
            GuestStored::Ours
        }))
    }

    async fn lease_token_refresh(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        seen_stamp: Option<&str>,
        lease: &Hold,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with_existing(hash, |record| {
                let free = record.guest_id.as_ref() == Some(guest)
                    && record.token_stamp.as_deref() == seen_stamp
                    && !record.refresh_lease_live(now);
                if free {
                    record.refresh_lease = Some(lease.clone());
                }
                free
            })
            .unwrap_or(false))
    }

    async fn put_token(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        token: &GuestToken,
        owner: &HoldOwner,
        _now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with_existing(hash, |record| {
                let ours = record.guest_id.as_ref() == Some(guest) && held_by(record.refresh_lease.as_ref(), owner);
                if ours {
                    record.token = Some(token.clone());
                    record.token_stamp = Some(token.expires_at_raw().to_owned());
                    record.refresh_lease = None;
                }
                ours
            })
            .unwrap_or(false))
    }

    async fn release_token_lease(&self, hash: &CrmIdHash, owner: &HoldOwner) -> Result<(), StoreError> {
        self.with_existing(hash, |record| {
            if held_by(record.refresh_lease.as_ref(), owner) {
                record.refresh_lease = None;
            }
        });
        Ok(())
    }

    async fn delete(&self, hash: &CrmIdHash, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|sessions| {
            let Some(record) = sessions.get_mut(hash) else {
                return;
            };
            if record.guest_claim_live(now) {
                let claim = record.guest_claim.take();
                *record = SessionRecord {
                    guest_claim: claim,
                    ..SessionRecord::empty(hash.clone())
                };
            } else {
                sessions.remove(hash);
            }
        });
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing here is at rest: tokens are kept as given, and never sealed.
    async fn open_refresh_token(
        &self,
        _hash: &CrmIdHash,
        refresh: &RefreshToken,
    ) -> Result<Option<SecretString>, StoreError> {
        Ok(match refresh {
            RefreshToken::Plain(token) => Some(token.clone()),
            RefreshToken::Sealed(_) => None,
        })
    }
}

impl CodeStore for MemoryStore {
    async fn put_code(&self, key: &CodeKey, grant: &CodeGrant) -> Result<(), StoreError> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        codes.insert(key.clone(), Some(grant.clone()));
        Ok(())
    }

    /// Nothing here expires: a redeemed code stays marked for the process's life.
    async fn redeem_code(&self, key: &CodeKey, _now: DateTime<Utc>) -> Result<Redemption, StoreError> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match codes.get_mut(key) {
            Some(slot) => slot.take().map_or(Redemption::AlreadyRedeemed, Redemption::Redeemed),
            None => Redemption::Unknown,
        })
    }
}
