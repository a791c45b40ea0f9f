//! The Secrets Manager secret's JSON document:
//! `{"credentials": [{"client_id": "...", "client_secret": "..."}, ...]}`.
//!
//! A `hash_key` there was how an earlier version chose HMAC pseudonyms. The mode is configuration
//! now (`CRM_ID_HASH_MODE`), so a `hash_key` in a secret read for SHA-256 pseudonyms is refused
//! (fail closed) instead of being quietly ignored: the deployment that relied on it would
//! otherwise hash every customer anew and hand each a second guest.
//!
//! Parsed by hand from a `serde_json::Value` so that no error message can ever quote a value.

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::{Credential, CredentialError, CredentialSet};

/// What a `hash_key` in the credentials secret means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKeyField {
    /// HMAC pseudonyms: the key may live in this secret too (it is read from there separately).
    Ignored,
    /// SHA-256 pseudonyms: a key here is a deployment that expects HMAC; fail closed.
    Refused,
}

/// Reads the credentials secret's JSON into a set; `hash_key` says whether a `hash_key` field is
/// refused. Errors name the problem, never a value.
pub fn parse_secret_document(text: &str, hash_key: HashKeyField) -> Result<CredentialSet, CredentialError> {
    credential_set(&secret_object(text)?, hash_key)
}

/// The secret's text as the JSON object it must be.
pub(crate) fn secret_object(text: &str) -> Result<Map<String, Value>, CredentialError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(document)) => Ok(document),
        Ok(_) => Err(malformed("is not a JSON object".into())),
        Err(_) => Err(malformed("is not valid JSON".into())),
    }
}

fn malformed(problem: String) -> CredentialError {
    CredentialError::Malformed(format!("the secret {problem}"))
}

/// The credential set of the secret's JSON object; `hash_key` as in [`parse_secret_document`].
pub(crate) fn credential_set(
    document: &Map<String, Value>,
    hash_key: HashKeyField,
) -> Result<CredentialSet, CredentialError> {
    let list = match document.get("credentials") {
        Some(Value::Array(list)) => list,
        Some(_) => return Err(malformed("has \"credentials\" but it is not a list".into())),
        None => return Err(malformed("has no \"credentials\" list".into())),
    };
    if list.is_empty() {
        return Err(malformed("has an empty \"credentials\" list".into()));
    }
    let credentials = list
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let field = |name: &str| match entry.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                Some(Value::String(_)) => Err(malformed(format!("has an empty \"{name}\" in credentials[{index}]"))),
                Some(_) => Err(malformed(format!(
                    "has a non-string \"{name}\" in credentials[{index}]"
                ))),
                None => Err(malformed(format!("has no \"{name}\" in credentials[{index}]"))),
            };
            Ok(Credential {
                client_id: field("client_id")?.trim().to_owned(),
                client_secret: SecretString::from(field("client_secret")?),
            })
        })
        .collect::<Result<Vec<_>, CredentialError>>()?;
    if hash_key == HashKeyField::Refused && document.get("hash_key").is_some_and(|key| !key.is_null()) {
        return Err(malformed(
            "has a \"hash_key\", which this deployment does not use (CRM_ID_HASH_MODE is sha256): set \
             CRM_ID_HASH_MODE=hmac-sha256 and CRM_ID_HASH_KEY_SECRET_ID to keep the customers' pseudonyms"
                .into(),
        ));
    }
    CredentialSet::new(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        parse_secret_document(text, HashKeyField::Refused)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_well_formed_secret_gives_the_credentials_in_order() {
        let set = parse_secret_document(
            r#"{"credentials":[{"client_id":"a","client_secret":"sa"},{"client_id":"b","client_secret":"sb"}],"hash_key":"k"}"#,
            HashKeyField::Ignored,
        )
        .unwrap();
        assert_eq!(set.credentials().len(), 2);
        assert_eq!(set.credentials()[1].client_id, "b");
    }

    #[test]
    fn a_hash_key_is_refused_where_pseudonyms_are_plain_sha256() {
        let text = r#"{"credentials":[{"client_id":"a","client_secret":"s"}],"hash_key":"sk-live-123"}"#;
        let message = problem(text);
        assert!(message.contains("CRM_ID_HASH_MODE=hmac-sha256"), "{message}");
        assert!(!message.contains("sk-live-123"), "{message}");
        let null_key = r#"{"credentials":[{"client_id":"a","client_secret":"s"}],"hash_key":null}"#;
        assert!(parse_secret_document(null_key, HashKeyField::Refused).is_ok());
    }

    #[test]
    fn each_malformation_is_named_without_quoting_values() {
        let cases = [
            ("not json sk-live-123", "is not valid JSON"),
            (r#"["sk-live-123"]"#, "is not a JSON object"),
            (r#"{"client_id":"sk-live-123"}"#, "has no \"credentials\" list"),
            (r#"{"credentials":"sk-live-123"}"#, "is not a list"),
            (r#"{"credentials":[]}"#, "empty \"credentials\" list"),
            (
                r#"{"credentials":[{"client_secret":"sk-live-123"}]}"#,
                "no \"client_id\" in credentials[0]",
            ),
            (
                r#"{"credentials":[{"client_id":"a","client_secret":"s"},{"client_id":"sk-live-123"}]}"#,
                "no \"client_secret\" in credentials[1]",
            ),
            (
                r#"{"credentials":[{"client_id":"a","client_secret":7}]}"#,
                "non-string \"client_secret\"",
            ),
            (
                r#"{"credentials":[{"client_id":" ","client_secret":"sk-live-123"}]}"#,
                "empty \"client_id\"",
            ),
            (
                r#"{"credentials":[{"client_id":"a","client_secret":"s"}],"hash_key":5}"#,
                "\"hash_key\"",
            ),
        ];
        for (text, expected) in cases {
            let message = problem(text);
            assert!(message.contains(expected), "{message:?} should contain {expected:?}");
            assert!(!message.contains("sk-live-123"), "{message:?} leaks a value");
        }
    }
}
