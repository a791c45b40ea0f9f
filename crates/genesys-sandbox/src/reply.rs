//! Response builders for the upstream's JSON bodies and error shapes.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

/// A JSON answer carrying, like every Genesys answer, an `ININ-Correlation-Id` of its own.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("inin-correlation-id", id);
    }
    response
}

/// The API's (not the login server's) error shape.
pub(crate) fn api_error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    json(
        status,
        &json!({"status": status.as_u16(), "code": code, "message": message}),
    )
}

/// `204 No Content`, with its correlation id like every answer.
pub(crate) fn no_content() -> Response<Bytes> {
    let mut response = json(StatusCode::NO_CONTENT, &serde_json::Value::Null);
    *response.body_mut() = Bytes::new();
    response.headers_mut().remove(header::CONTENT_TYPE);
    response
}

/// The full public-API error envelope, as the external contacts and web deployment APIs answer.
pub(crate) fn platform_error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    json(status, &platform_error_body(status, code, message))
}

pub(crate) fn platform_error_body(status: StatusCode, code: &str, message: &str) -> serde_json::Value {
    json!({
        "message": message,
        "code": code,
        "status": status.as_u16(),
        "contextId": uuid::Uuid::new_v4().to_string(),
        "details": [],
        "errors": [],
    })
}

pub(crate) fn bad_credentials() -> Response<Bytes> {
    api_error(
        StatusCode::UNAUTHORIZED,
        "bad.credentials",
        "Invalid login credentials.",
    )
}

/// A 401 in the platform's envelope, for the endpoints that answer with it.
pub(crate) fn platform_bad_credentials() -> Response<Bytes> {
    platform_error(
        StatusCode::UNAUTHORIZED,
        "bad.credentials",
        "Invalid login credentials.",
    )
}

pub(crate) fn bad_request(message: &str) -> Response<Bytes> {
    api_error(StatusCode::BAD_REQUEST, "bad.request", message)
}

pub(crate) fn not_found() -> Response<Bytes> {
    api_error(StatusCode::NOT_FOUND, "not.found", "no such resource")
}

/// `allow` lists the one method the path accepts.
pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Bytes> {
    let mut response = api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method.not.allowed",
        "method not allowed",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The login server's OAuth error shape.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> Response<Bytes> {
    let body = match description {
        Some(description) => json!({"error": error, "description": description}),
        None => json!({"error": error}),
    };
    json(status, &body)
}
