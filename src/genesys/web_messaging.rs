//! Genesys Cloud's public endpoints for authenticated web messaging, everything about their shape
//! in one module: External Contacts (the guest's identity), the web-deployment token endpoints
//! (code exchange, refresh, revoke) and the deployment and configuration lookups of the preflight.

use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::{GuestId, GuestToken, RefreshToken};

use super::Endpoint;
use super::regions::path_segment;

pub(crate) const ENRICH_PATH: &str = "/api/v2/externalcontacts/contacts/enrich";
pub(crate) const EXCHANGE_PATH: &str = "/api/v2/webdeployments/token/oauthcodegrantjwtexchange";
pub(crate) const REFRESH_PATH: &str = "/api/v2/webdeployments/token/refresh";
pub(crate) const REVOKE_PATH: &str = "/api/v2/webdeployments/token/revoke";

pub(crate) fn deployment_path(id: &str) -> String {
    format!("/api/v2/webdeployments/deployments/{}", path_segment(id))
}

pub(crate) fn configuration_path(id: &str, version: &str) -> String {
    format!(
        "/api/v2/webdeployments/configurations/{}/versions/{}",
        path_segment(id),
        path_segment(version)
    )
}

#[derive(Serialize)]
struct ExternalSource<'a> {
    id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MatchingIdentifier<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
    external_source: ExternalSource<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalIdEntry<'a> {
    external_source: ExternalSource<'a>,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContactBody<'a> {
    external_ids: [ExternalIdEntry<'a>; 1],
}

/// `POST …/contacts/enrich`: find the contact by its external id (the pseudonym) or make it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnrichRequest<'a> {
    matching_identifiers: [MatchingIdentifier<'a>; 1],
    action: &'static str,
    contact: ContactBody<'a>,
}

impl<'a> EnrichRequest<'a> {
    pub(crate) fn upsert(external_source_id: &'a str, pseudonym: &'a str) -> Self {
        Self {
            matching_identifiers: [MatchingIdentifier {
                kind: "ExternalId",
                value: pseudonym,
                external_source: ExternalSource { id: external_source_id },
            }],
            action: "Upsert",
            contact: ContactBody {
                external_ids: [ExternalIdEntry {
                    external_source: ExternalSource { id: external_source_id },
                    value: pseudonym,
                }],
            },
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Contact {
    id: String,
}

impl Contact {
    pub(crate) fn into_guest_id(self) -> Result<GuestId, (Endpoint, &'static str)> {
        GuestId::new(self.id).ok_or((Endpoint::ContactEnrich, "empty contact id"))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OAuthCode<'a> {
    code: &'a str,
    redirect_uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_verifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// `POST …/token/oauthcodegrantjwtexchange`: no Genesys credentials; Genesys redeems the code at
/// the broker's token endpoint (with `codeVerifier` when given) and checks the id_token's nonce
/// against `nonce`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExchangeRequest<'a> {
    deployment_id: &'a str,
    oauth: OAuthCode<'a>,
}

impl<'a> ExchangeRequest<'a> {
    pub(crate) fn new(deployment_id: &'a str, code: &'a str, redirect_uri: &'a str) -> Self {
        Self {
            deployment_id,
            oauth: OAuthCode {
                code,
                redirect_uri,
                code_verifier: None,
                nonce: None,
            },
        }
    }

    /// The same request carrying the code's nonce and PKCE verifier, where it has them.
    pub(crate) fn bound(mut self, nonce: Option<&'a str>, code_verifier: Option<&'a str>) -> Self {
        self.oauth.nonce = nonce;
        self.oauth.code_verifier = code_verifier;
        self
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Exchanged {
    jwt: String,
    refresh_token: String,
}

impl Exchanged {
    pub(crate) fn into_guest_token(self) -> Result<GuestToken, (Endpoint, &'static str)> {
        let refresh = RefreshToken::plain(SecretString::from(self.refresh_token));
        if refresh.is_none() {
            return Err((Endpoint::TokenExchange, "no refresh token"));
        }
        Ok(jwt_token(self.jwt, Endpoint::TokenExchange)?.with_refresh(refresh))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshRequest<'a> {
    refresh_token: &'a str,
    deployment_id: &'a str,
}

impl<'a> RefreshRequest<'a> {
    pub(crate) fn new(deployment_id: &'a str, refresh_token: &'a str) -> Self {
        Self {
            refresh_token,
            deployment_id,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Refreshed {
    jwt: String,
}

impl Refreshed {
    /// The new jwt, without a refresh token: the one used is not rotated, and the caller keeps
    /// it in whatever form it holds it (sealed, as stored).
    pub(crate) fn into_guest_token(self) -> Result<GuestToken, (Endpoint, &'static str)> {
        jwt_token(self.jwt, Endpoint::TokenRefresh)
    }
}

/// The guest token for a jwt, its expiry read from the `exp` claim.
fn jwt_token(jwt: String, endpoint: Endpoint) -> Result<GuestToken, (Endpoint, &'static str)> {
    let expires_at = jwt_expiry(&jwt).ok_or((endpoint, "the jwt carries no readable exp claim"))?;
    let raw = expires_at.to_rfc3339_opts(SecondsFormat::Millis, true);
    GuestToken::new(SecretString::from(jwt), raw).ok_or((endpoint, "empty jwt"))
}

/// The longest jwt read: a few hundred bytes are usual; anything this large is not one.
const MAX_JWT_BYTES: usize = 16 * 1024;
/// `exp` values outside these bounds (2001 … 2100) are not believable expiries.
const EXP_RANGE: std::ops::RangeInclusive<i64> = 978_307_200..=4_102_444_800;

/// The `exp` claim of a JWT, decoded without verifying it (Genesys signed it for its own use; the
/// broker only needs to know when to renew). `None` for anything that is not a JWT with a
/// believable numeric `exp`: any size, any bytes.
pub(crate) fn jwt_expiry(jwt: &str) -> Option<DateTime<Utc>> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    if jwt.len() > MAX_JWT_BYTES {
        return None;
    }
    let mut parts = jwt.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let seconds = exp
        .as_i64()
        .or_else(|| exp.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))?;
    EXP_RANGE
        .contains(&seconds)
        .then(|| DateTime::from_timestamp(seconds, 0))
        .flatten()
}

/// `GET …/deployments/{id}`: which configuration version the deployment serves.
#[derive(Deserialize)]
pub(crate) struct Deployment {
    pub(crate) configuration: Option<ConfigurationRef>,
    pub(crate) status: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ConfigurationRef {
    pub(crate) id: String,
    pub(crate) version: String,
}

/// `GET …/configurations/{id}/versions/{version}`: whether authentication is on.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Configuration {
    pub(crate) authentication_settings: Option<AuthenticationSettings>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthenticationSettings {
    #[serde(default)]
    pub(crate) enabled: bool,
    pub(crate) integration_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn jwt(claims: &str) -> String {
        format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn the_enrich_request_sends_the_pseudonym_as_external_id() {
        let body = serde_json::to_value(EnrichRequest::upsert("src-1", "abc123")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "matchingIdentifiers": [{"type": "ExternalId", "value": "abc123", "externalSource": {"id": "src-1"}}],
                "action": "Upsert",
                "contact": {"externalIds": [{"externalSource": {"id": "src-1"}, "value": "abc123"}]}
            })
        );
    }

    #[test]
    fn the_exchange_and_refresh_requests_have_genesys_shape() {
        let body = serde_json::to_value(ExchangeRequest::new("dep", "code", "https://cb")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"deploymentId": "dep", "oauth": {"code": "code", "redirectUri": "https://cb"}})
        );
        let body = serde_json::to_value(ExchangeRequest::new("dep", "code", "https://cb").bound(Some("n"), Some("v")))
            .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"deploymentId": "dep", "oauth": {"code": "code", "redirectUri": "https://cb", "codeVerifier": "v", "nonce": "n"}})
        );
        let body = serde_json::to_value(RefreshRequest::new("dep", "rt")).unwrap();
        assert_eq!(body, serde_json::json!({"refreshToken": "rt", "deploymentId": "dep"}));
    }

    #[test]
    fn the_expiry_is_the_exp_claim() {
        let expiry = jwt_expiry(&jwt(r#"{"exp":1734273000,"sub":"x"}"#)).unwrap();
        assert_eq!(expiry.to_rfc3339(), "2024-12-15T14:30:00+00:00");
        let token = Exchanged {
            jwt: jwt(r#"{"exp":1734273000}"#),
            refresh_token: "rt".into(),
        }
        .into_guest_token()
        .unwrap();
        assert_eq!(token.expires_at_raw(), "2024-12-15T14:30:00.000Z");
        assert!(token.refresh().is_some());
    }

    #[test]
    fn garbage_jwts_have_no_expiry() {
        let huge = jwt(&format!(r#"{{"exp":1734273000,"pad":"{}"}}"#, "x".repeat(20_000)));
        for garbage in [
            String::new(),
            "a.b".into(),
            "a.b.c.d".into(),
            "x.!!!.y".into(),
            jwt("[]"),
            jwt(r#"{"exp":"soon"}"#),
            jwt(r#"{"exp":-1}"#),
            jwt(r#"{"exp":1e300}"#),
            jwt(r#"{"exp":99999999999999}"#),
            jwt(r#"{"iat":1}"#),
            huge,
        ] {
            assert!(jwt_expiry(&garbage).is_none(), "{garbage:.60}");
        }
    }

    #[test]
    fn an_exchange_without_a_refresh_token_is_malformed() {
        let answer = Exchanged {
            jwt: jwt(r#"{"exp":1734273000}"#),
            refresh_token: String::new(),
        };
        assert!(answer.into_guest_token().is_err());
    }
}
