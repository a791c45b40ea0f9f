//! The id_token signer: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) by an AWS KMS asymmetric key, whose
//! private key never leaves KMS, or by a local RSA key (local runs). Both publish their public key
//! as a JWK, read once at init, with a stable `kid` (the RFC 7638 thumbprint).

use std::sync::Arc;

use aws_lc_rs::rsa::{KeyPair, PublicKey, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata as _;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::aws_error::{AwsFailure, KmsKeyProblem, classify, kms_key_problem};

/// Why an id_token could not be signed, or the signer not set up.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// KMS unreachable, throttling or failing: worth retrying later.
    #[error("KMS is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The key is missing, not an RSA signing key, not accessible, or the local key is unreadable.
    #[error("the OIDC signing key cannot be used: {0}")]
    Misconfigured(String),
}

/// A public key as the JWKS publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    /// Key type: `RSA`.
    pub kty: &'static str,
    /// Public key use (`use`): `sig`.
    #[serde(rename = "use")]
    pub usage: &'static str,
    /// Algorithm: `RS256`.
    pub alg: &'static str,
    /// Key id: the RFC 7638 thumbprint, base64url.
    pub kid: String,
    /// The modulus, base64url.
    pub n: String,
    /// The public exponent, base64url.
    pub e: String,
}

impl Jwk {
    /// From an RSA public key in DER (SubjectPublicKeyInfo, as KMS's `GetPublicKey` returns it, or
    /// PKCS#1), parsed by aws-lc.
    pub fn from_der(der: &[u8]) -> Result<Self, SignerError> {
        let key = PublicKey::from_der(der)
            .map_err(|_| SignerError::Misconfigured("the public key is not an RSA key in DER".into()))?;
        Ok(Self::from_public_key(&key))
    }

    fn from_public_key(key: &PublicKey) -> Self {
        let components = PublicKeyComponents::<Vec<u8>>::from(key);
        let (n, e) = (
            URL_SAFE_NO_PAD.encode(&components.n),
            URL_SAFE_NO_PAD.encode(&components.e),
        );
        // RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
        let thumbprint = Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        Self {
            kty: "RSA",
            usage: "sig",
            alg: "RS256",
            kid: URL_SAFE_NO_PAD.encode(thumbprint),
            n,
            e,
        }
    }
}

/// Signs id_tokens.
#[derive(Clone)]
pub enum Signer {
    /// An asymmetric KMS key: each signature is one KMS `Sign` call.
    Kms {
        /// The KMS client that signs.
        client: Client,
        /// The key's id or ARN, as configured.
        key_id: String,
        /// Its public key, as published.
        jwk: Jwk,
    },
    /// An RSA key in memory (local runs and tests).
    Local {
        /// The key pair.
        key: Arc<KeyPair>,
        /// Its public key, as published.
        jwk: Jwk,
    },
}

impl Signer {
    /// The KMS key `key_id`, its public key read once (`GetPublicKey`) to publish.
    pub async fn kms(client: Client, key_id: impl Into<String>) -> Result<Self, SignerError> {
        let key_id = key_id.into();
        let jwk = kms_public_key(&client, &key_id).await?;
        Ok(Self::Kms { client, key_id, jwk })
    }

    /// A local key from PKCS#8 PEM or DER.
    pub fn local_pkcs8(pem_or_der: &[u8]) -> Result<Self, SignerError> {
        let der = pem_to_der(pem_or_der).unwrap_or_else(|| pem_or_der.to_vec());
        let key = KeyPair::from_pkcs8(&der)
            .map_err(|_| SignerError::Misconfigured("the local signing key is not an RSA PKCS#8 private key".into()))?;
        Ok(Self::local(key))
    }

