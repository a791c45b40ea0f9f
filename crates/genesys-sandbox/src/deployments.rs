//! The preflight a caller can make before offering authenticated web messaging (both need an
//! access token, like every platform API):
//!
//! - `GET /api/v2/webdeployments/deployments/{deploymentId}`: the deployment, with `status` and
//!   the `configuration` `{id, version}` it publishes.
//! - `GET /api/v2/webdeployments/configurations/{configurationId}/versions/{version}`: that
//!   configuration version, with `authenticationSettings` `{enabled, integrationId}`.
//!
//! Shaped like Genesys's answers but reduced to what the sandbox's configuration knows. A
//! configuration version is described by the first configured deployment publishing it.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::json;

use super::config::WebDeployment;
use super::endpoint::{Endpoint, path_params};
use super::reply;
use super::state::State;

pub(crate) fn deployment(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if !state.authorizes(req) {
        return reply::platform_bad_credentials();
    }
    let params = path_params(Endpoint::WebDeployment.path(), req.uri().path()).unwrap_or_default();
    let Some(deployment) = params.first().and_then(|id| find(state, |d| d.id == *id)) else {
        return not_found("deployment not found");
    };
    let id = &deployment.id;
    let configuration_id = &deployment.configuration_id;
    reply::json(
        StatusCode::OK,
        &json!({
            "id": id,
            "name": format!("Sandbox deployment {id}"),
            "allowAllDomains": true,
            "allowedDomains": [],
            "status": deployment.status,
            "configuration": {
                "id": configuration_id,
                "version": deployment.configuration_version,
                "selfUri": format!("/api/v2/webdeployments/configurations/{configuration_id}"),
            },
            "selfUri": format!("/api/v2/webdeployments/deployments/{id}"),
        }),
    )
}

pub(crate) fn configuration_version(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if !state.authorizes(req) {
        return reply::platform_bad_credentials();
    }
    let params = path_params(Endpoint::WebDeploymentConfigurationVersion.path(), req.uri().path());
    let Some([configuration_id, version]) = params.as_deref() else {
        return not_found("configuration version not found");
    };
    let published = |d: &WebDeployment| d.configuration_id == *configuration_id && d.configuration_version == *version;
    let Some(deployment) = find(state, published) else {
        return not_found("configuration version not found");
    };
    let mut settings = json!({"enabled": deployment.authentication_enabled, "allowSessionUpgrade": false});
    if let Some(integration_id) = &deployment.integration_id {
        settings["integrationId"] = integration_id.as_str().into();
    }
    reply::json(
        StatusCode::OK,
        &json!({
            "id": configuration_id,
            "name": format!("Sandbox configuration {configuration_id}"),
            "version": version,
            "status": "Active",
            "authenticationSettings": settings,
            "selfUri": format!("/api/v2/webdeployments/configurations/{configuration_id}/versions/{version}"),
        }),
    )
}

fn find(state: &State, matches: impl Fn(&WebDeployment) -> bool) -> Option<&WebDeployment> {
    state.web.deployments.iter().find(|d| matches(d))
}

fn not_found(message: &str) -> Response<Bytes> {
    reply::platform_error(StatusCode::NOT_FOUND, "not.found", message)
}

#[cfg(test)]
mod tests;
