//! External Contacts: `POST /api/v2/externalcontacts/contacts/enrich` (upsert by external id) and
//! `POST /api/v2/externalcontacts/identifierlookup/contacts`.
//!
//! Only the `ExternalId` identifier type and the `Upsert` action are emulated. An upsert that
//! matches an existing contact answers it unchanged (200); otherwise the contact is created from
//! the request's `contact` (201). Handlers run under the state lock, so two concurrent upserts of
//! the same `(source, value)` can never create two contacts.

use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::json_body::{json_object, non_empty_str};
use super::records::{ExternalContactRecord, ExternalId};
use super::reply;
use super::state::State;

pub(crate) fn enrich(state: &mut State, req: &Request<Bytes>) -> Response<Bytes> {
    if !state.authorizes(req) {
        return reply::platform_bad_credentials();
    }
    let request = match parse_enrich(req.body()) {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    let named_sources = request.matching.iter().chain(&request.contact_ids);
    if let Some(unknown) = named_sources
        .map(|id| &id.source_id)
        .find(|id| !state.external_source_exists(id))
    {
        return bad_request(&format!("external source {unknown} does not exist"));
    }
    if let Some(existing) = state
        .contacts
        .iter()
        .find(|c| request.matching.iter().any(|id| c.has(id)))
    {
        return reply::json(StatusCode::OK, &existing.body);
    }
    if request.contact_ids.is_empty() {
        return bad_request("contact.externalIds must hold at least one external id");
    }
    if request
        .contact_ids
        .iter()
        .any(|id| state.contacts.iter().any(|c| c.has(id)))
    {
        return bad_request("an external id of the contact already belongs to another contact");
    }
    let record = new_contact(request.contact, request.contact_ids);
    let body = record.body.clone();
    state.contacts.push(record);
    reply::json(StatusCode::CREATED, &body)
}

pub(crate) fn lookup(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if !state.authorizes(req) {
        return reply::platform_bad_credentials();
    }
    let identifier = match json_object(req.body()).and_then(|body| parse_identifier(&body, "request")) {
        Ok(identifier) => identifier,
        Err(message) => return bad_request(&message),
    };
    if !state.external_source_exists(&identifier.source_id) {
        return bad_request(&format!("external source {} does not exist", identifier.source_id));
    }
    match state.contacts.iter().find(|c| c.has(&identifier)) {
        Some(contact) => reply::json(StatusCode::OK, &contact.body),
        None => reply::platform_error(StatusCode::NOT_FOUND, "not.found", "no contact has this identifier"),
    }
}

struct EnrichRequest {
    matching: Vec<ExternalId>,
    contact: Map<String, Value>,
    contact_ids: Vec<ExternalId>,
}

fn parse_enrich(body: &[u8]) -> Result<EnrichRequest, String> {
    let body = json_object(body)?;
    match body.get("action").and_then(Value::as_str) {
        Some("Upsert") => {}
        Some(other) => return Err(format!("action {other} is not supported (only Upsert)")),
        None => return Err("action is required".to_owned()),
    }
    let matching = match body.get("matchingIdentifiers").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|item| as_object(item, "matchingIdentifiers[]").and_then(|obj| parse_identifier(obj, "identifier")))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("matchingIdentifiers must be a non-empty array".to_owned()),
    };
    let contact = match body.get("contact") {
        Some(Value::Object(contact)) => contact.clone(),
        _ => return Err("contact is required and must be an object".to_owned()),
    };
    let contact_ids = match contact.get("externalIds") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|item| as_object(item, "contact.externalIds[]").and_then(parse_external_id))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("contact.externalIds must be an array".to_owned()),
    };
    Ok(EnrichRequest {
        matching,
        contact,
        contact_ids,
    })
}

/// `{"type":"ExternalId","value":V,"externalSource":{"id":S}}`
fn parse_identifier(obj: &Map<String, Value>, what: &str) -> Result<ExternalId, String> {
    match obj.get("type").and_then(Value::as_str) {
        Some("ExternalId") => parse_external_id(obj),
        Some(other) => Err(format!("{what} type {other} is not supported (only ExternalId)")),
        None => Err(format!("{what} type is required")),
    }
}

/// `{"externalSource":{"id":S},"value":V}`
fn parse_external_id(obj: &Map<String, Value>) -> Result<ExternalId, String> {
    let value = non_empty_str(obj.get("value")).ok_or("value must be a non-empty string")?;
    let source_id = non_empty_str(obj.get("externalSource").and_then(|source| source.get("id")))
        .ok_or("externalSource.id must be a non-empty string")?;
    Ok(ExternalId {
        source_id: source_id.to_owned(),
        value: value.to_owned(),
    })
}

fn new_contact(mut contact: Map<String, Value>, external_ids: Vec<ExternalId>) -> ExternalContactRecord {
    let id = uuid::Uuid::new_v4().to_string();
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let ids_json: Vec<Value> = external_ids
        .iter()
        .map(|ext| {
            json!({
                "externalSource": {
                    "id": ext.source_id,
                    "selfUri": format!("/api/v2/externalcontacts/sources/{}", ext.source_id),
                },
                "value": ext.value,
            })
        })
        .collect();
    contact.insert("id".into(), id.clone().into());
    contact.insert("externalIds".into(), ids_json.into());
    contact.insert("createDate".into(), now.clone().into());
    contact.insert("modifyDate".into(), now.into());
    contact.insert(
        "selfUri".into(),
        format!("/api/v2/externalcontacts/contacts/{id}").into(),
    );
    ExternalContactRecord {
        id,
        external_ids,
        body: Value::Object(contact),
    }
}

fn bad_request(message: &str) -> Response<Bytes> {
    reply::platform_error(StatusCode::BAD_REQUEST, "bad.request", message)
}

fn as_object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value.as_object().ok_or_else(|| format!("{what} must be an object"))
}

#[cfg(test)]
mod tests;
