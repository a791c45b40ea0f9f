//! Configuration, read once at init from environment variables into typed values.
//! Every variable, its default and its meaning is listed in the README's environment table.

use std::time::Duration;

use url::Url;

use crate::broker::DEFAULT_SLIDING_WINDOW;
use crate::credentials::{CredentialError, EnvCredentials};
use crate::genesys::{DEFAULT_REGION, GenesysEndpoints, RetryPolicy, UnknownRegion};

pub const DEFAULT_SESSIONS_TABLE: &str = "GenesysGuestSessions";
pub const DEFAULT_SESSION_RETENTION_DAYS: u64 = 30;
pub const DEFAULT_CREDENTIALS_CACHE: Duration = Duration::from_secs(300);
/// Kept free before the Lambda deadline so the function answers 503 instead of being killed.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct Config {
    pub genesys: GenesysEndpoints,
    pub sliding_window: Duration,
    /// `SESSIONS_TABLE` as set; `None` means the default table on Lambda and memory for `local`.
    pub sessions_table: Option<String>,
    pub session_retention: Duration,
    pub credentials: CredentialsConfig,
    pub retry: RetryPolicy,
    pub deadline_margin: Duration,
    /// Open the DynamoDB connection (and load an HMAC key) during Lambda init.
    pub prime_at_init: bool,
    pub pseudonyms: PseudonymConfig,
}

/// How CRM ids become pseudonyms (`CRM_ID_HASH_MODE`). Chosen by configuration, never by what a
/// secret happens to contain, so every instance hashes a customer the same way.
#[derive(Debug, Clone)]
pub enum PseudonymConfig {
    /// Plain SHA-256, as the Python utility stored (the default).
    Sha256,
    /// HMAC-SHA256 with the key from `key`, compared with its source every `check_every`.
    HmacSha256 { key: HashKeyConfig, check_every: Duration },
}

#[derive(Clone)]
pub enum HashKeyConfig {
    /// `CRM_ID_HASH_KEY_SECRET_ID`: the `hash_key` string of that secret's JSON.
    SecretsManager { secret_id: String },
    /// `CRM_ID_HASH_KEY`: the key itself, for local runs (a Lambda should use a secret).
    Environment(secrecy::SecretSlice<u8>),
}

