//! The OpenID Connect client Genesys authenticates as at the broker's token endpoint: the client
//! id and secret registered in the Genesys integration, from a Secrets Manager secret
//! (`OIDC_CLIENT_SECRET_ID`, JSON `{"client_id", "client_secret"}`) cached like the credential set,
//! or fixed (local runs).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::CredentialError;
use super::secrets_manager::{OUTAGE_GRACE, current_secret_string};

/// The integration's client: its id (not secret) and secret.
#[derive(Clone)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

impl OidcClient {
    /// Whether `id` and `secret` are this client's; the secret compared in constant time.
    pub fn authenticates(&self, id: &str, secret: &str) -> bool {
        let id_matches = aws_lc_rs::constant_time::verify_slices_are_equal(id.as_bytes(), self.client_id.as_bytes());
        let secret_matches = aws_lc_rs::constant_time::verify_slices_are_equal(
            secret.as_bytes(),
            self.client_secret.expose_secret().as_bytes(),
        );
        id_matches.is_ok() & secret_matches.is_ok()
    }
}

#[derive(Deserialize)]
struct Document {
    client_id: Option<serde_json::Value>,
    client_secret: Option<serde_json::Value>,
}

/// Reads `{"client_id": "...", "client_secret": "..."}`; the error names the problem, never a value.
pub fn parse_oidc_client(text: &str) -> Result<OidcClient, CredentialError> {
    let malformed = |problem: &str| CredentialError::Malformed(format!("the OIDC client secret {problem}"));
    let document: Document = serde_json::from_str(text).map_err(|_| malformed("is not a JSON object"))?;
    let field = |value: Option<serde_json::Value>, name: &str| match value {
        Some(serde_json::Value::String(text)) if !text.trim().is_empty() => Ok(text),
        _ => Err(malformed(&format!("needs a non-empty {name} string"))),
    };
    Ok(OidcClient {
        client_id: field(document.client_id, "client_id")?,
        client_secret: SecretString::from(field(document.client_secret, "client_secret")?),
    })
}

/// Where the client comes from.
pub enum OidcClientSource {
    Fixed(Arc<OidcClient>),
    SecretsManager(SecretsManagerOidcClient),
}

impl OidcClientSource {
    pub fn secrets_manager(client: Client, secret_id: impl Into<String>, cache_ttl: Duration) -> Self {
        Self::SecretsManager(SecretsManagerOidcClient {
            client,
            secret_id: secret_id.into(),
            cache_ttl,
            cache: Mutex::new(None),
        })
    }

    pub async fn current(&self) -> Result<Arc<OidcClient>, CredentialError> {
        match self {
            Self::Fixed(client) => Ok(Arc::clone(client)),
            Self::SecretsManager(source) => source.current().await,
        }
    }
}

pub struct SecretsManagerOidcClient {
    client: Client,
    secret_id: String,
    cache_ttl: Duration,
    /// The client read, when, and whether it is being served through an outage.
    cache: Mutex<Option<(Arc<OidcClient>, Instant, bool)>>,
}

impl SecretsManagerOidcClient {
    async fn current(&self) -> Result<Arc<OidcClient>, CredentialError> {
        let mut cache = self.cache.lock().await;
        if let Some((client, at, stale)) = cache.as_ref() {
            let max_age = if *stale { OUTAGE_GRACE } else { self.cache_ttl };
            if at.elapsed() < max_age {
                return Ok(Arc::clone(client));
            }
        }
        match self.fetch().await {
            Ok(client) => {
                let client = Arc::new(client);
                *cache = Some((Arc::clone(&client), Instant::now(), false));
                Ok(client)
            }
            Err(CredentialError::Unavailable(source)) => match cache.as_mut() {
                Some((client, at, stale)) => {
                    tracing::warn!(error = %source, "Secrets Manager unavailable; serving the cached OIDC client");
                    (*at, *stale) = (Instant::now(), true);
                    Ok(Arc::clone(client))
                }
                None => Err(CredentialError::Unavailable(source)),
            },
            Err(other) => Err(other),
        }
    }

    async fn fetch(&self) -> Result<OidcClient, CredentialError> {
        let text = current_secret_string(&self.client, &self.secret_id, "the OIDC client secret").await?;
        parse_oidc_client(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_read_and_compared_whole() {
        let client = parse_oidc_client(r#"{"client_id":"genesys","client_secret":"s3cret"}"#).unwrap();
        assert!(client.authenticates("genesys", "s3cret"));
        assert!(!client.authenticates("genesys", "s3cre"));
        assert!(!client.authenticates("genesys", "s3cret2"));
        assert!(!client.authenticates("other", "s3cret"));
        assert!(!format!("{client:?}").contains("s3cret"));
    }

    #[test]
    fn malformed_documents_name_the_problem_not_the_value() {
        for text in [
            "",
            "[]",
            r#"{"client_id":"a"}"#,
            r#"{"client_id":"a","client_secret":7}"#,
            r#"{"client_id":" ","client_secret":"leak"}"#,
        ] {
            let err = parse_oidc_client(text).unwrap_err().to_string();
            assert!(err.contains("OIDC client secret"), "{err}");
            assert!(!err.contains("leak"), "{err}");
        }
    }
}
