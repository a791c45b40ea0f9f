//! Verification of an id_token against the provider's JWKS, in the order a careful relying party
//! checks it: shape, algorithm, key, RS256 signature, then the claims (`iss`, `aud`, `exp`, `iat`,
//! `nonce`, `sub`). No clock leeway: `exp` must be strictly after now.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::ExchangeFailure;
use crate::jwt;

/// What the id_token must show.
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    /// Checked only when the caller gave one.
    pub(crate) nonce: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub(crate) now: i64,
}

/// The verified token's `sub`.
pub(crate) fn verify(id_token: &str, jwks: &Value, expect: &Expectations<'_>) -> Result<String, ExchangeFailure> {
    let jws = jwt::decode(id_token).ok_or_else(|| malformed("not a compact JWS with JSON header and claims"))?;
    let alg = jws.header.get("alg").and_then(Value::as_str).unwrap_or_default();
    if alg != "RS256" {
        return Err(ExchangeFailure::UnsupportedAlgorithm(alg.to_owned()));
    }
    let kid = jws.header.get("kid").and_then(Value::as_str);
    let (n, e) = find_key(jwks, kid)?;
    RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            jws.signing_input.as_bytes(),
            &jws.signature,
        )
        .map_err(|_| ExchangeFailure::BadSignature)?;
    check_claims(&jws.claims, expect)
}

fn check_claims(claims: &Map<String, Value>, expect: &Expectations<'_>) -> Result<String, ExchangeFailure> {
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    if iss != expect.issuer {
        return Err(ExchangeFailure::WrongIssuer(iss.to_owned()));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expect.client_id,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(expect.client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(ExchangeFailure::WrongAudience);
    }
    let exp = seconds(claims.get("exp")).ok_or_else(|| malformed("exp is missing or not a number"))?;
    if exp <= expect.now {
        return Err(ExchangeFailure::Expired);
    }
    if seconds(claims.get("iat")).is_none() {
        return Err(ExchangeFailure::MissingIssuedAt);
    }
    if let Some(nonce) = expect.nonce {
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(ExchangeFailure::NonceMismatch);
        }
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => Ok(sub.to_owned()),
        _ => Err(ExchangeFailure::MissingSubject),
    }
}

/// The `(n, e)` of the RSA signing key named by `kid`; without a `kid`, the only such key.
fn find_key(jwks: &Value, kid: Option<&str>) -> Result<(Vec<u8>, Vec<u8>), ExchangeFailure> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| ExchangeFailure::Jwks("document has no keys array".to_owned()))?;
    let usable: Vec<&Value> = keys.iter().filter(|key| is_rs256_signing_key(key)).collect();
    let key = match kid {
        Some(kid) => usable
            .iter()
            .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid)),
        None if usable.len() == 1 => usable.first(),
        None => None,
    }
    .ok_or_else(|| ExchangeFailure::UnknownKid(kid.map(str::to_owned)))?;
    let component = |name: &str| {
        key.get(name)
            .and_then(Value::as_str)
            .and_then(|b64| URL_SAFE_NO_PAD.decode(b64.trim_end_matches('=')).ok())
            .filter(|bytes| !bytes.is_empty())
            .ok_or_else(|| ExchangeFailure::Jwks(format!("key {name} is not base64url")))
    };
    Ok((component("n")?, component("e")?))
}

fn is_rs256_signing_key(key: &Value) -> bool {
    let field = |name: &str| key.get(name).and_then(Value::as_str);
    field("kty") == Some("RSA")
        && field("use").is_none_or(|usage| usage == "sig")
        && field("alg").is_none_or(|alg| alg == "RS256")
}

fn seconds(value: Option<&Value>) -> Option<i64> {
    let value = value?;
    value
        .as_i64()
        // Whole seconds are what providers send, but a fractional NumericDate is legal.
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

fn malformed(why: &str) -> ExchangeFailure {
    ExchangeFailure::MalformedIdToken(why.to_owned())
}
