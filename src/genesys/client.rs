//! The Genesys client the broker calls: JSON calls with the status handling of the upstream
//! contract (401 → fresh access token, 429/5xx/transport → backoff, 403 → no retry), for the
//! owner's guest endpoints here, and for authenticated web messaging's public ones in
//! `web_messaging`.

mod oauth_clients;
mod web_messaging;

pub use web_messaging::{CodeExchange, ExchangeCode, ExchangeStep};

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{Deadline, GuestId, GuestToken};
use crate::secrets::CredentialSource;
use crate::telemetry::{Metrics, XRay};

use super::guests::{CREATE_GUEST_PATH, CreatedGuest, GUEST_TOKEN_PATH, GuestTokenRequest, IssuedGuestToken, NewGuest};
use super::http::{BodyError, LazyHttp, read_json};
use super::oauth::OAuth;
use super::retry::{Step, log_failed_answer, send_attempt, step_for_status, with_retries};
use super::{Endpoint, GenesysEndpoints, GenesysError, RetryPolicy};

/// Built once at init; its connection pool and access-token cache live across invocations.
pub struct GenesysClient {
    http: LazyHttp,
    endpoints: GenesysEndpoints,
    oauth: OAuth,
    retry: RetryPolicy,
}

impl GenesysClient {
    /// A client that records nothing for X-Ray (tests).
    #[cfg(any(test, feature = "test-support"))]
    pub fn new(endpoints: GenesysEndpoints, credentials: Arc<dyn CredentialSource>, retry: RetryPolicy) -> Self {
        Self::traced(endpoints, credentials, retry, XRay::default())
    }

    /// A client whose every HTTP exchange is recorded as an X-Ray subsegment.
    pub fn traced(
        endpoints: GenesysEndpoints,
        credentials: Arc<dyn CredentialSource>,
        retry: RetryPolicy,
        xray: XRay,
    ) -> Self {
        let http = LazyHttp::traced(xray);
        let oauth = OAuth::new(http.clone(), &endpoints, credentials, retry);
        Self {
            http,
            endpoints,
            oauth,
            retry,
        }
    }

    /// Makes sure an access token is cached (warm-up); creates nothing upstream.
    pub async fn ensure_access_token(&self, deadline: Deadline, metrics: &Metrics) -> Result<(), GenesysError> {
        self.oauth.access_token(deadline, metrics).await.map(drop)
    }

