//! `POST /api/v2/oauth/clients/{clientId}/secret`: Genesys's "Regenerate Client Secret", which the
//! broker's rotation function calls with an admin client's access token.
//!
//! As upstream: the caller's token needs the permission `oauth:client:edit` (403 otherwise); the
//! answer is the `OAuthClient` with its new `secret`, the only time the secret is shown; the old
//! secret is refused from that moment (no grace period), and the access tokens obtained with it
//! stop working.

use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use http::{Request, Response, StatusCode};
use serde_json::json;

use super::endpoint::{Endpoint, path_params};
use super::reply;
use super::state::State;

/// The permission the regenerate endpoint requires ("Requires ANY permissions: oauth:client:edit").
pub const OAUTH_CLIENT_EDIT: &str = "oauth:client:edit";

pub(crate) fn regenerate_secret(state: &mut State, req: &Request<Bytes>) -> Response<Bytes> {
    let Some(caller) = state.bearer_client(req).map(str::to_owned) else {
        return reply::platform_bad_credentials();
    };
    if !state.client_has_permission(&caller, OAUTH_CLIENT_EDIT) {
        return reply::platform_error(
            StatusCode::FORBIDDEN,
            "missing.any.permissions",
            &format!("You are missing the following permission(s): [{OAUTH_CLIENT_EDIT}]"),
        );
    }
    let Some(client_id) = path_params(Endpoint::RegenerateClientSecret.path(), req.uri().path())
        .and_then(|params| params.first().map(|id| (*id).to_owned()))
    else {
        return reply::not_found();
    };
    let Some(secret) = state.regenerate_secret(&client_id) else {
        return reply::platform_error(StatusCode::NOT_FOUND, "not.found", "no OAuth client has this id");
    };
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    reply::json(
        StatusCode::OK,
        &json!({
            "id": client_id,
            "name": format!("Sandbox client {client_id}"),
            "accessTokenValiditySeconds": state.access_token_ttl.as_secs(),
            "registeredRedirectUri": [],
            "secret": secret,
            "roleIds": [],
            "dateCreated": now,
            "dateModified": now,
            "authorizedGrantType": "CLIENT-CREDENTIALS",
            "scope": [],
            "roleDivisions": [],
            "state": "active",
            "selfUri": format!("/api/v2/oauth/clients/{client_id}"),
        }),
    )
}

#[cfg(test)]
mod tests;
