//! The "genesys-web-messaging" side of the configuration: external contact sources, web
//! deployments with their messenger configuration, and the OpenID Connect integrations that
//! authenticated deployments trust.

use std::fmt;
use std::time::Duration;

/// Deployment, configuration, source and integration the default configuration holds, so that the
/// `local` runner and the binary work without any set-up beyond pointing the issuer somewhere.
pub const DEFAULT_DEPLOYMENT_ID: &str = "00000000-0000-4000-8000-00000000d001";
pub const DEFAULT_CONFIGURATION_ID: &str = "00000000-0000-4000-8000-00000000c001";
pub const DEFAULT_EXTERNAL_SOURCE_ID: &str = "00000000-0000-4000-8000-00000000e001";
pub const DEFAULT_INTEGRATION_ID: &str = "00000000-0000-4000-8000-00000000a001";
pub const DEFAULT_OIDC_CLIENT_ID: &str = "sandbox-oidc-client";
pub const DEFAULT_OIDC_CLIENT_SECRET: &str = "sandbox-oidc-client-secret-of-38-chars";

/// How the sandbox authenticates to the provider's token endpoint (OIDC Core §9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `Authorization: Basic base64(client_id:client_secret)` (form-urlencoded parts).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// An "OAuth 2.0 / OpenID Connect" integration as Genesys stores it for web messaging.
#[derive(Clone)]
pub struct OidcIntegration {
    pub id: String,
    /// The provider's issuer. Discovery is read from `{issuer}/.well-known/openid-configuration`
    /// and id_tokens must carry exactly this `iss`. `None` until known (the broker's URL is only
    /// known once it runs): exchanges then fail with [`crate::ExchangeFailure::NoIssuer`].
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub auth_method: ClientAuthMethod,
}

// Hand-written so that printing a config can never leak the client secret.
impl fmt::Debug for OidcIntegration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcIntegration")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

/// A web deployment and the one messenger configuration version it publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebDeployment {
    pub id: String,
    /// `"Active"` normally; Genesys also knows `"Pending"`, `"Inactive"`, `"Error"`, `"Deleting"`.
    pub status: String,
    pub configuration_id: String,
    /// Genesys spells versions as strings (`"1"`, `"2"`...).
    pub configuration_version: String,
    /// `authenticationSettings.enabled` of the configuration version.
    pub authentication_enabled: bool,
    /// `authenticationSettings.integrationId`: which [`OidcIntegration`] it trusts.
    pub integration_id: Option<String>,
}

/// Everything the web-messaging endpoints need. Every field has a default (see `Default`).
#[derive(Clone, Debug)]
pub struct WebMessagingConfig {
    /// External source ids that exist; enrich/lookup naming another one is refused with 400.
    pub external_source_ids: Vec<String>,
    pub deployments: Vec<WebDeployment>,
    pub integrations: Vec<OidcIntegration>,
    /// Lifetime of each web-messaging JWT (its `exp` is `iat` + this). Default 600 s.
    pub jwt_ttl: Duration,
    /// The integration's maximum refresh token lifetime, counted from the exchange and not
    /// extended by refreshes. Default 15 minutes, short on purpose so that local runs meet the
    /// "refresh token expired" path; tests can set it to zero.
    pub refresh_token_ttl: Duration,
}

impl Default for WebMessagingConfig {
    fn default() -> Self {
        WebMessagingConfig {
            external_source_ids: vec![DEFAULT_EXTERNAL_SOURCE_ID.to_owned()],
            deployments: vec![WebDeployment {
                id: DEFAULT_DEPLOYMENT_ID.to_owned(),
                status: "Active".to_owned(),
                configuration_id: DEFAULT_CONFIGURATION_ID.to_owned(),
                configuration_version: "1".to_owned(),
                authentication_enabled: true,
                integration_id: Some(DEFAULT_INTEGRATION_ID.to_owned()),
            }],
            integrations: vec![OidcIntegration {
                id: DEFAULT_INTEGRATION_ID.to_owned(),
                issuer: None,
                client_id: DEFAULT_OIDC_CLIENT_ID.to_owned(),
                client_secret: DEFAULT_OIDC_CLIENT_SECRET.to_owned(),
                auth_method: ClientAuthMethod::ClientSecretBasic,
            }],
            jwt_ttl: Duration::from_secs(600),
            refresh_token_ttl: Duration::from_secs(15 * 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_an_integration_secret() {
        let printed = format!("{:?}", WebMessagingConfig::default());
        assert!(printed.contains(DEFAULT_OIDC_CLIENT_ID));
        assert!(!printed.contains(DEFAULT_OIDC_CLIENT_SECRET));
    }

    #[test]
    fn default_deployment_trusts_the_default_integration() {
        let config = WebMessagingConfig::default();
        let deployment = &config.deployments[0];
        assert!(deployment.authentication_enabled);
        assert_eq!(
            deployment.integration_id.as_deref(),
            Some(config.integrations[0].id.as_str())
        );
    }
}
