//! HTTP as both functions see it, below their route tables: the request a front end hands over,
//! the response, and the one mapping of failures to the error envelope ([`ApiError`]). The guest
//! API (`crate::api`) and the OpenID Connect provider (`crate::oidc`) build on it; it imports
//! neither.

mod error;
mod oauth;
mod request_line;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde::Serialize;

pub(crate) use error::unavailable;
pub use error::{ApiError, ErrorKind};
pub use oauth::OAuthError;
pub use request_line::{Answered, finish, settle};

/// A response as every front end sends it back.
pub type ApiResponse = Response<Bytes>;

/// Bodies larger than this are refused with 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request as any front end hands it over, body already decoded.
#[derive(Clone, Copy)]
pub struct ApiRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The request path, as the front end gives it.
    pub path: &'a str,
    /// The body, already decoded from base64 where the front end encoded it.
    pub body: &'a [u8],
    /// The caller's `x-correlation-id` header, as sent (checked by the handler).
    pub correlation_header: Option<&'a str>,
    /// The front end's own id for the request (API Gateway's request id), if it has one.
    pub gateway_request_id: Option<&'a str>,
    /// The `Authorization` header (the OIDC token endpoint's client authentication); a secret,
    /// never shown by `Debug`.
    pub authorization: Option<&'a str>,
}

impl<'a> ApiRequest<'a> {
    /// A request with no correlation header and no gateway request id.
    pub fn new(method: &'a Method, path: &'a str, body: &'a [u8]) -> Self {
        Self {
            method,
            path,
            body,
            correlation_header: None,
            gateway_request_id: None,
            authorization: None,
        }
    }
}

/// The body may carry a raw CRM id or a client secret: `Debug` shows only its length.
impl std::fmt::Debug for ApiRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", self.method)
            .field("path", &self.path)
            .field("body_bytes", &self.body.len())
            .field("correlation_header", &self.correlation_header)
            .field("gateway_request_id", &self.gateway_request_id)
            .field("authorization", &self.authorization.map(|_| "<redacted>"))
            .finish()
    }
}

/// A JSON answer nobody may cache (tokens, errors).
pub fn json_response(status: StatusCode, body: &impl Serialize) -> ApiResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Bytes::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    never_cached(response)
}

/// An answer without a body (204).
pub fn empty_response(status: StatusCode) -> ApiResponse {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    never_cached(response)
}

/// `Cache-Control: no-store`, and `Pragma: no-cache` beside it for HTTP/1.0 caches, as RFC 6749
/// §5.1 asks of token answers (and errors, which are answered the same way).
fn never_cached(mut response: ApiResponse) -> ApiResponse {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A public JSON document its readers may cache for `cache_control` (discovery, JWKS).
pub fn public_document(body: Bytes, cache_control: &'static str) -> ApiResponse {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    response
}
