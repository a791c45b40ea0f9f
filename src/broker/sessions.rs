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

use crate::domain::{Clock, CrmIdHash, Deadline, GuestId, GuestToken, SessionRecord, TokenFreshness, later_by};
use crate::genesys::GenesysError;
use crate::store::{CodeStore, SessionStore, StoreError};
use crate::telemetry::Metrics;

use super::Call;
use super::backoff::{Backoff, FIRST_POLL, MAX_POLL};
use super::unstored::UnstoredGuests;
use super::upstream::Upstream;
use super::{BrokerError, IssuedToken, Outcome};

mod contact;
mod renewal;
mod revocation;

pub use contact::ContactOutcome;
use contact::NewGuest;

/// Rounds a request may go before it answers 503: each is one read and at most one write or wait.
const MAX_ROUNDS: usize = 8;
/// The least life a token must have left to be handed out while another request renews it.
const HANDOUT_MARGIN: Duration = Duration::from_secs(1);
/// Time kept before the deadline for a last word: to log a new guest whose mapping could not be
/// stored, or to answer a delete that is done while Genesys is still being told.
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
            // The session is forgotten now, so the caller's answer is a 204 whatever Genesys does:
            // ending it upstream stops a little before the request's deadline, which would
            // otherwise answer 503 for a delete that was done.
            let upstream_deadline = deadline.earlier_by(LAST_WORD);
            let ended = self.end_upstream(hash, &token, upstream_deadline, metrics);
            if tokio::time::timeout_at(upstream_deadline.instant(), ended)
                .await
                .is_err()
            {
                tracing::warn!(
                    "ran out of time ending the forgotten session upstream; its refresh token stays valid at Genesys until it expires"
                );
            }
        }
        Ok(())
    }

    pub(super) fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Where codes are stored (the same table as the sessions).
    pub(super) fn codes(&self) -> &S {
        &self.store
    }

    pub(super) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
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
                None => match self.without_guest(call, &session).await? {
                    NewGuest::Stored { guest, lease } => self
                        .fetch_token(call, guest, None, lease, Outcome::Created)
                        .await
                        .map(Round::Done)?,
                    NewGuest::Again => Round::Again,
                },
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
