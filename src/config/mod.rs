//! Configuration, read once at init from environment variables into typed values: the guest
//! function's ([`Config`]), the OpenID Connect provider function's ([`OidcConfig`]) and the
//! credential rotation function's ([`RotationConfig`]). This is
//! the only module that reads the environment; the modules it configures take plain values.
//! Every variable, its default and its meaning is listed in `docs/configuration.md`.

mod genesys;
mod oidc;
mod rotation;
mod runtime;
mod vars;
mod web_messaging;

use std::time::Duration;

use crate::domain::MIN_HMAC_KEY_BYTES;
use vars::{deadline_margin, flag, number, trimmed, up_to};

pub use genesys::{ClientCredentials, DEFAULT_GENESYS_REGION, GenesysConfig};
pub use oidc::{DEFAULT_ID_TOKEN_LIFETIME, MIN_OIDC_CLIENT_CACHE, OidcClientConfig, OidcConfig, SigningKeyConfig};
pub use rotation::RotationConfig;
pub use runtime::{LogConfig, function_name, invocation_trace_header, runtime_api, xray_daemon_address};
pub use web_messaging::{OWNER_CONTRACT_MODE, UpstreamConfig, WEB_MESSAGING_MODE, WebMessagingConfig};

/// Default sliding window: a stored token with less than this left is renewed.
pub const DEFAULT_SLIDING_WINDOW: Duration = Duration::from_secs(300);
/// How often an HMAC pseudonym key is compared with its secret by default.
pub const DEFAULT_KEY_CHECK_INTERVAL: Duration = Duration::from_secs(300);
/// The DynamoDB table sessions are kept in when `SESSIONS_TABLE` is not set (on Lambda).
pub const DEFAULT_SESSIONS_TABLE: &str = "GenesysGuestSessions";
/// How long a session is kept after its last write by default, in days.
pub const DEFAULT_SESSION_RETENTION_DAYS: u64 = 30;
/// The longest `SESSION_RETENTION_DAYS` (ten years, the template's bound too): beyond it the
/// retention would overflow the times it is added to.
pub const MAX_SESSION_RETENTION_DAYS: u64 = 3650;
/// How long a secret read from Secrets Manager is cached by default.
pub const DEFAULT_CREDENTIALS_CACHE: Duration = Duration::from_secs(300);
/// Kept free before the Lambda deadline so the function answers 503 instead of being killed.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// The memory size from which priming at init is off by default. Below it (128 MB: 7.2 % of a
/// vCPU per 100 ms) an unprimed first invocation's TLS handshake used up the CPU quota in some
/// cold starts (about 75 ms more each), while no primed one did; from 256 MB on no cold start was
/// throttled either way and unprimed ones were about 2.5 ms faster, priming's extra round trip
/// (the bench's Lambda mode, docs/benchmarks.md "Priming at init").
pub const PRIME_BELOW_MEMORY_MB: u64 = 256;

/// A variable of this process's environment: the one place the crate reads it (configuration at
/// init, what the Lambda runtime sets, and the trace header it sets per invocation).
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The guest function's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Genesys hosts, timeouts and (from the environment) credentials.
    pub genesys: GenesysConfig,
    /// `SLIDING_WINDOW_SECONDS`: a stored token with less than this left is renewed (default
    /// [`DEFAULT_SLIDING_WINDOW`]).
    pub sliding_window: Duration,
    /// `SESSIONS_TABLE` as set; `None` means the default table on Lambda and memory for `local`.
    pub sessions_table: Option<String>,
    /// `SESSION_RETENTION_DAYS`: how long a stored session is kept (the table's TTL), default
    /// [`DEFAULT_SESSION_RETENTION_DAYS`]; never zero.
    pub session_retention: Duration,
    /// Where the Genesys OAuth client credentials come from.
    pub credentials: CredentialsConfig,
    /// `DEADLINE_MARGIN_MS`: kept free before the Lambda deadline (default
    /// [`DEFAULT_DEADLINE_MARGIN`]).
    pub deadline_margin: Duration,
    /// Open the DynamoDB connection (and load an HMAC key) during Lambda init: `PRIME_AT_INIT`,
    /// by default below 256 MB (see [`PRIME_BELOW_MEMORY_MB`]).
    pub prime_at_init: bool,
    /// How CRM ids become pseudonyms (`CRM_ID_HASH_MODE`).
    pub pseudonyms: PseudonymConfig,
    /// Which Genesys endpoints make guests and tokens (`GENESYS_UPSTREAM_MODE`).
    pub upstream: UpstreamConfig,
}

/// How CRM ids become pseudonyms (`CRM_ID_HASH_MODE`). Chosen by configuration, never by what a
/// secret happens to contain, so every instance hashes a customer the same way.
#[derive(Debug, Clone)]
pub enum PseudonymConfig {
    /// Plain SHA-256, as the Python utility stored (the default).
    Sha256,
    /// HMAC-SHA256 with the key from `key`, compared with its source every `check_every`.
    HmacSha256 {
        /// Where the key comes from.
        key: HashKeyConfig,
        /// `CRM_ID_HASH_KEY_CHECK_SECONDS`: how often the pinned key is compared with its source
        /// (default [`DEFAULT_KEY_CHECK_INTERVAL`]).
        check_every: Duration,
    },
}

