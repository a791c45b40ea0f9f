//! The OpenID Connect provider function's configuration (`oidc-provider`): its issuer, the
//! integration's client, the signing key, the table its codes are in, and lifetimes.

use std::time::Duration;

use url::Url;

use super::vars::{deadline_margin, number, trimmed, up_to, url};
use super::{ClientCredentials, ConfigError, DEFAULT_CREDENTIALS_CACHE, DEFAULT_SESSIONS_TABLE};
use crate::secrets::MIN_OIDC_CLIENT_SECRET_CHARS;

/// The shortest time the integration's client secret is cached, whatever
/// `CREDENTIALS_CACHE_SECONDS` says: a shorter one would let any caller of the public token
/// endpoint make the function read Secrets Manager that much more often.
pub const MIN_OIDC_CLIENT_CACHE: Duration = Duration::from_secs(30);

/// Default lifetime of an id_token: Genesys checks it once, during the exchange.
pub const DEFAULT_ID_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// The longest `OIDC_ID_TOKEN_TTL_SECONDS`: an hour, far more than the exchange needs.
pub const MAX_ID_TOKEN_LIFETIME_SECONDS: u64 = 3600;

/// The OpenID Connect provider function's configuration.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// `OIDC_ISSUER`: the provider's public base URL, `iss` of its id_tokens.
    pub issuer: Url,
    /// The Genesys integration's client, the one client allowed to redeem codes.
    pub client: OidcClientConfig,
    /// What signs the id_tokens.
    pub signing_key: SigningKeyConfig,
    /// `OIDC_ID_TOKEN_TTL_SECONDS`.
    pub id_token_lifetime: Duration,
    /// `SESSIONS_TABLE`: the codes are items of the sessions table.
    pub sessions_table: String,
    /// `DEADLINE_MARGIN_MS`: kept free before the Lambda deadline (default
    /// [`DEFAULT_DEADLINE_MARGIN`]).
    pub deadline_margin: Duration,
}

/// Where the integration's client id and secret come from.
#[derive(Debug, Clone)]
pub enum OidcClientConfig {
    /// `OIDC_CLIENT_SECRET_ID`: JSON `{"client_id", "client_secret"}`, cached
    /// `CREDENTIALS_CACHE_SECONDS`, at least [`MIN_OIDC_CLIENT_CACHE`].
    SecretsManager {
        /// The secret's id or ARN.
        secret_id: String,
        /// How long the secret is cached (default [`DEFAULT_CREDENTIALS_CACHE`]).
        cache_ttl: Duration,
    },
    /// `OIDC_CLIENT_ID` and `OIDC_CLIENT_SECRET` (local runs).
    Environment(ClientCredentials),
}

/// What signs id_tokens.
#[derive(Clone)]
pub enum SigningKeyConfig {
    /// `OIDC_SIGNING_KEY_ID`, and `OIDC_PREVIOUS_SIGNING_KEY_IDS` and
    /// `OIDC_NEXT_SIGNING_KEY_IDS` published beside it.
    Kms {
        /// The asymmetric KMS key that signs (RS256).
        key_id: String,
        /// Keys that signed before a rotation, still published in the JWKS.
        previous: Vec<String>,
        /// Keys that will sign after a rotation, published before they do, so that every
        /// verifier's cached JWKS already holds them when they start.
        next: Vec<String>,
    },
    /// `OIDC_LOCAL_SIGNING_KEY`: an RSA private key, PKCS#8 PEM (local runs).
    Local(secrecy::SecretSlice<u8>),
}

impl std::fmt::Debug for SigningKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kms { key_id, previous, next } => f
                .debug_struct("Kms")
                .field("key_id", key_id)
                .field("previous", previous)
                .field("next", next)
                .finish(),
            Self::Local(_) => f.write_str("Local(<redacted>)"),
        }
    }
}

impl OidcConfig {
    /// Reads the provider function's configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(super::process_env)
    }

    /// Reads the configuration from `lookup` (variable name to value); blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = trimmed(&lookup);
        let invalid = ConfigError::invalid;
        let issuer = url(&get, "OIDC_ISSUER")?.ok_or_else(|| invalid("OIDC_ISSUER", "is required"))?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(invalid("OIDC_ISSUER", "must have no query or fragment"));
        }
        Ok(Self {
            issuer,
            client: client_config(&get)?,
            signing_key: signing_key_config(&get)?,
            id_token_lifetime: up_to(
                &get,
                "OIDC_ID_TOKEN_TTL_SECONDS",
                MAX_ID_TOKEN_LIFETIME_SECONDS,
                "seconds",
            )?
            .map_or(DEFAULT_ID_TOKEN_LIFETIME, Duration::from_secs),
            sessions_table: get("SESSIONS_TABLE").unwrap_or_else(|| DEFAULT_SESSIONS_TABLE.to_owned()),
            deadline_margin: deadline_margin(&get)?,
        })
    }
}

