//! A fixed credential set, as configured in environment variables (`GENESYS_CLIENT_ID`/
//! `GENESYS_CLIENT_SECRET`, `_2`, …; read by `crate::config`): local runs and tests.

use std::sync::Arc;

#[cfg(test)]
use super::Credential;
use super::{CredentialFuture, CredentialSet, CredentialSource};

/// A fixed set read once at init; `reload` has nothing new to offer.
#[derive(Debug, Clone)]
pub struct EnvCredentials(Arc<CredentialSet>);

impl EnvCredentials {
    /// The set as configured.
    pub fn new(set: CredentialSet) -> Self {
        Self(Arc::new(set))
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
    use secrecy::{ExposeSecret, SecretString};

    use super::*;

    #[tokio::test]
    async fn the_set_is_served_as_given_and_debug_hides_secrets() {
        let set = CredentialSet::new(vec![Credential {
            client_id: "a".into(),
            client_secret: SecretString::from("hunter2"),
        }])
        .unwrap();
        let source = EnvCredentials::new(set);
        let current = source.current().await.unwrap();
        assert_eq!(current.credentials()[0].client_secret.expose_secret(), "hunter2");
        assert!(!format!("{source:?}").contains("hunter2"));
    }
}
