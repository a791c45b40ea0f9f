//! The broker as the OpenID Connect provider Genesys trusts for authenticated web messaging.
//!
//! The broker issues a one-time code for a customer, hands it to Genesys's code exchange, and
//! Genesys redeems it here (`POST /oidc/token`, authenticated with the integration's client id and
//! secret) for an id_token naming the customer's pseudonym, signed RS256 by a KMS key whose public
//! half the JWKS publishes. Discovery and the JWKS are built once at init; the token endpoint is
//! in `token_endpoint`. There is no authorization endpoint: no browser takes part, the broker
//! mints codes itself.

mod id_token;
mod signer;
mod token_endpoint;

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderValue, Response, StatusCode, header};
use secrecy::SecretString;
use serde_json::json;

use crate::credentials::{CredentialError, OidcClientSource};
use crate::domain::{AuthorizationCode, CODE_BYTES, CodeGrant, CrmIdHash};
use crate::store::{SessionStore, StoreError};

pub use id_token::Claims;
pub use signer::{Jwk, Signer, SignerError, kms_public_key};
pub use token_endpoint::{OAuthError, TokenError, TokenRequest};

/// Default lifetime of an authorization code: long enough for Genesys to call back, no longer.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(60);
/// Default lifetime of an id_token: Genesys checks it once, during the exchange.
pub const DEFAULT_ID_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// How long discovery and the JWKS may be cached by who reads them.
const PUBLIC_DOCUMENT_MAX_AGE: &str = "public, max-age=300";

/// The paths the provider serves, under the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const TOKEN_PATH: &str = "/oidc/token";

#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The broker's public base URL, without a trailing slash (`iss`).
    pub issuer: String,
    /// The redirect URI registered in the integration, sent with every exchange.
    pub redirect_uri: String,
    pub code_lifetime: Duration,
    pub id_token_lifetime: Duration,
}

/// Why a code could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Client(#[from] CredentialError),
    #[error("the system's random source failed")]
    Random,
}

pub struct OidcProvider {
    settings: OidcSettings,
    signer: Signer,
    clients: OidcClientSource,
    discovery: Bytes,
    jwks: Bytes,
}

impl OidcProvider {
    /// `previous` are public keys rotated out of signing that stay published, so an id_token
    /// signed just before a rotation still verifies.
    pub fn new(settings: OidcSettings, signer: Signer, previous: Vec<Jwk>, clients: OidcClientSource) -> Self {
        let issuer = settings.issuer.trim_end_matches('/').to_owned();
        let settings = OidcSettings { issuer, ..settings };
        let discovery = json!({
            "issuer": settings.issuer,
            // Required by OpenID Connect Discovery; not served (no browser takes part, the broker
            // issues codes itself).
            "authorization_endpoint": format!("{}/oidc/authorize", settings.issuer),
            "token_endpoint": format!("{}{TOKEN_PATH}", settings.issuer),
            "jwks_uri": format!("{}{JWKS_PATH}", settings.issuer),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "nonce"],
        });
        let mut keys = vec![signer.jwk().clone()];
        keys.extend(previous.into_iter().filter(|jwk| jwk.kid != signer.jwk().kid));
        let jwks = json!({ "keys": keys });
        Self {
            settings,
            signer,
            clients,
            discovery: Bytes::from(discovery.to_string()),
            jwks: Bytes::from(jwks.to_string()),
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    pub fn discovery(&self) -> Response<Bytes> {
        public_document(self.discovery.clone())
    }

    pub fn jwks(&self) -> Response<Bytes> {
        public_document(self.jwks.clone())
    }

    /// A new one-time code for the customer, stored (as its hash) with what it grants.
    pub async fn mint_code<S: SessionStore>(
        &self,
        store: &S,
        subject: &CrmIdHash,
        now: DateTime<Utc>,
    ) -> Result<SecretString, MintError> {
        let client = self.clients.current().await?;
        let mut random = [0u8; CODE_BYTES];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| MintError::Random)?;
        let code = AuthorizationCode::from_random(random);
        let grant = CodeGrant {
            client_id: client.client_id.clone(),
            redirect_uri: self.settings.redirect_uri.clone(),
            subject: subject.as_str().to_owned(),
            nonce: None,
            expires_at: now + chrono::Duration::from_std(self.settings.code_lifetime).unwrap_or_default(),
        };
        store.put_code(&code.key(), &grant).await?;
        Ok(code.secret().clone())
    }
}

fn public_document(body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(PUBLIC_DOCUMENT_MAX_AGE));
    response
}
