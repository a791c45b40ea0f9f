//! Coordination between concurrent requests for one customer, across instances: one claim to
//! create the guest (never two guests for one id), one lease to renew a token (one Genesys token
//! call per expiry, however many instances ask). Both last until the holder's own deadline, after
//! which a holder that died is taken over; only their owner ends them early.
//!
//! A request goes round a bounded number of times: read the session, then hand out a fresh token,
//! take the claim or the lease, or wait (inside its deadline) for the request that holds it. Every
//! conditional write that fails sends it round again to read what is stored now, so a concurrent
//! DELETE or an odd stored item costs a round, never an error or a spin. Log lines here carry
//! the customer's hash prefix through the request's span.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::{Clock, CrmIdHash, Deadline, GuestId, GuestToken, Hold, SessionRecord, TokenFreshness, later_by};
use crate::genesys::GenesysError;
use crate::store::{CodeStore, GuestStored, SessionStore, StoreError};
use crate::telemetry::Metrics;

use super::Call;
use super::backoff::{Backoff, FIRST_POLL, FIRST_STORE_RETRY, MAX_POLL};
use super::unstored::UnstoredGuests;
use super::upstream::Upstream;
use super::{BrokerError, IssuedToken, Outcome};

mod renewal;
mod revocation;

/// Rounds a request may go before it answers 503: each is one read and at most one write or wait.
const MAX_ROUNDS: usize = 8;
/// The least life a token must have left to be handed out while another request renews it.
const HANDOUT_MARGIN: Duration = Duration::from_secs(1);
/// Time kept before the deadline to log a new guest whose mapping could not be stored.
const LAST_WORD: Duration = Duration::from_millis(50);

/// What one round decided.
enum Round {
    Done(IssuedToken),
    Again,
}

/// The sessions of all customers as this instance works on them: the store, the upstream that
/// creates guests and issues tokens, the clock and the sliding window.
pub(super) struct Sessions<S> {
    store: S,
    upstream: Upstream,
    clock: Arc<dyn Clock>,
    window: Duration,
    /// Guests created upstream whose mapping could not be stored (yet): the next request for the
    /// customer in this instance stores and uses them instead of creating another.
    unstored: UnstoredGuests,
}

impl<S: SessionStore + CodeStore> Sessions<S> {
    pub(super) fn new(store: S, upstream: Upstream, clock: Arc<dyn Clock>, window: Duration) -> Self {
        Self {
            store,
            upstream,
            clock,
            window,
            unstored: UnstoredGuests::default(),
        }
    }

