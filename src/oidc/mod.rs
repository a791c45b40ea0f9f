//! The OpenID Connect provider Genesys trusts for authenticated web messaging: a Lambda function
//! of its own (`oidc-provider`), so that Genesys's call back during a code exchange never waits
//! for a slot of the guest function whose request is waiting for that exchange.
//!
//! The guest function issues a one-time code for a customer (`crate::broker::CodeIssuer`) and
//! hands it to Genesys's code exchange, or to the brand's backend for the Messenger or the mobile
//! SDK to exchange (`POST /auth-codes`); Genesys redeems it here (`POST /oidc/token`, authenticated
//! with the integration's client id and secret) for an id_token naming the customer's pseudonym,
//! signed RS256 by a KMS key whose public half the JWKS publishes. Discovery and the JWKS are
//! built once at init and answered from memory. There is no authorization endpoint: the guest
//! function mints codes itself, for a customer the brand's backend has authenticated.

mod id_token;
mod routes;
mod serve;
mod signer;
mod token_endpoint;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use crate::domain::Clock;
use crate::secrets::OidcClientSource;
use crate::store::CodeStore;
use crate::web::{ApiResponse, public_document};

pub use id_token::Claims;
pub use routes::{DISCOVERY_PATH, JWKS_PATH, OidcRoute, TOKEN_PATH};
pub use serve::{CLIENT_SECRET_UNUSABLE, handle};
pub use signer::{Jwk, Signer, SignerError, kms_public_key};
pub use token_endpoint::{TokenError, TokenRequest};

/// How long discovery and the JWKS may be cached by who reads them.
const PUBLIC_DOCUMENT_MAX_AGE: &str = "public, max-age=300";

/// What the provider states in its documents and tokens.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The provider's public base URL, without a trailing slash (`iss`).
    pub issuer: String,
    /// How long an id_token is valid (`exp` − `iat`, and `expires_in`).
    pub id_token_lifetime: Duration,
}

/// The provider: its settings, signer and client, the codes it redeems, and its public documents.
pub struct OidcProvider<C> {
    settings: OidcSettings,
    signer: Signer,
    clients: OidcClientSource,
    codes: C,
    clock: Arc<dyn Clock>,
    discovery: Bytes,
    jwks: Bytes,
}

impl<C: CodeStore> OidcProvider<C> {
    /// `also_published` are public keys published beside the signer's that do not sign: keys
    /// about to sign (published a cache lifetime before they do, so a verifier's cached JWKS
    /// already holds them) and keys rotated out (so an id_token signed just before a rotation
    /// still verifies).
    pub fn new(
        settings: OidcSettings,
        signer: Signer,
        also_published: Vec<Jwk>,
        clients: OidcClientSource,
        codes: C,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let issuer = settings.issuer.trim_end_matches('/').to_owned();
        let settings = OidcSettings { issuer, ..settings };
        let discovery = json!({
            "issuer": settings.issuer,
            // Required by OpenID Connect Discovery; not served (the guest function mints codes for
            // customers the brand's backend has authenticated).
            "authorization_endpoint": format!("{}/oidc/authorize", settings.issuer),
            "token_endpoint": format!("{}{TOKEN_PATH}", settings.issuer),
            "jwks_uri": format!("{}{JWKS_PATH}", settings.issuer),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "nonce", "given_name", "family_name", "email"],
            "code_challenge_methods_supported": [crate::domain::S256],
        });
        let mut keys = vec![signer.jwk().clone()];
        for jwk in also_published {
            if !keys.iter().any(|published: &Jwk| published.kid == jwk.kid) {
                keys.push(jwk);
            }
        }
        let jwks = json!({ "keys": keys });
        Self {
            settings,
            signer,
            clients,
            codes,
            clock,
            discovery: Bytes::from(discovery.to_string()),
            jwks: Bytes::from(jwks.to_string()),
        }
    }

    /// The settings in force (the issuer without a trailing slash).
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The OpenID Connect discovery document, from memory.
    pub fn discovery(&self) -> ApiResponse {
        public_document(self.discovery.clone(), PUBLIC_DOCUMENT_MAX_AGE)
    }

    /// The JSON Web Key Set, from memory.
    pub fn jwks(&self) -> ApiResponse {
        public_document(self.jwks.clone(), PUBLIC_DOCUMENT_MAX_AGE)
    }
}
