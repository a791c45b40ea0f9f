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
/// The memory size from which priming at init is off by default. Below it (128 MB: 7.2 % of a
/// vCPU per 100 ms) an unprimed first invocation's TLS handshake used up the CPU quota in some
/// cold starts (about 75 ms more each), while no primed one did; from 256 MB on no cold start was
/// throttled either way and unprimed ones were about 2.5 ms faster, priming's extra round trip
/// (the bench's Lambda mode, README "Performance").
pub const PRIME_BELOW_MEMORY_MB: u64 = 256;

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
    /// Open the DynamoDB connection (and load an HMAC key) during Lambda init: `PRIME_AT_INIT`,
    /// by default below 256 MB (see [`PRIME_BELOW_MEMORY_MB`]).
    pub prime_at_init: bool,
    pub pseudonyms: PseudonymConfig,
    /// Which Genesys endpoints make guests and tokens (`GENESYS_UPSTREAM_MODE`).
    pub upstream: UpstreamConfig,
}

/// `GENESYS_UPSTREAM_MODE`: the owner's contract (default) or Genesys's public authenticated web
/// messaging, with the broker as its OpenID Connect provider.
#[derive(Debug, Clone)]
pub enum UpstreamConfig {
    OwnerContract,
    WebMessaging(Box<WebMessagingConfig>),
}

pub const OWNER_CONTRACT_MODE: &str = "owner-contract";
pub const WEB_MESSAGING_MODE: &str = "genesys-web-messaging";
/// Variables that belong to web messaging mode only: set in the owner's mode, they are refused.
const WEB_MESSAGING_VARS: [&str; 9] = [
    "GENESYS_DEPLOYMENT_ID",
    "GENESYS_EXTERNAL_SOURCE_ID",
    "OIDC_ISSUER",
    "OIDC_REDIRECT_URI",
    "OIDC_CLIENT_SECRET_ID",
    "OIDC_CLIENT_ID",
    "OIDC_SIGNING_KEY_ID",
    "OIDC_LOCAL_SIGNING_KEY",
    "OIDC_PREVIOUS_SIGNING_KEY_IDS",
];

#[derive(Debug, Clone)]
pub struct WebMessagingConfig {
    /// `GENESYS_DEPLOYMENT_ID`: the web (messenger) deployment.
    pub deployment_id: String,
    /// `GENESYS_EXTERNAL_SOURCE_ID`: the External Contacts source the pseudonyms are ids of.
    pub external_source_id: String,
    /// `OIDC_ISSUER`: the broker's public base URL, `iss` of its id_tokens.
    pub issuer: Url,
    /// `OIDC_REDIRECT_URI`: the redirect URI registered in the integration.
    pub redirect_uri: Url,
    pub client: OidcClientConfig,
    pub signing_key: SigningKeyConfig,
    /// `OIDC_CODE_TTL_SECONDS`.
    pub code_lifetime: Duration,
    /// `OIDC_ID_TOKEN_TTL_SECONDS`.
    pub id_token_lifetime: Duration,
}

/// Where the integration's client id and secret come from.
#[derive(Debug, Clone)]
pub enum OidcClientConfig {
    /// `OIDC_CLIENT_SECRET_ID`: JSON `{"client_id", "client_secret"}`, cached `CREDENTIALS_CACHE_SECONDS`.
    SecretsManager { secret_id: String, cache_ttl: Duration },
    /// `OIDC_CLIENT_ID` and `OIDC_CLIENT_SECRET` (local runs).
    Environment(crate::credentials::OidcClient),
}

/// What signs id_tokens.
#[derive(Clone)]
pub enum SigningKeyConfig {
    /// `OIDC_SIGNING_KEY_ID`, and `OIDC_PREVIOUS_SIGNING_KEY_IDS` still published.
    Kms { key_id: String, previous: Vec<String> },
    /// `OIDC_LOCAL_SIGNING_KEY`: an RSA private key, PKCS#8 PEM (local runs).
    Local(secrecy::SecretSlice<u8>),
}

impl std::fmt::Debug for SigningKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kms { key_id, previous } => f
                .debug_struct("Kms")
                .field("key_id", key_id)
                .field("previous", previous)
                .finish(),
            Self::Local(_) => f.write_str("Local(<redacted>)"),
        }
    }
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
            prime_at_init: match flag(&get, "PRIME_AT_INIT")? {
                Some(prime) => prime,
                None => prime_by_default(&get),
            },
            pseudonyms: pseudonym_config(&get)?,
            upstream: upstream_config(&get)?,
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

