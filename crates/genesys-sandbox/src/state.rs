//! The sandbox's mutable world: clients, issued access tokens, guests, external contacts,
//! web-messaging sessions, counters and faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::time::Instant;

mod web_sessions;

use super::authorization::authorization;
use super::config::{ExpiresAtKey, SandboxConfig, WebMessagingConfig};
use super::endpoint::Endpoint;
use super::fault::Fault;
use super::inspection::{ExchangeRequestRecord, IdTokenTamper};
use super::jwt::JwtSigner;
use super::oidc::{self, ExchangeFailure};
use super::records::{ExternalContactRecord, GuestRecord};

pub(crate) use web_sessions::{RefreshRefusal, Sessions};

pub(crate) type Shared = Arc<Mutex<State>>;

/// Poisoning only means some test thread panicked mid-update; the data is still usable and
/// the sandbox must keep answering so that the real failure is the one reported.
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Client {
    secret: String,
    active: bool,
    /// What its access tokens may do beyond the guest and web messaging calls, e.g.
    /// `oauth:client:edit` (regenerating client secrets).
    permissions: Vec<String>,
}

struct AccessToken {
    client_id: String,
    // tokio's clock, so tests running on paused time can let tokens lapse without sleeping.
    expires_at: Instant,
}

/// Why a client credential was refused; upstream words the two cases differently.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ClientRefusal {
    Unknown,
    Inactive,
}

pub(crate) struct State {
    clients: HashMap<String, Client>,
    access_tokens: HashMap<String, AccessToken>,
    pub(crate) access_token_ttl: Duration,
    pub(crate) guest_token_ttl: Duration,
    pub(crate) expires_at_key: ExpiresAtKey,
    calls: HashMap<Endpoint, usize>,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    pub(crate) guests: Vec<GuestRecord>,
    pub(crate) oauth_grants: Vec<String>,
    pub(crate) web: WebMessagingConfig,
    pub(crate) contacts: Vec<ExternalContactRecord>,
    pub(crate) sessions: Sessions,
    pub(crate) exchange_failures: Vec<ExchangeFailure>,
    /// Requests the sandbox made to OIDC providers' token endpoints.
    pub(crate) provider_token_calls: usize,
    pub(crate) jwt_signer: JwtSigner,
    /// Every code exchange request, faulted ones included (test inspection).
    pub(crate) exchange_requests: Vec<ExchangeRequestRecord>,
    /// How id_tokens are altered before verification, if at all (test lever).
    pub(crate) id_token_tamper: Option<IdTokenTamper>,
    provider_http: Option<reqwest::Client>,
}

impl State {
    pub(crate) fn new(config: SandboxConfig) -> State {
        let mut state = State {
            clients: HashMap::new(),
            access_tokens: HashMap::new(),
            access_token_ttl: config.access_token_ttl,
            guest_token_ttl: config.guest_token_ttl,
            expires_at_key: config.expires_at_key,
            calls: HashMap::new(),
            faults: HashMap::new(),
            guests: Vec::new(),
            oauth_grants: Vec::new(),
            web: config.web_messaging,
            contacts: Vec::new(),
            sessions: Sessions::default(),
            exchange_failures: Vec::new(),
            provider_token_calls: 0,
            jwt_signer: JwtSigner::new(),
            exchange_requests: Vec::new(),
            id_token_tamper: None,
            provider_http: None,
        };
        for (id, secret) in config.clients {
            state.add_client(id, secret);
        }
        state
    }

    /// Registers or re-registers a client; re-adding a revoked id reactivates it.
    pub(crate) fn add_client(&mut self, id: String, secret: String) {
        self.add_client_with_permissions(id, secret, Vec::new());
    }

    /// Like [`State::add_client`], the client's access tokens carrying `permissions`.
    pub(crate) fn add_client_with_permissions(&mut self, id: String, secret: String, permissions: Vec<String>) {
        self.clients.insert(
            id,
            Client {
                secret,
                active: true,
                permissions,
            },
        );
    }

    /// Gives the client a new random secret, as Genesys's "Regenerate Client Secret" does: the
    /// old one is refused from now on and the access tokens obtained with it stop working.
    /// `None` for an unknown client.
    pub(crate) fn regenerate_secret(&mut self, id: &str) -> Option<String> {
        let client = self.clients.get_mut(id)?;
        client.secret = random_token(32);
        let secret = client.secret.clone();
        self.access_tokens.retain(|_, token| token.client_id != id);
        Some(secret)
    }

    /// The client's secret as the sandbox holds it (test inspection).
    pub(crate) fn client_secret(&self, id: &str) -> Option<String> {
        self.clients.get(id).map(|client| client.secret.clone())
    }

    /// The client a `Bearer` access token of `req` was issued to, if the sandbox honours it.
    pub(crate) fn bearer_client(&self, req: &http::Request<bytes::Bytes>) -> Option<&str> {
        self.token_client(authorization(req.headers(), "Bearer")?)
    }