    /// Creates a guest on the owner's contract and returns its id. Never repeated once it may have
    /// reached Genesys (a repeat would make a second guest).
    pub async fn create_guest(
        &self,
        guest: &NewGuest,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<GuestId, GenesysError> {
        let created: CreatedGuest = self
            .call_json(
                Exchange::new(Endpoint::CreateGuest, Method::POST, Auth::AccessToken, Some(guest)),
                CREATE_GUEST_PATH,
                deadline,
                metrics,
            )
            .await?;
        created.into_guest_id().map_err(malformed)
    }

    /// A new token for the guest, on the owner's contract.
    pub async fn issue_guest_token(
        &self,
        guest: &GuestId,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<GuestToken, GenesysError> {
        let body = GuestTokenRequest {
            external_user_id: guest.as_str(),
        };
        let issued: IssuedGuestToken = self
            .call_json(
                Exchange::new(Endpoint::GuestToken, Method::POST, Auth::AccessToken, Some(&body)),
                GUEST_TOKEN_PATH,
                deadline,
                metrics,
            )
            .await?;
        issued.into_guest_token().map_err(malformed)
    }

    pub(super) async fn call_json<B, R>(
        &self,
        exchange: Exchange<'_, B>,
        path: &str,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<R, GenesysError>
    where
        B: Serialize,
        R: DeserializeOwned,
    {
        let url = self.endpoints.api_url(path);
        with_retries(&self.retry, deadline, exchange.endpoint, metrics, |_| {
            self.json_once(&exchange, &url, deadline, metrics)
        })
        .await
    }

    /// One attempt whose 2xx answer is read as JSON.
    pub(super) async fn json_once<B, R>(
        &self,
        exchange: &Exchange<'_, B>,
        url: &url::Url,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Step<R, GenesysError>
    where
        B: Serialize,
        R: DeserializeOwned,
    {
        let endpoint = exchange.endpoint;
        let response = match self.send_once(exchange, url, deadline, metrics).await {
            Step::Done(response) => response,
            Step::Retry { after, reason } => return Step::Retry { after, reason },
            Step::Fail(err) => return Step::Fail(err),
        };
        match read_json::<R>(response).await {
            Ok(parsed) => Step::Done(parsed),
            // A guest creation that may have reached Genesys is never sent again: a second
            // attempt would create a second guest (see `Endpoint::may_repeat`).
            Err(BodyError::Interrupted) if endpoint.may_repeat() => Step::Retry {
                after: None,
                reason: "the response was cut off".into(),
            },
            Err(BodyError::Interrupted) => Step::Fail(GenesysError::Indeterminate {
                endpoint,
                reason: "its successful response was cut off".into(),
            }),
            Err(BodyError::TooLarge) => Step::Fail(GenesysError::Malformed {
                endpoint,
                problem: "the body is larger than any answer of the contract",
            }),
            Err(BodyError::Invalid) => Step::Fail(GenesysError::Malformed {
                endpoint,
                problem: "the body is not the JSON the contract specifies",
            }),
        }
    }

    /// One attempt: `Done` with a 2xx response, the status handling of the contract otherwise.
    pub(super) async fn send_once<B>(
        &self,
        exchange: &Exchange<'_, B>,
        url: &url::Url,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Step<reqwest::Response, GenesysError>
    where
        B: Serialize,
    {
        let Exchange {
            endpoint,
            ref method,
            auth,
            body,
        } = *exchange;
        let access_token = match auth {
            Auth::AccessToken => match self.oauth.access_token(deadline, metrics).await {
                Ok(token) => Some(token),
                Err(err) => return Step::Fail(err),
            },
            Auth::Anonymous | Auth::GuestJwt(_) => None,
        };
        let http = match self.http.client().await {
            Ok(http) => http,
            Err(err) => return Step::Fail(err),
        };
        let mut request = http.request(method.clone(), url.clone());
        if let Some(token) = &access_token {
            request = request.bearer_auth(token.bearer());
        }
        if let Auth::GuestJwt(jwt) = auth {
            request = request.bearer_auth(jwt.expose_secret());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match send_attempt(&self.retry, deadline, endpoint, self.http.xray(), metrics, request).await {
            Ok(response) => response,
            Err(step) => return step,
        };
        match (response.status().as_u16(), &access_token) {
            (200..=299, _) => Step::Done(response),
            (401, Some(token)) => {
                log_failed_answer(endpoint, &response);
                // The access token expired or was revoked early: fetch a new one and go again.
                self.oauth.invalidate(token).await;
                Step::Retry {
                    after: Some(Duration::ZERO),
                    reason: "access token refused (HTTP 401)".into(),
                }
            }
            _ => step_for_status(endpoint, &response, metrics),
        }
    }
}

/// One call as the client makes it: which endpoint, with which method, authentication and body.
pub(super) struct Exchange<'a, B> {
    endpoint: Endpoint,
    method: Method,
    auth: Auth<'a>,
    body: Option<&'a B>,
}

impl<'a, B> Exchange<'a, B> {
    pub(super) fn new(endpoint: Endpoint, method: Method, auth: Auth<'a>, body: Option<&'a B>) -> Self {
        Self {
            endpoint,
            method,
            auth,
            body,
        }
    }
}

/// How a call authenticates.
#[derive(Clone, Copy)]
pub(super) enum Auth<'a> {
    /// An OAuth client-credentials access token (renewed on a 401).
    AccessToken,
    /// Nothing: the web-deployment token endpoints take no Genesys credentials.
    Anonymous,
    /// The guest's own jwt (revocation).
    GuestJwt(&'a SecretString),
}

pub(super) fn malformed((endpoint, problem): (Endpoint, &'static str)) -> GenesysError {
    GenesysError::Malformed { endpoint, problem }
}
