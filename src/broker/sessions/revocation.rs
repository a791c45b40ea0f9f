//! Ending a forgotten session upstream (authenticated web messaging), best effort. Genesys revokes
//! a session by its jwt only, and the refresh token (valid up to 90 days) dies with it: a jwt still
//! valid is revoked as it is; an expired one is renewed once with the refresh token first, and the
//! new jwt revoked. Whatever fails is logged and the session stays forgotten: the caller asked the
//! broker to forget the customer, which no Genesys or KMS trouble should undo, and the refresh
//! token left alive upstream is held by no one (the caller never had it, the item is gone).

use secrecy::SecretString;

use crate::domain::{CrmIdHash, Deadline, GuestToken};
use crate::store::{CodeStore, SessionStore};
use crate::telemetry::Metrics;

use super::Sessions;

impl<S: SessionStore + CodeStore> Sessions<S> {
    /// Revokes what is revocable of the forgotten `token`, logging (never returning) what fails.
    pub(super) async fn end_upstream(
        &self,
        hash: &CrmIdHash,
        token: &GuestToken,
        deadline: Deadline,
        metrics: &Metrics,
    ) {
        let jwt = if token.valid_at(self.clock.now()) {
            token.secret().clone()
        } else {
            match self.renewed_for_revocation(hash, token, deadline, metrics).await {
                Some(jwt) => jwt,
                None => return,
            }
        };
        if let Err(err) = self.upstream.revoke(&jwt, deadline, metrics).await {
            tracing::warn!(error = %err, "could not revoke the forgotten session upstream; its refresh token stays valid at Genesys until it expires");
        }
    }

    /// A fresh jwt of the session whose stored jwt has expired, to revoke it with; `None` when
    /// nothing is left to revoke or it cannot be had (each said in the log).
    async fn renewed_for_revocation(
        &self,
        hash: &CrmIdHash,
        token: &GuestToken,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Option<SecretString> {
        let stored = token.refresh()?;
        let refresh = match self.store.open_refresh_token(hash, stored).await {
            Ok(Some(refresh)) => refresh,
            Ok(None) => return None,
            Err(err) => {
                tracing::warn!(error = %err, "could not open the forgotten session's refresh token; it stays valid at Genesys until it expires");
                return None;
            }
        };
        match self.upstream.renew(&refresh, deadline, metrics).await {
            Ok(Some(renewed)) => Some(renewed.secret().clone()),
            // Expired or revoked already: the session is over upstream.
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "could not renew the forgotten session to revoke it; its refresh token stays valid at Genesys until it expires");
                None
            }
        }
    }
}
