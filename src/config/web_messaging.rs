//! `GENESYS_UPSTREAM_MODE` and the guest function's web messaging settings: the deployment, the
//! External Contacts source, and what the codes it issues bind (the redirect URI, a lifetime).
//! The provider's own settings (issuer, client secret, signing key) are the OIDC function's
//! (`super::oidc`); the guest function reads none of them.

use std::time::Duration;

use url::Url;

use super::ConfigError;
use super::vars::{up_to, url};

/// `GENESYS_UPSTREAM_MODE`: the owner's contract (default) or Genesys's public authenticated web
/// messaging, with the OIDC provider function as its OpenID Connect provider.
#[derive(Debug, Clone)]
pub enum UpstreamConfig {
    /// The owner's guest endpoints (`owner-contract`, the default).
    OwnerContract,
    /// Authenticated web messaging (`genesys-web-messaging`), with its settings.
    WebMessaging(Box<WebMessagingConfig>),
}

/// `GENESYS_UPSTREAM_MODE` value of the owner's contract.
pub const OWNER_CONTRACT_MODE: &str = "owner-contract";
/// `GENESYS_UPSTREAM_MODE` value of authenticated web messaging.
pub const WEB_MESSAGING_MODE: &str = "genesys-web-messaging";
/// The guest function's variables of web messaging mode: set in the owner's mode, they are refused.
const WEB_MESSAGING_VARS: [&str; 6] = [
    "GENESYS_DEPLOYMENT_ID",
    "GENESYS_EXTERNAL_SOURCE_ID",
    "OIDC_REDIRECT_URI",
    "OIDC_CODE_TTL_SECONDS",
    "OIDC_PKCE",
    "REFRESH_TOKEN_KMS_KEY_ID",
];

/// Default lifetime of an authorization code: long enough for Genesys to call back, no longer.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(60);
/// The longest `OIDC_CODE_TTL_SECONDS`: RFC 6749 §4.1.2 recommends at most ten minutes.
pub const MAX_CODE_LIFETIME_SECONDS: u64 = 600;

/// The guest function's settings of authenticated web messaging mode.
#[derive(Debug, Clone)]
pub struct WebMessagingConfig {
    /// `GENESYS_DEPLOYMENT_ID`: the web (messenger) deployment.
    pub deployment_id: String,
    /// `GENESYS_EXTERNAL_SOURCE_ID`: the External Contacts source the pseudonyms are ids of.
    pub external_source_id: String,
    /// `OIDC_REDIRECT_URI`: the redirect URI registered in the integration.
    pub redirect_uri: Url,
    /// `OIDC_CODE_TTL_SECONDS`.
    pub code_lifetime: Duration,
    /// `OIDC_PKCE`: `S256` (the broker makes a verifier for codes without a caller's challenge)
    /// or `off` (the default).
    pub pkce: bool,
    /// `REFRESH_TOKEN_KMS_KEY_ID`: the symmetric KMS key that seals the Genesys refresh tokens in
    /// the sessions table; unset, they are stored in plain text (local runs without KMS).
    pub refresh_token_key_id: Option<String>,
}

pub(super) fn upstream_config(get: &impl Fn(&str) -> Option<String>) -> Result<UpstreamConfig, ConfigError> {
    let invalid = ConfigError::invalid;
    match get("GENESYS_UPSTREAM_MODE").as_deref() {
        None | Some(OWNER_CONTRACT_MODE) => match WEB_MESSAGING_VARS.into_iter().find(|var| get(var).is_some()) {
            Some(var) => Err(invalid(
                "GENESYS_UPSTREAM_MODE",
                format!(
                    "must be {WEB_MESSAGING_MODE} when {var} is set (it is ignored in the {OWNER_CONTRACT_MODE} mode)"
                ),
            )),
            None => Ok(UpstreamConfig::OwnerContract),
        },
        Some(WEB_MESSAGING_MODE) => {
            let required = |var: &'static str| {
                get(var).ok_or_else(|| {
                    invalid(
                        var,
                        format!("is required when GENESYS_UPSTREAM_MODE is {WEB_MESSAGING_MODE}"),
                    )
                })
            };
            let redirect_uri = {
                required("OIDC_REDIRECT_URI")?;
                url(get, "OIDC_REDIRECT_URI")?.ok_or_else(|| invalid("OIDC_REDIRECT_URI", "is required".into()))?
            };
            Ok(UpstreamConfig::WebMessaging(Box::new(WebMessagingConfig {
                deployment_id: required("GENESYS_DEPLOYMENT_ID")?,
                external_source_id: required("GENESYS_EXTERNAL_SOURCE_ID")?,
                redirect_uri,
                code_lifetime: up_to(get, "OIDC_CODE_TTL_SECONDS", MAX_CODE_LIFETIME_SECONDS, "seconds")?
                    .map_or(DEFAULT_CODE_LIFETIME, Duration::from_secs),
                pkce: match get("OIDC_PKCE").as_deref() {
                    None | Some("off") => false,
                    Some("S256") => true,
                    Some(_) => return Err(invalid("OIDC_PKCE", "must be S256 or off".into())),
                },
                refresh_token_key_id: get("REFRESH_TOKEN_KMS_KEY_ID"),
            })))
        }
        Some(_) => Err(invalid(
            "GENESYS_UPSTREAM_MODE",
            format!("must be {OWNER_CONTRACT_MODE} or {WEB_MESSAGING_MODE}"),
        )),
    }
}
