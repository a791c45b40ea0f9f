//! The parts of an HTTP request the API reads, and the parsing of its body into a [`CrmId`].

use http::Method;
use serde_json::Value;

use crate::domain::CrmId;

use super::ApiError;

/// Bodies larger than this are refused with 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request as any front end hands it over, body already decoded.
#[derive(Clone, Copy)]
pub struct ApiRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
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

/// The body carries the raw CRM id: `Debug` shows only its length.
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

impl ApiRequest<'_> {
    /// The `crmId` of a `{"crmId": "..."}` body. Other fields are ignored.
    pub fn crm_id(&self) -> Result<CrmId, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::payload_too_large());
        }
        let invalid = ApiError::invalid_request;
        if self.body.is_empty() {
            return Err(invalid("the body must be a JSON object with a crmId string"));
        }
        let body: Value = serde_json::from_slice(self.body).map_err(|_| invalid("the body is not valid JSON"))?;
        let Value::Object(body) = body else {
            return Err(invalid("the body must be a JSON object with a crmId string"));
        };
        match body.get("crmId") {
            Some(Value::String(raw)) => CrmId::parse(raw).map_err(|err| ApiError::invalid_request(err.to_string())),
            Some(_) => Err(invalid("crmId must be a string")),
            None => Err(invalid("crmId is required")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ErrorKind;

    fn crm_id(body: &[u8]) -> Result<CrmId, ApiError> {
        ApiRequest::new(&Method::POST, "/guest-tokens", body).crm_id()
    }

    #[test]
    fn a_crm_id_string_is_read_and_other_fields_ignored() {
        assert!(crm_id(br#"{"crmId":"CRM-1","extra":true}"#).is_ok());
    }

    #[test]
    fn bad_bodies_say_what_to_fix() {
        let cases: [(&[u8], &str); 9] = [
            (b"", "JSON object"),
            (b"{", "not valid JSON"),
            (b"[1]", "JSON object"),
            (b"{}", "crmId is required"),
            (br#"{"crmId":42}"#, "must be a string"),
            (br#"{"crmId":null}"#, "must be a string"),
            (br#"{"crmId":""}"#, "must not be empty"),
            (br#"{"crmId":"  "}"#, "must not be blank"),
            (br#"{"crmId":"a\u0000b"}"#, "control characters"),
        ];
        for (body, expected) in cases {
            let err = crm_id(body).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_body() {
        let request = ApiRequest::new(&Method::POST, "/guest-tokens", br#"{"crmId":"CRM-PRIVATE-1"}"#);
        assert!(!format!("{request:?}").contains("PRIVATE"));
    }

    #[test]
    fn an_oversized_body_is_too_large_before_parsing() {
        let body = vec![b'x'; MAX_BODY_BYTES + 1];
        assert_eq!(crm_id(&body).unwrap_err().kind(), ErrorKind::PayloadTooLarge);
    }
}
