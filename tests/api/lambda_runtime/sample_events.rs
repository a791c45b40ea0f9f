//! The sample events in `events/` (and the HTTP API fixture) through the compiled binary, each with
//! its expected answer, in the order that shows the session they share; and a scheduled warm-up,
//! which creates no guest but leaves the access token cached for the next request.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{assert_http_api_response, assert_rest_api_response};
use crate::deployment::{
    Deployment, EVENTS_DIR, GUEST_EVENTS_IN_ORDER, OIDC_EVENTS, SAMPLE_CRM_ID, assert_token_body, body_of, sample_event,
};
use crate::helpers::upstream_calls;

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_event_gets_its_expected_result() {
    let order = GUEST_EVENTS_IN_ORDER;
    let files: BTreeSet<String> = std::fs::read_dir(EVENTS_DIR)
        .expect("events/ exists")
        .map(|entry| {
            entry
                .expect("a readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let expected: BTreeSet<String> = order[1..]
        .iter()
        // The OpenID Connect provider function's events: tests/api/oidc_function.rs runs them.
        .chain(&OIDC_EVENTS)
        .map(|name| (*name).to_owned())
        .collect();
    assert_eq!(
        files, expected,
        "every file in events/ needs its expectation here, and the reverse"
    );
    let deployment = Deployment::start().await;
    let [http_api, rest_api, warm_up, delete, malformed, auth_code] = order.map(sample_event);

    let first = deployment.invoke(http_api).await.response();
    assert_http_api_response(&first, 200);
    let issued = body_of(&first);
    assert_token_body(&issued);
    assert_eq!(
        deployment.stored_guest(SAMPLE_CRM_ID).await.as_deref(),
        issued["guestId"].as_str()
    );

    let again = deployment.invoke(rest_api).await.response();
    assert_rest_api_response(&again, 200);
    assert_eq!(
        body_of(&again),
        issued,
        "the same customer gets the same token and guest"
    );

    let warmed = deployment.invoke(warm_up).await.response();
    assert_eq!(
        warmed,
        json!({"warmed": true, "pseudonymKey": "ok", "accessToken": "ok", "store": "ok"})
    );

    let deleted = deployment.invoke(delete).await.response();
    assert_rest_api_response(&deleted, 204);
    assert!(deleted.get("body").is_none_or(Value::is_null), "{deleted}");
    assert_eq!(deployment.stored_guest(SAMPLE_CRM_ID).await, None);

    let refused = deployment.invoke(malformed).await.response();
    assert_rest_api_response(&refused, 400);
    assert_eq!(body_of(&refused)["error"]["code"], "invalid_request", "{refused}");

    // The owner's contract has no codes: the route is answered, reaching nothing.
    let no_codes = deployment.invoke(auth_code).await.response();
    assert_rest_api_response(&no_codes, 404);
    assert_eq!(body_of(&no_codes)["error"]["code"], "wrong_upstream_mode", "{no_codes}");

    assert_eq!(deployment.sandbox.guests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_up_creates_no_guest_and_leaves_an_access_token_cached() {
    let deployment = Deployment::start().await;

    let warmed = deployment
        .invoke(sample_event("scheduled-warm-up.json"))
        .await
        .response();

    assert_eq!(warmed["warmed"], true, "{warmed}");
    assert!(deployment.sandbox.guests().is_empty());
    assert_eq!(upstream_calls(&deployment.sandbox), (1, 0, 0));

    let issued = deployment
        .invoke(sample_event("http-api-post-guest-tokens.json"))
        .await
        .response();

    assert_http_api_response(&issued, 200);
    assert_eq!(
        upstream_calls(&deployment.sandbox),
        (1, 1, 1),
        "the request used the access token the warm-up cached"
    );
}
