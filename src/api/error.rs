//! The one place where failures become HTTP responses: `{"error": {"code", "message"}}` with a
//! stable code. Messages tell the caller what to fix and never carry secrets, tokens or CRM ids;
//! the cause, kept for the log, never reaches the caller.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::broker::BrokerError;
use crate::credentials::CredentialError;
use crate::genesys::GenesysError;
use crate::oidc::{MintError, OAuthError, SignerError, TokenError};
use crate::store::StoreError;

use super::{ApiResponse, json_response};

/// RFC 6749 §5.2: `{"error", "error_description"}`, `no-store`, and for `invalid_client` a 401
/// with the scheme to authenticate with.
fn oauth_response(error: OAuthError, description: &str) -> ApiResponse {
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
    let headers = response.headers_mut();
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if error == OAuthError::InvalidClient {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oidc\", charset=\"UTF-8\""),
        );
    }
    response
}

/// Retry-After sent with a 503 when upstream did not say.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The class of a failure: it decides the status, the stable code and the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    NotFound,
    MethodNotAllowed {
        allow: &'static str,
    },
    PayloadTooLarge,
    UpstreamRejected,
    UpstreamUnavailable {
        retry_after: Duration,
    },
    Configuration,
    Internal,
    /// The OIDC token endpoint's refusals, answered in RFC 6749 §5.2's shape.
    OAuth(OAuthError),
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpstreamRejected => StatusCode::BAD_GATEWAY,
            Self::UpstreamUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Configuration | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::OAuth(error) => error.status(),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
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
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    pub fn not_found() -> Self {
        Self::new(
            ErrorKind::NotFound,
            "no such resource: use POST /guest-tokens or DELETE /guest-sessions",
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self::new(
            ErrorKind::MethodNotAllowed { allow },
            format!("method not allowed: use {allow}"),
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(ErrorKind::PayloadTooLarge, "the body is larger than 16 KiB")
    }

    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal error")
    }

    fn caused_by(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

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

fn unavailable(message: impl Into<String>, retry_after: Option<Duration>) -> ApiError {
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
        };
        error.caused_by(err)
    }
}

impl From<GenesysError> for ApiError {
    fn from(err: GenesysError) -> Self {
        let err = match err {
            GenesysError::Credentials(credentials) => return credentials.into(),
            other => other,
        };
        let error = match &err {
            GenesysError::CredentialsRefused
            | GenesysError::Forbidden { .. }
            | GenesysError::Rejected { .. }
            | GenesysError::Malformed { .. } => ApiError::new(ErrorKind::UpstreamRejected, err.to_string()),
            GenesysError::Indeterminate { .. } => unavailable(
                "Genesys Cloud did not say whether it finished the request; retry shortly",
                None,
            ),
            GenesysError::Unavailable { retry_after, .. } => unavailable(
                format!("Genesys Cloud is unavailable ({err}); retry shortly"),
                *retry_after,
            ),
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
            MintError::Client(err) => err.into(),
            MintError::Random => ApiError::internal().caused_by(err),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Refused { error, description } => ApiError::new(ErrorKind::OAuth(error), description),
            TokenError::Store(err) => err.into(),
            TokenError::Client(err) => err.into(),
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
