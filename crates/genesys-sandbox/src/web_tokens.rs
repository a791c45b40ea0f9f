//! Web deployment tokens, the public (credential-less) side of authenticated web messaging:
//!
//! - `POST /api/v2/webdeployments/token/oauthcodegrantjwtexchange`: the guest's OIDC grant (a
//!   code, or an id_token with its nonce) is authenticated with the deployment's integration
//!   ([`crate::oidc`]); success opens a session and answers `{"jwt", "refreshToken"}`.
//! - `POST /api/v2/webdeployments/token/refresh`: `{"jwt"}` for a live refresh token, which is
//!   not rotated and keeps its hard expiry (the integration's maximum refresh token lifetime).
//! - `DELETE /api/v2/webdeployments/token/revoke` with `Authorization: Bearer <jwt>`: 204, and the
//!   session's refresh token stops working.
//! - `POST /sandbox/messenger/auth-code` (the sandbox's own, not Genesys's): the sandbox plays the
//!   Messenger's Auth plugin. It takes what the brand's `AuthProvider.getAuthCode` resolved
//!   (`{authCode, redirectUri, nonce?, codeVerifier?}`, and `deploymentId`, by default the
//!   sandbox's deployment) and sends it to the exchange as the plugin does.
//!
//! Answers when refused: a malformed body is a 400 `bad.request`; an unknown deployment a 404
//! `not.found`; an inactive deployment, or one without authentication (or whose integration is
//! missing) a 400 `bad.request`; a grant the provider or the verification refuses a 401
//! `authentication.failed` whose message names the failed check; an unknown, expired or revoked
//! refresh token, and an unknown, expired or revoked JWT on revoke, a 401 `bad.credentials`
//! (a choice: Genesys's exact answer for a dead refresh token is not documented; a 401 tells the
//! caller to authenticate again rather than to fix its request).
//!
//! The JWT is the sandbox's own HS256 JWT ([`crate::jwt`]) with claims `iss` (`genesys-sandbox`),
//! `sub` (the id_token's `sub`), `deploymentId`, `sid` (session id), `jti`, `iat` and `exp`.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::authorization::authorization;
use super::config::DEFAULT_DEPLOYMENT_ID;
use super::json_body::{json_object, non_empty_str};
use super::oidc::{self, Grant};
use super::reply;
use super::state::{RefreshRefusal, Shared, State, lock, random_token};

pub(crate) async fn exchange(shared: &Shared, req: &Request<Bytes>) -> Response<Bytes> {
    let (deployment_id, grant) = match parse_exchange(req.body()) {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    let (integration, http, tamper) = {
        let mut state = lock(shared);
        let Some(deployment) = state.web.deployments.iter().find(|d| d.id == deployment_id) else {
            return reply::platform_error(StatusCode::NOT_FOUND, "not.found", "deployment not found");
        };
        if deployment.status != "Active" {
            return bad_request("the deployment is not active");
        }
        if !deployment.authentication_enabled {
            return bad_request("authentication is not enabled for this deployment");
        }
        let integration_id = deployment.integration_id.clone();
        let integration = state
            .web
            .integrations
            .iter()
            .find(|integration| Some(&integration.id) == integration_id.as_ref())
            .cloned();
        let Some(integration) = integration else {
            return bad_request("the deployment's authentication integration does not exist");
        };
        (integration, state.provider_http(), state.id_token_tamper)
    };
    let outcome = match http {
        Ok(http) => {
            let count_token_call = || lock(shared).provider_token_calls += 1;
            oidc::authenticate(&http, &integration, &grant, tamper, count_token_call).await
        }
        Err(failure) => Err(failure),
    };
    let mut state = lock(shared);
    match outcome {
        Ok(subject) => {
            let ttl = state.web.refresh_token_ttl;
            let (session_id, refresh_token) = state.sessions.open(&deployment_id, &subject, ttl);
            let jwt = issue_jwt(&mut state, &session_id);
            reply::json(StatusCode::OK, &json!({"jwt": jwt, "refreshToken": refresh_token}))
        }
        Err(failure) => {
            tracing::debug!(%failure, "sandbox refused a web deployment token exchange");
            let message = failure.to_string();
            state.exchange_failures.push(failure);
            reply::platform_error(StatusCode::UNAUTHORIZED, "authentication.failed", &message)
        }
    }
}

pub(crate) fn refresh(state: &mut State, req: &Request<Bytes>) -> Response<Bytes> {
    let body = match json_object(req.body()) {
        Ok(body) => body,
        Err(message) => return bad_request(&message),
    };
    let (Some(refresh_token), Some(deployment_id)) = (
        non_empty_str(body.get("refreshToken")),
        non_empty_str(body.get("deploymentId")),
    ) else {
        return bad_request("refreshToken and deploymentId are required non-empty strings");
    };
    let session_id = match state.sessions.by_refresh_token(refresh_token, deployment_id) {
        Ok(session) => session.session_id.clone(),
        Err(refusal) => {
            let message = match refusal {
                RefreshRefusal::Unknown => "refresh token is not known for this deployment",
                RefreshRefusal::Expired => "refresh token has expired",
                RefreshRefusal::Revoked => "refresh token was revoked",
            };
            return reply::platform_error(StatusCode::UNAUTHORIZED, "bad.credentials", message);
        }
    };
    let jwt = issue_jwt(state, &session_id);
    reply::json(StatusCode::OK, &json!({"jwt": jwt}))
}

pub(crate) fn revoke(state: &mut State, req: &Request<Bytes>) -> Response<Bytes> {
    let session_id = authorization(req.headers(), "Bearer")
        .and_then(|jwt| state.jwt_signer.verify(jwt))
        .filter(|claims| {
            claims
                .get("exp")
                .and_then(Value::as_i64)
                .is_some_and(|exp| exp > oidc::unix_now())
        })
        .and_then(|claims| claims.get("sid").and_then(Value::as_str).map(str::to_owned));
    match session_id {
        Some(session_id) if state.sessions.revoke(&session_id) => reply::no_content(),
        _ => reply::platform_error(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "the JWT is not a live web messaging session's",
        ),
    }
}

fn issue_jwt(state: &mut State, session_id: &str) -> String {
    let Some(session) = state.sessions.get(session_id).cloned() else {
        return String::new();
    };
    let now = oidc::unix_now();
    let ttl = i64::try_from(state.web.jwt_ttl.as_secs()).unwrap_or(i64::MAX);
    let mut claims = Map::new();
    claims.insert("iss".into(), "genesys-sandbox".into());
    claims.insert("sub".into(), session.subject.into());
    claims.insert("deploymentId".into(), session.deployment_id.into());
    claims.insert("sid".into(), session.session_id.into());
    claims.insert("jti".into(), random_token(16).into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), now.saturating_add(ttl).into());
    state.sessions.count_jwt(session_id);
    state.jwt_signer.sign(&claims)
}

