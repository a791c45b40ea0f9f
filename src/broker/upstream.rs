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

use secrecy::SecretString;

use crate::domain::{Clock, CodeVerifier, CrmIdHash, Deadline, GuestId, GuestToken, RefreshToken};
use crate::genesys::{Endpoint, ExchangeCode, ExchangeStep, GenesysClient, GenesysError, NewGuest};
use crate::store::CodeStore;
use crate::telemetry::Metrics;

use super::codes::{CodeBinding, CodeIssuer, CompletedBinding};
use super::{BrokerError, Call};

/// Where guests and their tokens come from (see the module docs for the two modes).
pub enum Upstream {
    /// The owner's guest endpoints, through this client.
    OwnerContract(GenesysClient),
    /// Genesys's public authenticated web messaging.
    WebMessaging(WebMessaging),
}

/// A stored refresh token, opened for a renewal: the token itself, and the form it is stored in
/// (kept with the renewed jwt, since Genesys does not rotate it: no new encryption per renewal).
pub(super) struct Renewal<'a> {
    /// As the session holds it (sealed, or plain in an older item).
    pub(super) stored: &'a RefreshToken,
    /// As Genesys issued it.
    pub(super) opened: SecretString,
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

    /// A new token for the guest. Web messaging renews with the stored refresh token where there
    /// is one, and exchanges a new code when there is none or Genesys refuses it (expired,
    /// revoked).
    pub(super) async fn issue_token<C: CodeStore>(
        &self,
        codes: &C,
        clock: &dyn Clock,
        guest: &GuestId,
        renewal: Option<Renewal<'_>>,
        call: Call<'_>,
    ) -> Result<GuestToken, BrokerError> {
        let (hash, deadline, metrics) = (call.hash, call.deadline, call.metrics);
        let mode = match self {
            Self::OwnerContract(genesys) => return Ok(genesys.issue_guest_token(guest, deadline, metrics).await?),
            Self::WebMessaging(mode) => mode,
        };
        if let Some(renewal) = renewal {
            match self.renew(&renewal.opened, deadline, metrics).await? {
                Some(token) => return Ok(token.with_refresh(Some(renewal.stored.clone()))),
                None => tracing::info!("the refresh token was refused; exchanging a new code"),
            }
        }
        // Each attempt redeems a code of its own: one Genesys tried is spent, whatever came of it.
        // Each binds a nonce, and with PKCE on a verifier, sent beside it as Genesys's own clients do.
        let mut exchange = mode
            .genesys
            .code_exchange(&mode.deployment_id, &mode.codes.redirect_uri, deadline, metrics);
        loop {
            let CompletedBinding {
                binding,
                nonce,
                verifier,
            } = mode.codes.complete(CodeBinding::default())?;
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

    /// A new jwt for a refresh token (web messaging), without it (it is not rotated); `None` when
    /// Genesys refuses the refresh token (expired or revoked: the session is over there) or in the
    /// owner's mode, which has none.
    pub(super) async fn renew(
        &self,
        refresh: &SecretString,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<Option<GuestToken>, GenesysError> {
        let Self::WebMessaging(mode) = self else {
            return Ok(None);
        };
        match mode
            .genesys
            .refresh_token(&mode.deployment_id, refresh, deadline, metrics)
            .await
        {
            Ok(token) => Ok(Some(token)),
            Err(GenesysError::Rejected { status, .. }) if matches!(status, 400 | 401 | 404) => {
                tracing::info!(status, "Genesys refused the refresh token");
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Revokes a guest's jwt upstream, and with it the session's refresh token (web messaging;
    /// nothing otherwise). Genesys revokes by jwt only.
    pub(super) async fn revoke(
        &self,
        jwt: &SecretString,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<(), GenesysError> {
        match self {
            Self::OwnerContract(_) => Ok(()),
            Self::WebMessaging(mode) => mode.genesys.revoke_token(jwt, deadline, metrics).await,
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