    /// Forgets the customer's guest, token and refresh token; a live creation claim survives (see
    /// the store). In web messaging the session is then ended upstream, even when its jwt has
    /// expired, best effort (`revocation`): the session is forgotten whatever Genesys answers.
    pub(super) async fn forget(
        &self,
        hash: &CrmIdHash,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<(), StoreError> {
        self.unstored.forget(hash);
        let stored = match self.upstream.revokes() {
            true => self.store.get(hash).await?.and_then(|session| session.token),
            false => None,
        };
        self.store.delete(hash, self.clock.now()).await?;
        if let Some(token) = stored {
            self.end_upstream(hash, &token, deadline, metrics).await;
        }
        Ok(())
    }

    pub(super) fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// An OAuth access token fetched and cached (warm-up); creates nothing upstream.
    pub(super) async fn cache_access_token(&self, deadline: Deadline, metrics: &Metrics) -> Result<(), GenesysError> {
        self.upstream.cache_access_token(deadline, metrics).await
    }

    fn freshness(&self, token: &GuestToken) -> TokenFreshness {
        token.freshness(self.clock.now(), self.window)
    }

    fn hit(&self, guest_id: &GuestId, token: &GuestToken, metrics: &Metrics) -> IssuedToken {
        metrics.hit();
        IssuedToken::new(token.clone(), guest_id.clone(), Outcome::Hit)
    }

    pub(super) async fn serve_token(&self, call: Call<'_>) -> Result<IssuedToken, BrokerError> {
        let hash = call.hash;
        for _ in 0..MAX_ROUNDS {
            let session = self.read(hash).await?;
            let round = match session.guest_id.clone() {
                None => self.without_guest(call, &session).await?,
                Some(guest) => self.with_guest(call, &session, guest).await?,
            };
            if let Round::Done(issued) = round {
                return Ok(issued);
            }
        }
        tracing::warn!("the session kept changing under this request; giving up");
        Err(BrokerError::Contended("changing this customer's session"))
    }

    async fn read(&self, hash: &CrmIdHash) -> Result<SessionRecord, StoreError> {
        Ok(self
            .store
            .get(hash)
            .await?
            .unwrap_or_else(|| SessionRecord::empty(hash.clone())))
    }

    /// No guest stored: create it under the claim, or wait for the request that holds the claim.
    async fn without_guest(&self, call: Call<'_>, session: &SessionRecord) -> Result<Round, BrokerError> {
        let (hash, deadline) = (call.hash, call.deadline);
        let now = self.clock.now();
        if session.guest_claim_live(now) {
            self.await_session(hash, deadline, "creating this customer's guest", |s| {
                s.guest_id.is_some() || !s.guest_claim_live(self.clock.now())
            })
            .await?;
            return Ok(Round::Again);
        }
        let claim = Hold::until(self.hold_until(deadline));
        if !self.store.claim_guest_creation(hash, &claim, now).await? {
            return Ok(Round::Again);
        }
        self.create_guest(call, claim).await
    }

    /// Holding the claim: create the guest (or reuse one whose mapping could not be stored), store
    /// it before anything else can fail, then fetch its first token under the lease that came with it.
    async fn create_guest(&self, call: Call<'_>, claim: Hold) -> Result<Round, BrokerError> {
        let (hash, deadline, metrics) = (call.hash, call.deadline, call.metrics);
        let guest = match self.unstored.get(hash) {
            Some(guest) => {
                tracing::info!(guest_id = %guest, "storing the guest created earlier whose mapping was not stored");
                guest
            }
            None => match self.upstream.create_guest(hash, deadline, metrics).await {
                Ok(guest) => {
                    metrics.guest_created();
                    // Kept until stored: if this request runs out of time while storing it, the
                    // customer's next request here stores this guest instead of creating another.
                    self.unstored.remember(hash, &guest);
                    guest
                }
                Err(err) => {
                    if matches!(err, GenesysError::Indeterminate { .. }) {
                        tracing::error!(error = %err, "guest creation may have reached Genesys without an answer; not repeated, so at most one guest may exist upstream unmapped (reconcile by the crm_id_hash custom attribute)");
                    }
                    // Let waiting requests try at once rather than wait out our claim.
                    if let Err(release) = self.store.release_guest_claim(hash, &claim.owner).await {
                        tracing::warn!(error = %release, "could not release the guest claim");
                    }
                    return Err(err.into());
                }
            },
        };
        let lease = Hold::until(self.hold_until(deadline));
        // Stop retrying a little before the deadline, so a mapping that could not be stored is
        // still logged (the overall deadline would cancel this request without a word).
        let stored = tokio::time::timeout_at(
            deadline.instant().checked_sub(LAST_WORD).unwrap_or(deadline.instant()),
            self.store_guest(hash, &guest, &lease, deadline),
        )
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "no time was left to store the new guest".into(),
            ))
        });
        match stored {
            Ok(GuestStored::Ours) => self.unstored.forget(hash),
            Ok(GuestStored::Theirs(stored)) if stored == guest => self.unstored.forget(hash),
            Ok(GuestStored::Theirs(stored)) => {
                // Our claim had expired and was taken over: the guest stored first is the one in force.
                self.unstored.forget(hash);
                tracing::warn!(guest_id = %guest, kept = %stored, "another request stored a guest first; ours is unused (reconcile it upstream)");
                return Ok(Round::Again);
            }
            Err(err) => {
                tracing::error!(guest_id = %guest, error = %err, "created a guest but could not store its mapping; this instance will store it on the customer's next request (reconcile it upstream if none comes)");
                return Err(err.into());
            }
        }
        self.fetch_token(call, guest, None, lease, Outcome::Created)
            .await
            .map(Round::Done)
    }

    /// Stores a new guest, retrying a throttled or unreachable store inside the deadline: losing
    /// the mapping of a guest that exists upstream is what would give the customer a second one.
    async fn store_guest(
        &self,
        hash: &CrmIdHash,
        guest: &GuestId,
        lease: &Hold,
        deadline: Deadline,
    ) -> Result<GuestStored, StoreError> {
        let mut backoff = Backoff::new(FIRST_STORE_RETRY, MAX_POLL);
        loop {
            match self.store.put_guest(hash, guest, lease, self.clock.now()).await {
                Err(err @ (StoreError::Unavailable(_) | StoreError::Throttled(_))) => {
                    tracing::warn!(guest_id = %guest, error = %err, "storing the new guest failed");
                    if !backoff.pause_within(deadline).await {
                        return Err(err);
                    }
                }
                other => return other,
            }
        }
    }

    /// Claims and leases last as long as the holder may still be working: its own deadline.
    fn hold_until(&self, deadline: Deadline) -> DateTime<Utc> {
        later_by(self.clock.now(), deadline.remaining())
    }

    /// Re-reads the session until `done` holds or `deadline` passes (then `Contended`).
    async fn await_session(
        &self,
        hash: &CrmIdHash,
        deadline: Deadline,
        what: &'static str,
        done: impl Fn(&SessionRecord) -> bool,
    ) -> Result<SessionRecord, BrokerError> {
        let mut backoff = Backoff::new(FIRST_POLL, MAX_POLL);
        loop {
            if !backoff.pause_within(deadline).await {
                return Err(BrokerError::Contended(what));
            }
            let session = self.read(hash).await?;
            if done(&session) {
                return Ok(session);
            }
        }
    }
}
