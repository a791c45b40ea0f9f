//! The broker's use cases: a CRM id in, its guest token out ([`Broker::issue_token`]); and, in web
//! messaging mode, a CRM id in, an unredeemed authorization code out for Genesys's own clients
//! ([`Broker::issue_auth_code`], `auth_codes`). The token path pseudonymises the id, then reads the
//! session once and hands out a token with more than the sliding window left, or finds or creates
//! the guest and renews the token, coordinating with other requests (in this instance or any
//! other) through claims and leases in the session store (`sessions`). Both share the contact step
//! (find or create the guest), the code issuer (`codes`) and the one error mapping.

mod auth_codes;
mod backoff;
mod codes;
mod sessions;
mod unstored;
mod upstream;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::domain::{Clock, CrmId, CrmIdHash, Deadline, GuestId, GuestToken};
#[cfg(any(test, feature = "test-support"))]
use crate::genesys::GenesysClient;
use crate::genesys::GenesysError;
use crate::secrets::{CredentialError, Pseudonyms};
use crate::store::{CodeStore, SessionStore, StoreError};
use crate::telemetry::Metrics;

use sessions::Sessions;

pub use auth_codes::IssuedCode;
pub use codes::{CodeBinding, CodeIssuer, MintError};
pub use sessions::ContactOutcome;
pub use upstream::{Upstream, WebMessaging};

/// One request for one customer: whose session, until when, and where its counts go.
#[derive(Clone, Copy)]
struct Call<'a> {
    hash: &'a CrmIdHash,
    deadline: Deadline,
    metrics: &'a Metrics,
}

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
    /// The outcome as logged and counted: `hit`, `refreshed` or `created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Refreshed => "refreshed",
            Self::Created => "created",
        }
    }
}

/// A guest token handed out, with the guest it belongs to and how it was obtained.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token, with more than the sliding window left where possible.
    pub token: GuestToken,
    /// The customer's Genesys guest.
    pub guest_id: GuestId,
    /// Whether the token was stored, renewed or came with a new guest.
    pub outcome: Outcome,
}

impl IssuedToken {
    fn new(token: GuestToken, guest_id: GuestId, outcome: Outcome) -> Self {
        Self {
            token,
            guest_id,
            outcome,
        }
    }
}

