//! What the binary does not serve: a body flagged base64 that is not is a 400 (not a crash), and an
//! event of no known kind gets an `UnsupportedEvent` error result; the function serves on after both.

use serde_json::json;

use super::{assert_http_api_response, assert_rest_api_response};
use crate::deployment::{Deployment, body_of, crm_body, http_api_post, sample_event};
use test_kit::runtime_harness::Outcome;

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_claims_base64_but_is_not_is_400_not_a_crash() {
    let deployment = Deployment::start().await;
    let not_base64 = "{\"crmId\": \"CRM-1\"} is not base64!";
    let mut rest_api = sample_event("rest-api-post-guest-tokens.json");
    rest_api["body"] = not_base64.into();
    let mut http_api = http_api_post(not_base64);
    http_api["isBase64Encoded"] = true.into();

    let from_rest_api = deployment.invoke(rest_api).await.response();
    let from_http_api = deployment.invoke(http_api).await.response();
    let afterwards = deployment.invoke(http_api_post(&crm_body("CRM-1"))).await.response();

    assert_rest_api_response(&from_rest_api, 400);
    assert_http_api_response(&from_http_api, 400);
    for refused in [&from_rest_api, &from_http_api] {
        let error = &body_of(refused)["error"];
        assert_eq!(error["code"], "invalid_request", "{refused}");
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains("base64")),
            "{refused}"
        );
    }
    assert_http_api_response(&afterwards, 200);
    assert_eq!(deployment.sandbox.guests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsupported_payload_gets_an_error_result_and_the_function_keeps_serving() {
    let deployment = Deployment::start().await;
    let payloads = [
        (json!({"hello": "world"}), "neither an HTTP event nor a scheduled event"),
        (json!([1, 2]), "not a JSON object"),
        (json!("warm up, please"), "not a JSON object"),
        (
            json!({"requestContext": {"http": {"path": "/guest-tokens"}}}),
            "missing or mistyped fields",
        ),
        (
            json!({"source": "aws.events", "detail-type": "Object Created", "detail": {}}),
            "neither an HTTP event nor a scheduled event",
        ),
    ];

    for (payload, what) in payloads {
        let Outcome::Error(error) = deployment.invoke(payload.clone()).await else {
            panic!("{payload} got a response instead of an error result");
        };
        assert_eq!(error.error_type, "UnsupportedEvent", "{payload}: {error:?}");
        assert!(error.error_message.contains(what), "{payload}: {error:?}");
        assert!(error.header_error_type.is_some(), "{payload}: {error:?}");
    }
    let afterwards = deployment
        .invoke(sample_event("http-api-post-guest-tokens.json"))
        .await
        .response();

    assert_http_api_response(&afterwards, 200);
    assert_eq!(deployment.sandbox.guests().len(), 1);
}
