//! `POST /auth-codes` through the compiled binaries, with the sandbox playing Genesys's own client
//! (the Messenger's Auth plugin): a code from the route becomes a jwt at the sandbox's exchange,
//! each call gives a new code and each code works once; one External Contact however many calls
//! race for a new customer; a code for a known customer is one read and one write and no Genesys
//! call; the owner's mode answers a clear 404 and reaches nothing.

use std::collections::{BTreeSet, HashSet};

use genesys_sandbox::{Endpoint, ExchangeFailure};
use serde_json::{Value, json};

use crate::deployment::{body_of, keys_of, sample_event};
use crate::fleet::{error_code, status};
use crate::helpers::hash_of;
use crate::hot_path::{deploy_behind_proxy, init_done};
use crate::web_fleet::{REDIRECT_URI, WebFleet, web_calls};

/// A code answer's body, its fields checked: `{authCode, redirectUri, nonce, expiresIn}` and
/// `codeVerifier` only when `with_verifier`.
#[track_caller]
pub fn code_body(reply: &Value, with_verifier: bool) -> Value {
    assert_eq!(status(reply), 200, "{reply}");
    assert_eq!(reply["multiValueHeaders"]["cache-control"][0], "no-store", "{reply}");
    let body = body_of(reply);
    let keys = keys_of(&body);
    let mut expected = BTreeSet::from(["authCode", "expiresIn", "nonce", "redirectUri"]);
    if with_verifier {
        expected.insert("codeVerifier");
    }
    assert_eq!(keys, expected, "{body}");
    assert_eq!(body["redirectUri"], REDIRECT_URI);
    assert_eq!(body["expiresIn"], 60);
    body
}

pub fn crm(crm_id: &str) -> Value {
    json!({ "crmId": crm_id })
}

#[tokio::test]
async fn a_code_from_the_route_becomes_a_jwt_at_the_sandbox_each_call_a_new_code_each_code_once() {
    let fleet = WebFleet::start(1).await;
    let first = code_body(&fleet.auth_code(&crm("CRM-MESSENGER-1")).await, false);
    assert_eq!(
        web_calls(&fleet.sandbox),
        (1, 0, 0, 0),
        "the contact was made; no exchange"
    );
    let (exchanged, jwt) = fleet.messenger_exchange(&first).await;
    assert_eq!(exchanged, 200, "{jwt}");
    assert!(jwt["jwt"].as_str().is_some_and(|jwt| !jwt.is_empty()), "{jwt}");
    let sessions = fleet.sandbox.web_sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].subject,
        hash_of("CRM-MESSENGER-1").as_str(),
        "the pseudonym"
    );

    let second = code_body(&fleet.auth_code(&crm("CRM-MESSENGER-1")).await, false);
    assert_ne!(second["authCode"], first["authCode"], "a new code on every call");
    assert_ne!(second["nonce"], first["nonce"], "a new nonce made for each");
    let (replayed, _) = fleet.messenger_exchange(&first).await;
    assert_eq!(replayed, 401, "a code works once");
    assert!(matches!(
        fleet.sandbox.exchange_failures().last(),
        Some(ExchangeFailure::TokenEndpoint(why)) if why.contains("invalid_grant")
    ));
    assert_eq!(fleet.messenger_exchange(&second).await.0, 200);
    assert_eq!(
        fleet.sandbox.external_contacts().len(),
        1,
        "one contact for the customer"
    );
}

#[tokio::test]
async fn sixteen_concurrent_codes_for_a_new_customer_make_one_external_contact() {
    let fleet = WebFleet::start(4).await;
    let body = crm("CRM-MESSENGER-RACE");
    let calls = (0..16).map(|_| fleet.auth_code(&body));
    let replies = futures::future::join_all(calls).await;
    let codes: HashSet<String> = replies
        .iter()
        .map(|reply| code_body(reply, false)["authCode"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 16, "sixteen different codes");
    assert_eq!(fleet.sandbox.external_contacts().len(), 1, "one External Contact");
    // The sandbox's enrich is an upsert, so one contact alone would not show the claim at work:
    // one request made it, the others waited for its mapping.
    assert_eq!(fleet.sandbox.calls(Endpoint::EnrichContact), 1, "one enrich");
    let stored = fleet.stored("CRM-MESSENGER-RACE").await.expect("the contact is stored");
    assert_eq!(
        stored["genesys_guest_id"].as_s().unwrap(),
        &fleet.sandbox.external_contacts()[0].id
    );
}

#[tokio::test]
async fn a_code_for_a_known_customer_is_one_read_and_one_write_and_no_genesys_call() {
    let fleet = WebFleet::start(1).await;
    code_body(&fleet.auth_code(&crm("CRM-MESSENGER-WARM")).await, false);
    // The code path took no token: the lease that came with the new guest was given back.
    let stored = fleet.stored("CRM-MESSENGER-WARM").await.unwrap();
    assert!(!stored.contains_key("refresh_lease_until"), "{stored:?}");
    let upstream = (web_calls(&fleet.sandbox), fleet.sandbox.calls(Endpoint::OAuthToken));
    fleet.proxy.take();
    code_body(&fleet.auth_code(&crm("CRM-MESSENGER-WARM")).await, false);
    assert_eq!(
        fleet.proxy.operations(),
        ["DynamoDB_20120810.GetItem", "DynamoDB_20120810.UpdateItem"],
        "one read, one code write"
    );
    assert_eq!(
        (web_calls(&fleet.sandbox), fleet.sandbox.calls(Endpoint::OAuthToken)),
        upstream,
        "no Genesys call"
    );
    // A token request right after is served at once: no lease of the code path is in its way.
    let token = fleet.post("CRM-MESSENGER-WARM").await;
    assert_eq!(status(&token), 200, "{token}");
    assert_eq!(fleet.sandbox.external_contacts().len(), 1, "the same contact");
}

#[tokio::test]
async fn the_owners_mode_answers_a_clear_404_and_reaches_nothing() {
    let (mut deployment, proxy) = deploy_behind_proxy(&[]).await;
    // Init's own store call (priming) is done once the instance asks for work.
    init_done(&deployment, 1).await;
    proxy.take();
    let reply = deployment
        .invoke(sample_event("rest-api-post-auth-codes.json"))
        .await
        .response();
    assert_eq!(status(&reply), 404, "{reply}");
    assert_eq!(error_code(&reply), "wrong_upstream_mode");
    assert!(
        body_of(&reply)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("genesys-web-messaging")
    );
    assert_eq!(proxy.operations(), Vec::<String>::new(), "no AWS call");
    for endpoint in [Endpoint::OAuthToken, Endpoint::CreateGuest, Endpoint::EnrichContact] {
        assert_eq!(deployment.sandbox.calls(endpoint), 0, "{endpoint:?}");
    }
    assert_eq!(deployment.stored_guest("CRM-987654").await, None);
    deployment.function.stop();
}