/// `(deploymentId, grant)`, or the message for a 400.
fn parse_exchange(body: &[u8]) -> Result<(String, Grant), String> {
    let body = json_object(body)?;
    let deployment_id = non_empty_str(body.get("deploymentId")).ok_or("deploymentId is required")?;
    let oauth = body
        .get("oauth")
        .and_then(Value::as_object)
        .ok_or("oauth is required and must be an object")?;
    let field = |name: &str| -> Result<Option<String>, String> {
        match oauth.get(name) {
            None | Some(Value::Null) => Ok(None),
            value => non_empty_str(value)
                .map(|s| Some(s.to_owned()))
                .ok_or_else(|| format!("oauth.{name} must be a non-empty string")),
        }
    };
    let grant = match (field("code")?, field("idToken")?) {
        (Some(code), None) => Grant::Code {
            code,
            redirect_uri: field("redirectUri")?.ok_or("oauth.redirectUri is required with a code")?,
            code_verifier: field("codeVerifier")?,
            nonce: field("nonce")?,
        },
        (None, Some(id_token)) => Grant::IdToken {
            id_token,
            nonce: field("nonce")?.ok_or("oauth.nonce is required with an idToken")?,
        },
        (Some(_), Some(_)) => return Err("oauth must hold either a code or an idToken, not both".to_owned()),
        (None, None) => return Err("oauth must hold a code or an idToken".to_owned()),
    };
    Ok((deployment_id.to_owned(), grant))
}

/// The exchange request the Messenger's Auth plugin makes with what `getAuthCode` resolved, or
/// the 400 for a body that is not such a resolution.
pub(crate) fn as_messenger_exchange(req: Request<Bytes>) -> Result<Request<Bytes>, Box<Response<Bytes>>> {
    let resolved = json_object(req.body()).map_err(|message| Box::new(bad_request(&message)))?;
    let text = |name: &str| non_empty_str(resolved.get(name)).map(str::to_owned);
    let (Some(code), Some(redirect_uri)) = (text("authCode"), text("redirectUri")) else {
        return Err(Box::new(bad_request(
            "authCode and redirectUri are required non-empty strings",
        )));
    };
    let mut oauth = Map::new();
    oauth.insert("code".into(), code.into());
    oauth.insert("redirectUri".into(), redirect_uri.into());
    for name in ["nonce", "codeVerifier"] {
        if let Some(value) = text(name) {
            oauth.insert(name.into(), value.into());
        }
    }
    let deployment_id = text("deploymentId").unwrap_or_else(|| DEFAULT_DEPLOYMENT_ID.to_owned());
    let body = json!({"deploymentId": deployment_id, "oauth": oauth}).to_string();
    let (parts, _) = req.into_parts();
    Ok(Request::from_parts(parts, Bytes::from(body)))
}

fn bad_request(message: &str) -> Response<Bytes> {
    reply::platform_error(StatusCode::BAD_REQUEST, "bad.request", message)
}

#[cfg(test)]
mod tests;
