//! The request path: read the session once, hand out a token with more than the sliding window
//! left, else find or create the guest and renew the token, coordinating with other requests (in
//! this instance or any other) through claims and leases in the session store.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::genesys::{GenesysClient, GenesysError};
use crate::store::{SessionStore, StoreError};

use super::{Clock, CrmId, CrmIdHash, Deadline, GuestId, GuestToken, Pseudonymiser, SessionRecord, TokenFreshness};

/// Default sliding window: a stored token with less than this left is renewed.
pub const DEFAULT_SLIDING_WINDOW: Duration = Duration::from_secs(300);

/// How a token request was served, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A stored token: no upstream call.
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
    /// Another request holds the claim or lease and did not finish before our deadline.
    #[error("another request is still {0}; retry shortly")]
    Contended(&'static str),
    #[error("the request deadline passed before an answer was ready; retry shortly")]
    DeadlineExceeded,
}

async fn within<T>(
    deadline: Deadline,
    work: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<T, BrokerError> {
    tokio::time::timeout_at(deadline.instant(), work)
        .await
        .unwrap_or(Err(BrokerError::DeadlineExceeded))
}

pub struct Broker<S> {
    pub(super) store: S,
    pub(super) genesys: GenesysClient,
    pub(super) clock: Arc<dyn Clock>,
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
        Ok(self.pseudonymiser().await?.hash(crm_id))
    }

    /// Does at init what the first request would otherwise do: reads the credential set (for the
    /// pseudonymisation key) and opens the store's connection. Creates nothing anywhere.
    pub async fn prime(&self) -> Result<(), BrokerError> {
        let (pseudonymiser, store) = tokio::join!(self.pseudonymiser(), self.store.ping());
        pseudonymiser?;
        Ok(store?)
    }

    /// Loads the credential set and the pseudonymisation key it may carry (warm-up).
    pub async fn pseudonymise_key_loaded(&self) -> Result<(), BrokerError> {
        self.pseudonymiser().await.map(drop)
    }

    async fn pseudonymiser(&self) -> Result<&Pseudonymiser, BrokerError> {
        self.pseudonymiser
            .get_or_try_init(|| async {
                let set = self.genesys.credential_set().await?;
                Ok(match set.hash_key() {
                    Some(key) => Pseudonymiser::HmacSha256(key.clone()),
                    None => Pseudonymiser::Sha256,
                })
            })
            .await
    }

    /// A guest token for the customer, with more than the sliding window left where possible.
    ///
    /// Every step already fits its waits inside `deadline`; the overall bound catches what no step
    /// controls (a store call that hangs), so the caller always gets an answer in time.
    pub async fn issue_token(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<IssuedToken, BrokerError> {
        within(deadline, self.serve_token(hash, deadline)).await
    }

    /// Removes the customer's stored mapping and token. Idempotent.
    pub async fn forget(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<(), BrokerError> {
        within(deadline, async { Ok(self.store.delete(hash).await?) }).await
    }

    async fn serve_token(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<IssuedToken, BrokerError> {
        let mut session = self
            .store
            .get(hash)
            .await?
            .unwrap_or_else(|| SessionRecord::empty(hash.clone()));
        if let Some(hit) = self.fresh_token(&session) {
            return Ok(hit);
        }
        if session.guest_id.is_none() {
            match self.create_or_await_guest(hash, deadline).await? {
                GuestResolution::Created(issued) => return Ok(issued),
                GuestResolution::Found(found) => session = found,
            }
            if let Some(hit) = self.fresh_token(&session) {
                return Ok(hit);
            }
        }
        self.renew_token(hash, session, deadline).await
    }

    /// The stored token as a hit, when it has more than the window left.
    pub(super) fn fresh_token(&self, session: &SessionRecord) -> Option<IssuedToken> {
        let (guest_id, token) = (session.guest_id.as_ref()?, session.token.as_ref()?);
        (self.freshness(token) == TokenFreshness::Fresh).then(|| self.hit(guest_id, token))
    }

    pub(super) fn freshness(&self, token: &GuestToken) -> TokenFreshness {
        token.freshness(self.clock.now(), self.window)
    }

    pub(super) fn hit(&self, guest_id: &GuestId, token: &GuestToken) -> IssuedToken {
        crate::telemetry::metrics().hit();
        IssuedToken {
            token: token.clone(),
            guest_id: guest_id.clone(),
            outcome: Outcome::Hit,
        }
    }
}

/// How a customer without a stored guest got one.
pub(super) enum GuestResolution {
    /// This request created the guest and its first token.
    Created(IssuedToken),
    /// Another request did; its session as now stored.
    Found(SessionRecord),
}
