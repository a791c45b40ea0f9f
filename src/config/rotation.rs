//! The rotation function's configuration (`secret-rotation`): the credentials secret it rotates,
//! the secret holding the Genesys admin client that may regenerate client secrets, where Genesys
//! is, and the deadline margin.

use std::time::Duration;

use super::genesys::genesys_config;
use super::vars::{deadline_margin, trimmed};
use super::{ConfigError, GenesysConfig};

/// The rotation function's configuration.
#[derive(Debug, Clone)]
pub struct RotationConfig {
    /// `GENESYS_CREDENTIALS_SECRET_ID`: the one secret this function rotates (an event naming
    /// another is refused).
    pub credentials_secret_id: String,
    /// `GENESYS_ADMIN_CLIENT_SECRET_ID`: a secret of its own, JSON `{"client_id", "client_secret"}`,
    /// the OAuth client with `oauth:client:edit` that regenerates the set's secrets. Read on each
    /// use, so a corrected admin secret is taken by the next attempt.
    pub admin_client_secret_id: String,
    /// `GENESYS_REGION`, `GENESYS_BASE_URL`, `GENESYS_LOGIN_URL`, `GENESYS_ATTEMPT_TIMEOUT_MS`, as
    /// the guest function reads them.
    pub genesys: GenesysConfig,
    /// `DEADLINE_MARGIN_MS`: kept free before the Lambda deadline (default
    /// [`DEFAULT_DEADLINE_MARGIN`]).
    pub deadline_margin: Duration,
}

impl RotationConfig {
    /// Reads the rotation function's configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(super::process_env)
    }

    /// Reads the configuration from `lookup` (variable name to value); blank values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = trimmed(&lookup);
        let required = |var: &'static str, what: &str| {
            get(var).ok_or_else(|| ConfigError::invalid(var, format!("is required: {what}")))
        };
        Ok(Self {
            credentials_secret_id: required(
                "GENESYS_CREDENTIALS_SECRET_ID",
                "the credentials secret this function rotates",
            )?,
            admin_client_secret_id: required(
                "GENESYS_ADMIN_CLIENT_SECRET_ID",
                "the secret of the Genesys admin client (oauth:client:edit) that regenerates client secrets",
            )?,
            genesys: genesys_config(&get)?,
            deadline_margin: deadline_margin(&get)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_DEADLINE_MARGIN;

    fn load(vars: &[(&str, &str)]) -> Result<RotationConfig, ConfigError> {
        RotationConfig::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn both_secrets_are_required_and_named_when_missing() {
        let both = [
            ("GENESYS_CREDENTIALS_SECRET_ID", "arn:credentials"),
            ("GENESYS_ADMIN_CLIENT_SECRET_ID", "arn:admin"),
            ("GENESYS_REGION", "eu-west-1"),
        ];
        let config = load(&both).unwrap();
        assert_eq!(
            (
                config.credentials_secret_id.as_str(),
                config.admin_client_secret_id.as_str()
            ),
            ("arn:credentials", "arn:admin")
        );
        assert_eq!(config.genesys.region, "eu-west-1");
        assert_eq!(config.deadline_margin, DEFAULT_DEADLINE_MARGIN);
        let missing = load(&both[1..]).unwrap_err().to_string();
        assert!(
            missing.starts_with("GENESYS_CREDENTIALS_SECRET_ID is required"),
            "{missing}"
        );
        let missing = load(&[both[0], ("GENESYS_ADMIN_CLIENT_SECRET_ID", " ")])
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("GENESYS_ADMIN_CLIENT_SECRET_ID is required"),
            "{missing}"
        );
    }
}