    /// A fresh 2048-bit local key (`local` without a configured key, and tests).
    #[cfg(any(test, feature = "test-support"))]
    pub fn generate_local() -> Result<Self, SignerError> {
        let key = KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| SignerError::Misconfigured("could not generate a local RSA key".into()))?;
        Ok(Self::local(key))
    }

    fn local(key: KeyPair) -> Self {
        let jwk = Jwk::from_public_key(key.public_key());
        Self::Local {
            key: Arc::new(key),
            jwk,
        }
    }

    /// The local key in PKCS#8 DER (tests hand it to a second process).
    #[cfg(any(test, feature = "test-support"))]
    pub fn local_pkcs8_der(&self) -> Option<Vec<u8>> {
        match self {
            Self::Local { key, .. } => {
                aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(key.as_ref())
                    .ok()
                    .map(|der| der.as_ref().to_vec())
            }
            Self::Kms { .. } => None,
        }
    }

    /// The public key of the signing key, as published in the JWKS.
    pub fn jwk(&self) -> &Jwk {
        match self {
            Self::Kms { jwk, .. } | Self::Local { jwk, .. } => jwk,
        }
    }

    /// The RS256 signature of `message`.
    pub async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        match self {
            Self::Local { key, .. } => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| SignerError::Misconfigured("the local key could not sign".into()))?;
                Ok(signature)
            }
            Self::Kms { client, key_id, .. } => {
                let output = client
                    .sign()
                    .key_id(key_id)
                    .message(Blob::new(message))
                    .message_type(MessageType::Raw)
                    .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
                    .send()
                    .await
                    .map_err(|err| kms_error(err, "kms:Sign"))?;
                output
                    .signature()
                    .map(|blob| blob.as_ref().to_vec())
                    .ok_or_else(|| SignerError::Unavailable("KMS returned no signature".into()))
            }
        }
    }
}

/// The public key of a KMS key as a JWK (`GetPublicKey`): the signing key, and keys rotated out
/// that stay published.
pub async fn kms_public_key(client: &Client, key_id: &str) -> Result<Jwk, SignerError> {
    let output = client
        .get_public_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|err| kms_error(err, "kms:GetPublicKey"))?;
    if output.key_usage().is_some_and(|usage| usage.as_str() != "SIGN_VERIFY") {
        return Err(SignerError::Misconfigured(format!(
            "key {key_id} is not a SIGN_VERIFY key"
        )));
    }
    let der = output
        .public_key()
        .ok_or_else(|| SignerError::Misconfigured(format!("key {key_id} has no public key")))?;
    Jwk::from_der(der.as_ref())
}

fn kms_error<E>(
    err: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
    action: &str,
) -> SignerError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let misconfigured = |problem: &str| SignerError::Misconfigured(problem.to_owned());
    const MISSING: &str = "the key does not exist in this account and region";
    const WRONG_USAGE: &str = "the key is not an RSA SIGN_VERIFY key";
    match kms_key_problem(&err) {
        Some(KmsKeyProblem::Missing) => return misconfigured(MISSING),
        Some(KmsKeyProblem::Disabled) => return misconfigured("the key is disabled or pending deletion"),
        Some(KmsKeyProblem::WrongUsage) => return misconfigured(WRONG_USAGE),
        None if err.code() == Some("UnsupportedOperationException") => return misconfigured(WRONG_USAGE),
        None => {}
    }
    match classify(&err) {
        AwsFailure::Transient => SignerError::Unavailable(Box::new(err)),
        AwsFailure::NotFound => misconfigured(MISSING),
        AwsFailure::AccessDenied => misconfigured(&format!("access denied: the role needs {action} on the key")),
        _ => misconfigured("KMS refused the request"),
    }
}

/// The DER inside a PEM block (`-----BEGIN PRIVATE KEY-----`), or `None` when `text` is not PEM.
fn pem_to_der(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|line| !line.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    (!body.is_empty()).then(|| STANDARD.decode(body).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    use super::*;

    #[tokio::test]
    async fn a_local_key_signs_what_its_published_jwk_verifies() {
        let signer = Signer::generate_local().unwrap();
        let signature = signer.sign(b"header.payload").await.unwrap();
        let jwk = signer.jwk();
        let components = PublicKeyComponents {
            n: URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
            e: URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
        };
        components
            .verify(&RSA_PKCS1_2048_8192_SHA256, b"header.payload", &signature)
            .unwrap();
        assert!(
            components
                .verify(&RSA_PKCS1_2048_8192_SHA256, b"header.payloaD", &signature)
                .is_err()
        );
        assert_eq!(jwk.kid.len(), 43);
    }

    #[test]
    fn a_pkcs8_pem_key_keeps_its_kid_and_the_spki_of_its_public_key_gives_the_same_jwk() {
        let signer = Signer::generate_local().unwrap();
        let der = signer.local_pkcs8_der().unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(&der)
        );
        let again = Signer::local_pkcs8(pem.as_bytes()).unwrap();
        assert_eq!(again.jwk(), signer.jwk());
        let Signer::Local { key, .. } = &signer else {
            unreachable!()
        };
        let spki =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(key.public_key()).unwrap();
        assert_eq!(&Jwk::from_der(spki.as_ref()).unwrap(), signer.jwk());
        let _ = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.as_ref());
    }

    #[test]
    fn garbage_keys_are_refused_with_a_reason() {
        assert!(Signer::local_pkcs8(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
        assert!(Jwk::from_der(b"\x30\x03\x02\x01\x01").is_err());
    }
}
