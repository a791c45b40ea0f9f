//! OAuth client-credentials against `{login}/oauth/token`: one cached access token per client,
//! one token request shared by concurrent callers, and rotation to the next client of the set when
//! Genesys refuses one (`invalid_client`), re-reading the set once when all are refused.

mod answer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::domain::Deadline;
use crate::secrets::{Credential, CredentialSet, CredentialSource};
use crate::telemetry::Metrics;

use super::http::{LazyHttp, read_json};
use super::retry::{Step, log_failed_answer, retry_after, send_attempt, step_for_status, with_retries};
use super::{Endpoint, GenesysEndpoints, GenesysError, RetryPolicy};
use answer::{OAuthErrorBody, TokenResponse};

/// A bearer token and the client it belongs to.
#[derive(Clone)]
pub(crate) struct AccessToken {
    value: SecretString,
    client_id: Arc<str>,
    usable_until: Instant,
}

impl AccessToken {
    pub(crate) fn bearer(&self) -> &str {
        self.value.expose_secret()
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

pub(crate) struct OAuth {
    http: LazyHttp,
    token_url: url::Url,
    source: Arc<dyn CredentialSource>,
    retry: RetryPolicy,
    /// The credential that last worked, so later requests start there.
    preference: Mutex<Preference>,
    slots: Mutex<HashMap<Arc<str>, Slot>>,
    /// Credentials Genesys refused (`invalid_client`), by fingerprint, and when: skipped until
    /// the secret holds something else for them or [`REFUSAL_MEMORY`] has passed, so a refused
    /// set costs one OAuth call per credential and instance, not one per request.
    refused: Mutex<HashMap<[u8; 32], Instant>>,
}

/// Where in which set requests start: the credential that last worked, until the set itself
/// changes (a rotation, picked up by a re-read). A changed set starts again from its own first
/// credential, so a client whose secret was regenerated is used again once its new secret is
/// read, instead of the fleet staying on the credential it moved to during the rotation.
#[derive(Default)]
struct Preference {
    /// The set `index` points into (`None` before the first request).
    set: Option<Arc<CredentialSet>>,
    index: usize,
}

/// How long a refusal is remembered for the same client id and secret: long enough that a
/// refused set does not hammer Genesys, short enough that a client re-enabled in Genesys is used
/// again without a restart.
const REFUSAL_MEMORY: Duration = Duration::from_secs(600);

/// Identifies a credential by id and secret without keeping another copy of the secret.
fn fingerprint(credential: &Credential) -> [u8; 32] {
    use sha2::Digest;
    let mut digest = sha2::Sha256::new();
    digest.update(credential.client_id.as_bytes());
    digest.update([0]);
    digest.update(credential.client_secret.expose_secret().as_bytes());
    digest.finalize().into()
}

/// Why one credential did not yield a token.
enum FetchError {
    Refused,
    Other(GenesysError),
}

impl From<GenesysError> for FetchError {
    fn from(err: GenesysError) -> Self {
        Self::Other(err)
    }
}

impl OAuth {
    pub(crate) fn new(
        http: LazyHttp,
        endpoints: &GenesysEndpoints,
        source: Arc<dyn CredentialSource>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            token_url: endpoints.login_url("/oauth/token"),
            source,
            retry,
            preference: Mutex::default(),
            slots: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// A usable access token from the first credential Genesys accepts.
    pub(crate) async fn access_token(
        &self,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<AccessToken, GenesysError> {
        let set = self.source.current().await?;
        if let Some(token) = self.first_accepted(&set, deadline, metrics).await? {
            return Ok(token);
        }
        // Every credential we hold was refused: the secret may have been rotated since we read it.
        let reloaded = self.source.reload().await?;
        if !reloaded.same_clients(&set) {
            tracing::info!("credential set changed on re-read; trying its credentials");
            if let Some(token) = self.first_accepted(&reloaded, deadline, metrics).await? {
                return Ok(token);
            }
        }
        tracing::error!("Genesys refused every configured OAuth client credential");
        Err(GenesysError::CredentialsRefused)
    }

    /// Forgets `token` after Genesys answered 401 to it, unless a newer token already replaced it.
    pub(crate) async fn invalidate(&self, token: &AccessToken) {
        let slot = self.slot(&token.client_id);
        let mut cached = slot.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.value.expose_secret() == token.value.expose_secret())
        {
            *cached = None;
        }
    }

    /// Whether Genesys grants `credential` a token now (`false`: `invalid_client`), apart from the
    /// set in force and its caches: how the rotation function checks a credential before and
    /// after it changes one. The token itself is not kept.
    pub(crate) async fn accepts(
        &self,
        credential: &Credential,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<bool, GenesysError> {
        let granted = with_retries(&self.retry, deadline, Endpoint::OAuthToken, metrics, |_| {
            self.request_token(credential, deadline, metrics)
        })
        .await;
        match granted {
            Ok(_) => Ok(true),
            Err(FetchError::Refused) => Ok(false),
            Err(FetchError::Other(err)) => Err(err),
        }
    }

    async fn first_accepted(
        &self,
        set: &Arc<CredentialSet>,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<Option<AccessToken>, GenesysError> {
        let credentials = set.credentials();
        let start = self.start_in(set) % credentials.len();
        for offset in 0..credentials.len() {
            let index = (start + offset) % credentials.len();
            let credential = &credentials[index];
            if self.known_refused(credential) {
                continue;
            }
            match self.token_for(credential, deadline, metrics).await {
                Ok(token) => {
                    if index != start {
                        self.prefer(set, index);
                    }
                    return Ok(Some(token));
                }
                Err(FetchError::Refused) => {
                    self.lock_refused().insert(fingerprint(credential), Instant::now());
                    tracing::warn!(client_id = %credential.client_id, "Genesys refused OAuth client (invalid_client); rotating to the next credential");
                    metrics.credential_rotation();
                }
                Err(FetchError::Other(err)) => return Err(err),
            }
        }
        Ok(None)
    }

    /// Where in `set` to start: the credential that last worked, or the set's first when the set
    /// is another than the one that credential was found in (compared by content when it is a
    /// new read: a re-read of an unchanged secret keeps the preference).
    fn start_in(&self, set: &Arc<CredentialSet>) -> usize {
        let mut preference = lock(&self.preference);
        let changed = match &preference.set {
            Some(known) if Arc::ptr_eq(known, set) => return preference.index,
            Some(known) => !known.same_clients(set),
            None => false,
        };
        if changed {
            tracing::info!("the credential set changed; trying its credentials in its own order again");
            preference.index = 0;
        }
        preference.set = Some(Arc::clone(set));
        preference.index
    }

    /// Later requests on `set` start at `index`.
    fn prefer(&self, set: &Arc<CredentialSet>, index: usize) {
        let mut preference = lock(&self.preference);
        if preference.set.as_ref().is_some_and(|known| Arc::ptr_eq(known, set)) {
            preference.index = index;
        }
    }

    fn lock_refused(&self) -> MutexGuard<'_, HashMap<[u8; 32], Instant>> {
        lock(&self.refused)
    }

    /// Whether Genesys refused this very credential recently (forgetting stale refusals).
    fn known_refused(&self, credential: &Credential) -> bool {
        let mut refused = self.lock_refused();
        refused.retain(|_, at| at.elapsed() < REFUSAL_MEMORY);
        refused.contains_key(&fingerprint(credential))
    }

    fn slot(&self, client_id: &str) -> Slot {
        let mut slots = lock(&self.slots);
        Arc::clone(slots.entry(Arc::from(client_id)).or_default())
    }

    /// The cached token of `credential`, or a new one; callers arriving meanwhile wait on the slot
    /// and share the result instead of sending their own request.
    async fn token_for(
        &self,
        credential: &Credential,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<AccessToken, FetchError> {
        let slot = self.slot(&credential.client_id);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.usable_until) {
            return Ok(token.clone());
        }
        *cached = None;
        let token = with_retries(&self.retry, deadline, Endpoint::OAuthToken, metrics, |_| {
            self.request_token(credential, deadline, metrics)
        })
        .await?;
        // Once per token and client (hours apart): which client each instance uses, in its log.
        tracing::info!(client_id = %credential.client_id, "obtained a Genesys access token");
        *cached = Some(token.clone());
        Ok(token)
    }

    async fn request_token(
        &self,
        credential: &Credential,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Step<AccessToken, FetchError> {
        let http = match self.http.client().await {
            Ok(http) => http,
            Err(err) => return Step::Fail(err.into()),
        };
        let request = http
            .post(self.token_url.clone())
            .basic_auth(&credential.client_id, Some(credential.client_secret.expose_secret()))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials");
        let response = match send_attempt(
            &self.retry,
            deadline,
            Endpoint::OAuthToken,
            self.http.xray(),
            metrics,
            request,
        )
        .await
        {
            Ok(response) => response,
            Err(step) => return step,
        };
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return match read_json::<TokenResponse>(response).await {
                Ok(body) if !body.access_token.is_empty() => Step::Done(AccessToken {
                    usable_until: Instant::now() + body.usable_for(),
                    value: SecretString::from(body.access_token),
                    client_id: Arc::from(credential.client_id.as_str()),
                }),
                _ => Step::Fail(FetchError::Other(GenesysError::Malformed {
                    endpoint: Endpoint::OAuthToken,
                    problem: "no access_token/expires_in",
                })),
            };
        }
        if !matches!(status, 400 | 401) {
            return step_for_status(Endpoint::OAuthToken, &response, metrics);
        }
        // The login server says in its body whether this client is refused or it is rate limiting.
        log_failed_answer(Endpoint::OAuthToken, &response);
        let wait = retry_after(&response);
        let body: OAuthErrorBody = read_json(response).await.unwrap_or_default();
        match body.error.as_str() {
            "invalid_client" => Step::Fail(FetchError::Refused),
            "invalid_request" if status == 400 && body.description.to_ascii_lowercase().contains("rate limit") => {
                metrics.genesys_rate_limited();
                Step::Retry {
                    after: wait,
                    reason: "rate limited (invalid_request: rate limit exceeded)".into(),
                }
            }
            _ => Step::Fail(FetchError::Other(GenesysError::Rejected {
                endpoint: Endpoint::OAuthToken,
                status,
            })),
        }
    }
}

/// Poisoning only means a thread panicked mid-update; the maps stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
