//! The request path: read the session once, hand out a token with more than the sliding window
//! left, else find or create the guest and renew the token, coordinating with other requests (in
//! this instance or any other) through claims and leases in the session store.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::credentials::{CredentialError, Pseudonyms};
use crate::genesys::{GenesysClient, GenesysError};
use crate::store::{SessionStore, StoreError};

use super::coordination::UnstoredGuests;
use super::{Clock, CrmId, CrmIdHash, Deadline, GuestId, GuestToken, TokenFreshness};

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
    /// The pseudonymisation key cannot be used (changed, vanished, unreadable).
    #[error(transparent)]
    Pseudonym(CredentialError),
    /// Another request holds the claim or lease and did not finish before our deadline.
    #[error("another request is still {0}; retry shortly")]
    Contended(&'static str),
    #[error("the request deadline passed before an answer was ready; retry shortly")]
    DeadlineExceeded,
}

pub(super) async fn within<T>(
    deadline: Deadline,
    work: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<T, BrokerError> {
    tokio::time::timeout_at(deadline.instant(), work)
        .await
        .unwrap_or(Err(BrokerError::DeadlineExceeded))
}

/// What the scheduled warm-up did, step by step (`"ok"` or what failed).
#[derive(Debug, Clone, Serialize)]
pub struct WarmUpReport {
    pub warmed: bool,
    #[serde(rename = "pseudonymKey")]
    pub pseudonym_key: String,
    #[serde(rename = "accessToken")]
    pub access_token: String,
    pub store: String,
}

pub struct Broker<S> {
    pub(super) store: S,
    pub(super) genesys: GenesysClient,
    pub(super) clock: Arc<dyn Clock>,
    window: Duration,
    pseudonyms: Pseudonyms,
    /// Guests created upstream whose mapping could not be stored: the next request for the
    /// customer in this instance stores and uses them instead of creating another.
    pub(super) unstored: UnstoredGuests,
}

impl<S: SessionStore> Broker<S> {
    pub fn new(
        store: S,
        genesys: GenesysClient,
        pseudonyms: Pseudonyms,
        clock: Arc<dyn Clock>,
        window: Duration,
    ) -> Self {
        Self {
            store,
            genesys,
            clock,
            window,
            pseudonyms,
            unstored: UnstoredGuests::default(),
        }
    }

    /// The customer's `crm_id_hash`.
    pub async fn pseudonymise(&self, crm_id: &CrmId) -> Result<CrmIdHash, BrokerError> {
        let pseudonymiser = self.pseudonyms.current().await.map_err(BrokerError::Pseudonym)?;
        Ok(pseudonymiser.hash(crm_id))
    }

    /// Does at init what the first request needs anyway: opens the store's connection and, for
    /// HMAC pseudonyms, loads the key. Reads no Genesys credentials and creates nothing anywhere.
    pub async fn prime(&self) -> Result<(), BrokerError> {
        let key = async {
            if self.pseudonyms.needs_key() {
                self.pseudonyms.current().await.map_err(BrokerError::Pseudonym)?;
            }
            Ok::<_, BrokerError>(())
        };
        let (key, store) = tokio::join!(key, self.store.ping());
        key?;
        Ok(store?)
    }

    /// The scheduled warm-up: the pseudonym key, an OAuth access token cached, the store's
    /// connection open. Creates no guest and no guest token; a failing step is reported, not fatal.
    pub async fn warm_up(&self, deadline: Deadline) -> WarmUpReport {
        let (key, access_token, store) = tokio::join!(
            self.pseudonyms.current(),
            self.genesys.ensure_access_token(deadline),
            self.store.ping(),
        );
        let report = WarmUpReport {
            warmed: key.is_ok() && access_token.is_ok() && store.is_ok(),
            pseudonym_key: warm_up_step("pseudonym key", key.map(drop)),
            access_token: warm_up_step("access token", access_token),
            store: warm_up_step("store", store),
        };
        tracing::info!(route = "warm-up", warmed = report.warmed, "request");
        report
    }

    /// A guest token for the customer, with more than the sliding window left where possible.
    ///
    /// Every step already fits its waits inside `deadline`; the overall bound catches what no step
    /// controls (a store call that hangs), so the caller always gets an answer in time.
    pub async fn issue_token(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<IssuedToken, BrokerError> {
        within(deadline, self.serve_token(hash, deadline)).await
    }

    /// Forgets the customer's guest and token (a creation under way still completes). Idempotent.
    pub async fn forget(&self, hash: &CrmIdHash, deadline: Deadline) -> Result<(), BrokerError> {
        self.unstored.forget(hash);
        within(deadline, async { Ok(self.store.delete(hash, self.clock.now()).await?) }).await
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

fn warm_up_step<E: std::fmt::Display>(name: &str, result: Result<(), E>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(err) => {
            tracing::warn!(step = name, error = %err, "warm-up step failed");
            format!("failed: {err}")
        }
    }
}
