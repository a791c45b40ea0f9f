//! The genesys-web-messaging mode through the compiled binary, as Lambda runs it (see
//! [`crate::web_fleet`]): the first token, a hit, renewal with the refresh token, a new exchange
//! once it lapses, revocation on delete, Genesys's 429s and 5xx, the race of instances, and init.

use std::time::Duration;

use genesys_sandbox::{DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint, Fault};

use crate::deployment::{assert_token_body, body_of};
use crate::fleet::{error_code, served_a_request, status};
use crate::helpers::hash_of;
use crate::web_fleet::{OIDC_BINARY, WebFleet, web_calls};
use test_kit::runtime_harness::{LambdaFunction, RuntimeHarness};

#[tokio::test]
async fn the_binary_serves_a_web_messaging_token_signed_by_kms_then_a_hit_is_one_dynamodb_read() {
    // Two instances: one serves the token request, the other the sandbox's calls to the OIDC routes.
    let mut fleet = WebFleet::start(2).await;
    let first = fleet.post("CRM-WEB-1").await;
    assert_eq!(status(&first), 200, "{first}");
    let body = body_of(&first);
    assert_token_body(&body);
    let contacts = fleet.sandbox.external_contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(body["guestId"], contacts[0].id.as_str());
    let contact = format!("{:?}", contacts[0]);
    assert!(
        contact.contains(hash_of("CRM-WEB-1").as_str()),
        "the external id is the pseudonym"
    );
    assert!(!contact.contains("CRM-WEB-1"), "never the raw CRM id");
    assert_eq!(
        fleet.sandbox.provider_token_calls(),
        1,
        "Genesys redeemed one code at the broker"
    );
    assert_eq!(web_calls(&fleet.sandbox), (1, 1, 0, 0));
    fleet.proxy.take();
    let second = fleet.post("CRM-WEB-1").await;
    assert_eq!(body_of(&second), body, "a hit hands out the stored token");
    assert_eq!(
        fleet.proxy.operations(),
        ["DynamoDB_20120810.GetItem"],
        "a hit is one read"
    );
    assert_eq!(web_calls(&fleet.sandbox), (1, 1, 0, 0), "a hit calls nothing upstream");
    assert_eq!(fleet.sandbox.provider_token_calls(), 1);
    let output = fleet.stop();
    assert!(
        output
            .iter()
            .any(|line| line.contains("POST /oidc/token") && line.contains("200")),
        "an instance redeemed the code"
    );
    let token = body["token"].as_str().unwrap();
    assert!(
        !output.iter().any(|line| line.contains(token)),
        "the jwt is never logged"
    );
}

#[tokio::test]
async fn the_binary_renews_with_the_refresh_token_exchanges_anew_once_it_lapses_and_revokes_on_delete() {
    let fleet = WebFleet::start(2).await;
    // Jwts living 120 s are inside the 300 s sliding window from the start: every request renews.
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(120));
    let first = body_of(&fleet.post("CRM-WEB-2").await);
    let refreshed = body_of(&fleet.post("CRM-WEB-2").await);
    assert_eq!(
        web_calls(&fleet.sandbox),
        (1, 1, 1, 0),
        "renewed with the refresh token"
    );
    assert_eq!(refreshed["guestId"], first["guestId"]);
    assert_ne!(refreshed["token"], first["token"]);
    fleet.sandbox.expire_refresh_tokens();
    let exchanged = fleet.post("CRM-WEB-2").await;
    assert_eq!(status(&exchanged), 200, "{exchanged}");
    assert_eq!(
        web_calls(&fleet.sandbox),
        (1, 2, 2, 0),
        "the lapsed refresh token was refused, then a new code exchanged"
    );
    assert_eq!(body_of(&exchanged)["guestId"], first["guestId"], "the same contact");
    assert_eq!(fleet.sandbox.provider_token_calls(), 2);

    assert_eq!(status(&fleet.delete("CRM-WEB-2").await), 204);
    assert_eq!(web_calls(&fleet.sandbox).3, 1, "the jwt was revoked");
    let sessions = fleet.sandbox.web_sessions();
    assert!(
        sessions.last().unwrap().revoked,
        "the session in force ended: {sessions:?}"
    );
    assert!(fleet.stored("CRM-WEB-2").await.is_none(), "forgotten");
    assert_eq!(status(&fleet.post("CRM-WEB-2").await), 200);
    assert_eq!(web_calls(&fleet.sandbox).1, 3, "a new exchange after the delete");
    for _ in 0..4 {
        fleet
            .sandbox
            .push_fault(Endpoint::WebDeploymentTokenRevoke, Fault::status(500));
    }
    assert_eq!(
        status(&fleet.delete("CRM-WEB-2").await),
        204,
        "a failed revocation is best effort"
    );
    assert_eq!(web_calls(&fleet.sandbox).3, 5, "revocation was attempted");
    assert!(fleet.stored("CRM-WEB-2").await.is_none(), "forgotten all the same");
}

