//! The provider's HTTP handler: resolves the route, answers it, maps failures to the error
//! envelope (RFC 6749's shape for the token endpoint's refusals) and logs one line per request.

use std::time::Instant;

use crate::domain::Deadline;
use crate::store::{CodeStore, StoreError};
use crate::telemetry::Metrics;
use crate::web::{
    Answered, ApiError, ApiRequest, ApiResponse, ErrorKind, MAX_BODY_BYTES, OAuthError, finish, settle, unavailable,
};

use super::OidcProvider;
use super::routes::OidcRoute;
use super::signer::SignerError;
use super::token_endpoint::{INVALID_CODE, TokenError, TokenRequest};

/// Answers one request within `deadline`, counting its outcome in `metrics`, a refused client
/// authentication (`OidcInvalidClient`, alarmed: Genesys with another secret, or someone guessing)
/// and a replayed code (`OidcCodeReplays`, alarmed: a code stolen after its use, or presented twice).
pub async fn handle<C: CodeStore>(
    provider: &OidcProvider<C>,
    request: ApiRequest<'_>,
    deadline: Deadline,
    metrics: &Metrics,
) -> ApiResponse {
    let started = Instant::now();
    let route = OidcRoute::resolve(request.method, request.path);
    let route_name = route.as_ref().map_or("unmatched", |route| route.name());
    let result = match route {
        Ok(route) => serve(provider, route, &request, deadline, metrics).await,
        Err(err) => Err(err),
    };
    if result
        .as_ref()
        .is_err_and(|err| err.kind() == ErrorKind::OAuth(OAuthError::InvalidClient))
    {
        metrics.oidc_invalid_client();
    }
    let (response, outcome) = settle(result, metrics);
    finish(route_name, &response, outcome, None, started, metrics);
    response
}

async fn serve<C: CodeStore>(
    provider: &OidcProvider<C>,
    route: OidcRoute,
    request: &ApiRequest<'_>,
    deadline: Deadline,
    metrics: &Metrics,
) -> Answered {
    match route {
        OidcRoute::Discovery => Ok((provider.discovery(), "discovery")),
        OidcRoute::Jwks => Ok((provider.jwks(), "jwks")),
        OidcRoute::Token => {
            if request.body.len() > MAX_BODY_BYTES {
                return Err(ApiError::payload_too_large());
            }
            let token_request = TokenRequest {
                body: request.body,
                authorization: request.authorization,
            };
            let answer = tokio::time::timeout_at(deadline.instant(), provider.token(token_request))
                .await
                .unwrap_or_else(|_| {
                    Err(TokenError::Store(StoreError::Unavailable(
                        "the request deadline passed before the token was ready".into(),
                    )))
                });
            if matches!(answer, Err(TokenError::Replayed)) {
                metrics.oidc_code_replay();
            }
            Ok((answer?, "code-redeemed"))
        }
    }
}

/// What every caller is told when the client secret cannot be read: the caller has not
/// authenticated (nothing can be checked), so it learns nothing of the secret, not even whether it
/// is missing, malformed or out of reach; the function's log says which.
pub const CLIENT_SECRET_UNUSABLE: &str =
    "the token endpoint cannot authenticate clients at the moment; try again later";

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Refused { error, description } => ApiError::new(ErrorKind::OAuth(error), description),
            TokenError::Replayed => ApiError::new(ErrorKind::OAuth(OAuthError::InvalidGrant), INVALID_CODE),
            TokenError::Store(err) => err.into(),
            TokenError::Client(err) => {
                ApiError::new(ErrorKind::OAuth(OAuthError::ServerError), CLIENT_SECRET_UNUSABLE).caused_by(err)
            }
            TokenError::Signer(err) => err.into(),
        }
    }
}

/// The id_token signer: KMS out is a 503; a key that cannot be used is the operator's to fix.
impl From<SignerError> for ApiError {
    fn from(err: SignerError) -> Self {
        let error = match &err {
            SignerError::Unavailable(_) => unavailable("KMS is unavailable; retry shortly", None),
            SignerError::Misconfigured(_) => ApiError::new(
                ErrorKind::Configuration,
                "the function is misconfigured: its OIDC signing key cannot be used (the function's log says why)",
            ),
        };
        error.caused_by(err)
    }
}