    /// Whether the client's access tokens carry `permission`.
    pub(crate) fn client_has_permission(&self, id: &str, permission: &str) -> bool {
        self.clients
            .get(id)
            .is_some_and(|client| client.permissions.iter().any(|p| p == permission))
    }

    pub(crate) fn revoke_client(&mut self, id: &str) {
        if let Some(client) = self.clients.get_mut(id) {
            client.active = false;
        }
        // Dropped rather than flagged so that re-adding the client cannot revive them.
        self.access_tokens.retain(|_, token| token.client_id != id);
    }

    /// A revoked client is reported as inactive whatever secret is presented, as upstream does.
    pub(crate) fn authenticate(&self, id: &str, secret: &str) -> Result<(), ClientRefusal> {
        match self.clients.get(id) {
            None => Err(ClientRefusal::Unknown),
            Some(client) if !client.active => Err(ClientRefusal::Inactive),
            Some(client) if client.secret != secret => Err(ClientRefusal::Unknown),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn issue_access_token(&mut self, client_id: &str) -> String {
        let token = random_token(32);
        let expires_at = Instant::now()
            .checked_add(self.access_token_ttl)
            .unwrap_or_else(far_future);
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                client_id: client_id.to_owned(),
                expires_at,
            },
        );
        self.oauth_grants.push(client_id.to_owned());
        token
    }

    /// Whether `req` carries a `Bearer` access token this sandbox issued and still honours.
    pub(crate) fn authorizes(&self, req: &http::Request<bytes::Bytes>) -> bool {
        self.bearer_client(req).is_some()
    }

    /// The client an access token was issued to, while the sandbox honours it.
    pub(crate) fn token_client(&self, token: &str) -> Option<&str> {
        self.access_tokens
            .get(token)
            .filter(|t| Instant::now() < t.expires_at)
            .map(|t| t.client_id.as_str())
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        for token in self.access_tokens.values_mut() {
            token.expires_at = now;
        }
    }

    pub(crate) fn external_source_exists(&self, id: &str) -> bool {
        self.web.external_source_ids.iter().any(|known| known == id)
    }

    /// The HTTP client for OIDC providers, built on first use.
    pub(crate) fn provider_http(&mut self) -> Result<reqwest::Client, ExchangeFailure> {
        if let Some(client) = &self.provider_http {
            return Ok(client.clone());
        }
        let client = oidc::new_http_client()?;
        self.provider_http = Some(client.clone());
        Ok(client)
    }

    pub(crate) fn guest_exists(&self, id: &str) -> bool {
        self.guests.iter().any(|guest| guest.id == id)
    }

    pub(crate) fn record_call(&mut self, endpoint: Endpoint) {
        *self.calls.entry(endpoint).or_default() += 1;
    }

    pub(crate) fn calls(&self, endpoint: Endpoint) -> usize {
        self.calls.get(&endpoint).copied().unwrap_or(0)
    }

    pub(crate) fn push_fault(&mut self, endpoint: Endpoint, fault: Fault) {
        self.faults.entry(endpoint).or_default().push_back(fault);
    }

    pub(crate) fn pop_fault(&mut self, endpoint: Endpoint) -> Option<Fault> {
        self.faults.get_mut(&endpoint)?.pop_front()
    }
}

/// Opaque URL-safe random string; not cryptographically strong, which a test double never needs.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    fastrand::fill(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

pub(crate) fn far_future() -> Instant {
    // About thirty years: effectively "never" for a TTL too large to add to the clock.
    Instant::now() + Duration::from_secs(60 * 60 * 24 * 365 * 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(SandboxConfig::default())
    }

    #[test]
    fn known_client_with_right_secret_is_authenticated() {
        assert_eq!(state().authenticate("sandbox-client", "sandbox-secret"), Ok(()));
    }

    #[test]
    fn wrong_secret_and_unknown_id_are_both_unknown() {
        let state = state();
        assert_eq!(
            state.authenticate("sandbox-client", "nope"),
            Err(ClientRefusal::Unknown)
        );
        assert_eq!(
            state.authenticate("nobody", "sandbox-secret"),
            Err(ClientRefusal::Unknown)
        );
    }

    #[test]
    fn re_adding_a_revoked_client_does_not_revive_its_old_tokens() {
        let mut state = state();
        let token = state.issue_access_token("sandbox-client");
        state.revoke_client("sandbox-client");
        state.add_client("sandbox-client".into(), "sandbox-secret".into());
        assert!(state.token_client(&token).is_none());
        assert_eq!(state.authenticate("sandbox-client", "sandbox-secret"), Ok(()));
    }

    #[test]
    fn huge_access_token_ttl_does_not_overflow() {
        let mut state = State::new(SandboxConfig {
            access_token_ttl: Duration::MAX,
            ..SandboxConfig::default()
        });
        let token = state.issue_access_token("sandbox-client");
        assert_eq!(state.token_client(&token), Some("sandbox-client"));
    }
}
