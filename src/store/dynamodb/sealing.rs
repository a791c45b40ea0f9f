//! Refresh tokens encrypted at rest: KMS `Encrypt` and `Decrypt` under a symmetric key only the
//! guest function's role may use, with the encryption context `{"crm_id_hash": <the item's key>}`,
//! so a ciphertext is bound to its customer's item: moved to another item (or restored into one),
//! it does not decrypt. The ciphertext is stored base64 in an attribute of its own; the token is
//! decrypted only when a renewal or a revocation needs it, never to hand out a stored jwt.

use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

use crate::aws_error::{AwsFailure, KmsKeyProblem, classify, kms_key_problem};
use crate::domain::CrmIdHash;
use crate::store::StoreError;

/// The encryption context's one key: the item's partition key.
const CONTEXT_KEY: &str = "crm_id_hash";

/// The KMS key refresh tokens are sealed with (`REFRESH_TOKEN_KMS_KEY_ID`).
#[derive(Debug, Clone)]
pub struct RefreshTokenKey {
    client: Client,
    key_id: String,
}

impl RefreshTokenKey {
    /// The symmetric KMS key `key_id` (id, ARN or alias), used through `client`.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }

    /// The token encrypted for the customer `hash`: base64 of KMS's ciphertext blob.
    pub async fn seal(&self, hash: &CrmIdHash, token: &SecretString) -> Result<String, StoreError> {
        let output = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(token.expose_secret().as_bytes()))
            .encryption_context(CONTEXT_KEY, hash.as_str())
            .send()
            .await
            .map_err(|err| self.error(err, "kms:Encrypt"))?;
        let blob = output
            .ciphertext_blob()
            .ok_or_else(|| StoreError::KeyUnavailable("KMS returned no ciphertext".into()))?;
        Ok(STANDARD.encode(blob.as_ref()))
    }

    /// The token sealed for the customer `hash`; `None` when the ciphertext is not one KMS
    /// opens for this customer (sealed for another item, altered, or not base64): such a token
    /// is as good as none, and the caller goes on without it.
    pub async fn open(&self, hash: &CrmIdHash, sealed: &str) -> Result<Option<SecretString>, StoreError> {
        let Ok(blob) = STANDARD.decode(sealed) else {
            tracing::warn!("a stored refresh token ciphertext is not base64; treating it as absent");
            return Ok(None);
        };
        let result = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_KEY, hash.as_str())
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // Sealed for another item, altered, or under a key no longer configured.
            Err(err) if matches!(err.code(), Some("InvalidCiphertextException" | "IncorrectKeyException")) => {
                tracing::warn!(
                    "a stored refresh token does not decrypt for its item (moved, altered, or another key's); treating it as absent"
                );
                return Ok(None);
            }
            Err(err) => return Err(self.error(err, "kms:Decrypt")),
        };
        let plaintext = output.plaintext().map(|blob| String::from_utf8(blob.as_ref().to_vec()));
        match plaintext {
            Some(Ok(token)) => Ok(Some(SecretString::from(token))),
            _ => {
                tracing::warn!("a stored refresh token decrypted to no text; treating it as absent");
                Ok(None)
            }
        }
    }

    /// A KMS failure in the store's terms: an outage to retry, or a key an operator must fix.
    fn error<E>(&self, err: SdkError<E, aws_sdk_kms::config::http::HttpResponse>, action: &str) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let misconfigured = |problem: String| StoreError::KeyMisconfigured {
            key: self.key_id.clone(),
            problem,
        };
        match kms_key_problem(&err) {
            Some(KmsKeyProblem::Missing) => {
                return misconfigured("it does not exist in this account and region".into());
            }
            Some(KmsKeyProblem::Disabled) => return misconfigured("it is disabled or pending deletion".into()),
            Some(KmsKeyProblem::WrongUsage) => {
                return misconfigured("it is not a symmetric ENCRYPT_DECRYPT key".into());
            }
            None => {}
        }
        match classify(&err) {
            AwsFailure::Transient => StoreError::KeyUnavailable(Box::new(err)),
            AwsFailure::AccessDenied => misconfigured(format!(
                "access denied: the role needs {action} on it with the encryption context crm_id_hash"
            )),
            _ => misconfigured("KMS refused the request".into()),
        }
    }
}
