//! The contact step both use cases share: find the customer's stored guest (their External Contact
//! in web messaging), or take the claim and create it, one per customer however many requests and
//! instances ask at once. The token path goes on to fetch the first token under the lease that
//! comes with a new guest; the code path only needs the contact, and gives the lease back.

use crate::domain::{CrmIdHash, Deadline, GuestId, Hold, SessionRecord};
use crate::genesys::GenesysError;
use crate::store::{CodeStore, GuestStored, SessionStore, StoreError};

use super::super::backoff::{Backoff, FIRST_STORE_RETRY, MAX_POLL};
use super::super::{BrokerError, Call};
use super::{LAST_WORD, MAX_ROUNDS, Sessions};

/// What one round without a stored guest came to.
pub(super) enum NewGuest {
    /// This request created and stored the guest, and holds the lease for its first token.
    Stored { guest: GuestId, lease: Hold },
    /// Another request holds the claim, or stored its guest first: read the session again.
    Again,
}

/// Whether the customer's contact was there already or made for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactOutcome {
    /// Stored already: no Genesys call.
    Known,
    /// Created (or found upstream) for this request, and stored.
    Created,
}

impl<S: SessionStore + CodeStore> Sessions<S> {
    /// The customer's guest, stored: read once, and created under the claim when missing.
    pub(in super::super) async fn ensure_contact(
        &self,
        call: Call<'_>,
    ) -> Result<(GuestId, ContactOutcome), BrokerError> {
        for _ in 0..MAX_ROUNDS {
            let session = self.read(call.hash).await?;
            if let Some(guest) = session.guest_id {
                return Ok((guest, ContactOutcome::Known));
            }
            if let NewGuest::Stored { guest, lease } = self.without_guest(call, &session).await? {
                // No token follows: the lease that came with the guest is given back at once, so a
                // token request for the customer does not wait for it to run out.
                self.release_lease(call.hash, &lease).await;
                return Ok((guest, ContactOutcome::Created));
            }
        }
        tracing::warn!("the session kept changing under this request; giving up");
        Err(BrokerError::Contended("changing this customer's session"))
    }

    /// No guest stored: create it under the claim, or wait for the request that holds the claim.
    pub(super) async fn without_guest(&self, call: Call<'_>, session: &SessionRecord) -> Result<NewGuest, BrokerError> {
        let (hash, deadline) = (call.hash, call.deadline);
        let now = self.clock.now();
        if session.guest_claim_live(now) {
            self.await_session(hash, deadline, "creating this customer's guest", |s| {
                s.guest_id.is_some() || !s.guest_claim_live(self.clock.now())
            })
            .await?;
            return Ok(NewGuest::Again);
        }
        let claim = Hold::until(self.hold_until(deadline));
        if !self.store.claim_guest_creation(hash, &claim, now).await? {
            return Ok(NewGuest::Again);
        }
        self.create_guest(call, claim).await
    }

    /// Holding the claim: create the guest (or reuse one whose mapping could not be stored), and
    /// store it before anything else can fail, with the lease for its first token.
    async fn create_guest(&self, call: Call<'_>, claim: Hold) -> Result<NewGuest, BrokerError> {
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
            deadline.earlier_by(LAST_WORD).instant(),
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
                return Ok(NewGuest::Again);
            }
            Err(err) => {
                tracing::error!(guest_id = %guest, error = %err, "created a guest but could not store its mapping; this instance will store it on the customer's next request (reconcile it upstream if none comes)");
                return Err(err.into());
            }
        }
        Ok(NewGuest::Stored { guest, lease })
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
}
