//! The Secrets Manager secret's JSON document:
//! `{"credentials": [{"client_id": "...", "client_secret": "..."}, ...], "hash_key": "..."}`.
//!
//! Parsed by hand from a `serde_json::Value` so that no error message can ever quote a value.

use secrecy::{SecretSlice, SecretString};
use serde_json::Value;

use super::{Credential, CredentialError, CredentialSet};

pub fn parse_secret_document(text: &str) -> Result<CredentialSet, CredentialError> {
    let malformed = |problem: String| CredentialError::Malformed(format!("the secret {problem}"));
    let document: Value = serde_json::from_str(text).map_err(|_| malformed("is not valid JSON".into()))?;
    let Value::Object(document) = document else {
        return Err(malformed("is not a JSON object".into()));
    };
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
    let hash_key = match document.get("hash_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if !key.is_empty() => Some(SecretSlice::from(key.as_bytes().to_vec())),
        Some(_) => {
            return Err(malformed("has a \"hash_key\" that is not a non-empty string".into()));
        }
    };
    CredentialSet::new(credentials, hash_key)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn problem(text: &str) -> String {
        parse_secret_document(text).unwrap_err().to_string()
    }

    #[test]
    fn a_well_formed_secret_gives_the_credentials_in_order() {
        let set = parse_secret_document(
            r#"{"credentials":[{"client_id":"a","client_secret":"sa"},{"client_id":"b","client_secret":"sb"}],"hash_key":"k"}"#,
        )
        .unwrap();
        assert_eq!(set.credentials().len(), 2);
        assert_eq!(set.credentials()[1].client_id, "b");
        assert_eq!(set.hash_key().unwrap().expose_secret(), b"k");
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