/// Why the broker could not serve a request; each maps to one HTTP answer (`web::ApiError`).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The session store failed (throttled, unreachable, an unreadable item).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Genesys refused or failed a call, after the client's own retries.
    #[error(transparent)]
    Upstream(#[from] GenesysError),
    /// The pseudonymisation key cannot be used (changed, vanished, unreadable).
    #[error(transparent)]
    Pseudonym(CredentialError),
    /// An authorization code for the web-messaging exchange could not be issued.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// Another request holds the claim or lease and did not finish before our deadline.
    #[error("another request is still {0}; retry shortly")]
    Contended(&'static str),
    /// Authorization codes are asked for in the owner's mode, which has none (web messaging only).
    #[error("authorization codes are issued only in genesys-web-messaging mode")]
    CodesNotOffered,
    /// The request's deadline passed before an answer was ready (e.g. a store call that hangs); the
    /// caller may retry shortly.
    #[error("the request deadline passed before an answer was ready; retry shortly")]
    DeadlineExceeded,
}

impl BrokerError {
    /// DynamoDB throttled the request past the SDK's own retries.
    pub fn is_store_throttle(&self) -> bool {
        matches!(self, Self::Store(StoreError::Throttled(_)))
    }
}

async fn within<T>(
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
    /// Whether every step succeeded.
    pub warmed: bool,
    /// The pseudonym key step: `"ok"` or what failed.
    #[serde(rename = "pseudonymKey")]
    pub pseudonym_key: String,
    /// The OAuth access token step: `"ok"`, what failed, or `"not at init"`.
    #[serde(rename = "accessToken")]
    pub access_token: String,
    /// The store's connection step: `"ok"` or what failed.
    pub store: String,
    /// Web messaging only: whether the deployment has authentication enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight: Option<String>,
}

/// The use case: a CRM id in, its guest token out, on the session store `S` and the upstream.
pub struct Broker<S> {
    sessions: Sessions<S>,
    pseudonyms: Pseudonyms,
}

impl<S: SessionStore + CodeStore> Broker<S> {
    /// A broker on the owner's contract (tests).
    #[cfg(any(test, feature = "test-support"))]
    pub fn new(
        store: S,
        genesys: GenesysClient,
        pseudonyms: Pseudonyms,
        clock: Arc<dyn Clock>,
        window: Duration,
    ) -> Self {
        Self::with_upstream(store, Upstream::OwnerContract(genesys), pseudonyms, clock, window)
    }

    /// A broker on `store` and `upstream`, with the sliding `window`: a stored token with less
    /// left is renewed.
    pub fn with_upstream(
        store: S,
        upstream: Upstream,
        pseudonyms: Pseudonyms,
        clock: Arc<dyn Clock>,
        window: Duration,
    ) -> Self {
        Self {
            sessions: Sessions::new(store, upstream, clock, window),
            pseudonyms,
        }
    }

    /// A guest token for the customer, with more than the sliding window left where possible.
    ///
    /// Every step already fits its waits inside `deadline`; the overall bound catches what no step
    /// controls (a store call that hangs), so the caller always gets an answer in time. The first
    /// characters of the customer's hash go on the current span (`crm_id_hash`), for the log.
    pub async fn issue_token(
        &self,
        crm_id: &CrmId,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<IssuedToken, BrokerError> {
        within(deadline, async {
            let hash = self.pseudonymise(crm_id).await?;
            self.sessions
                .serve_token(Call {
                    hash: &hash,
                    deadline,
                    metrics,
                })
                .await
        })
        .await
    }

    /// Forgets the customer's guest and token (a creation under way still completes). Idempotent.
    pub async fn forget(&self, crm_id: &CrmId, deadline: Deadline, metrics: &Metrics) -> Result<(), BrokerError> {
        within(deadline, async {
            let hash = self.pseudonymise(crm_id).await?;
            Ok(self.sessions.forget(&hash, deadline, metrics).await?)
        })
        .await
    }

    /// The customer's `crm_id_hash`, noted on the current span.
    async fn pseudonymise(&self, crm_id: &CrmId) -> Result<CrmIdHash, BrokerError> {
        let pseudonymiser = self.pseudonyms.current().await.map_err(BrokerError::Pseudonym)?;
        let hash = pseudonymiser.hash(crm_id);
        tracing::Span::current().record("crm_id_hash", hash.prefix(8));
        Ok(hash)
    }

    /// Opens what requests need before they come, and creates nothing anywhere.
    ///
    /// At init ([`WarmUp::AtInit`]): only what the first request needs anyway, the store's
    /// connection and, for HMAC pseudonyms, the key; Genesys credentials wait for the first
    /// Genesys call, since most requests are hits. On the schedule ([`WarmUp::Scheduled`]): the
    /// pseudonym key, an OAuth access token cached, the store's connection. A failing step is
    /// reported and logged, never fatal.
    pub async fn warm_up(&self, deadline: Deadline, when: WarmUp, metrics: &Metrics) -> WarmUpReport {
        let key = async {
            match when {
                WarmUp::AtInit if !self.pseudonyms.needs_key() => Ok(()),
                _ => self.pseudonyms.current().await.map(drop),
            }
        };
        let access_token = async {
            match when {
                WarmUp::AtInit => None,
                WarmUp::Scheduled => Some(self.sessions.cache_access_token(deadline, metrics).await),
            }
        };
        let preflight = async {
            match when {
                WarmUp::AtInit => None,
                WarmUp::Scheduled => self.sessions.upstream().preflight(deadline, metrics).await,
            }
        };
        let (key, access_token, store, preflight) = tokio::join!(key, access_token, self.sessions.ping(), preflight);
        let preflight = preflight.map(|checked| match checked {
            Ok(None) => "ok".to_owned(),
            Ok(Some(fix)) => {
                tracing::error!(fix = %fix, "the web deployment is not ready for authenticated web messaging");
                format!("failed: {fix}")
            }
            Err(err) => warm_up_step("preflight", Err(err)),
        });
        let report = WarmUpReport {
            warmed: key.is_ok()
                && access_token.as_ref().is_none_or(Result::is_ok)
                && store.is_ok()
                && preflight.as_deref().is_none_or(|checked| checked == "ok"),
            pseudonym_key: warm_up_step("pseudonym key", key),
            access_token: access_token.map_or_else(|| "not at init".into(), |done| warm_up_step("access token", done)),
            store: warm_up_step("store", store),
            preflight,
        };
        tracing::info!(route = when.as_str(), warmed = report.warmed, "request");
        report
    }
}

/// When a warm-up runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmUp {
    /// During Lambda init (`PRIME_AT_INIT`), at full CPU, before the first request.
    AtInit,
    /// On the EventBridge schedule that keeps instances warm.
    Scheduled,
}

impl WarmUp {
    fn as_str(self) -> &'static str {
        match self {
            Self::AtInit => "init",
            Self::Scheduled => "warm-up",
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
