//! The one place where failures become HTTP responses: `{"error": {"code", "message"}}` with a
//! stable code. Messages tell the caller what to fix and never carry secrets, tokens or CRM ids;
//! the cause, kept for the log, never reaches the caller.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::broker::BrokerError;
use crate::broker::MintError;
use crate::genesys::GenesysError;
use crate::secrets::CredentialError;
use crate::store::StoreError;

use super::oauth::{OAuthError, oauth_response};
use super::{ApiResponse, json_response};

/// Retry-After sent with a 503 when upstream did not say.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The class of a failure: it decides the status, the stable code and the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400 `invalid_request`: the caller's request is malformed; the message says what to fix.
    InvalidRequest,
    /// 404 `not_found`: no such route.
    NotFound,
    /// 405 `method_not_allowed`, with an `Allow` header.
    MethodNotAllowed {
        /// The methods the route accepts, as the `Allow` header lists them.
        allow: &'static str,
    },
    /// 404 `wrong_upstream_mode`: the route exists but not in this deployment's upstream mode
    /// (`POST /auth-codes` in the owner's mode); no request will make it work here.
    WrongUpstreamMode,
    /// 413 `payload_too_large`: the body is over [`super::MAX_BODY_BYTES`].
    PayloadTooLarge,
    /// 502 `upstream_rejected`: Genesys refused the broker (credentials, permissions) or answered
    /// outside its contract; retrying will not help.
    UpstreamRejected,
    /// 503 `upstream_unavailable`, with `Retry-After`: a dependency (Genesys, the store, Secrets
    /// Manager) is out or another request holds the session; retry after the pause.
    UpstreamUnavailable {
        /// How long to wait before retrying; sent rounded up to whole seconds, at least 1.
        retry_after: Duration,
    },
    /// 500 `configuration_error`: the function is misconfigured; an operator must fix it.
    Configuration,
    /// 500 `internal_error`: a bug of ours or an answer we cannot read.
    Internal,
    /// The OIDC token endpoint's refusals, answered in RFC 6749 §5.2's shape.
    OAuth(OAuthError),
}

impl ErrorKind {
    /// The HTTP status of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::NotFound | Self::WrongUpstreamMode => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpstreamRejected => StatusCode::BAD_GATEWAY,
            Self::UpstreamUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Configuration | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::OAuth(error) => error.status(),
        }
    }

    /// The stable error code the body carries.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
            Self::WrongUpstreamMode => "wrong_upstream_mode",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UpstreamRejected => "upstream_rejected",
            Self::UpstreamUnavailable { .. } => "upstream_unavailable",
            Self::Configuration => "configuration_error",
            Self::Internal => "internal_error",
            Self::OAuth(error) => error.code(),
        }
    }
}

/// What the API answers when it cannot serve a request.
#[derive(Debug)]
pub struct ApiError {
    kind: ErrorKind,
    message: String,
    cause: Option<Box<dyn StdError + Send + Sync>>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'static str,
    message: &'a str,
}

impl ApiError {
    /// An error of `kind` with the message the caller sees.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// A 400 with what to fix.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// A 404 naming the guest function's routes.
    pub fn not_found() -> Self {
        Self::new(
            ErrorKind::NotFound,
            "no such resource: use POST /guest-tokens, DELETE /guest-sessions or POST /auth-codes",
        )
    }

