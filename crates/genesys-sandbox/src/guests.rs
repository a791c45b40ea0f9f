//! `POST /api/v2/externalusers/guests` and `POST /api/v2/externalusers/guests/token`.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::records::GuestRecord;
use super::reply;
use super::state::{State, random_token};

pub(crate) fn create(state: &mut State, req: &Request<Bytes>) -> Response<Bytes> {
    if !state.authorizes(req) {
        return reply::bad_credentials();
    }
    let (name, email, custom_attributes) = match parse_new_guest(req.body()) {
        Ok(fields) => fields,
        Err(message) => return reply::bad_request(&message),
    };
    let guest = GuestRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        email,
        custom_attributes,
    };
    let now = rfc3339_millis(Utc::now());
    let response = json!({
        "id": guest.id,
        "name": guest.name,
        "email": guest.email,
        "customAttributes": guest.custom_attributes,
        "created_at": now,
        "updated_at": now,
    });
    state.guests.push(guest);
    reply::json(StatusCode::OK, &response)
}

pub(crate) fn token(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if !state.authorizes(req) {
        return reply::bad_credentials();
    }
    let guest_id = match json_object(req.body()).and_then(|body| required_string(&body, "externalUserId")) {
        Ok(id) => id,
        Err(message) => return reply::bad_request(&message),
    };
    if !state.guest_exists(&guest_id) {
        return reply::api_error(StatusCode::NOT_FOUND, "not.found", "guest not found");
    }
    let expires_at = TimeDelta::from_std(state.guest_token_ttl)
        .ok()
        .and_then(|ttl| Utc::now().checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut response = Map::new();
    // Shaped like a JWT so clients that sniff the prefix see what they see upstream.
    response.insert("token".into(), format!("eyJ{}", random_token(48)).into());
    response.insert(state.expires_at_key.as_str().into(), rfc3339_millis(expires_at).into());
    reply::json(StatusCode::OK, &Value::Object(response))
}

/// `(name, email, customAttributes)`, or the message for a 400.
fn parse_new_guest(body: &[u8]) -> Result<(String, String, Value), String> {
    let body = json_object(body)?;
    let name = required_string(&body, "name")?;
    let email = required_string(&body, "email")?;
    let custom_attributes = match body.get("customAttributes") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(attributes @ Value::Object(_)) => attributes.clone(),
        Some(_) => return Err("customAttributes must be an object".to_owned()),
    };
    Ok((name, email, custom_attributes))
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("request body must be a JSON object".to_owned()),
        Err(_) => Err("request body is not valid JSON".to_owned()),
    }
}

fn required_string(body: &Map<String, Value>, key: &str) -> Result<String, String> {
    match body.get(key).and_then(Value::as_str) {
        Some(value) if !value.trim().is_empty() => Ok(value.to_owned()),
        _ => Err(format!("{key} is required and must be a non-empty string")),
    }
}

/// Upstream's timestamp style: UTC, millisecond precision, `Z` suffix.
fn rfc3339_millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
