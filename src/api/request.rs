//! The guest API's reading of a request body: `{"crmId": "..."}` into a [`CrmId`].

use serde_json::{Map, Value};

use crate::domain::CrmId;

use crate::web::{ApiError, ApiRequest, MAX_BODY_BYTES};

impl ApiRequest<'_> {
    /// The `crmId` of a `{"crmId": "..."}` body. Other fields are ignored.
    pub fn crm_id(&self) -> Result<CrmId, ApiError> {
        crm_id_in(&self.json_object()?)
    }

    /// The body as a JSON object, refused with what to fix when it is not one.
    pub(super) fn json_object(&self) -> Result<Map<String, Value>, ApiError> {
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
        Ok(body)
    }
}

/// The `crmId` of a body already read as a JSON object.
pub(super) fn crm_id_in(body: &Map<String, Value>) -> Result<CrmId, ApiError> {
    match body.get("crmId") {
        Some(Value::String(raw)) => CrmId::parse(raw).map_err(|err| ApiError::invalid_request(err.to_string())),
        Some(_) => Err(ApiError::invalid_request("crmId must be a string")),
        None => Err(ApiError::invalid_request("crmId is required")),
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::web::ErrorKind;

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
