//! The Genesys client's calls of authenticated web messaging: External Contacts enrich, the code
//! exchange (attempt by attempt, each with a code the caller mints), refresh, revoke, and the
//! deployment preflight.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{Deadline, GuestId, GuestToken};
use crate::telemetry::Metrics;

use super::super::retry::{Retries, Step, with_retries};
use super::super::web_messaging::{
    Configuration, Contact, Deployment, ENRICH_PATH, EXCHANGE_PATH, EnrichRequest, ExchangeRequest, Exchanged,
    REFRESH_PATH, REVOKE_PATH, RefreshRequest, Refreshed, configuration_path, deployment_path,
};
use super::super::{Endpoint, GenesysError};
use super::{Auth, Exchange, GenesysClient, malformed};

impl GenesysClient {
    /// Finds or makes the customer's External Contact by its external id (the pseudonym): the
    /// guest id in authenticated web messaging.
    pub async fn enrich_contact(
        &self,
        external_source_id: &str,
        pseudonym: &str,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<GuestId, GenesysError> {
        let body = EnrichRequest::upsert(external_source_id, pseudonym);
        let contact: Contact = self
            .call_json(
                Exchange::new(Endpoint::ContactEnrich, Method::POST, Auth::AccessToken, Some(&body)),
                ENRICH_PATH,
                deadline,
                metrics,
            )
            .await?;
        contact.into_guest_id().map_err(malformed)
    }

    /// A code exchange for the deployment: its attempts are run by the caller, each with a code of
    /// its own (see [`CodeExchange`]).
    pub fn code_exchange<'a>(
        &'a self,
        deployment_id: &'a str,
        redirect_uri: &'a str,
        deadline: Deadline,
        metrics: &'a Metrics,
    ) -> CodeExchange<'a> {
        CodeExchange {
            client: self,
            url: self.endpoints.api_url(EXCHANGE_PATH),
            deployment_id,
            redirect_uri,
            deadline,
            metrics,
            retries: Retries::new(&self.retry, deadline, Endpoint::TokenExchange),
        }
    }

    /// A new jwt for a refresh token (which is not rotated: the token comes without it, for the
    /// caller to keep the one it holds).
    pub async fn refresh_token(
        &self,
        deployment_id: &str,
        refresh: &SecretString,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<GuestToken, GenesysError> {
        let body = RefreshRequest::new(deployment_id, refresh.expose_secret());
        let refreshed: Refreshed = self
            .call_json(
                Exchange::new(Endpoint::TokenRefresh, Method::POST, Auth::Anonymous, Some(&body)),
                REFRESH_PATH,
                deadline,
                metrics,
            )
            .await?;
        refreshed.into_guest_token().map_err(malformed)
    }

    /// Revokes a jwt (and its refresh token) upstream.
    pub async fn revoke_token(
        &self,
        jwt: &SecretString,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<(), GenesysError> {
        let url = self.endpoints.api_url(REVOKE_PATH);
        with_retries(&self.retry, deadline, Endpoint::TokenRevoke, metrics, |_| async {
            match self
                .send_once::<()>(
                    &Exchange::new(Endpoint::TokenRevoke, Method::DELETE, Auth::GuestJwt(jwt), None),
                    &url,
                    deadline,
                    metrics,
                )
                .await
            {
                Step::Done(_) => Step::Done(()),
                Step::Retry { after, reason } => Step::Retry { after, reason },
                Step::Fail(err) => Step::Fail(err),
            }
        })
        .await
    }

    /// Whether the web deployment serves a configuration with authentication enabled: `Ok(None)`
    /// when it does, `Ok(Some(what to fix))` when it does not.
    pub async fn preflight(
        &self,
        deployment_id: &str,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<Option<String>, GenesysError> {
        let path = deployment_path(deployment_id);
        let deployment: Deployment = self
            .call_json::<(), _>(
                Exchange::new(Endpoint::Deployment, Method::GET, Auth::AccessToken, None),
                &path,
                deadline,
                metrics,
            )
            .await?;
        if let Some(status) = deployment
            .status
            .as_deref()
            .filter(|s| !s.eq_ignore_ascii_case("active"))
        {
            let status: String = status.chars().filter(char::is_ascii_alphanumeric).take(32).collect();
            return Ok(Some(format!(
                "the web deployment is {status}, not Active: publish it in Admin > Message > Messenger Deployments"
            )));
        }
        let Some(configuration) = deployment.configuration else {
            return Ok(Some(
                "the web deployment has no messenger configuration: assign one".into(),
            ));
        };
        let path = configuration_path(&configuration.id, &configuration.version);
        let configuration: Configuration = self
            .call_json::<(), _>(
                Exchange::new(Endpoint::DeploymentConfiguration, Method::GET, Auth::AccessToken, None),
                &path,
                deadline,
                metrics,
            )
            .await?;
        Ok(match configuration.authentication_settings {
            Some(settings)
                if settings.enabled && settings.integration_id.as_deref().is_some_and(|id| !id.is_empty()) =>
            {
                None
            }
            _ => Some(
                "the deployment's messenger configuration does not have authentication enabled with an \
                 OpenID Connect Messenger Configuration integration: enable Authentication in the \
                 messenger configuration, choose the integration, publish a new version and deploy it"
                    .into(),
            ),
        })
    }
}

/// Exchanging one-time codes for a jwt and refresh token, attempt by attempt. A code is spent
/// once Genesys has tried to redeem it, so every attempt takes a new one; the caller mints it and
/// calls [`CodeExchange::attempt`] until it has a token or an error. The retry budget (attempts,
/// backoff, `Retry-After`, the deadline) is this exchange's, across the attempts.
pub struct CodeExchange<'a> {
    client: &'a GenesysClient,
    url: url::Url,
    deployment_id: &'a str,
    redirect_uri: &'a str,
    deadline: Deadline,
    metrics: &'a Metrics,
    retries: Retries<'a>,
}

/// What one exchange attempt came to, when it is not an error.
pub enum ExchangeStep {
    /// The guest's jwt and refresh token.
    Token(GuestToken),
    /// The attempt failed in a way worth another try, and the backoff has been waited: mint a
    /// fresh code and attempt again.
    FreshCodeNeeded,
}

/// One code as an exchange attempt sends it: the code, and the nonce and PKCE verifier it was
/// bound to, where it has them (secrets, never logged).
#[derive(Clone, Copy)]
pub struct ExchangeCode<'a> {
    /// The one-time code.
    pub code: &'a SecretString,
    /// The nonce the code was bound to; Genesys checks the id_token's against it.
    pub nonce: Option<&'a str>,
    /// The PKCE verifier whose challenge the code was bound to; Genesys forwards it.
    pub verifier: Option<&'a SecretString>,
}

impl CodeExchange<'_> {
    /// Sends `code` to the exchange once.
    pub async fn attempt(&mut self, code: ExchangeCode<'_>) -> Result<ExchangeStep, GenesysError> {
        let verifier = code.verifier.map(ExposeSecret::expose_secret);
        let body = ExchangeRequest::new(self.deployment_id, code.code.expose_secret(), self.redirect_uri)
            .bound(code.nonce, verifier);
        let exchange = Exchange::new(Endpoint::TokenExchange, Method::POST, Auth::Anonymous, Some(&body));
        match self
            .client
            .json_once::<_, Exchanged>(&exchange, &self.url, self.deadline, self.metrics)
            .await
        {
            Step::Done(exchanged) => Ok(ExchangeStep::Token(exchanged.into_guest_token().map_err(malformed)?)),
            Step::Retry { after, reason } => {
                self.retries.wait(after, reason, self.metrics).await?;
                Ok(ExchangeStep::FreshCodeNeeded)
            }
            Step::Fail(err) => Err(err),
        }
    }
}
