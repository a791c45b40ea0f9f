//! Genesys Cloud's OAuth client administration, as the rotation function uses it: "Regenerate
//! Client Secret" (`POST /api/v2/oauth/clients/{clientId}/secret`, permission
//! `oauth:client:edit`), whose answer is the `OAuthClient` with its new `secret`, shown this once.

use secrecy::SecretString;
use serde::Deserialize;

use super::Endpoint;
use super::regions::path_segment;

/// The regenerate path for `client_id`, the id percent-encoded as one path segment.
pub(crate) fn regenerate_secret_path(client_id: &str) -> String {
    format!("/api/v2/oauth/clients/{}/secret", path_segment(client_id))
}

/// The fields of the `OAuthClient` answer the rotation needs; the rest (name, grant type, roles,
/// dates) is ignored. Never printed: it holds the secret.
#[derive(Deserialize)]
pub(crate) struct RegeneratedClient {
    id: Option<String>,
    secret: Option<String>,
}

impl RegeneratedClient {
    /// The new secret, when the answer is the client asked for and carries one.
    pub(crate) fn into_secret(self, client_id: &str) -> Result<SecretString, (Endpoint, &'static str)> {
        let endpoint = Endpoint::RegenerateClientSecret;
        if self.id.as_deref().is_some_and(|id| id != client_id) {
            return Err((endpoint, "the answer names another OAuth client"));
        }
        match self.secret {
            Some(secret) if !secret.trim().is_empty() => Ok(SecretString::from(secret)),
            _ => Err((endpoint, "no secret in the OAuthClient answer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn the_secret_is_taken_from_the_answer_for_the_client_asked_for() {
        let parse = |text: &str| serde_json::from_str::<RegeneratedClient>(text).unwrap();
        let answer = parse(r#"{"id":"c1","name":"n","secret":"s3cret","authorizedGrantType":"CLIENT-CREDENTIALS"}"#);
        assert_eq!(answer.into_secret("c1").unwrap().expose_secret(), "s3cret");
        for (text, problem) in [
            (r#"{"id":"c2","secret":"s3cret"}"#, "another OAuth client"),
            (r#"{"id":"c1"}"#, "no secret"),
            (r#"{"id":"c1","secret":" "}"#, "no secret"),
        ] {
            let Err((_, said)) = parse(text).into_secret("c1") else {
                panic!("{text} was accepted");
            };
            assert!(said.contains(problem), "{said}");
        }
        assert!(serde_json::from_str::<RegeneratedClient>(r#"{"secret":7}"#).is_err());
    }

    #[test]
    fn the_client_id_is_one_encoded_path_segment() {
        assert_eq!(regenerate_secret_path("a-b_c"), "/api/v2/oauth/clients/a-b_c/secret");
        assert_eq!(
            regenerate_secret_path("a/../b"),
            "/api/v2/oauth/clients/a%2F..%2Fb/secret"
        );
    }
}
