//! The pseudonymisation mode and its key. The mode is configuration, read at init; an HMAC key is
//! pinned when first loaded, and re-checked now and then: a key that changed or vanished under a
//! running instance fails closed (`configuration_error`), because hashing one customer two ways
//! would silently give them a second guest.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretSlice};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::domain::{MIN_HMAC_KEY_BYTES, Pseudonymiser};

use super::CredentialError;
use super::cached_secret::{CachedSecret, ReloadPolicy};

/// Where an HMAC key comes from.
#[derive(Clone)]
pub enum HashKeySource {
    /// The `hash_key` string of a Secrets Manager secret's JSON document.
    SecretsManager {
        /// The Secrets Manager client that reads it.
        client: Client,
        /// The secret's id or ARN.
        secret_id: String,
    },
    /// A key given directly (local runs).
    Fixed(SecretSlice<u8>),
}

/// The key as this instance reads it: a secret cached for the check interval, or a fixed key.
enum KeyReader {
    Cached(Box<CachedSecret<SecretSlice<u8>>>),
    Fixed(SecretSlice<u8>),
}

impl KeyReader {
    fn new(source: HashKeySource, check_every: Duration) -> Self {
        match source {
            HashKeySource::Fixed(key) => Self::Fixed(key),
            HashKeySource::SecretsManager { client, secret_id } => Self::Cached(Box::new(CachedSecret::new(
                client,
                secret_id,
                "the hash key secret",
                parse_hash_key,
                ReloadPolicy::at_most_every(check_every),
            ))),
        }
    }

    /// The key to pin at first use.
    async fn first(&self) -> Result<SecretSlice<u8>, CredentialError> {
        match self {
            Self::Fixed(key) => Ok(key.clone()),
            Self::Cached(secret) => Ok(secret.current().await?.as_ref().clone()),
        }
    }

    /// Whether `pinned` is still the key in force: a fixed key always is; a secret's is re-read
    /// once the check interval has passed (through a Secrets Manager outage the cached key,
    /// since nothing says it changed). Copies nothing: this runs on every request.
    async fn still(&self, pinned: &Pseudonymiser) -> Result<bool, CredentialError> {
        match self {
            Self::Fixed(_) => Ok(true),
            Self::Cached(secret) => Ok(same_key(pinned, &*secret.current().await?)),
        }
    }
}

/// The key from a secret's JSON document `{"hash_key": "..."}` (other keys are ignored, so the
/// credentials secret may hold it), at least [`MIN_HMAC_KEY_BYTES`] long. Messages never quote a
/// value.
pub fn parse_hash_key(text: &str) -> Result<SecretSlice<u8>, CredentialError> {
    let missing = || CredentialError::Malformed("the hash key secret has no non-empty \"hash_key\" string".into());
    match serde_json::from_str::<Value>(text).map_err(|_| missing())? {
        Value::Object(document) => match document.get("hash_key") {
            Some(Value::String(key)) if key.len() >= MIN_HMAC_KEY_BYTES => {
                Ok(SecretSlice::from(key.as_bytes().to_vec()))
            }
            Some(Value::String(key)) if !key.is_empty() => Err(CredentialError::Malformed(format!(
                "the hash key secret (CRM_ID_HASH_KEY_SECRET_ID) has a \"hash_key\" shorter than \
                 {MIN_HMAC_KEY_BYTES} bytes: use a random key of at least {MIN_HMAC_KEY_BYTES} bytes"
            ))),
            _ => Err(missing()),
        },
        _ => Err(missing()),
    }
}

/// The pseudonymiser in force for this instance.
pub struct Pseudonyms {
    mode: Mode,
}

enum Mode {
    Sha256(Pseudonymiser),
    Hmac(Box<PinnedKey>),
}

struct PinnedKey {
    reader: KeyReader,
    pinned: OnceCell<Pseudonymiser>,
}

impl Pseudonyms {
    /// Plain SHA-256, as the Python utility hashed: no key, no AWS call.
    pub fn sha256() -> Self {
        Self {
            mode: Mode::Sha256(Pseudonymiser::Sha256),
        }
    }