#[tokio::test]
async fn through_the_binary_rate_limits_and_outages_follow_the_owner_modes_rules() {
    let fleet = WebFleet::start(2).await;
    fleet
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::status(429).retry_after(1));
    fleet.sandbox.push_fault(Endpoint::EnrichContact, Fault::status(503));
    let reply = fleet.post("CRM-WEB-5").await;
    assert_eq!(status(&reply), 200, "429 and 503 are retried: {reply}");
    assert_eq!(web_calls(&fleet.sandbox), (2, 2, 0, 0));
    assert_eq!(
        fleet.sandbox.external_contacts().len(),
        1,
        "a repeated upsert makes no second contact"
    );
    for _ in 0..4 {
        fleet
            .sandbox
            .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::status(500));
    }
    let reply = fleet.post("CRM-WEB-6").await;
    assert_eq!(status(&reply), 503, "{reply}");
    assert_eq!(error_code(&reply), "upstream_unavailable");
    assert!(reply["multiValueHeaders"]["retry-after"][0].is_string(), "{reply}");
    assert_eq!(web_calls(&fleet.sandbox).1, 6, "the exchange was tried four times");
    assert_eq!(fleet.stored_token("CRM-WEB-6").await, None, "no token stored");
}

#[tokio::test]
async fn eight_instances_racing_for_one_new_customer_make_one_contact_and_one_exchange() {
    // Eight race for the customer; four more are free for the sandbox's calls to the OIDC routes.
    let mut fleet = WebFleet::start(12).await;
    let racing = (0..8).map(|_| fleet.post("CRM-WEB-RACE"));
    let replies = futures::future::join_all(racing).await;
    let guests: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|reply| {
            assert_eq!(status(reply), 200, "{reply}");
            body_of(reply)["guestId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(guests.len(), 1, "one guest for the customer: {guests:?}");
    assert_eq!(fleet.sandbox.external_contacts().len(), 1);
    assert_eq!(
        fleet.sandbox.calls(Endpoint::WebDeploymentTokenExchange),
        1,
        "one exchange"
    );
    let served = fleet
        .instances
        .iter_mut()
        .map(LambdaFunction::stop)
        .filter(|lines| served_a_request(lines))
        .count();
    assert!(
        served > 1,
        "the requests really raced across instances ({served} served)"
    );
}

#[tokio::test]
async fn a_signing_key_that_does_not_exist_stops_the_function_at_init_naming_the_problem() {
    let harness = RuntimeHarness::start().await;
    let mut env = test_kit::aws::aws_env();
    env.extend([
        ("OIDC_ISSUER", "https://broker.example.com".into()),
        ("OIDC_CLIENT_ID", DEFAULT_OIDC_CLIENT_ID.into()),
        ("OIDC_CLIENT_SECRET", DEFAULT_OIDC_CLIENT_SECRET.into()),
        (
            "OIDC_SIGNING_KEY_ID",
            "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000".into(),
        ),
    ]);
    let mut function = LambdaFunction::start(OIDC_BINARY, &harness, &env);
    let error = harness.init_error().await.expect("an init error is reported");
    assert_eq!(error.error_type, "Runtime.ConfigurationError");
    assert!(error.error_message.contains("OIDC signing key"), "{error:?}");
    assert!(error.error_message.contains("does not exist"), "{error:?}");
    assert!(!function.wait_for_exit().success());
}
