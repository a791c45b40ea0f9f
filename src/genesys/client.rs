//! The Genesys client the broker calls: authenticated JSON calls with the status handling of the
//! upstream contract (401 → fresh access token, 429/5xx/transport → backoff, 403 → no retry).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::credentials::{CredentialSet, CredentialSource};
use crate::domain::{Deadline, GuestId, GuestToken};
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

    /// The credential set in force (it also carries the optional pseudonymisation key).
    pub async fn credential_set(&self) -> Result<Arc<CredentialSet>, GenesysError> {
        Ok(self.oauth.source().current().await?)
    }

    /// Makes sure an access token is cached (warm-up); creates nothing upstream.
    pub async fn ensure_access_token(&self, deadline: Deadline, metrics: &Metrics) -> Result<(), GenesysError> {
        self.oauth.access_token(deadline, metrics).await.map(drop)
    }

    pub async fn create_guest(
        &self,
        guest: &NewGuest,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<GuestId, GenesysError> {
        let created: CreatedGuest = self
            .post_json(Endpoint::CreateGuest, CREATE_GUEST_PATH, guest, deadline, metrics)
            .await?;
        created.into_guest_id().map_err(malformed)
    }

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
            .post_json(Endpoint::GuestToken, GUEST_TOKEN_PATH, &body, deadline, metrics)
            .await?;
        issued.into_guest_token().map_err(malformed)
    }

    async fn post_json<B, R>(
        &self,
        endpoint: Endpoint,
        path: &str,
        body: &B,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<R, GenesysError>
    where
        B: Serialize,
        R: DeserializeOwned,
    {
        let url = self.endpoints.api_url(path);
        with_retries(&self.retry, deadline, endpoint, metrics, |_| {
            self.post_once(endpoint, &url, body, deadline, metrics)
        })
        .await
    }

    async fn post_once<B, R>(
        &self,
        endpoint: Endpoint,
        url: &url::Url,
        body: &B,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Step<R, GenesysError>
    where
        B: Serialize,
        R: DeserializeOwned,
    {
        let token = match self.oauth.access_token(deadline, metrics).await {
            Ok(token) => token,
            Err(err) => return Step::Fail(err),
        };
        let http = match self.http.client().await {
            Ok(http) => http,
            Err(err) => return Step::Fail(err),
        };
        let request = http.post(url.clone()).bearer_auth(token.bearer()).json(body);
        let response = match send_attempt(&self.retry, deadline, endpoint, self.http.xray(), metrics, request).await {
            Ok(response) => response,
            Err(step) => return step,
        };
        match response.status().as_u16() {
            200..=299 => match read_json::<R>(response).await {
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
            },
            401 => {
                log_failed_answer(endpoint, &response);
                // The access token expired or was revoked early: fetch a new one and go again.
                self.oauth.invalidate(&token).await;
                Step::Retry {
                    after: Some(Duration::ZERO),
                    reason: "access token refused (HTTP 401)".into(),
                }
            }
            _ => step_for_status(endpoint, &response, metrics),
        }
    }
}

fn malformed((endpoint, problem): (Endpoint, &'static str)) -> GenesysError {
    GenesysError::Malformed { endpoint, problem }
}
