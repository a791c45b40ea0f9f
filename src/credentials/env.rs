//! Credentials from environment variables, as the Python utility read them:
//! `GENESYS_CLIENT_ID`/`GENESYS_CLIENT_SECRET`, then `GENESYS_CLIENT_ID_2`/`GENESYS_CLIENT_SECRET_2`, …

use std::sync::Arc;

use secrecy::SecretString;

use super::{Credential, CredentialError, CredentialFuture, CredentialSet, CredentialSource};

/// A fixed set read once at init; `reload` has nothing new to offer.
#[derive(Debug, Clone)]
pub struct EnvCredentials(Arc<CredentialSet>);

impl EnvCredentials {
    pub fn new(set: CredentialSet) -> Self {
        Self(Arc::new(set))
    }

    /// Reads the numbered pairs until the first missing id; an id without its secret (or the
    /// reverse) is an error that names the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialError> {
        let mut credentials = Vec::new();
        for n in 1.. {
            let suffix = if n == 1 { String::new() } else { format!("_{n}") };
            let id_var = format!("GENESYS_CLIENT_ID{suffix}");
            let secret_var = format!("GENESYS_CLIENT_SECRET{suffix}");
            let id = lookup(&id_var).filter(|v| !v.trim().is_empty());
            let secret = lookup(&secret_var).filter(|v| !v.is_empty());
            match (id, secret) {
                (Some(client_id), Some(secret)) => credentials.push(Credential {
                    client_id: client_id.trim().to_owned(),
                    client_secret: SecretString::from(secret),
                }),
                (Some(_), None) => {
                    return Err(CredentialError::Malformed(format!(
                        "{id_var} is set but {secret_var} is not"
                    )));
                }
                (None, Some(_)) => {
                    return Err(CredentialError::Malformed(format!(
                        "{secret_var} is set but {id_var} is not"
                    )));
                }
                (None, None) => break,
            }
        }
        if credentials.is_empty() {
            return Err(CredentialError::Malformed(
                "no credentials: set GENESYS_CREDENTIALS_SECRET_ID, or GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET"
                    .into(),
            ));
        }
        Ok(Self::new(CredentialSet::new(credentials)?))
    }
}

impl CredentialSource for EnvCredentials {
    fn current(&self) -> CredentialFuture<'_> {
        let set = Arc::clone(&self.0);
        Box::pin(async move { Ok(set) })
    }

    fn reload(&self) -> CredentialFuture<'_> {
        self.current()
    }
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

    #[tokio::test]
    async fn numbered_pairs_are_read_in_order() {
        let source = EnvCredentials::from_lookup(lookup(&[
            ("GENESYS_CLIENT_ID", "a"),
            ("GENESYS_CLIENT_SECRET", "sa"),
            ("GENESYS_CLIENT_ID_2", "b"),
            ("GENESYS_CLIENT_SECRET_2", "sb"),
            ("GENESYS_CLIENT_ID_4", "skipped: _3 is missing"),
        ]))
        .unwrap();
        let set = source.current().await.unwrap();
        let ids: Vec<_> = set.credentials().iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(set.credentials()[1].client_secret.expose_secret(), "sb");
    }

    #[test]
    fn a_missing_secret_names_the_variable_not_the_value() {
        let err = EnvCredentials::from_lookup(lookup(&[("GENESYS_CLIENT_ID", "a")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Genesys credentials are misconfigured: GENESYS_CLIENT_ID is set but GENESYS_CLIENT_SECRET is not"
        );
    }

    #[test]
    fn no_credentials_at_all_says_what_to_set() {
        let err = EnvCredentials::from_lookup(lookup(&[])).unwrap_err();
        assert!(err.to_string().contains("GENESYS_CREDENTIALS_SECRET_ID"));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let source = EnvCredentials::from_lookup(lookup(&[
            ("GENESYS_CLIENT_ID", "a"),
            ("GENESYS_CLIENT_SECRET", "hunter2"),
        ]))
        .unwrap();
        assert!(!format!("{source:?}").contains("hunter2"));
    }
}
