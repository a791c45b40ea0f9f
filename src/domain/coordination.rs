//! Coordination between concurrent requests for one customer, across instances: one claim to
//! create the guest (never two guests for one id), one lease to renew a token (one Genesys token
//! call per refresh, however many instances ask). Both last until the holder's own deadline, after
//! which a holder that died is taken over.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::genesys::NewGuest;
use crate::store::SessionStore;

use super::broker::{Broker, BrokerError, GuestResolution, IssuedToken, Outcome};
use super::{CrmIdHash, Deadline, GuestId, SessionRecord, TokenFreshness};

/// How long requests that find an expired token being renewed elsewhere wait before renewing it
/// themselves.
const EXPIRED_TOKEN_WAIT: Duration = Duration::from_secs(2);
/// Polling of the store while another request works: starts quick, backs off to this.
const FIRST_POLL: Duration = Duration::from_millis(20);
const MAX_POLL: Duration = Duration::from_millis(250);

impl<S: SessionStore> Broker<S> {
    /// Claims and creates the guest, or waits for the request that holds the claim; takes over a
    /// claim whose holder's deadline passed.
    pub(super) async fn create_or_await_guest(
        &self,
        hash: &CrmIdHash,
        deadline: Deadline,
    ) -> Result<GuestResolution, BrokerError> {
        loop {
            if self
                .store
                .claim_guest_creation(hash, self.lease_until(deadline), self.clock.now())
                .await?
            {
                return self.create_guest(hash, deadline).await;
            }
            let now = || self.clock.now();
            let session = self
                .await_session(hash, deadline, "creating this customer's guest", |s| {
                    s.guest_id.is_some() || !s.guest_claim_live(now())
                })
                .await?;
            if session.guest_id.is_some() {
                return Ok(GuestResolution::Found(session));
            }
            tracing::info!(
                crm_id_hash = hash.prefix(8),
                "guest claim expired or released; taking it over"
            );
        }
    }

    /// Holding the claim: create the guest and its first token, and store both in one write.
    async fn create_guest(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<GuestResolution, BrokerError> {
        let guest = match self.genesys.create_guest(&NewGuest::for_customer(hash), deadline).await {
            Ok(guest) => guest,
            Err(err) => {
                // Let waiting requests try at once rather than wait out our claim.
                if let Err(release) = self.store.release_guest_claim(hash).await {
                    tracing::warn!(crm_id_hash = hash.prefix(8), error = %release, "could not release the guest claim");
                }
                return Err(err.into());
            }
        };
        crate::telemetry::metrics().guest_created();
        let token = self.genesys.issue_guest_token(&guest, deadline).await;
        let stored = self
            .store
            .put_guest_if_absent(hash, &guest, token.as_ref().ok(), self.clock.now())
            .await;
        let stored = match stored {
            Ok(stored) => stored,
            Err(err) => {
                // Upstream now has a guest no mapping points to; log enough to reconcile it.
                tracing::error!(crm_id_hash = hash.prefix(8), guest_id = %guest, error = %err, "created a guest but could not store its mapping");
                return Err(err.into());
            }
        };
        let token = token?;
        if stored != guest {
            // Our claim had expired and was taken over: the guest stored first is the one in force.
            tracing::warn!(crm_id_hash = hash.prefix(8), guest_id = %guest, kept = %stored, "another request stored a guest first; ours is unused");
            let session = self
                .store
                .get(hash)
                .await?
                .unwrap_or_else(|| SessionRecord::empty(hash.clone()));
            return Ok(GuestResolution::Found(session));
        }
        Ok(GuestResolution::Created(IssuedToken {
            token,
            guest_id: guest,
            outcome: Outcome::Created,
        }))
    }

    /// The stored guest's token is inside the window, expired or missing: renew it under the
    /// lease, or leave it to the request that holds the lease.
    pub(super) async fn renew_token(
        &self,
        hash: &CrmIdHash,
        session: SessionRecord,
        deadline: Deadline,
    ) -> Result<IssuedToken, BrokerError> {
        let Some(guest) = session.guest_id.clone() else {
            return Err(BrokerError::Contended("creating this customer's guest"));
        };
        let seen = session.token.as_ref().map_or("", |t| t.expires_at_raw()).to_owned();
        let leased = self
            .store
            .lease_token_refresh(hash, &guest, &seen, self.lease_until(deadline), self.clock.now())
            .await?;
        if !leased {
            // Still valid: hand it out now while another request renews it.
            if let Some(token) = session
                .token
                .as_ref()
                .filter(|t| self.freshness(t) == TokenFreshness::ExpiringSoon)
            {
                return Ok(self.hit(&guest, token));
            }
            let wait = Deadline::at(deadline.instant().min(Deadline::after(EXPIRED_TOKEN_WAIT).instant()));
            let renewed = self
                .await_session(hash, wait, "renewing this customer's token", |s| {
                    s.token
                        .as_ref()
                        .is_some_and(|t| t.expires_at_raw() != seen && self.freshness(t) != TokenFreshness::Unusable)
                })
                .await;
            if let Ok(SessionRecord {
                guest_id: Some(guest),
                token: Some(token),
                ..
            }) = &renewed
            {
                return Ok(self.hit(guest, token));
            }
            tracing::info!(
                crm_id_hash = hash.prefix(8),
                "no renewed token from the lease holder in time; renewing it here"
            );
        }
        self.request_token(hash, guest, deadline).await
    }

    async fn request_token(
        &self,
        hash: &CrmIdHash,
        guest: GuestId,
        deadline: Deadline,
    ) -> Result<IssuedToken, BrokerError> {
        let token = self.genesys.issue_guest_token(&guest, deadline).await?;
        crate::telemetry::metrics().refresh();
        if !self.store.put_token(hash, &guest, &token, self.clock.now()).await? {
            // Deleted or re-bound while we were upstream: the token is still valid for this guest,
            // so the caller gets it, but it is not stored against a session that is gone.
            tracing::warn!(crm_id_hash = hash.prefix(8), guest_id = %guest, "session changed during refresh; token not stored");
        }
        Ok(IssuedToken {
            token,
            guest_id: guest,
            outcome: Outcome::Refreshed,
        })
    }

    /// Claims and leases last as long as the holder may still be working: its own deadline.
    fn lease_until(&self, deadline: Deadline) -> DateTime<Utc> {
        self.clock.now() + chrono::Duration::from_std(deadline.remaining()).unwrap_or_default()
    }

    /// Re-reads the session until `done` holds or `deadline` passes (then `Contended`).
    async fn await_session(
        &self,
        hash: &CrmIdHash,
        deadline: Deadline,
        what: &'static str,
        done: impl Fn(&SessionRecord) -> bool,
    ) -> Result<SessionRecord, BrokerError> {
        let mut pause = FIRST_POLL;
        loop {
            if !deadline.allows(pause) {
                return Err(BrokerError::Contended(what));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
            let session = self
                .store
                .get(hash)
                .await?
                .unwrap_or_else(|| SessionRecord::empty(hash.clone()));
            if done(&session) {
                return Ok(session);
            }
        }
    }
}