    /// HMAC-SHA256 with the key from `source`, pinned at first load, compared with the source at
    /// most every `check_every`.
    pub fn hmac(source: HashKeySource, check_every: Duration) -> Self {
        Self {
            mode: Mode::Hmac(Box::new(PinnedKey {
                reader: KeyReader::new(source, check_every),
                pinned: OnceCell::new(),
            })),
        }
    }

    /// Whether a key has to be loaded (and so primed at init).
    pub fn needs_key(&self) -> bool {
        matches!(self.mode, Mode::Hmac(_))
    }

    /// The pseudonymiser to hash with now, or why hashing must stop.
    pub async fn current(&self) -> Result<&Pseudonymiser, CredentialError> {
        match &self.mode {
            Mode::Sha256(sha256) => Ok(sha256),
            Mode::Hmac(key) => key.current().await,
        }
    }
}

impl PinnedKey {
    async fn current(&self) -> Result<&Pseudonymiser, CredentialError> {
        let pinned = self
            .pinned
            .get_or_try_init(|| async { self.reader.first().await.map(Pseudonymiser::HmacSha256) })
            .await?;
        let problem = match self.reader.still(pinned).await {
            Ok(true) => return Ok(pinned),
            Ok(false) => "the CRM id hash key changed under a running instance".to_owned(),
            Err(CredentialError::Malformed(problem)) => format!("the CRM id hash key can no longer be read: {problem}"),
            // Hashing stops all the same; the error names the secret, so it keeps its own
            // (fixed) answer and goes whole to the log only.
            Err(other) => return Err(other),
        };
        Err(CredentialError::Malformed(format!(
            "{problem}; hashing stops rather than hash customers two ways: restore the key, or \
             deploy anew to start with the new one"
        )))
    }
}

fn same_key(pinned: &Pseudonymiser, key: &SecretSlice<u8>) -> bool {
    matches!(pinned, Pseudonymiser::HmacSha256(current) if current.expose_secret() == key.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CrmId;

    #[test]
    fn the_key_is_read_from_the_hash_key_field_and_values_are_never_quoted() {
        assert_eq!(
            parse_hash_key(r#"{"hash_key":"k3y-of-32-bytes-0123456789abcdef","credentials":[]}"#)
                .unwrap()
                .expose_secret(),
            b"k3y-of-32-bytes-0123456789abcdef"
        );
        for text in [
            "sk-123",
            r#"{"hash_key":""}"#,
            r#"{"hash_key":5}"#,
            r#"["sk-123"]"#,
            r#"{"key":"sk-123"}"#,
        ] {
            let message = parse_hash_key(text).unwrap_err().to_string();
            assert!(!message.contains("sk-123"), "{message}");
            assert!(message.contains("hash_key"), "{message}");
        }
        let short = parse_hash_key(r#"{"hash_key":"sk-123-of-31-bytes-0123456789ab"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("CRM_ID_HASH_KEY_SECRET_ID") && short.contains("shorter than 32 bytes"),
            "{short}"
        );
        assert!(!short.contains("sk-123"), "{short}");
    }

    #[tokio::test]
    async fn sha256_needs_no_key_and_hmac_hashes_with_the_pinned_one() {
        let id = CrmId::parse("CRM-1").unwrap();
        let sha = Pseudonyms::sha256();
        assert!(!sha.needs_key());
        assert_eq!(sha.current().await.unwrap().hash(&id), Pseudonymiser::Sha256.hash(&id));
        let key = SecretSlice::from(b"k".to_vec());
        let hmac = Pseudonyms::hmac(HashKeySource::Fixed(key.clone()), Duration::ZERO);
        assert!(hmac.needs_key());
        let expected = Pseudonymiser::HmacSha256(key).hash(&id);
        assert_eq!(hmac.current().await.unwrap().hash(&id), expected);
        assert_eq!(
            hmac.current().await.unwrap().hash(&id),
            expected,
            "re-checked and unchanged"
        );
    }
}