/// Where the HMAC pseudonym key comes from; exactly one source may be set.
#[derive(Clone)]
pub enum HashKeyConfig {
    /// `CRM_ID_HASH_KEY_SECRET_ID`: the `hash_key` string of that secret's JSON.
    SecretsManager {
        /// The secret's id or ARN.
        secret_id: String,
    },
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

/// Where the Genesys OAuth client credentials come from.
#[derive(Debug, Clone)]
pub enum CredentialsConfig {
    /// `GENESYS_CREDENTIALS_SECRET_ID`: a Secrets Manager secret, read again after `cache_ttl`.
    SecretsManager {
        /// The secret's id or ARN.
        secret_id: String,
        /// `CREDENTIALS_CACHE_SECONDS`: how long the secret is cached (default
        /// [`DEFAULT_CREDENTIALS_CACHE`]).
        cache_ttl: Duration,
    },
    /// `GENESYS_CLIENT_ID`/`GENESYS_CLIENT_SECRET`, `_2`, …: in order of preference.
    Environment(Vec<ClientCredentials>),
}

impl ConfigError {
    /// `var` is set to something unusable; `problem` says what (never the value).
    pub fn invalid(var: &'static str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            var,
            problem: problem.into(),
        }
    }
}

/// Why the configuration was refused at init; the function does not start until it is fixed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable is missing, malformed or conflicts with another; `var` names it, `problem` says
    /// what to fix.
    #[error("{var} {problem}")]
    Invalid {
        /// The variable at fault.
        var: &'static str,
        /// What is wrong with it, phrased to follow the variable's name.
        problem: String,
    },
    /// The OAuth client credentials in the environment are incomplete.
    #[error("Genesys credentials are misconfigured: {0}")]
    Credentials(String),
}

impl Config {
    /// Reads the guest function's configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    /// Reads the configuration from `lookup` (variable name to value); blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = trimmed(&lookup);
        Ok(Self {
            genesys: genesys::genesys_config(&get)?,
            sliding_window: Duration::from_secs(
                number(&get, "SLIDING_WINDOW_SECONDS")?.unwrap_or(DEFAULT_SLIDING_WINDOW.as_secs()),
            ),
            sessions_table: get("SESSIONS_TABLE"),
            session_retention: Duration::from_secs(
                86_400
                    * up_to(&get, "SESSION_RETENTION_DAYS", MAX_SESSION_RETENTION_DAYS, "days")?
                        .unwrap_or(DEFAULT_SESSION_RETENTION_DAYS),
            ),
            credentials: match get("GENESYS_CREDENTIALS_SECRET_ID") {
                Some(secret_id) => CredentialsConfig::SecretsManager {
                    secret_id,
                    cache_ttl: number(&get, "CREDENTIALS_CACHE_SECONDS")?
                        .map_or(DEFAULT_CREDENTIALS_CACHE, Duration::from_secs),
                },
                None => CredentialsConfig::Environment(genesys::environment_credentials(&lookup)?),
            },
            deadline_margin: deadline_margin(&get)?,
            prime_at_init: match flag(&get, "PRIME_AT_INIT")? {
                Some(prime) => prime,
                None => prime_by_default(&get),
            },
            pseudonyms: pseudonym_config(&get)?,
            upstream: web_messaging::upstream_config(&get)?,
        })
    }

    /// `SESSIONS_TABLE`, or [`DEFAULT_SESSIONS_TABLE`] when it is not set.
    pub fn sessions_table_or_default(&self) -> &str {
        self.sessions_table.as_deref().unwrap_or(DEFAULT_SESSIONS_TABLE)
    }
}

fn pseudonym_config(get: &impl Fn(&str) -> Option<String>) -> Result<PseudonymConfig, ConfigError> {
    let invalid = ConfigError::invalid;
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
                (None, Some(key)) if key.len() < MIN_HMAC_KEY_BYTES => {
                    return Err(ConfigError::invalid(
                        "CRM_ID_HASH_KEY",
                        format!(
                            "must be at least {MIN_HMAC_KEY_BYTES} bytes (a random key as long as HMAC-SHA256's output)"
                        ),
                    ));
                }
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
            let check_every =
                number(get, "CRM_ID_HASH_KEY_CHECK_SECONDS")?.map_or(DEFAULT_KEY_CHECK_INTERVAL, Duration::from_secs);
            Ok(PseudonymConfig::HmacSha256 { key, check_every })
        }
        Some(_) => Err(invalid("CRM_ID_HASH_MODE", "must be sha256 or hmac-sha256")),
    }
}

/// Priming pays for the smallest sizes; where Lambda does not say the memory size (or says
/// something unreadable), priming is kept, the safe side for a small function.
fn prime_by_default(get: &impl Fn(&str) -> Option<String>) -> bool {
    get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .and_then(|megabytes| megabytes.trim().parse::<u64>().ok())
        .is_none_or(|megabytes| megabytes < PRIME_BELOW_MEMORY_MB)
}

#[cfg(test)]
mod tests;