fn upstream_config(get: &impl Fn(&str) -> Option<String>) -> Result<UpstreamConfig, ConfigError> {
    let invalid = |var, problem: String| ConfigError::Invalid { var, problem };
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
            let required_url = |var: &'static str| {
                required(var)?;
                url(get, var)?.ok_or_else(|| invalid(var, "is required".into()))
            };
            let issuer = required_url("OIDC_ISSUER")?;
            if issuer.query().is_some() || issuer.fragment().is_some() {
                return Err(invalid("OIDC_ISSUER", "must have no query or fragment".into()));
            }
            let client = match (
                get("OIDC_CLIENT_SECRET_ID"),
                get("OIDC_CLIENT_ID"),
                get("OIDC_CLIENT_SECRET"),
            ) {
                (Some(secret_id), None, None) => OidcClientConfig::SecretsManager {
                    secret_id,
                    cache_ttl: number(get, "CREDENTIALS_CACHE_SECONDS")?
                        .map_or(DEFAULT_CREDENTIALS_CACHE, Duration::from_secs),
                },
                (None, Some(client_id), Some(secret)) => {
                    OidcClientConfig::Environment(crate::credentials::OidcClient {
                        client_id,
                        client_secret: secrecy::SecretString::from(secret),
                    })
                }
                (Some(_), _, _) => {
                    return Err(invalid(
                        "OIDC_CLIENT_SECRET_ID",
                        "must not be set together with OIDC_CLIENT_ID / OIDC_CLIENT_SECRET".into(),
                    ));
                }
                _ => {
                    return Err(invalid(
                        "OIDC_CLIENT_SECRET_ID",
                        "is required (or OIDC_CLIENT_ID and OIDC_CLIENT_SECRET for local runs)".into(),
                    ));
                }
            };
            let signing_key = match (get("OIDC_SIGNING_KEY_ID"), get("OIDC_LOCAL_SIGNING_KEY")) {
                (Some(key_id), None) => SigningKeyConfig::Kms {
                    key_id,
                    previous: get("OIDC_PREVIOUS_SIGNING_KEY_IDS")
                        .map(|ids| {
                            ids.split(',')
                                .map(str::trim)
                                .filter(|id| !id.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                },
                (None, Some(pem)) => {
                    if get("OIDC_PREVIOUS_SIGNING_KEY_IDS").is_some() {
                        return Err(invalid(
                            "OIDC_PREVIOUS_SIGNING_KEY_IDS",
                            "needs OIDC_SIGNING_KEY_ID (KMS)".into(),
                        ));
                    }
                    SigningKeyConfig::Local(secrecy::SecretSlice::from(pem.into_bytes()))
                }
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "OIDC_LOCAL_SIGNING_KEY",
                        "must not be set together with OIDC_SIGNING_KEY_ID".into(),
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        "OIDC_SIGNING_KEY_ID",
                        "is required (a KMS RSA_2048 SIGN_VERIFY key; OIDC_LOCAL_SIGNING_KEY for local runs)".into(),
                    ));
                }
            };
            Ok(UpstreamConfig::WebMessaging(Box::new(WebMessagingConfig {
                deployment_id: required("GENESYS_DEPLOYMENT_ID")?,
                external_source_id: required("GENESYS_EXTERNAL_SOURCE_ID")?,
                issuer,
                redirect_uri: required_url("OIDC_REDIRECT_URI")?,
                client,
                signing_key,
                code_lifetime: positive(get, "OIDC_CODE_TTL_SECONDS")?
                    .map_or(crate::oidc::DEFAULT_CODE_LIFETIME, Duration::from_secs),
                id_token_lifetime: positive(get, "OIDC_ID_TOKEN_TTL_SECONDS")?
                    .map_or(crate::oidc::DEFAULT_ID_TOKEN_LIFETIME, Duration::from_secs),
            })))
        }
        Some(_) => Err(invalid(
            "GENESYS_UPSTREAM_MODE",
            format!("must be {OWNER_CONTRACT_MODE} or {WEB_MESSAGING_MODE}"),
        )),
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

