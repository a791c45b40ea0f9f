//! The id_token: a compact JWS (RS256) with the claims Genesys checks: `iss`, `aud` (the client
//! id), `sub` (the customer's pseudonym), `iat`, `exp`, `nonce` when the code carried one, and
//! `given_name`, `family_name`, `email` (what the agent sees) when the code was bound to them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::signer::{Signer, SignerError};

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// The id_token's claims.
#[derive(Serialize)]
pub struct Claims<'a> {
    /// Issuer: the provider's public base URL.
    pub iss: &'a str,
    /// Subject: the customer's pseudonym.
    pub sub: &'a str,
    /// Audience: the integration's client id.
    pub aud: &'a str,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// The nonce the code was issued with, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    /// The customer's given name, when the code was bound to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<&'a str>,
    /// The customer's family name, when the code was bound to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<&'a str>,
    /// The customer's e-mail address, when the code was bound to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
}

impl<'a> Claims<'a> {
    /// Claims issued at `now` that expire `lifetime` later, without a nonce or optional claims.
    pub fn new(iss: &'a str, sub: &'a str, aud: &'a str, now: DateTime<Utc>, lifetime: std::time::Duration) -> Self {
        let iat = now.timestamp();
        Self {
            iss,
            sub,
            aud,
            iat,
            exp: iat.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
            nonce: None,
            given_name: None,
            family_name: None,
            email: None,
        }
    }
}

/// `base64url(header).base64url(claims).base64url(signature)`.
pub async fn sign(signer: &Signer, claims: &Claims<'_>) -> Result<String, SignerError> {
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid: &signer.jwk().kid,
    };
    let signing_input = format!("{}.{}", encode(&header), encode(claims));
    let signature = signer.sign(signing_input.as_bytes()).await?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// A part of the token: its JSON, base64url. Plain structs of strings and numbers always serialise.
fn encode(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}