    /// A 405 naming the methods `allow`ed.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self::new(
            ErrorKind::MethodNotAllowed { allow },
            format!("method not allowed: use {allow}"),
        )
    }

    /// A 413 for a body over 16 KiB.
    pub fn payload_too_large() -> Self {
        Self::new(ErrorKind::PayloadTooLarge, "the body is larger than 16 KiB")
    }

    /// A 500 that tells the caller nothing more.
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal error")
    }

    pub(crate) fn caused_by(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    /// The class of the failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status answered.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The stable error code answered.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Logs the error with its whole cause chain, once; returns the outcome word for the request line.
    pub(crate) fn log(&self) -> &'static str {
        let mut chain = self.message.clone();
        let mut last = chain.clone();
        let mut source = self.source();
        while let Some(cause) = source {
            // A wrapper often says what its cause says; print each distinct link once.
            let text = cause.to_string();
            if text != last {
                chain.push_str(": ");
                chain.push_str(&text);
            }
            last = text;
            source = cause.source();
        }
        if self.status().is_server_error() {
            tracing::error!(code = self.code(), error = %chain, "request failed");
            "failed"
        } else {
            tracing::debug!(code = self.code(), error = %chain, "request rejected");
            "rejected"
        }
    }

    /// The HTTP answer: the error envelope (for the OIDC token endpoint, RFC 6749's body) with
    /// its headers.
    pub fn into_response(self) -> ApiResponse {
        if let ErrorKind::OAuth(error) = self.kind {
            return oauth_response(error, &self.message);
        }
        let envelope = Envelope {
            error: Body {
                code: self.code(),
                message: &self.message,
            },
        };
        let mut response = json_response(self.status(), &envelope);
        let headers = response.headers_mut();
        match self.kind {
            ErrorKind::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            ErrorKind::UpstreamUnavailable { retry_after } => {
                let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            _ => {}
        }
        response
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for ApiError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause.as_deref().map(|cause| cause as &(dyn StdError + 'static))
    }
}

pub(crate) fn unavailable(message: impl Into<String>, retry_after: Option<Duration>) -> ApiError {
    ApiError::new(
        ErrorKind::UpstreamUnavailable {
            retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        },
        message,
    )
}

impl From<BrokerError> for ApiError {
    fn from(err: BrokerError) -> Self {
        match err {
            BrokerError::Store(err) => err.into(),
            BrokerError::Upstream(err) => err.into(),
            BrokerError::Pseudonym(err) => err.into(),
            BrokerError::Mint(err) => err.into(),
            BrokerError::Contended(_) | BrokerError::DeadlineExceeded => unavailable(err.to_string(), None),
            BrokerError::CodesNotOffered => ApiError::new(
                ErrorKind::WrongUpstreamMode,
                "POST /auth-codes is served only when GENESYS_UPSTREAM_MODE is genesys-web-messaging; \
                 this deployment uses the owner's contract: use POST /guest-tokens",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let error = match &err {
            StoreError::Unavailable(_) | StoreError::Throttled(_) => {
                unavailable("the session store is unavailable; retry shortly", None)
            }
            StoreError::Misconfigured { .. } => ApiError::new(
                ErrorKind::Configuration,
                "the function is misconfigured: its session table cannot be used (the function's log says why)",
            ),
            StoreError::Malformed(_) | StoreError::Rejected(_) => ApiError::internal(),
            StoreError::KeyUnavailable(_) => {
                unavailable("KMS is unavailable to the refresh-token key; retry shortly", None)
            }
            StoreError::KeyMisconfigured { .. } => ApiError::new(
                ErrorKind::Configuration,
                "the function is misconfigured: its refresh-token key cannot be used (the function's log says why)",
            ),
        };
        error.caused_by(err)
    }
}

/// Genesys's trouble: a stable code and a fixed message; what Genesys said (status, endpoint,
/// problem) is the cause, which only the log shows.
impl From<GenesysError> for ApiError {
    fn from(err: GenesysError) -> Self {
        let err = match err {
            GenesysError::Credentials(credentials) => return credentials.into(),
            other => other,
        };
        let error = match &err {
            GenesysError::CredentialsRefused => ApiError::new(
                ErrorKind::UpstreamRejected,
                "Genesys Cloud refused the broker's OAuth client credentials (the function's log says more)",
            ),
            GenesysError::Forbidden { .. } => ApiError::new(
                ErrorKind::UpstreamRejected,
                "Genesys Cloud denied the request: the OAuth client lacks a scope or permission (the function's log says which)",
            ),
            GenesysError::Rejected { .. } | GenesysError::Malformed { .. } => ApiError::new(
                ErrorKind::UpstreamRejected,
                "Genesys Cloud refused the request or answered unexpectedly (the function's log says more)",
            ),
            GenesysError::Indeterminate { .. } => unavailable(
                "Genesys Cloud did not say whether it finished the request; retry shortly",
                None,
            ),
            GenesysError::Unavailable { retry_after, .. } => {
                unavailable("Genesys Cloud is unavailable; retry shortly", *retry_after)
            }
            // Credentials were taken above; a client that cannot be built is a bug of ours.
            GenesysError::Credentials(_) | GenesysError::Client(_) => ApiError::internal(),
        };
        error.caused_by(err)
    }
}

impl From<MintError> for ApiError {
    fn from(err: MintError) -> Self {
        match err {
            MintError::Store(err) => err.into(),
            MintError::Random => ApiError::internal().caused_by(err),
        }
    }
}

/// Secrets and keys: an outage is a 503; anything else is the operator's to fix. The message names
/// the problem but no secret name or ARN (those are in the cause, which only the log shows).
impl From<CredentialError> for ApiError {
    fn from(err: CredentialError) -> Self {
        let error = match &err {
            CredentialError::Unavailable(_) => unavailable("Secrets Manager is unavailable; retry shortly", None),
            CredentialError::Malformed(problem) => ApiError::new(ErrorKind::Configuration, problem.clone()),
            CredentialError::Inaccessible { .. } => ApiError::new(
                ErrorKind::Configuration,
                "the function is misconfigured: a secret it needs cannot be read (the function's log says which and why)",
            ),
        };
        error.caused_by(err)
    }
}

#[cfg(test)]
mod tests;
