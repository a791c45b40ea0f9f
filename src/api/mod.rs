//! The guest function's HTTP API, one handler for every front end (Lambda events, and `local`'s
//! server): `POST /guest-tokens`, `DELETE /guest-sessions` and (web messaging mode)
//! `POST /auth-codes`, with or without a stage prefix.
//! The OpenID Connect provider's routes are another function's (`crate::oidc`).

mod code_request;
mod correlation;
mod request;
mod routes;

use std::time::Instant;

use http::{HeaderValue, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use tracing::Instrument;

use crate::broker::{Broker, BrokerError, IssuedToken};
use crate::domain::Deadline;
use crate::store::{CodeStore, SessionStore};
use crate::telemetry::Metrics;
use crate::web::{Answered, ApiError, ApiRequest, ApiResponse, empty_response, finish, json_response, settle};

pub use correlation::HEADER as CORRELATION_HEADER;
pub use routes::Route;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenBody<'a> {
    token: &'a str,
    expires_at: String,
    guest_id: &'a str,
}

/// Answers one request, and logs it on one line: route, status, outcome, duration, correlation id
/// and (on the request's span) the first 8 characters of the customer's hash, never the id itself.
/// What it did is counted in `metrics`, the invocation's recorder.
pub async fn handle<S: SessionStore + CodeStore>(
    broker: &Broker<S>,
    request: ApiRequest<'_>,
    deadline: Deadline,
    metrics: &Metrics,
) -> ApiResponse {
    let span = tracing::info_span!("request", crm_id_hash = tracing::field::Empty);
    async {
        let started = Instant::now();
        let route = Route::resolve(request.method, request.path);
        let route_name = route.as_ref().map_or("unmatched", |route| route.name());
        let result = match route {
            Ok(route) => serve(broker, route, &request, deadline, metrics).await,
            Err(err) => Err(err),
        };
        let (mut response, outcome) = settle(result, metrics);
        let correlation_id = correlation::choose(request.correlation_header, request.gateway_request_id);
        if let Some(value) = correlation_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            response.headers_mut().insert(correlation::HEADER, value);
        }
        finish(route_name, &response, outcome, correlation_id, started, metrics);
        response
    }
    .instrument(span)
    .await
}

/// Parses the request, calls the use case, maps the result.
async fn serve<S: SessionStore + CodeStore>(
    broker: &Broker<S>,
    route: Route,
    request: &ApiRequest<'_>,
    deadline: Deadline,
    metrics: &Metrics,
) -> Answered {
    let counted = |err: BrokerError| {
        if err.is_store_throttle() {
            metrics.store_throttle();
        }
        ApiError::from(err)
    };
    match route {
        Route::IssueToken => {
            let crm_id = request.crm_id()?;
            let issued = broker.issue_token(&crm_id, deadline, metrics).await.map_err(counted)?;
            Ok((token_response(&issued)?, issued.outcome.as_str()))
        }
        Route::ForgetSession => {
            let crm_id = request.crm_id()?;
            broker.forget(&crm_id, deadline, metrics).await.map_err(counted)?;
            Ok((empty_response(StatusCode::NO_CONTENT), "deleted"))
        }
        Route::IssueAuthCode => {
            let (crm_id, code_request) = request.code_request()?;
            let issued = broker
                .issue_auth_code(&crm_id, code_request, deadline, metrics)
                .await
                .map_err(counted)?;
            Ok((code_request::code_response(&issued), issued.outcome.as_str()))
        }
    }
}

fn token_response(issued: &IssuedToken) -> Result<ApiResponse, ApiError> {
    let expires_at = issued.token.expires_at_rfc3339().ok_or_else(ApiError::internal)?;
    let body = TokenBody {
        token: issued.token.secret().expose_secret(),
        expires_at,
        guest_id: issued.guest_id.as_str(),
    };
    Ok(json_response(StatusCode::OK, &body))
}
