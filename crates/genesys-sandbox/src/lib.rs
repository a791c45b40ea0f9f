//! An emulator of the Genesys Cloud upstream contract (OAuth login + guest API), in process or as
//! its own binary (`cargo run --bin genesys-sandbox`).
//!
//! It also emulates Genesys's side of the "genesys-web-messaging" mode: External Contacts
//! (`contacts`), the web deployment preflight (`deployments`), and web deployment tokens
//! (`web_tokens`), for which the sandbox, as Genesys does, is an OpenID Connect relying party of
//! the provider configured for the deployment's integration (`oidc`).
//!
//! It is the test double for Genesys everywhere: tests point the broker's real HTTP client at
//! it, script failures with [`Fault`]s and inspect what it received; the `local` runner embeds
//! it so the broker can run end to end without a Genesys org. It is a workspace member of its own:
//! the deployed Lambda crate does not depend on it.
//!
//! Modules import one way, each only from layers below its own (the `layering` test checks it):
//!
//! 1. vocabulary: `authorization` (the header's credentials), `config`, `endpoint` (the emulated
//!    operations and their paths), `inspection` (what tests read and tamper with), `json_body`,
//!    `jwt`, `records` (guests, contacts, sessions as stored) and `reply` (every answer's shape);
//! 2. building blocks: `fault` (scripted failures) and `oidc` (the relying party);
//! 3. the world: `state`, with its web-messaging sessions;
//! 4. endpoint handlers: `contacts`, `deployments`, `guests`, `oauth`, `oauth_clients` (Genesys's
//!    "Regenerate Client Secret", which the broker's rotation function calls), `web_tokens`;
//! 5. dispatch and serving: `routes` (path → handler, counting, faults) and `server` (HTTP).
//!
//! The crate root, [`Sandbox`], sits above them all.

// Layer 1: vocabulary.
mod authorization;
mod config;
mod endpoint;
mod inspection;
mod json_body;
mod jwt;
mod records;
mod reply;
// Layer 2: building blocks.
mod fault;
mod oidc;
// Layer 3: the world.
mod state;
// Layer 4: endpoint handlers.
mod contacts;
mod deployments;
mod guests;
mod oauth;
mod oauth_clients;
mod web_tokens;
// Layer 5: dispatch and serving.
mod routes;
pub mod server;

#[cfg(test)]
mod layering;
#[cfg(test)]
mod test_support;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;

use server::ServerHandle;
use state::{Shared, State, lock};

pub use config::{
    ClientAuthMethod, DEFAULT_CONFIGURATION_ID, DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID,
    DEFAULT_INTEGRATION_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, ExpiresAtKey, OidcIntegration,
    SandboxConfig, WebDeployment, WebMessagingConfig,
};
pub use endpoint::Endpoint;
pub use fault::Fault;
pub use inspection::{ExchangeRequestRecord, IdTokenTamper};
pub use oauth_clients::OAUTH_CLIENT_EDIT;
pub use oidc::ExchangeFailure;
pub use records::{ExternalContactRecord, ExternalId, GuestRecord, WebSessionRecord};

/// Handle to a running sandbox. Clones share state and server; the server stops when
/// `shutdown` is called on any clone or when the last clone is dropped.
#[derive(Clone)]
pub struct Sandbox {
    shared: Shared,
    addr: SocketAddr,
    base_url: String,
    server: Arc<Mutex<Option<ServerHandle>>>,
}

impl Sandbox {
    /// Starts on an ephemeral loopback port.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Sandbox::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(addr).await?;
        let shared: Shared = Arc::new(Mutex::new(State::new(config)));
        let handler_state = shared.clone();
        let server = server::spawn(listener, move |req| routes::handle(handler_state.clone(), req));
        Ok(Sandbox {
            shared,
            addr: server.local_addr(),
            base_url: server.base_url(),
            server: Arc::new(Mutex::new(Some(server))),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves both the login (OAuth) and the API paths, so use it for both base URLs.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Every request received at the endpoint's path, whatever its outcome.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        lock(&self.shared).calls(endpoint)
    }

    /// Queues a fault; each call to `endpoint` consumes at most one, first pushed first.
    pub fn push_fault(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.shared).push_fault(endpoint, fault);
    }

    /// Adds a client, or replaces the secret of (and reactivates) an existing one.
    pub fn add_client(&self, id: &str, secret: &str) {
        lock(&self.shared).add_client(id.to_owned(), secret.to_owned());
    }

    /// Adds a client whose access tokens carry `permissions` (e.g. [`OAUTH_CLIENT_EDIT`], an admin
    /// client that may regenerate other clients' secrets), or replaces an existing one.
    pub fn add_client_with_permissions(&self, id: &str, secret: &str, permissions: &[&str]) {
        let permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
        lock(&self.shared).add_client_with_permissions(id.to_owned(), secret.to_owned(), permissions);
    }

    /// What "Regenerate Client Secret" does, without a caller: a new secret, the old one refused
    /// and its access tokens revoked at once. The new secret, or `None` for an unknown id.
    pub fn regenerate_client_secret(&self, id: &str) -> Option<String> {
        lock(&self.shared).regenerate_secret(id)
    }

