//! Renewing a stored guest's token: hand out a fresh stored token, or take the lease and fetch a
//! new one (one Genesys token call per expiry, however many instances ask), or wait for the
//! request that holds the lease.

use crate::domain::{CrmIdHash, GuestId, GuestToken, Hold, SessionRecord, TokenFreshness, later_by};
use crate::genesys::GenesysError;
use crate::store::{CodeStore, SessionStore, StoreError};

use super::super::upstream::Renewal;
use super::super::{BrokerError, Call, IssuedToken, Outcome};
use super::{HANDOUT_MARGIN, Round, Sessions};

impl<S: SessionStore + CodeStore> Sessions<S> {
    /// A guest is stored: hand out its token, renew it under the lease, or wait for the request
    /// that holds the lease when there is nothing valid to hand out meanwhile.
    pub(super) async fn with_guest(
        &self,
        call: Call<'_>,
        session: &SessionRecord,
        guest: GuestId,
    ) -> Result<Round, BrokerError> {
        let (hash, deadline, metrics) = (call.hash, call.deadline, call.metrics);
        if let Some(token) = session
            .token
            .as_ref()
            .filter(|t| self.freshness(t) == TokenFreshness::Fresh)
        {
            return Ok(Round::Done(self.hit(&guest, token, metrics)));
        }
        let now = self.clock.now();
        if !session.refresh_lease_live(now) {
            let lease = Hold::until(self.hold_until(deadline));
            let stamp = session.token_stamp.as_deref();
            if self.store.lease_token_refresh(hash, &guest, stamp, &lease, now).await? {
                return self
                    .fetch_token(call, guest, session.token.as_ref(), lease, Outcome::Refreshed)
                    .await
                    .map(Round::Done);
            }
        }
        // Another request renews it. A token with a little life left still (the lease attempt took
        // time, and the token may be about to expire) is handed out in the meantime; one that would
        // expire on its way to the caller is not: the renewal is waited for instead.
        let usable_until_it_arrives = later_by(self.clock.now(), HANDOUT_MARGIN);
        let still_valid = |token: &&GuestToken| token.valid_at(usable_until_it_arrives);
        if let Some(token) = session.token.as_ref().filter(still_valid) {
            return Ok(Round::Done(self.hit(&guest, token, metrics)));
        }
        if session.refresh_lease_live(now) {
            let seen = session.token_stamp.clone();
            self.await_session(hash, deadline, "renewing this customer's token", |s| {
                s.guest_id.as_ref() != Some(&guest) || s.token_stamp != seen || !s.refresh_lease_live(self.clock.now())
            })
            .await?;
        }
        Ok(Round::Again)
    }

    /// Holding the lease: one Genesys token call. The token goes to the caller even when it cannot
    /// be stored (it is valid; only the next request pays for another).
    pub(super) async fn fetch_token(
        &self,
        call: Call<'_>,
        guest: GuestId,
        previous: Option<&GuestToken>,
        lease: Hold,
        outcome: Outcome,
    ) -> Result<IssuedToken, BrokerError> {
        let (hash, metrics) = (call.hash, call.metrics);
        let issued = async {
            let renewal = self.renewal(hash, previous).await?;
            let token = self
                .upstream
                .issue_token(&self.store, self.clock.as_ref(), &guest, renewal, call)
                .await?;
            Ok(self.usable_on_arrival(token)?)
        }
        .await;
        let token = match issued {
            Ok(token) => token,
            Err(err) => {
                self.release_lease(hash, &lease).await;
                return Err(err);
            }
        };
        if outcome == Outcome::Refreshed {
            metrics.refresh();
        }
        match self
            .store
            .put_token(hash, &guest, &token, &lease.owner, self.clock.now())
            .await
        {
            Ok(true) => {}
            // Deleted, re-bound or taken over while we were upstream: the token is still valid for
            // this guest, so the caller gets it, but it is not stored against a session that moved on.
            Ok(false) => {
                tracing::warn!(guest_id = %guest, "session changed during the token call; token not stored")
            }
            Err(err) => {
                tracing::warn!(guest_id = %guest, error = %err, "could not store the new token; handing it out unstored");
                self.release_lease(hash, &lease).await;
            }
        }
        Ok(IssuedToken::new(token, guest, outcome))
    }

    /// The stored token's refresh token, opened for its renewal (a decryption when it is sealed:
    /// only here and in a revocation, never for a hit); `None` when there is none or it does not
    /// open, and a new code is exchanged instead.
    async fn renewal<'a>(
        &self,
        hash: &CrmIdHash,
        previous: Option<&'a GuestToken>,
    ) -> Result<Option<Renewal<'a>>, StoreError> {
        let Some(stored) = previous.and_then(GuestToken::refresh) else {
            return Ok(None);
        };
        let opened = self.store.open_refresh_token(hash, stored).await?;
        Ok(opened.map(|opened| Renewal { stored, opened }))
    }

    /// A token that has expired by the time it arrives (a clock or upstream fault) is never
    /// handed out or stored.
    fn usable_on_arrival(&self, token: GuestToken) -> Result<GuestToken, GenesysError> {
        match self.freshness(&token) {
            TokenFreshness::Unusable => Err(GenesysError::Malformed {
                endpoint: self.upstream.token_endpoint(),
                problem: "the token had expired when it arrived",
            }),
            TokenFreshness::Fresh | TokenFreshness::ExpiringSoon => Ok(token),
        }
    }

    pub(super) async fn release_lease(&self, hash: &CrmIdHash, lease: &Hold) {
        if let Err(err) = self.store.release_token_lease(hash, &lease.owner).await {
            tracing::warn!(error = %err, "could not release the token lease; it ends at its deadline");
        }
    }
}
