//! Fallible reading of JSON request bodies for the web-messaging endpoints.

use serde_json::{Map, Value};

/// The body as a JSON object, or the message for a 400.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("request body must be a JSON object".to_owned()),
        Err(_) => Err("request body is not valid JSON".to_owned()),
    }
}

/// A string that is not blank.
pub(crate) fn non_empty_str(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}