    /// The client's current secret (after a regeneration, the new one); `None` for an unknown id.
    pub fn client_secret(&self, id: &str) -> Option<String> {
        lock(&self.shared).client_secret(id)
    }

    /// Refuses the client's credentials from now on and invalidates its access tokens.
    pub fn revoke_client(&self, id: &str) {
        lock(&self.shared).revoke_client(id);
    }

    /// Every access token issued so far becomes expired; later grants are unaffected.
    pub fn expire_access_tokens(&self) {
        lock(&self.shared).expire_access_tokens();
    }

    pub fn set_guest_token_ttl(&self, ttl: Duration) {
        lock(&self.shared).guest_token_ttl = ttl;
    }

    /// Created guests, in creation order.
    pub fn guests(&self) -> Vec<GuestRecord> {
        lock(&self.shared).guests.clone()
    }

    /// The client id of every successful token grant, in order.
    pub fn oauth_client_ids(&self) -> Vec<String> {
        lock(&self.shared).oauth_grants.clone()
    }

    /// Points every integration at this OIDC issuer (the broker's URL is only known once it
    /// runs). Sessions already open are unaffected.
    pub fn set_oidc_issuer(&self, issuer: &str) {
        for integration in &mut lock(&self.shared).web.integrations {
            integration.issuer = Some(issuer.to_owned());
        }
    }

    /// Adds an integration, or replaces the one with the same id.
    pub fn put_integration(&self, integration: OidcIntegration) {
        let mut state = lock(&self.shared);
        state.web.integrations.retain(|known| known.id != integration.id);
        state.web.integrations.push(integration);
    }

    /// Adds a deployment, or replaces the one with the same id.
    pub fn put_deployment(&self, deployment: WebDeployment) {
        let mut state = lock(&self.shared);
        state.web.deployments.retain(|known| known.id != deployment.id);
        state.web.deployments.push(deployment);
    }

    pub fn set_web_jwt_ttl(&self, ttl: Duration) {
        lock(&self.shared).web.jwt_ttl = ttl;
    }

    /// Applies to sessions opened from now on.
    pub fn set_refresh_token_ttl(&self, ttl: Duration) {
        lock(&self.shared).web.refresh_token_ttl = ttl;
    }

    /// Every refresh token issued so far lapses now; later exchanges are unaffected.
    pub fn expire_refresh_tokens(&self) {
        lock(&self.shared).sessions.expire_refresh_tokens();
    }

    /// External contacts, in creation order.
    pub fn external_contacts(&self) -> Vec<ExternalContactRecord> {
        lock(&self.shared).contacts.clone()
    }

    /// Web-messaging sessions opened by successful exchanges, in order, revoked ones included.
    pub fn web_sessions(&self) -> Vec<WebSessionRecord> {
        lock(&self.shared).sessions.records()
    }

    /// Every refresh token the sandbox has issued, so a test can look for them where they must
    /// never be (a log line, a stored item in plain text).
    pub fn refresh_tokens_issued(&self) -> Vec<String> {
        lock(&self.shared).sessions.refresh_tokens()
    }

    /// Why each refused exchange was refused, in order.
    pub fn exchange_failures(&self) -> Vec<ExchangeFailure> {
        lock(&self.shared).exchange_failures.clone()
    }

    /// Every request received at the code exchange endpoint, in order, including those a scripted
    /// [`Fault`] answered (whose codes the sandbox never redeemed): what a test needs to replay a
    /// code a broker minted.
    pub fn exchange_requests(&self) -> Vec<ExchangeRequestRecord> {
        lock(&self.shared).exchange_requests.clone()
    }

    /// From now on, every id_token the sandbox obtains is altered as `tamper` says before it is
    /// verified (`None`: verified as received), so a test can show the verification refusing a
    /// provider's real tokens.
    pub fn tamper_id_tokens(&self, tamper: Option<IdTokenTamper>) {
        lock(&self.shared).id_token_tamper = tamper;
    }

    /// Requests the sandbox made to OIDC providers' token endpoints (code redemptions).
    pub fn provider_token_calls(&self) -> usize {
        lock(&self.shared).provider_token_calls
    }

    pub async fn shutdown(self) {
        let server = self.server.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{access_token, grant, start_default};
    use super::*;

    #[tokio::test]
    async fn shutdown_through_a_clone_stops_the_server_for_every_clone() {
        let sandbox = start_default().await;
        let clone = sandbox.clone();
        access_token(&sandbox).await;
        clone.shutdown().await;
        let result = reqwest::Client::new()
            .post(format!("{}/oauth/token", sandbox.base_url()))
            .send()
            .await;
        assert!(result.is_err());
        // A second shutdown finds nothing left to stop and must not panic.
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn configured_clients_are_all_accepted() {
        let config = SandboxConfig {
            clients: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config).await.unwrap();
        assert_eq!(grant(&sandbox, "a", "1").await.status(), 200);
        assert_eq!(grant(&sandbox, "b", "2").await.status(), 200);
        assert_eq!(grant(&sandbox, "sandbox-client", "sandbox-secret").await.status(), 401);
        assert_eq!(sandbox.oauth_client_ids(), ["a", "b"]);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn dropping_the_sandbox_without_shutdown_does_not_panic() {
        let sandbox = start_default().await;
        access_token(&sandbox).await;
        drop(sandbox);
    }
}
