//! JWT plumbing shared by both directions: splitting and decoding any compact JWS, and the
//! sandbox's own web-messaging JWTs.
//!
//! The sandbox signs its JWTs with HS256 under a random key made at start-up and known to no one
//! else: callers can read the claims (`sub`, `iat`, `exp`...) as they read Genesys's, but only the
//! sandbox can check the signature, which it does when a JWT comes back to revoke a session.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

/// The three parts of a compact JWS, decoded where that makes sense.
pub(crate) struct DecodedJws<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    /// `header.payload` as received: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) signature: Vec<u8>,
}

/// `None` unless `token` is three base64url parts of which the first two are JSON objects.
pub(crate) fn decode(token: &str) -> Option<DecodedJws<'_>> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (header, claims) = signing_input.split_once('.')?;
    Some(DecodedJws {
        header: decode_object(header)?,
        claims: decode_object(claims)?,
        signing_input,
        signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
    })
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Signs and checks the sandbox's own HS256 JWTs.
pub(crate) struct JwtSigner {
    key: hmac::Key,
}

impl JwtSigner {
    pub(crate) fn new() -> JwtSigner {
        let mut secret = [0u8; 32];
        fastrand::fill(&mut secret);
        JwtSigner {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
        }
    }

    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> String {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
        let signing_input = format!("{header}.{payload}");
        let tag = hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The claims of a JWT this signer made, or `None` for anything else (expiry not checked).
    pub(crate) fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let jws = decode(token)?;
        if jws.header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return None;
        }
        hmac::verify(&self.key, jws.signing_input.as_bytes(), &jws.signature).ok()?;
        Some(jws.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Map<String, Value> {
        let Value::Object(claims) = json!({"sub": "guest-1", "exp": 42}) else {
            unreachable!()
        };
        claims
    }

    #[test]
    fn a_signed_jwt_verifies_and_its_claims_are_readable_without_the_key() {
        let signer = JwtSigner::new();
        let token = signer.sign(&claims());
        assert_eq!(signer.verify(&token), Some(claims()));
        assert_eq!(decode(&token).map(|jws| jws.claims), Some(claims()));
    }

    #[test]
    fn another_signers_or_a_tampered_jwt_does_not_verify() {
        let signer = JwtSigner::new();
        let token = signer.sign(&claims());
        assert_eq!(JwtSigner::new().verify(&token), None);
        let (head, _) = token.rsplit_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"someone-else","exp":42}"#);
        let (header, _) = head.split_once('.').unwrap();
        let (_, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(signer.verify(&format!("{header}.{forged_payload}.{signature}")), None);
    }

    #[test]
    fn garbage_is_not_a_jws() {
        for garbage in ["", "a.b", "a.b.c", "....", "eyJ9.eyJ9.!!"] {
            assert!(decode(garbage).is_none(), "{garbage}");
        }
    }
}
