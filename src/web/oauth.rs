//! The OIDC token endpoint's refusals as RFC 6749 §5.2 wants them: its error codes, and the
//! `{"error", "error_description"}` body [`super::ApiError`] answers them with.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use super::{ApiResponse, json_response};

/// RFC 6749 §5.2 errors the OIDC token endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: the client did not authenticate (401).
    InvalidClient,
    /// `invalid_grant`: the code is unknown, used, expired, or bound to another redirect URI.
    InvalidGrant,
    /// `unsupported_grant_type`: anything but `authorization_code`.
    UnsupportedGrantType,
    /// `server_error` (500): the endpoint cannot authenticate anyone now (its client secret cannot
    /// be read); the description is fixed and says nothing of the secret.
    ServerError,
}

impl OAuthError {
    /// The error code, as the body's `error`.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::ServerError => "server_error",
        }
    }

    /// The HTTP status: 401 for `invalid_client`, 500 for `server_error`, 400 otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// RFC 6749 §5.2: `{"error", "error_description"}`, `no-store`, and for `invalid_client` a 401
/// with the scheme to authenticate with.
pub(super) fn oauth_response(error: OAuthError, description: &str) -> ApiResponse {
    #[derive(Serialize)]
    struct OAuthBody<'a> {
        error: &'static str,
        error_description: &'a str,
    }
    let body = OAuthBody {
        error: error.code(),
        error_description: description,
    };
    let mut response = json_response(error.status(), &body);
    if error == OAuthError::InvalidClient {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oidc\", charset=\"UTF-8\""),
        );
    }
    response
}
