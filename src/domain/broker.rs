//! The request path: pseudonymise the CRM id, read the session once, reuse or create the guest,
//! hand out the stored token while it is outside the sliding window, else get and store a new one.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::genesys::{GenesysClient, GenesysError, NewGuest};
use crate::store::{SessionStore, StoreError};

use super::{Clock, CrmId, CrmIdHash, Deadline, GuestId, GuestToken, Pseudonymiser, SessionRecord, TokenFreshness};

/// Default sliding window: a stored token with less than this left is renewed.
pub const DEFAULT_SLIDING_WINDOW: Duration = Duration::from_secs(300);

/// How a token request was served, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The stored token was outside the window: no upstream call.
    Hit,
    /// A new token for the stored guest.
    Refreshed,
    /// A new guest and its first token.
    Created,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Refreshed => "refreshed",
            Self::Created => "created",
        }
    }
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: GuestToken,
    pub guest_id: GuestId,
    pub outcome: Outcome,
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Upstream(#[from] GenesysError),
}

pub struct Broker<S> {
    store: S,
    genesys: GenesysClient,
    clock: Arc<dyn Clock>,
    window: Duration,
    /// Chosen on first use from the credential set (a `hash_key` there switches to HMAC) and kept:
    /// changing the key re-keys every customer, so it takes a new deployment.
    pseudonymiser: OnceCell<Pseudonymiser>,
}

impl<S: SessionStore> Broker<S> {
    pub fn new(store: S, genesys: GenesysClient, clock: Arc<dyn Clock>, window: Duration) -> Self {
        Self {
            store,
            genesys,
            clock,
            window,
            pseudonymiser: OnceCell::new(),
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn genesys(&self) -> &GenesysClient {
        &self.genesys
    }

    /// The customer's `crm_id_hash`.
    pub async fn pseudonymise(&self, crm_id: &CrmId) -> Result<CrmIdHash, BrokerError> {
        let pseudonymiser = self
            .pseudonymiser
            .get_or_try_init(|| async {
                let set = self.genesys.credential_set().await?;
                Ok::<_, BrokerError>(match set.hash_key() {
                    Some(key) => Pseudonymiser::HmacSha256(key.clone()),
                    None => Pseudonymiser::Sha256,
                })
            })
            .await?;
        Ok(pseudonymiser.hash(crm_id))
    }

    /// A guest token for the customer, valid for more than the sliding window where possible.
    pub async fn issue_token(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<IssuedToken, BrokerError> {
        let session = self.store.get(hash).await?;
        let (stored_guest, stored_token) = match session {
            Some(SessionRecord { guest_id, token, .. }) => (guest_id, token),
            None => (None, None),
        };
        if let (Some(guest_id), Some(token)) = (&stored_guest, stored_token) {
            if token.freshness(self.clock.now(), self.window) == TokenFreshness::Fresh {
                crate::telemetry::metrics().hit();
                return Ok(IssuedToken {
                    token,
                    guest_id: guest_id.clone(),
                    outcome: Outcome::Hit,
                });
            }
        }
        let (guest_id, outcome) = match stored_guest {
            Some(guest_id) => (guest_id, Outcome::Refreshed),
            None => (self.create_guest(hash, deadline).await?, Outcome::Created),
        };
        let token = self.genesys.issue_guest_token(&guest_id, deadline).await?;
        crate::telemetry::metrics().refresh();
        if !self.store.put_token(hash, &guest_id, &token, self.clock.now()).await? {
            // Deleted or re-bound while we were upstream: the token is still valid for this guest,
            // so the caller gets it, but it is not stored against a session that is gone.
            tracing::warn!(crm_id_hash = hash.prefix(8), guest_id = %guest_id, "session changed during refresh; token not stored");
        }
        Ok(IssuedToken {
            token,
            guest_id,
            outcome,
        })
    }

    /// Removes the customer's stored mapping and token. Idempotent.
    pub async fn forget(&self, hash: &CrmIdHash) -> Result<(), BrokerError> {
        Ok(self.store.delete(hash).await?)
    }

    async fn create_guest(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<GuestId, BrokerError> {
        let created = self
            .genesys
            .create_guest(&NewGuest::for_customer(hash), deadline)
            .await?;
        let stored = match self.store.put_guest_if_absent(hash, &created, self.clock.now()).await {
            Ok(stored) => stored,
            Err(err) => {
                // Upstream now has a guest no mapping points to; log enough to reconcile it.
                tracing::error!(crm_id_hash = hash.prefix(8), guest_id = %created, error = %err, "created a guest but could not store its mapping");
                return Err(err.into());
            }
        };
        if stored != created {
            tracing::warn!(crm_id_hash = hash.prefix(8), guest_id = %created, kept = %stored, "another request stored a guest first; ours is unused");
        }
        crate::telemetry::metrics().guest_created();
        Ok(stored)
    }
}
