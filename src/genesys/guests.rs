//! The owner's guest contract: `POST /api/v2/externalusers/guests` and
//! `POST /api/v2/externalusers/guests/token`.
//!
//! These two endpoints are not in Genesys's public API catalogue; they are the contract this
//! project is specified against, so everything about their shape lives in this one module.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::{CrmIdHash, GuestId, GuestToken};

use super::Endpoint;

pub(crate) const CREATE_GUEST_PATH: &str = "/api/v2/externalusers/guests";
pub(crate) const GUEST_TOKEN_PATH: &str = "/api/v2/externalusers/guests/token";

/// The guest the broker creates for a customer, named from the pseudonym only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewGuest {
    /// `crm_guest_` and the first 12 characters of the pseudonym.
    pub name: String,
    /// `guest_`, the first 8 characters of the pseudonym, `@internal.corp`.
    pub email: String,
    /// Where the guest came from, and the full pseudonym.
    pub custom_attributes: CustomAttributes,
}

/// The guest's custom attributes, serialized in snake case as the Python utility sent them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CustomAttributes {
    /// Always `crm_integration`.
    pub source_system: &'static str,
    /// The customer's full pseudonym.
    pub crm_id_hash: String,
}

impl NewGuest {
    /// `crm_guest_{hash[..12]}`, `guest_{hash[..8]}@internal.corp`, as the Python utility named them.
    pub fn for_customer(hash: &CrmIdHash) -> Self {
        Self {
            name: format!("crm_guest_{}", hash.prefix(12)),
            email: format!("guest_{}@internal.corp", hash.prefix(8)),
            custom_attributes: CustomAttributes {
                source_system: "crm_integration",
                crm_id_hash: hash.as_str().to_owned(),
            },
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CreatedGuest {
    id: String,
}

impl CreatedGuest {
    pub(crate) fn into_guest_id(self) -> Result<GuestId, (Endpoint, &'static str)> {
        GuestId::new(self.id).ok_or((Endpoint::CreateGuest, "empty guest id"))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GuestTokenRequest<'a> {
    pub(crate) external_user_id: &'a str,
}

#[derive(Deserialize)]
pub(crate) struct IssuedGuestToken {
    token: String,
    #[serde(alias = "expiresAt")]
    expires_at: String,
}

impl IssuedGuestToken {
    pub(crate) fn into_guest_token(self) -> Result<GuestToken, (Endpoint, &'static str)> {
        let token = GuestToken::new(SecretString::from(self.token), self.expires_at)
            .ok_or((Endpoint::GuestToken, "empty token or expires_at"))?;
        token
            .expires_at()
            .map(|_| token.clone())
            .ok_or((Endpoint::GuestToken, "expires_at is not an ISO 8601 timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_guest_is_named_from_the_hash_like_the_python_utility() {
        let hash = CrmIdHash::from_stored("54e48adaffd9027bce4eef4ba19ca3b0e30dd91cdc082d25de52df256082c8e4".into());
        let body = serde_json::to_value(NewGuest::for_customer(&hash)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "name": "crm_guest_54e48adaffd9",
                "email": "guest_54e48ada@internal.corp",
                "customAttributes": {
                    "source_system": "crm_integration",
                    "crm_id_hash": "54e48adaffd9027bce4eef4ba19ca3b0e30dd91cdc082d25de52df256082c8e4"
                }
            })
        );
    }

    #[test]
    fn the_token_request_carries_only_the_guest_id() {
        let body = serde_json::to_value(GuestTokenRequest {
            external_user_id: "g-1",
        })
        .unwrap();
        assert_eq!(body, serde_json::json!({"externalUserId": "g-1"}));
    }

    #[test]
    fn token_responses_are_accepted_with_either_expiry_key() {
        for body in [
            r#"{"token":"eyJ","expires_at":"2024-12-15T14:30:00.000Z"}"#,
            r#"{"token":"eyJ","expiresAt":"2024-12-15T14:30:00.000Z"}"#,
        ] {
            let issued: IssuedGuestToken = serde_json::from_str(body).unwrap();
            let token = issued.into_guest_token().unwrap();
            assert_eq!(token.expires_at_raw(), "2024-12-15T14:30:00.000Z");
        }
    }

    #[test]
    fn token_responses_without_a_readable_expiry_are_refused() {
        let issued: IssuedGuestToken = serde_json::from_str(r#"{"token":"eyJ","expires_at":"soon"}"#).unwrap();
        assert!(issued.into_guest_token().is_err());
    }
}