impl std::fmt::Debug for HashKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager { secret_id } => {
                f.debug_struct("SecretsManager").field("secret_id", secret_id).finish()
            }
            Self::Environment(_) => f.write_str("Environment(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone)]
pub enum CredentialsConfig {
    SecretsManager { secret_id: String, cache_ttl: Duration },
    Environment(EnvCredentials),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} {problem}")]
    Invalid { var: &'static str, problem: String },
    #[error(transparent)]
    UnknownRegion(#[from] UnknownRegion),
    #[error(transparent)]
    Credentials(#[from] CredentialError),
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(Self {
            genesys: genesys_endpoints(&get)?,
            sliding_window: Duration::from_secs(
                number(&get, "SLIDING_WINDOW_SECONDS")?.unwrap_or(DEFAULT_SLIDING_WINDOW.as_secs()),
            ),
            sessions_table: get("SESSIONS_TABLE"),
            session_retention: Duration::from_secs(
                86_400 * positive(&get, "SESSION_RETENTION_DAYS")?.unwrap_or(DEFAULT_SESSION_RETENTION_DAYS),
            ),
            credentials: match get("GENESYS_CREDENTIALS_SECRET_ID") {
                Some(secret_id) => CredentialsConfig::SecretsManager {
                    secret_id,
                    cache_ttl: number(&get, "CREDENTIALS_CACHE_SECONDS")?
                        .map_or(DEFAULT_CREDENTIALS_CACHE, Duration::from_secs),
                },
                None => CredentialsConfig::Environment(EnvCredentials::from_lookup(&lookup)?),
            },
            retry: RetryPolicy {
                attempt_timeout: positive(&get, "GENESYS_ATTEMPT_TIMEOUT_MS")?
                    .map_or(RetryPolicy::default().attempt_timeout, Duration::from_millis),
                ..RetryPolicy::default()
            },
            deadline_margin: number(&get, "DEADLINE_MARGIN_MS")?.map_or(DEFAULT_DEADLINE_MARGIN, Duration::from_millis),
            prime_at_init: flag(&get, "PRIME_AT_INIT")?.unwrap_or(true),
            pseudonyms: pseudonym_config(&get)?,
        })
    }

    pub fn sessions_table_or_default(&self) -> &str {
        self.sessions_table.as_deref().unwrap_or(DEFAULT_SESSIONS_TABLE)
    }
}

fn pseudonym_config(get: &impl Fn(&str) -> Option<String>) -> Result<PseudonymConfig, ConfigError> {
    let invalid = |var, problem: &str| ConfigError::Invalid {
        var,
        problem: problem.to_owned(),
    };
    match get("CRM_ID_HASH_MODE").as_deref() {
        None | Some("sha256") => {
            if get("CRM_ID_HASH_KEY_SECRET_ID").is_some() || get("CRM_ID_HASH_KEY").is_some() {
                return Err(invalid(
                    "CRM_ID_HASH_MODE",
                    "must be hmac-sha256 when a hash key is configured (a key with sha256 would be ignored)",
                ));
            }
            Ok(PseudonymConfig::Sha256)
        }
        Some("hmac-sha256") => {
            let key = match (get("CRM_ID_HASH_KEY_SECRET_ID"), get("CRM_ID_HASH_KEY")) {
                (Some(secret_id), None) => HashKeyConfig::SecretsManager { secret_id },
                (None, Some(key)) => HashKeyConfig::Environment(secrecy::SecretSlice::from(key.into_bytes())),
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "CRM_ID_HASH_KEY",
                        "must not be set together with CRM_ID_HASH_KEY_SECRET_ID",
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        "CRM_ID_HASH_KEY_SECRET_ID",
                        "is required when CRM_ID_HASH_MODE is hmac-sha256",
                    ));
                }
            };
            let check_every = number(get, "CRM_ID_HASH_KEY_CHECK_SECONDS")?
                .map_or(crate::credentials::DEFAULT_KEY_CHECK_INTERVAL, Duration::from_secs);
            Ok(PseudonymConfig::HmacSha256 { key, check_every })
        }
        Some(_) => Err(invalid("CRM_ID_HASH_MODE", "must be sha256 or hmac-sha256")),
    }
}

/// Region table first, then `GENESYS_BASE_URL` / `GENESYS_LOGIN_URL` override each host.
fn genesys_endpoints(get: &impl Fn(&str) -> Option<String>) -> Result<GenesysEndpoints, ConfigError> {
    let region = get("GENESYS_REGION").unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let mut endpoints = GenesysEndpoints::for_region(&region)?;
    if let Some(url) = url(get, "GENESYS_BASE_URL")? {
        endpoints.api_base = url;
    }
    if let Some(url) = url(get, "GENESYS_LOGIN_URL")? {
        endpoints.login_base = url;
    }
    Ok(endpoints)
}

fn url(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<Url>, ConfigError> {
    get(var)
        .map(|raw| match Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
            _ => Err(ConfigError::Invalid {
                var,
                problem: "must be an http(s) URL such as https://api.mypurecloud.com".into(),
            }),
        })
        .transpose()
}

fn number(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<u64>, ConfigError> {
    get(var)
        .map(|raw| {
            raw.parse::<u64>().map_err(|_| ConfigError::Invalid {
                var,
                problem: "must be a whole number".into(),
            })
        })
        .transpose()
}

fn flag(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<bool>, ConfigError> {
    get(var)
        .map(|raw| match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::Invalid {
                var,
                problem: "must be true or false".into(),
            }),
        })
        .transpose()
}

