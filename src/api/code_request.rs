//! `POST /auth-codes`'s body: `crmId` and what the caller may bind to its code (`codeChallenge`
//! with `codeChallengeMethod`, `nonce`, `givenName`, `familyName`, `email`), each checked with a
//! message that says what to fix and never echoes a value; and the answer, ready for the
//! Messenger's `getAuthCode` `resolve` or the mobile SDK's `authorize`.

use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::broker::{CodeBinding, IssuedCode};
use crate::domain::{CodeChallenge, CrmId, CustomerProfile};
use crate::web::{ApiError, ApiRequest, ApiResponse, json_response};

use super::request::crm_id_in;

/// Longest nonce accepted, in characters.
pub const MAX_NONCE_CHARS: usize = 256;

/// A string field when present; `null` counts as absent, another type is refused.
fn optional<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(ApiError::invalid_request(format!("{name} must be a string"))),
    }
}

/// 1 to 256 visible ASCII characters: what a page's random string or UUID is, and nothing that
/// could break a header, a JSON document or a log line on its way.
fn nonce(raw: &str) -> Result<String, ApiError> {
    if (1..=MAX_NONCE_CHARS).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::invalid_request(
            "nonce must be 1 to 256 visible ASCII characters (no spaces)",
        ))
    }
}

impl ApiRequest<'_> {
    /// The customer and what their code binds, from a `POST /auth-codes` body.
    pub fn code_request(&self) -> Result<(CrmId, CodeBinding), ApiError> {
        let body = self.json_object()?;
        let crm_id = crm_id_in(&body)?;
        let invalid = |err: &dyn std::fmt::Display| ApiError::invalid_request(err.to_string());
        let method = optional(&body, "codeChallengeMethod")?;
        let challenge = match optional(&body, "codeChallenge")? {
            Some(challenge) => Some(CodeChallenge::parse(challenge, method).map_err(|err| invalid(&err))?),
            None if method.is_some() => {
                return Err(ApiError::invalid_request(
                    "codeChallengeMethod is only sent with a codeChallenge",
                ));
            }
            None => None,
        };
        let name = |field: &'static str| -> Result<Option<String>, ApiError> {
            optional(&body, field)?
                .map(|raw| CustomerProfile::name(field, raw).map_err(|err| invalid(&err)))
                .transpose()
        };
        let profile = CustomerProfile {
            given_name: name("givenName")?,
            family_name: name("familyName")?,
            email: optional(&body, "email")?
                .map(|raw| CustomerProfile::email(raw).map_err(|err| invalid(&err)))
                .transpose()?,
        };
        let request = CodeBinding {
            challenge,
            nonce: optional(&body, "nonce")?.map(nonce).transpose()?,
            profile,
        };
        Ok((crm_id, request))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodeBody<'a> {
    auth_code: &'a str,
    redirect_uri: &'a str,
    nonce: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_verifier: Option<&'a str>,
    expires_in: u64,
}

/// `{authCode, redirectUri, nonce, codeVerifier?, expiresIn}`, `Cache-Control: no-store`.
pub fn code_response(issued: &IssuedCode) -> ApiResponse {
    let body = CodeBody {
        auth_code: issued.code.expose_secret(),
        redirect_uri: &issued.redirect_uri,
        nonce: &issued.nonce,
        code_verifier: issued.code_verifier.as_ref().map(ExposeSecret::expose_secret),
        expires_in: issued.expires_in.as_secs(),
    };
    json_response(http::StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::web::ErrorKind;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn parse(body: &str) -> Result<(CrmId, CodeBinding), ApiError> {
        ApiRequest::new(&Method::POST, "/auth-codes", body.as_bytes()).code_request()
    }

    #[test]
    fn every_field_is_read_and_null_counts_as_absent() {
        let body = format!(
            r#"{{"crmId":"CRM-1","codeChallenge":"{CHALLENGE}","codeChallengeMethod":"S256","nonce":"n-1",
            "givenName":"Ada","familyName":"Lovelace","email":"ada@example.com"}}"#
        );
        let (_, request) = parse(&body).unwrap();
        assert_eq!(request.challenge.unwrap().as_str(), CHALLENGE);
        assert_eq!(request.nonce.as_deref(), Some("n-1"));
        assert_eq!(request.profile.given_name.as_deref(), Some("Ada"));
        assert_eq!(request.profile.email.as_deref(), Some("ada@example.com"));
        let (_, bare) = parse(r#"{"crmId":"CRM-1","nonce":null,"email":null}"#).unwrap();
        assert!(bare.challenge.is_none() && bare.nonce.is_none() && bare.profile.is_empty());
    }

    #[test]
    fn bad_fields_say_what_to_fix_without_echoing_the_value() {
        let long_nonce = "n".repeat(MAX_NONCE_CHARS + 1);
        let cases = [
            (
                r#"{"crmId":"CRM-1","codeChallenge":"short"}"#.to_owned(),
                "codeChallenge must be",
            ),
            (
                format!(r#"{{"crmId":"CRM-1","codeChallenge":"{CHALLENGE}","codeChallengeMethod":"plain"}}"#),
                "must be S256",
            ),
            (
                r#"{"crmId":"CRM-1","codeChallengeMethod":"S256"}"#.to_owned(),
                "only sent with",
            ),
            (
                r#"{"crmId":"CRM-1","codeChallenge":42}"#.to_owned(),
                "codeChallenge must be a string",
            ),
            (
                format!(r#"{{"crmId":"CRM-1","nonce":"{long_nonce}"}}"#),
                "nonce must be",
            ),
            (r#"{"crmId":"CRM-1","nonce":"has space"}"#.to_owned(), "nonce must be"),
            (
                r#"{"crmId":"CRM-1","givenName":"Ada\u202eX"}"#.to_owned(),
                "givenName must not contain",
            ),
            (
                r#"{"crmId":"CRM-1","familyName":""}"#.to_owned(),
                "familyName must not be empty",
            ),
            (
                r#"{"crmId":"CRM-1","email":"SECRET-not-an-address"}"#.to_owned(),
                "email must be",
            ),
            (r#"{"codeChallenge":"x"}"#.to_owned(), "crmId is required"),
        ];
        for (body, expected) in cases {
            let err = parse(&body).err().unwrap_or_else(|| panic!("accepted {body}"));
            assert_eq!(err.kind(), ErrorKind::InvalidRequest);
            assert!(err.to_string().contains(expected), "{body}: {err}");
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
    }
}
