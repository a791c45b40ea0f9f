//! The one place where failures become HTTP responses: `{"error": {"code", "message"}}` with a
//! stable code. Messages tell the caller what to fix and never carry secrets, tokens or CRM ids.

use std::error::Error as _;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::credentials::CredentialError;
use crate::domain::BrokerError;
use crate::genesys::GenesysError;
use crate::store::StoreError;

use super::{ApiResponse, json_response};

/// What the API answers when it cannot serve a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no such resource: use POST /guest-tokens or DELETE /guest-sessions")]
    NotFound,
    #[error("method not allowed: use {allow}")]
    MethodNotAllowed { allow: &'static str },
    #[error("the body is larger than 16 KiB")]
    PayloadTooLarge,
    #[error("{0}")]
    UpstreamRejected(String),
    #[error("{message}")]
    UpstreamUnavailable { message: String, retry_after: Duration },
    #[error("{0}")]
    Configuration(String),
    #[error("internal error")]
    Internal,
    /// Keeps the cause for the log line; the caller sees only `message`.
    #[error("{message}")]
    WithCause {
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
        message: String,
        kind: Box<ApiError>,
    },
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

/// Retry-After sent with a 503 when upstream did not say.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

impl ApiError {
    fn kind(&self) -> &ApiError {
        match self {
            Self::WithCause { kind, .. } => kind.kind(),
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self.kind() {
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpstreamRejected(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Configuration(_) | Self::Internal | Self::WithCause { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self.kind() {
            Self::InvalidRequest(_) => "invalid_request",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UpstreamRejected(_) => "upstream_rejected",
            Self::UpstreamUnavailable { .. } => "upstream_unavailable",
            Self::Configuration(_) => "configuration_error",
            Self::Internal | Self::WithCause { .. } => "internal_error",
        }
    }

    /// Logs the error with its whole cause chain, once; returns the outcome word for the request line.
    pub(crate) fn log(&self) -> &'static str {
        let mut chain = self.to_string();
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
        let message = self.to_string();
        let mut response = json_response(
            self.status(),
            &Envelope {
                error: Body {
                    code: self.code(),
                    message: &message,
                },
            },
        );
        let headers = response.headers_mut();
        match self.kind() {
            Self::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::UpstreamUnavailable { retry_after, .. } => {
                let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            _ => {}
        }
        response
    }

    fn caused(kind: ApiError, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::WithCause {
            message: kind.to_string(),
            cause: Box::new(cause),
            kind: Box::new(kind),
        }
    }
}

impl From<BrokerError> for ApiError {
    fn from(err: BrokerError) -> Self {
        match err {
            BrokerError::Store(err) => err.into(),
            BrokerError::Upstream(err) => err.into(),
            BrokerError::Contended(_) | BrokerError::DeadlineExceeded => ApiError::UpstreamUnavailable {
                message: err.to_string(),
                retry_after: DEFAULT_RETRY_AFTER,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let kind = match &err {
            StoreError::Unavailable(_) => ApiError::UpstreamUnavailable {
                message: "the session store is unavailable; retry shortly".into(),
                retry_after: DEFAULT_RETRY_AFTER,
            },
            StoreError::Misconfigured { .. } => ApiError::Configuration(err.to_string()),
            StoreError::Malformed(_) => ApiError::Internal,
        };
        Self::caused(kind, err)
    }
}

impl From<GenesysError> for ApiError {
    fn from(err: GenesysError) -> Self {
        let kind = match &err {
            GenesysError::CredentialsRefused
            | GenesysError::Forbidden { .. }
            | GenesysError::Rejected { .. }
            | GenesysError::Malformed { .. } => ApiError::UpstreamRejected(err.to_string()),
            GenesysError::Unavailable { retry_after, .. } => ApiError::UpstreamUnavailable {
                message: format!("Genesys Cloud is unavailable ({err}); retry shortly"),
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            },
            GenesysError::Credentials(CredentialError::Unavailable(_)) => ApiError::UpstreamUnavailable {
                message: "Secrets Manager is unavailable; retry shortly".into(),
                retry_after: DEFAULT_RETRY_AFTER,
            },
            GenesysError::Credentials(creds) => ApiError::Configuration(creds.to_string()),
        };
        Self::caused(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &ApiResponse) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn every_error_has_the_envelope_and_no_store_header() {
        let errors = [
            ApiError::InvalidRequest("crmId is required".into()),
            ApiError::NotFound,
            ApiError::MethodNotAllowed { allow: "POST" },
            ApiError::PayloadTooLarge,
            ApiError::UpstreamRejected("x".into()),
            ApiError::UpstreamUnavailable {
                message: "x".into(),
                retry_after: Duration::from_millis(1500),
            },
            ApiError::Configuration("x".into()),
            ApiError::Internal,
        ];
        let expected = [
            (400, "invalid_request"),
            (404, "not_found"),
            (405, "method_not_allowed"),
            (413, "payload_too_large"),
            (502, "upstream_rejected"),
            (503, "upstream_unavailable"),
            (500, "configuration_error"),
            (500, "internal_error"),
        ];
        for (err, (status, code)) in errors.into_iter().zip(expected) {
            let response = err.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(body(&response)["error"]["code"], code);
            assert!(body(&response)["error"]["message"].is_string());
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        }
    }

    #[test]
    fn method_not_allowed_names_the_allowed_method_and_503_says_when_to_retry() {
        let response = ApiError::MethodNotAllowed { allow: "DELETE" }.into_response();
        assert_eq!(response.headers()[header::ALLOW], "DELETE");
        let response = ApiError::UpstreamUnavailable {
            message: "x".into(),
            retry_after: Duration::from_millis(1500),
        }
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn a_missing_table_is_a_configuration_error_naming_the_table() {
        let err: ApiError = StoreError::Misconfigured {
            table: "GenesysGuestSessions".into(),
            problem: "it does not exist".into(),
        }
        .into();
        assert_eq!(err.code(), "configuration_error");
        assert!(err.to_string().contains("GenesysGuestSessions"));
    }

    #[test]
    fn a_missing_scope_is_upstream_rejected_and_says_so() {
        let err: ApiError = GenesysError::Forbidden {
            endpoint: crate::genesys::Endpoint::CreateGuest,
        }
        .into();
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        assert!(err.to_string().contains("scope or permission"));
    }
}
