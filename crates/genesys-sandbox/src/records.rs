//! What the sandbox stores and lets tests inspect: guests, External Contacts with their external
//! ids, and web-messaging sessions.

use serde_json::Value;

/// A guest as the sandbox stored it, for tests to inspect.
#[derive(Clone, Debug, PartialEq)]
pub struct GuestRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    pub custom_attributes: Value,
}

/// One external id of a contact: a value within an external source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalId {
    pub source_id: String,
    pub value: String,
}

/// A contact as the sandbox stored it, for tests to inspect.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalContactRecord {
    pub id: String,
    pub external_ids: Vec<ExternalId>,
    /// The JSON the API answers for this contact.
    pub body: Value,
}

impl ExternalContactRecord {
    pub(crate) fn has(&self, id: &ExternalId) -> bool {
        self.external_ids.contains(id)
    }
}

/// A session as the sandbox stored it, for tests to inspect. Holds no token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSessionRecord {
    pub session_id: String,
    pub deployment_id: String,
    /// The id_token's `sub`: the guest's identity at the provider.
    pub subject: String,
    /// JWTs issued for the session: one at the exchange, one per refresh.
    pub jwts_issued: usize,
    pub revoked: bool,
}