fn client_config(get: &impl Fn(&str) -> Option<String>) -> Result<OidcClientConfig, ConfigError> {
    let invalid = ConfigError::invalid;
    match (
        get("OIDC_CLIENT_SECRET_ID"),
        get("OIDC_CLIENT_ID"),
        get("OIDC_CLIENT_SECRET"),
    ) {
        (Some(secret_id), None, None) => Ok(OidcClientConfig::SecretsManager {
            secret_id,
            cache_ttl: number(get, "CREDENTIALS_CACHE_SECONDS")?
                .map_or(DEFAULT_CREDENTIALS_CACHE, Duration::from_secs)
                .max(MIN_OIDC_CLIENT_CACHE),
        }),
        (None, Some(_), Some(secret)) if secret.chars().count() < MIN_OIDC_CLIENT_SECRET_CHARS => {
            Err(ConfigError::invalid(
                "OIDC_CLIENT_SECRET",
                format!("must be at least {MIN_OIDC_CLIENT_SECRET_CHARS} characters"),
            ))
        }
        (None, Some(client_id), Some(secret)) => Ok(OidcClientConfig::Environment(ClientCredentials {
            client_id,
            client_secret: secrecy::SecretString::from(secret),
        })),
        (Some(_), _, _) => Err(invalid(
            "OIDC_CLIENT_SECRET_ID",
            "must not be set together with OIDC_CLIENT_ID / OIDC_CLIENT_SECRET",
        )),
        _ => Err(invalid(
            "OIDC_CLIENT_SECRET_ID",
            "is required (or OIDC_CLIENT_ID and OIDC_CLIENT_SECRET for local runs)",
        )),
    }
}

/// A comma-separated list of key ids; blanks between commas are skipped.
fn key_ids(get: &impl Fn(&str) -> Option<String>, var: &str) -> Vec<String> {
    get(var)
        .map(|ids| {
            ids.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn signing_key_config(get: &impl Fn(&str) -> Option<String>) -> Result<SigningKeyConfig, ConfigError> {
    let invalid = ConfigError::invalid;
    match (get("OIDC_SIGNING_KEY_ID"), get("OIDC_LOCAL_SIGNING_KEY")) {
        (Some(key_id), None) => {
            let next = key_ids(get, "OIDC_NEXT_SIGNING_KEY_IDS");
            if next.contains(&key_id) {
                return Err(invalid(
                    "OIDC_NEXT_SIGNING_KEY_IDS",
                    "must not list OIDC_SIGNING_KEY_ID: the key signs already (move it to OIDC_PREVIOUS_SIGNING_KEY_IDS when it is rotated out)",
                ));
            }
            Ok(SigningKeyConfig::Kms {
                key_id,
                previous: key_ids(get, "OIDC_PREVIOUS_SIGNING_KEY_IDS"),
                next,
            })
        }
        (None, Some(_)) if get("OIDC_PREVIOUS_SIGNING_KEY_IDS").is_some() => Err(invalid(
            "OIDC_PREVIOUS_SIGNING_KEY_IDS",
            "needs OIDC_SIGNING_KEY_ID (KMS)",
        )),
        (None, Some(_)) if get("OIDC_NEXT_SIGNING_KEY_IDS").is_some() => {
            Err(invalid("OIDC_NEXT_SIGNING_KEY_IDS", "needs OIDC_SIGNING_KEY_ID (KMS)"))
        }
        (None, Some(pem)) => Ok(SigningKeyConfig::Local(secrecy::SecretSlice::from(pem.into_bytes()))),
        (Some(_), Some(_)) => Err(invalid(
            "OIDC_LOCAL_SIGNING_KEY",
            "must not be set together with OIDC_SIGNING_KEY_ID",
        )),
        (None, None) => Err(invalid(
            "OIDC_SIGNING_KEY_ID",
            "is required (a KMS RSA_2048 SIGN_VERIFY key; OIDC_LOCAL_SIGNING_KEY for local runs)",
        )),
    }
}
