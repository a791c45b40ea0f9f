//! The Genesys side of the guest function's configuration: which hosts (a region, or URL
//! overrides), how long an attempt may take, and the OAuth client credentials when they come
//! from the environment (`GENESYS_CLIENT_ID`/`GENESYS_CLIENT_SECRET`, then `_2`, `_3`, …, as the
//! Python utility read them).

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::ConfigError;
use super::vars::{positive, url};

/// The region used when `GENESYS_REGION` is not set (mypurecloud.com).
pub const DEFAULT_GENESYS_REGION: &str = "us-east-1";

/// Where the guest function reaches Genesys Cloud, and how long one attempt may take.
#[derive(Debug, Clone)]
pub struct GenesysConfig {
    /// `GENESYS_REGION`: its hosts, unless overridden below (the region is checked at init).
    pub region: String,
    /// `GENESYS_BASE_URL`: the API host instead of the region's.
    pub api_base: Option<Url>,
    /// `GENESYS_LOGIN_URL`: the login (OAuth) host instead of the region's.
    pub login_base: Option<Url>,
    /// `GENESYS_ATTEMPT_TIMEOUT_MS`: the longest one HTTP exchange may take (`None`: the default).
    pub attempt_timeout: Option<Duration>,
}

/// One OAuth client: its id (not secret) and secret, as configured (`Debug` shows it redacted).
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: SecretString,
}

pub(super) fn genesys_config(get: &impl Fn(&str) -> Option<String>) -> Result<GenesysConfig, ConfigError> {
    Ok(GenesysConfig {
        region: get("GENESYS_REGION").unwrap_or_else(|| DEFAULT_GENESYS_REGION.to_owned()),
        api_base: url(get, "GENESYS_BASE_URL")?,
        login_base: url(get, "GENESYS_LOGIN_URL")?,
        attempt_timeout: positive(get, "GENESYS_ATTEMPT_TIMEOUT_MS")?.map(Duration::from_millis),
    })
}

/// The numbered pairs until the first missing id; an id without its secret (or the reverse) is an
/// error that names the variable.
pub(super) fn environment_credentials(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<ClientCredentials>, ConfigError> {
    let mut credentials = Vec::new();
    for n in 1.. {
        let suffix = if n == 1 { String::new() } else { format!("_{n}") };
        let id_var = format!("GENESYS_CLIENT_ID{suffix}");
        let secret_var = format!("GENESYS_CLIENT_SECRET{suffix}");
        let id = lookup(&id_var).filter(|v| !v.trim().is_empty());
        let secret = lookup(&secret_var).filter(|v| !v.is_empty());
        let missing =
            |present: &str, absent: &str| ConfigError::Credentials(format!("{present} is set but {absent} is not"));
        match (id, secret) {
            (Some(client_id), Some(secret)) => credentials.push(ClientCredentials {
                client_id: client_id.trim().to_owned(),
                client_secret: SecretString::from(secret),
            }),
            (Some(_), None) => return Err(missing(&id_var, &secret_var)),
            (None, Some(_)) => return Err(missing(&secret_var, &id_var)),
            (None, None) => break,
        }
    }
    if credentials.is_empty() {
        return Err(ConfigError::Credentials(
            "no credentials: set GENESYS_CREDENTIALS_SECRET_ID, or GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET".into(),
        ));
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn numbered_pairs_are_read_in_order() {
        let set = environment_credentials(&lookup(&[
            ("GENESYS_CLIENT_ID", "a"),
            ("GENESYS_CLIENT_SECRET", "sa"),
            ("GENESYS_CLIENT_ID_2", "b"),
            ("GENESYS_CLIENT_SECRET_2", "sb"),
            ("GENESYS_CLIENT_ID_4", "skipped: _3 is missing"),
        ]))
        .unwrap();
        let ids: Vec<_> = set.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(set[1].client_secret.expose_secret(), "sb");
        assert!(!format!("{set:?}").contains("sb"));
    }

    #[test]
    fn a_missing_secret_names_the_variable_not_the_value() {
        let err = environment_credentials(&lookup(&[("GENESYS_CLIENT_ID", "a")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Genesys credentials are misconfigured: GENESYS_CLIENT_ID is set but GENESYS_CLIENT_SECRET is not"
        );
    }

    #[test]
    fn no_credentials_at_all_says_what_to_set() {
        let err = environment_credentials(&lookup(&[])).unwrap_err();
        assert!(err.to_string().contains("GENESYS_CREDENTIALS_SECRET_ID"));
    }
}
