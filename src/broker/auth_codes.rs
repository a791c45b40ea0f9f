//! The broker's second use case: an unredeemed authorization code for Genesys's own clients (the
//! Messenger's `AuthProvider` plugin, the mobile transport SDK's `authorize`), which exchange it
//! themselves. The customer's External Contact is made sure of first, by the contact step the
//! token path uses (one contact per customer under concurrency); then a fresh single-use code is
//! minted, bound to the caller's or a new nonce, a PKCE challenge (the caller's, or one of a
//! verifier the broker makes when PKCE is on) and the optional claims. No exchange is made here.
//!
//! For a customer whose contact is stored, that is one read and one code write, and no Genesys
//! call: the Messenger asks again on every re-authentication.

use std::time::Duration;

use secrecy::SecretString;

use crate::domain::{CrmId, Deadline};
use crate::store::{CodeStore, SessionStore};
use crate::telemetry::Metrics;

use super::codes::{CodeBinding, CompletedBinding};
use super::sessions::ContactOutcome;
use super::{Broker, BrokerError, Call, within};

/// A code ready for `getAuthCode`'s `resolve` or the mobile SDK's `authorize`.
pub struct IssuedCode {
    /// The one-time code (a secret: it goes to the caller once, never to a log).
    pub code: SecretString,
    /// The redirect URI it is bound to, as the exchange must present it.
    pub redirect_uri: String,
    /// The nonce bound to it: the caller's, or one the broker made.
    pub nonce: String,
    /// The verifier the broker made, when PKCE is on and the caller brought no challenge.
    pub code_verifier: Option<SecretString>,
    /// How long the code stays redeemable.
    pub expires_in: Duration,
    /// Whether the customer's contact was known or made for this request.
    pub outcome: ContactOutcome,
}

impl ContactOutcome {
    /// The outcome as logged: `code` for a known contact, `code-new-contact` when it was made.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Known => "code",
            Self::Created => "code-new-contact",
        }
    }
}

impl<S: SessionStore + CodeStore> Broker<S> {
    /// A fresh code for the customer, their contact made sure of first. In the owner's mode there
    /// are no codes: [`BrokerError::CodesNotOffered`], before anything is read or called.
    pub async fn issue_auth_code(
        &self,
        crm_id: &CrmId,
        request: CodeBinding,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<IssuedCode, BrokerError> {
        let issuer = self
            .sessions
            .upstream()
            .code_issuer()
            .ok_or(BrokerError::CodesNotOffered)?;
        within(deadline, async {
            let hash = self.pseudonymise(crm_id).await?;
            let call = Call {
                hash: &hash,
                deadline,
                metrics,
            };
            let (_, outcome) = self.sessions.ensure_contact(call).await?;
            let CompletedBinding {
                binding,
                nonce,
                verifier,
            } = issuer.complete(request)?;
            let now = self.sessions.clock().now();
            let code = issuer.mint(self.sessions.codes(), &hash, binding, now).await?;
            Ok(IssuedCode {
                code,
                redirect_uri: issuer.redirect_uri.clone(),
                nonce,
                code_verifier: verifier.map(|verifier| verifier.secret().clone()),
                expires_in: issuer.lifetime,
                outcome,
            })
        })
        .await
    }
}
