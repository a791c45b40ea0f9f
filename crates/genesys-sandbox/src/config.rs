//! Start-up configuration of the Genesys sandbox.

mod env;
mod web_messaging;

use std::fmt;
use std::time::Duration;

pub use web_messaging::{
    ClientAuthMethod, DEFAULT_CONFIGURATION_ID, DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID,
    DEFAULT_INTEGRATION_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, OidcIntegration, WebDeployment,
    WebMessagingConfig,
};

/// Which key the guest-token response uses for its expiry; both spellings exist upstream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpiresAtKey {
    /// `"expires_at"`
    #[default]
    SnakeCase,
    /// `"expiresAt"`
    CamelCase,
}

impl ExpiresAtKey {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ExpiresAtKey::SnakeCase => "expires_at",
            ExpiresAtKey::CamelCase => "expiresAt",
        }
    }
}

#[derive(Clone)]
pub struct SandboxConfig {
    /// `(client_id, client_secret)` pairs accepted by `POST /oauth/token`.
    pub clients: Vec<(String, String)>,
    pub access_token_ttl: Duration,
    pub guest_token_ttl: Duration,
    pub expires_at_key: ExpiresAtKey,
    /// External contacts, web deployments and their OIDC integrations ("genesys-web-messaging").
    pub web_messaging: WebMessagingConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            clients: vec![("sandbox-client".to_owned(), "sandbox-secret".to_owned())],
            access_token_ttl: Duration::from_secs(3600),
            guest_token_ttl: Duration::from_secs(3600),
            expires_at_key: ExpiresAtKey::SnakeCase,
            web_messaging: WebMessagingConfig::default(),
        }
    }
}

// Hand-written so that printing a config can never leak a client secret.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.clients.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("SandboxConfig")
            .field("client_ids", &ids)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("guest_token_ttl", &self.guest_token_ttl)
            .field("expires_at_key", &self.expires_at_key)
            .field("web_messaging", &self.web_messaging)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_a_client_secret() {
        let printed = format!("{:?}", SandboxConfig::default());
        assert!(printed.contains("sandbox-client"));
        assert!(!printed.contains("sandbox-secret"));
        assert!(!printed.contains(DEFAULT_OIDC_CLIENT_SECRET));
    }
}