/// Priming pays for the smallest sizes; where Lambda does not say the memory size (or says
/// something unreadable), priming is kept, the safe side for a small function.
fn prime_by_default(get: &impl Fn(&str) -> Option<String>) -> bool {
    get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .and_then(|megabytes| megabytes.trim().parse::<u64>().ok())
        .is_none_or(|megabytes| megabytes < PRIME_BELOW_MEMORY_MB)
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
    fn priming_defaults_to_on_below_256_mb_and_follows_the_variable_when_set() {
        let primes = |vars: &[(&str, &str)]| load(vars).unwrap().prime_at_init;
        let memory = |mb| ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mb);
        assert!(primes(&[memory("128")]));
        assert!(primes(&[memory("255")]));
        assert!(!primes(&[memory("256")]));
        assert!(!primes(&[memory("1769")]));
        assert!(!primes(&[memory("10240")]));
        // Unknown or unreadable: the small function's choice.
        assert!(primes(&[]));
        assert!(primes(&[memory("lots")]));
        assert!(!primes(&[memory("128"), ("PRIME_AT_INIT", "false")]));
        assert!(primes(&[memory("3008"), ("PRIME_AT_INIT", "true")]));
    }

    const WEB_MESSAGING: [(&str, &str); 7] = [
        ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging"),
        ("GENESYS_DEPLOYMENT_ID", "dep-1"),
        ("GENESYS_EXTERNAL_SOURCE_ID", "src-1"),
        ("OIDC_ISSUER", "https://broker.example.com/prod"),
        ("OIDC_REDIRECT_URI", "https://broker.example.com/callback"),
        ("OIDC_CLIENT_SECRET_ID", "oidc-client"),
        ("OIDC_SIGNING_KEY_ID", "alias/oidc"),
    ];

    #[test]
    fn the_owner_contract_is_the_default_and_refuses_web_messaging_settings() {
        assert!(matches!(load(&[]).unwrap().upstream, UpstreamConfig::OwnerContract));
        let message = load(&[("GENESYS_DEPLOYMENT_ID", "dep-1")]).unwrap_err().to_string();
        assert!(
            message.starts_with("GENESYS_UPSTREAM_MODE must be genesys-web-messaging when GENESYS_DEPLOYMENT_ID"),
            "{message}"
        );
        assert!(
            load(&[("GENESYS_UPSTREAM_MODE", "guests")])
                .unwrap_err()
                .to_string()
                .contains("owner-contract or genesys-web-messaging")
        );
    }

    #[test]
    fn web_messaging_mode_reads_its_settings_with_named_defaults() {
        let mut vars = WEB_MESSAGING.to_vec();
        vars.push(("OIDC_PREVIOUS_SIGNING_KEY_IDS", "old-1, ,old-2"));
        let UpstreamConfig::WebMessaging(mode) = load(&vars).unwrap().upstream else {
            panic!("web messaging expected")
        };
        assert_eq!(mode.deployment_id, "dep-1");
        assert_eq!(mode.issuer.as_str(), "https://broker.example.com/prod");
        assert_eq!(mode.code_lifetime, crate::oidc::DEFAULT_CODE_LIFETIME);
        assert_eq!(mode.id_token_lifetime, crate::oidc::DEFAULT_ID_TOKEN_LIFETIME);
        assert!(
            matches!(mode.signing_key, SigningKeyConfig::Kms { ref previous, .. } if previous == &["old-1", "old-2"])
        );
        assert!(
            matches!(mode.client, OidcClientConfig::SecretsManager { ref secret_id, .. } if secret_id == "oidc-client")
        );
    }

    #[test]
    fn web_messaging_mode_names_what_is_missing_or_wrong() {
        let without = |var: &str| {
            let vars: Vec<_> = WEB_MESSAGING.iter().copied().filter(|(k, _)| *k != var).collect();
            load(&vars).unwrap_err().to_string()
        };
        for var in [
            "GENESYS_DEPLOYMENT_ID",
            "GENESYS_EXTERNAL_SOURCE_ID",
            "OIDC_ISSUER",
            "OIDC_REDIRECT_URI",
            "OIDC_CLIENT_SECRET_ID",
            "OIDC_SIGNING_KEY_ID",
        ] {
            assert!(without(var).starts_with(var), "{var}: {}", without(var));
        }
        let with = |extra: (&'static str, &'static str)| {
            let mut vars = WEB_MESSAGING.to_vec();
            vars.retain(|(k, _)| *k != extra.0);
            vars.push(extra);
            load(&vars).unwrap_err().to_string()
        };
        assert!(with(("OIDC_ISSUER", "broker.example.com")).starts_with("OIDC_ISSUER"));
        assert!(with(("OIDC_LOCAL_SIGNING_KEY", "pem-secret")).starts_with("OIDC_LOCAL_SIGNING_KEY"));
        assert!(with(("OIDC_CODE_TTL_SECONDS", "0")).starts_with("OIDC_CODE_TTL_SECONDS"));
        let mut local = WEB_MESSAGING.to_vec();
        local.retain(|(k, _)| !matches!(*k, "OIDC_SIGNING_KEY_ID" | "OIDC_CLIENT_SECRET_ID"));
        local.extend([
            ("OIDC_LOCAL_SIGNING_KEY", "pem-secret"),
            ("OIDC_CLIENT_ID", "c"),
            ("OIDC_CLIENT_SECRET", "client-secret"),
        ]);
        let debug = format!("{:?}", load(&local).unwrap());
        assert!(
            !debug.contains("pem-secret") && !debug.contains("client-secret"),
            "{debug}"
        );
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
