//! The OpenID Connect client Genesys authenticates as at the broker's token endpoint: the client
//! id and secret registered in the Genesys integration, from a Secrets Manager secret
//! (`OIDC_CLIENT_SECRET_ID`, JSON `{"client_id", "client_secret"}`, a [`CachedSecret`]), or fixed
//! (local runs).

use std::sync::Arc;
use std::time::Duration;

use super::cached_secret::{CachedSecret, ReloadPolicy};
use super::{Credential, CredentialError};
use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The integration's client is a [`Credential`]: its id (not secret) and its secret.
impl Credential {
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

/// The shortest integration client secret accepted, in characters: the secret is all that stands
/// between a stranger and an id_token, and the token endpoint is public.
pub const MIN_OIDC_CLIENT_SECRET_CHARS: usize = 32;

#[derive(Deserialize)]
struct Document {
    client_id: Option<serde_json::Value>,
    client_secret: Option<serde_json::Value>,
}

/// Reads `{"client_id": "...", "client_secret": "..."}`, the secret at least
/// [`MIN_OIDC_CLIENT_SECRET_CHARS`] long; the error names the problem, never a value.
pub fn parse_oidc_client(text: &str) -> Result<Credential, CredentialError> {
    let client = parse_client_document(text, "the OIDC client secret")?;
    if client.client_secret.expose_secret().chars().count() < MIN_OIDC_CLIENT_SECRET_CHARS {
        return Err(CredentialError::Malformed(format!(
            "the OIDC client secret (OIDC_CLIENT_SECRET_ID) has a client_secret shorter than \
             {MIN_OIDC_CLIENT_SECRET_CHARS} characters: set a random one of at least \
             {MIN_OIDC_CLIENT_SECRET_CHARS}, here and in the Genesys integration"
        )));
    }
    Ok(client)
}

/// Reads a secret holding one OAuth client, `{"client_id": "...", "client_secret": "..."}` (the
/// OIDC integration's client, the Genesys admin client); `what` names the secret in errors, which
/// never quote a value.
pub fn parse_client_document(text: &str, what: &str) -> Result<Credential, CredentialError> {
    let malformed = |problem: &str| CredentialError::Malformed(format!("{what} {problem}"));
    let document: Document = serde_json::from_str(text).map_err(|_| malformed("is not a JSON object"))?;
    let field = |value: Option<serde_json::Value>, name: &str| match value {
        Some(serde_json::Value::String(text)) if !text.trim().is_empty() => Ok(text),
        _ => Err(malformed(&format!("needs a non-empty {name} string"))),
    };
    Ok(Credential {
        client_id: field(document.client_id, "client_id")?,
        client_secret: SecretString::from(field(document.client_secret, "client_secret")?),
    })
}

/// Where the client comes from.
pub enum OidcClientSource {
    /// A client given at init (local runs).
    Fixed(Arc<Credential>),
    /// A Secrets Manager secret, cached (see [`OidcClientSource::secrets_manager`]).
    SecretsManager(Box<CachedSecret<Credential>>),
}

impl OidcClientSource {
    /// The client of a secret `{"client_id", "client_secret"}`, cached for `cache_ttl`.
    pub fn secrets_manager(client: Client, secret_id: impl Into<String>, cache_ttl: Duration) -> Self {
        // Never re-read on demand: a refusal here may be anyone's guess (see `authenticate`).
        Self::SecretsManager(Box::new(CachedSecret::new(
            client,
            secret_id,
            "the OIDC client secret",
            parse_oidc_client,
            ReloadPolicy::at_most_every(cache_ttl),
        )))
    }

    /// Reads the secret into the cache (at init, so that no request has to).
    pub async fn load(&self) -> Result<(), CredentialError> {
        match self {
            Self::Fixed(_) => Ok(()),
            Self::SecretsManager(secret) => secret.current().await.map(drop),
        }
    }

    /// The client id if `id` and `secret` authenticate the integration's client, else `None`.
    ///
    /// The cached client decides: whoever calls, the secret is read at most once per time to
    /// live (the value is read at init, so within it a request costs no Secrets Manager call,
    /// refused or not). A rotated integration secret is picked up once the cache has expired;
    /// a refusal never forces a read, since anyone can cause one.
    pub async fn authenticate(&self, id: &str, secret: &str) -> Result<Option<String>, CredentialError> {
        let client = match self {
            Self::Fixed(client) => Arc::clone(client),
            Self::SecretsManager(source) => source.current().await?,
        };
        Ok(client.authenticates(id, secret).then(|| client.client_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_read_and_compared_whole() {
        let secret = "s3cret-of-at-least-32-characters";
        let client = parse_oidc_client(&format!(r#"{{"client_id":"genesys","client_secret":"{secret}"}}"#)).unwrap();
        assert!(client.authenticates("genesys", secret));
        assert!(!client.authenticates("genesys", &secret[1..]));
        assert!(!client.authenticates("genesys", &format!("{secret}2")));
        assert!(!client.authenticates("other", secret));
        assert!(!format!("{client:?}").contains(secret));
    }

    #[test]
    fn malformed_documents_name_the_problem_not_the_value() {
        for text in [
            "",
            "[]",
            r#"{"client_id":"a"}"#,
            r#"{"client_id":"a","client_secret":7}"#,
            r#"{"client_id":" ","client_secret":"leak"}"#,
            r#"{"client_id":"a","client_secret":"leak-of-31-characters-012345678"}"#,
        ] {
            let err = parse_oidc_client(text).unwrap_err().to_string();
            assert!(err.contains("OIDC client secret"), "{err}");
            assert!(!err.contains("leak"), "{err}");
        }
    }
}
