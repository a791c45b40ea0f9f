//! HTTP-level tests of the External Contacts endpoints.

use serde_json::{Value, json};

use super::super::test_support::{access_token, post_json, start_default, status_and_json};
use super::super::{DEFAULT_EXTERNAL_SOURCE_ID, Endpoint, ExternalId, Fault, Sandbox};

fn enrich_body(source: &str, value: &str) -> Value {
    json!({
        "matchingIdentifiers": [{"type": "ExternalId", "value": value, "externalSource": {"id": source}}],
        "action": "Upsert",
        "contact": {"firstName": "Ada", "externalIds": [{"externalSource": {"id": source}, "value": value}]},
    })
}

fn lookup_body(source: &str, value: &str) -> Value {
    json!({"type": "ExternalId", "value": value, "externalSource": {"id": source}})
}

async fn enrich(sandbox: &Sandbox, token: &str, value: &str) -> (u16, Value) {
    let body = enrich_body(DEFAULT_EXTERNAL_SOURCE_ID, value);
    status_and_json(post_json(sandbox, Endpoint::EnrichContact, Some(token), &body).await).await
}

#[tokio::test]
async fn enrich_creates_a_contact_once_then_answers_the_same_contact() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let (status, created) = enrich(&sandbox, &token, "crm-1").await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(created["firstName"], "Ada");
    assert_eq!(
        created["externalIds"][0]["externalSource"]["id"],
        DEFAULT_EXTERNAL_SOURCE_ID
    );
    assert_eq!(created["externalIds"][0]["value"], "crm-1");

    let (status, again) = enrich(&sandbox, &token, "crm-1").await;
    assert_eq!(status, 200);
    assert_eq!(again, created);

    let contacts = sandbox.external_contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].id, id);
    assert_eq!(
        contacts[0].external_ids,
        [ExternalId {
            source_id: DEFAULT_EXTERNAL_SOURCE_ID.into(),
            value: "crm-1".into()
        }]
    );
    assert_eq!(sandbox.calls(Endpoint::EnrichContact), 2);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_upserts_of_one_identifier_create_a_single_contact() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (sandbox, token) = (sandbox.clone(), token.clone());
        calls.spawn(async move { enrich(&sandbox, &token, "crm-race").await });
    }
    let answers = calls.join_all().await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let found = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((created, found), (1, 15));
    let ids: std::collections::HashSet<&str> = answers.iter().map(|(_, body)| body["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(sandbox.external_contacts().len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn lookup_finds_an_enriched_contact_and_answers_not_found_otherwise() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let body = lookup_body(DEFAULT_EXTERNAL_SOURCE_ID, "crm-7");
    let response = post_json(&sandbox, Endpoint::LookupContact, Some(&token), &body).await;
    assert!(response.headers().contains_key("inin-correlation-id"));
    let (status, missing) = status_and_json(response).await;
    assert_eq!(status, 404);
    assert_eq!(missing["code"], "not.found");
    assert_eq!(missing["status"], 404);
    assert!(missing["contextId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(missing["details"], json!([]));
    assert_eq!(missing["errors"], json!([]));

    let (_, created) = enrich(&sandbox, &token, "crm-7").await;
    let (status, found) =
        status_and_json(post_json(&sandbox, Endpoint::LookupContact, Some(&token), &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(found["id"], created["id"]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_external_source_is_refused_with_400_and_creates_nothing() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let body = enrich_body("no-such-source", "crm-1");
    let (status, error) =
        status_and_json(post_json(&sandbox, Endpoint::EnrichContact, Some(&token), &body).await).await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "bad.request");
    assert!(error["message"].as_str().unwrap().contains("no-such-source"));
    let lookup = lookup_body("no-such-source", "crm-1");
    let (status, _) = status_and_json(post_json(&sandbox, Endpoint::LookupContact, Some(&token), &lookup).await).await;
    assert_eq!(status, 400);
    assert!(sandbox.external_contacts().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn malformed_enrich_bodies_are_refused_with_400() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    let source = DEFAULT_EXTERNAL_SOURCE_ID;
    let mut wrong_action = enrich_body(source, "v");
    wrong_action["action"] = "Delete".into();
    let mut wrong_type = enrich_body(source, "v");
    wrong_type["matchingIdentifiers"][0]["type"] = "Email".into();
    let mut no_contact = enrich_body(source, "v");
    no_contact.as_object_mut().unwrap().remove("contact");
    let mut blank_value = enrich_body(source, "v");
    blank_value["matchingIdentifiers"][0]["value"] = " ".into();
    let bodies = [
        json!([1, 2]),
        json!({}),
        json!({"matchingIdentifiers": [], "action": "Upsert", "contact": {}}),
        wrong_action,
        wrong_type,
        no_contact,
        blank_value,
        json!({"matchingIdentifiers": "x", "action": "Upsert", "contact": {}}),
    ];
    for body in bodies {
        let (status, error) =
            status_and_json(post_json(&sandbox, Endpoint::EnrichContact, Some(&token), &body).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["code"], "bad.request");
    }
    let garbage = reqwest::Client::new()
        .post(format!("{}{}", sandbox.base_url(), Endpoint::EnrichContact.path()))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert!(sandbox.external_contacts().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn contacts_endpoints_need_a_valid_access_token() {
    let sandbox = start_default().await;
    let body = enrich_body(DEFAULT_EXTERNAL_SOURCE_ID, "v");
    for token in [None, Some("not-a-token")] {
        let (status, error) = status_and_json(post_json(&sandbox, Endpoint::EnrichContact, token, &body).await).await;
        assert_eq!(status, 401);
        assert_eq!(error["code"], "bad.credentials");
        let lookup = lookup_body(DEFAULT_EXTERNAL_SOURCE_ID, "v");
        let (status, _) = status_and_json(post_json(&sandbox, Endpoint::LookupContact, token, &lookup).await).await;
        assert_eq!(status, 401);
    }
    assert!(sandbox.external_contacts().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn faults_on_the_contacts_endpoints_are_played_then_service_resumes() {
    let sandbox = start_default().await;
    let token = access_token(&sandbox).await;
    sandbox.push_fault(Endpoint::EnrichContact, Fault::status(429).retry_after(5));
    sandbox.push_fault(Endpoint::LookupContact, Fault::status(200).raw_body("not json at all"));

    let limited = post_json(
        &sandbox,
        Endpoint::EnrichContact,
        Some(&token),
        &enrich_body(DEFAULT_EXTERNAL_SOURCE_ID, "v"),
    )
    .await;
    assert_eq!(limited.headers()["retry-after"], "5");
    let (status, envelope) = status_and_json(limited).await;
    assert_eq!((status, envelope["status"].as_u64()), (429, Some(429)));
    assert!(sandbox.external_contacts().is_empty());

    let lookup = lookup_body(DEFAULT_EXTERNAL_SOURCE_ID, "v");
    let garbage = post_json(&sandbox, Endpoint::LookupContact, Some(&token), &lookup).await;
    assert_eq!(garbage.status(), 200);
    assert_eq!(garbage.text().await.unwrap(), "not json at all");

    assert_eq!(enrich(&sandbox, &token, "v").await.0, 201);
    assert_eq!(sandbox.calls(Endpoint::EnrichContact), 2);
    assert_eq!(sandbox.calls(Endpoint::LookupContact), 1);
    sandbox.shutdown().await;
}