fn positive(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<u64>, ConfigError> {
    match number(get, var)? {
        Some(0) => Err(ConfigError::Invalid {
            var,
            problem: "must be greater than zero".into(),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        map.entry("GENESYS_CLIENT_ID".into()).or_insert_with(|| "id".into());
        map.entry("GENESYS_CLIENT_SECRET".into())
            .or_insert_with(|| "secret".into());
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_python_utility() {
        let config = load(&[]).unwrap();
        assert_eq!(config.sliding_window, Duration::from_secs(300));
        assert_eq!(config.sessions_table_or_default(), "GenesysGuestSessions");
        assert_eq!(config.genesys.api_base.as_str(), "https://api.mypurecloud.com/");
        assert_eq!(config.genesys.login_base.as_str(), "https://login.mypurecloud.com/");
        assert_eq!(config.session_retention, Duration::from_secs(30 * 86_400));
        assert!(matches!(config.credentials, CredentialsConfig::Environment(_)));
        assert!(matches!(config.pseudonyms, PseudonymConfig::Sha256));
    }

    #[test]
    fn the_hash_mode_is_explicit_and_hmac_needs_exactly_one_key_source() {
        let config = load(&[
            ("CRM_ID_HASH_MODE", "hmac-sha256"),
            ("CRM_ID_HASH_KEY_SECRET_ID", "key-secret"),
        ])
        .unwrap();
        assert!(matches!(
            config.pseudonyms,
            PseudonymConfig::HmacSha256 { key: HashKeyConfig::SecretsManager { ref secret_id }, .. } if secret_id == "key-secret"
        ));
        let message = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
        assert!(message(&[("CRM_ID_HASH_MODE", "hmac-sha256")]).starts_with("CRM_ID_HASH_KEY_SECRET_ID is required"));
        assert!(message(&[("CRM_ID_HASH_MODE", "md5")]).contains("sha256 or hmac-sha256"));
        assert!(message(&[("CRM_ID_HASH_KEY", "k")]).starts_with("CRM_ID_HASH_MODE must be hmac-sha256"));
        let debug = format!(
            "{:?}",
            load(&[("CRM_ID_HASH_MODE", "hmac-sha256"), ("CRM_ID_HASH_KEY", "sk-key")]).unwrap()
        );
        assert!(!debug.contains("sk-key"), "{debug}");
    }

    #[test]
    fn region_then_url_overrides_choose_the_hosts() {
        let config = load(&[("GENESYS_REGION", "eu-central-1")]).unwrap();
        assert_eq!(config.genesys.api_base.host_str(), Some("api.mypurecloud.de"));
        let config = load(&[
            ("GENESYS_REGION", "eu-central-1"),
            ("GENESYS_BASE_URL", "http://127.0.0.1:9999"),
        ])
        .unwrap();
        assert_eq!(config.genesys.api_base.as_str(), "http://127.0.0.1:9999/");
        assert_eq!(config.genesys.login_base.host_str(), Some("login.mypurecloud.de"));
        let config = load(&[("GENESYS_LOGIN_URL", "http://127.0.0.1:9998")]).unwrap();
        assert_eq!(config.genesys.login_base.as_str(), "http://127.0.0.1:9998/");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let message = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
        assert!(message(&[("GENESYS_REGION", "nowhere")]).contains("ap-southeast-1"));
        assert!(message(&[("SLIDING_WINDOW_SECONDS", "five")]).starts_with("SLIDING_WINDOW_SECONDS"));
        assert!(message(&[("SESSION_RETENTION_DAYS", "0")]).contains("greater than zero"));
        assert!(message(&[("GENESYS_BASE_URL", "api.mypurecloud.com")]).starts_with("GENESYS_BASE_URL"));
        assert!(message(&[("PRIME_AT_INIT", "maybe")]).contains("true or false"));
    }

    #[test]
    fn a_secret_id_selects_secrets_manager() {
        let config = load(&[
            ("GENESYS_CREDENTIALS_SECRET_ID", "arn:aws:secretsmanager:x"),
            ("CREDENTIALS_CACHE_SECONDS", "60"),
        ])
        .unwrap();
        assert!(matches!(
            config.credentials,
            CredentialsConfig::SecretsManager { ref secret_id, cache_ttl } if secret_id == "arn:aws:secretsmanager:x" && cache_ttl == Duration::from_secs(60)
        ));
    }
}
