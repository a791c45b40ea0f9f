//! The binary's environment variables for the web-messaging section, read through a lookup
//! function so that tests need not touch the process environment.

use std::time::Duration;

use super::{ClientAuthMethod, SandboxConfig};

/// Issuer URL of the OIDC provider (the broker); unset leaves it unknown until set at run time.
pub const ENV_OIDC_ISSUER: &str = "GENESYS_SANDBOX_OIDC_ISSUER";
pub const ENV_OIDC_CLIENT_ID: &str = "GENESYS_SANDBOX_OIDC_CLIENT_ID";
pub const ENV_OIDC_CLIENT_SECRET: &str = "GENESYS_SANDBOX_OIDC_CLIENT_SECRET";
/// `client_secret_basic` (default) or `client_secret_post`.
pub const ENV_OIDC_AUTH_METHOD: &str = "GENESYS_SANDBOX_OIDC_AUTH_METHOD";
pub const ENV_DEPLOYMENT_ID: &str = "GENESYS_SANDBOX_DEPLOYMENT_ID";
pub const ENV_EXTERNAL_SOURCE_ID: &str = "GENESYS_SANDBOX_EXTERNAL_SOURCE_ID";
pub const ENV_WEB_JWT_TTL_SECS: &str = "GENESYS_SANDBOX_WEB_JWT_TTL_SECS";
pub const ENV_REFRESH_TOKEN_TTL_SECS: &str = "GENESYS_SANDBOX_REFRESH_TOKEN_TTL_SECS";

impl SandboxConfig {
    /// Overrides the default deployment, external source and integration from the variables
    /// above (`lookup` is `std::env::var(..).ok()` in the binary). An error names the variable.
    pub fn with_web_messaging_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<SandboxConfig, String> {
        let web = &mut self.web_messaging;
        if let (Some(id), Some(deployment)) = (lookup(ENV_DEPLOYMENT_ID), web.deployments.first_mut()) {
            deployment.id = id;
        }
        if let (Some(id), Some(source)) = (lookup(ENV_EXTERNAL_SOURCE_ID), web.external_source_ids.first_mut()) {
            *source = id;
        }
        if let Some(integration) = web.integrations.first_mut() {
            if let Some(issuer) = lookup(ENV_OIDC_ISSUER) {
                integration.issuer = Some(issuer);
            }
            if let Some(id) = lookup(ENV_OIDC_CLIENT_ID) {
                integration.client_id = id;
            }
            if let Some(secret) = lookup(ENV_OIDC_CLIENT_SECRET) {
                integration.client_secret = secret;
            }
            match lookup(ENV_OIDC_AUTH_METHOD).as_deref() {
                None | Some("client_secret_basic") => {}
                Some("client_secret_post") => integration.auth_method = ClientAuthMethod::ClientSecretPost,
                Some(_) => {
                    return Err(format!(
                        "{ENV_OIDC_AUTH_METHOD} must be client_secret_basic or client_secret_post"
                    ));
                }
            }
        }
        if let Some(ttl) = seconds(&lookup, ENV_WEB_JWT_TTL_SECS)? {
            web.jwt_ttl = ttl;
        }
        if let Some(ttl) = seconds(&lookup, ENV_REFRESH_TOKEN_TTL_SECS)? {
            web.refresh_token_ttl = ttl;
        }
        Ok(self)
    }
}

fn seconds(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<Duration>, String> {
    lookup(name)
        .map(|value| {
            value
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| format!("{name} must be a whole number of seconds"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<SandboxConfig, String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        SandboxConfig::default()
            .with_web_messaging_env(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn variables_override_the_defaults() {
        let config = from(&[
            (ENV_OIDC_ISSUER, "http://127.0.0.1:9000"),
            (ENV_OIDC_CLIENT_ID, "cid"),
            (ENV_OIDC_CLIENT_SECRET, "cs"),
            (ENV_OIDC_AUTH_METHOD, "client_secret_post"),
            (ENV_DEPLOYMENT_ID, "dep"),
            (ENV_EXTERNAL_SOURCE_ID, "src"),
            (ENV_WEB_JWT_TTL_SECS, "30"),
            (ENV_REFRESH_TOKEN_TTL_SECS, "60"),
        ])
        .unwrap();
        let web = config.web_messaging;
        let integration = &web.integrations[0];
        assert_eq!(integration.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            (integration.client_id.as_str(), integration.client_secret.as_str()),
            ("cid", "cs")
        );
        assert_eq!(integration.auth_method, ClientAuthMethod::ClientSecretPost);
        assert_eq!(web.deployments[0].id, "dep");
        assert_eq!(web.external_source_ids, ["src"]);
        assert_eq!((web.jwt_ttl.as_secs(), web.refresh_token_ttl.as_secs()), (30, 60));
    }

    #[test]
    fn nothing_set_keeps_the_defaults_and_bad_values_are_errors() {
        assert_eq!(
            format!("{:?}", from(&[]).unwrap()),
            format!("{:?}", SandboxConfig::default())
        );
        assert!(from(&[(ENV_OIDC_AUTH_METHOD, "private_key_jwt")]).is_err());
        assert!(from(&[(ENV_WEB_JWT_TTL_SECS, "ten")]).is_err());
    }
}
