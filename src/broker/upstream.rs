//! The upstream port: what the broker's flow needs from Genesys, with its two adapters.
//!
//! - [`Upstream::OwnerContract`]: the owner's guest endpoints (`/api/v2/externalusers/guests` and
//!   `/guests/token`), exactly as before.
//! - [`Upstream::WebMessaging`]: Genesys's public authenticated web messaging. The guest is the
//!   customer's External Contact (found or made by its pseudonym), its token a web-messaging jwt
//!   obtained by exchanging a one-time code the broker issues as the OpenID Connect provider, and
//!   renewed with the refresh token that came with it.
//!
//! The flow around it (claims, the sliding window, leases, deletes, retries, error mapping) is the
//! broker's and the same for both; only the adapter knows endpoints.

use crate::domain::{Clock, CodeVerifier, CrmIdHash, Deadline, GuestId, GuestToken};
use crate::genesys::{Endpoint, ExchangeCode, ExchangeStep, GenesysClient, GenesysError, NewGuest};
use crate::store::CodeStore;
use crate::telemetry::Metrics;

use super::codes::{CodeBinding, CodeIssuer};
use super::{BrokerError, Call};

/// Where guests and their tokens come from (see the module docs for the two modes).
pub enum Upstream {
    /// The owner's guest endpoints, through this client.
    OwnerContract(GenesysClient),
    /// Genesys's public authenticated web messaging.
    WebMessaging(WebMessaging),
}

/// Authenticated web messaging: the deployment, the External Contacts source, and the codes the
/// exchange redeems (at the OIDC provider function, which Genesys calls back).
pub struct WebMessaging {
    /// The Genesys client (OAuth, External Contacts, the web-messaging token endpoints).
    pub genesys: GenesysClient,
    /// The web messaging deployment the tokens are for.
    pub deployment_id: String,
    /// The External Contacts source the customers' contacts are kept under.
    pub external_source_id: String,
    /// Mints the one-time codes the token exchange redeems.
    pub codes: CodeIssuer,
}

impl Upstream {
    fn genesys(&self) -> &GenesysClient {
        match self {
            Self::OwnerContract(genesys) => genesys,
            Self::WebMessaging(mode) => &mode.genesys,
        }
    }

    /// The customer's guest: a new owner-contract guest, or their External Contact (an upsert by
    /// pseudonym, so a repeat finds the contact made before).
    pub(super) async fn create_guest(
        &self,
        hash: &CrmIdHash,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<GuestId, GenesysError> {
        match self {
            Self::OwnerContract(genesys) => {
                genesys
                    .create_guest(&NewGuest::for_customer(hash), deadline, metrics)
                    .await
            }
            Self::WebMessaging(mode) => {
                mode.genesys
                    .enrich_contact(&mode.external_source_id, hash.as_str(), deadline, metrics)
                    .await
            }
        }
    }

    /// A new token for the guest. Web messaging renews with `previous`'s refresh token where there
    /// is one, and exchanges a new code when there is none or Genesys refuses it (expired,
    /// revoked).
    pub(super) async fn issue_token<C: CodeStore>(
        &self,
        codes: &C,
        clock: &dyn Clock,
        guest: &GuestId,
        previous: Option<&GuestToken>,
        call: Call<'_>,
    ) -> Result<GuestToken, BrokerError> {
        let (hash, deadline, metrics) = (call.hash, call.deadline, call.metrics);
        let mode = match self {
            Self::OwnerContract(genesys) => return Ok(genesys.issue_guest_token(guest, deadline, metrics).await?),
            Self::WebMessaging(mode) => mode,
        };
        if let Some(refresh) = previous.and_then(GuestToken::refresh) {
            match mode
                .genesys
                .refresh_token(&mode.deployment_id, refresh, deadline, metrics)
                .await
            {
                Ok(token) => return Ok(token),
                Err(GenesysError::Rejected { status, .. }) if matches!(status, 400 | 401 | 404) => {
                    tracing::info!(status, "the refresh token was refused; exchanging a new code");
                }
                Err(err) => return Err(err.into()),
            }
        }
        // Each attempt redeems a code of its own: one Genesys tried is spent, whatever came of it.
        // Each binds a nonce, and with PKCE on a verifier, sent beside it as Genesys's own clients do.
        let mut exchange = mode
            .genesys
            .code_exchange(&mode.deployment_id, &mode.codes.redirect_uri, deadline, metrics);
        loop {
            let nonce = mode.codes.nonce()?;
            let verifier = mode.codes.verifier()?;
            let binding = CodeBinding {
                challenge: verifier.as_ref().map(CodeVerifier::challenge),
                nonce: Some(nonce.clone()),
                ..CodeBinding::default()
            };
            let code = mode.codes.mint(codes, hash, binding, clock.now()).await?;
            let sent = ExchangeCode {
                code: &code,
                nonce: Some(&nonce),
                verifier: verifier.as_ref().map(CodeVerifier::secret),
            };
            match exchange.attempt(sent).await? {
                ExchangeStep::Token(token) => return Ok(token),
                ExchangeStep::FreshCodeNeeded => continue,
            }
        }
    }

    /// The endpoint a new token comes from, named when it arrives unusable.
    pub(super) fn token_endpoint(&self) -> Endpoint {
        match self {
            Self::OwnerContract(_) => Endpoint::GuestToken,
            Self::WebMessaging(_) => Endpoint::TokenExchange,
        }
    }

    /// The code issuer of web messaging mode; `None` in the owner's mode, which has no codes.
    pub(super) fn code_issuer(&self) -> Option<&CodeIssuer> {
        match self {
            Self::OwnerContract(_) => None,
            Self::WebMessaging(mode) => Some(&mode.codes),
        }
    }

    /// Whether a forgotten session's token is revoked upstream.
    pub(super) fn revokes(&self) -> bool {
        matches!(self, Self::WebMessaging(_))
    }

    /// Revokes the guest's jwt and refresh token upstream (web messaging; nothing otherwise).
    pub(super) async fn revoke(
        &self,
        token: &GuestToken,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<(), GenesysError> {
        match self {
            Self::OwnerContract(_) => Ok(()),
            Self::WebMessaging(mode) => mode.genesys.revoke_token(token.secret(), deadline, metrics).await,
        }
    }

    /// An OAuth access token fetched and cached (warm-up); creates nothing upstream.
    pub(super) async fn cache_access_token(&self, deadline: Deadline, metrics: &Metrics) -> Result<(), GenesysError> {
        self.genesys().ensure_access_token(deadline, metrics).await
    }

    /// Web messaging: whether the deployment has authentication enabled (`Ok(None)`), or what to
    /// fix. `None` in the owner's mode, which has nothing to check.
    pub(super) async fn preflight(
        &self,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Option<Result<Option<String>, GenesysError>> {
        match self {
            Self::OwnerContract(_) => None,
            Self::WebMessaging(mode) => Some(mode.genesys.preflight(&mode.deployment_id, deadline, metrics).await),
        }
    }
}
