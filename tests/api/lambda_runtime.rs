//! The compiled Lambda binary, driven through the Runtime API harness as Lambda drives it: every
//! sample event in `events/`, the other HTTP front ends, payloads it does not serve, and
//! configuration errors at init (what its logs may contain: `log_hygiene`).
//!
//! The tests run on the multi-threaded runtime because waiting for a process to exit blocks the
//! test's own thread, while the harness and the sandbox must keep answering the process.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::deployment::{
    Deployment, EVENTS_DIR, LAMBDA_BINARY, SAMPLE_CRM_ID, assert_token_body, body_of, crm_body, http_api_post,
    init_error_of, sample_event,
};
use crate::helpers::upstream_calls;
use test_kit::runtime_harness::{LambdaFunction, Outcome, RuntimeHarness};

/// The HTTP API (payload 2.0) response shape: single-value headers. Tokens and errors alike are
/// never cached, by HTTP/1.0 caches either (`Pragma`, RFC 6749 §5.1).
#[track_caller]
fn assert_http_api_response(response: &Value, status: u16) {
    assert_eq!(response["statusCode"], status, "{response}");
    assert_eq!(response["headers"]["cache-control"], "no-store", "{response}");
    assert_eq!(response["headers"]["pragma"], "no-cache", "{response}");
    assert_eq!(response["isBase64Encoded"], false, "{response}");
}

/// The REST API (v1 proxy) response shape: multi-value headers only, so API Gateway merges nothing twice.
#[track_caller]
fn assert_rest_api_response(response: &Value, status: u16) {
    assert_eq!(response["statusCode"], status, "{response}");
    assert_eq!(
        response["multiValueHeaders"]["cache-control"],
        json!(["no-store"]),
        "{response}"
    );
    assert_eq!(
        response["multiValueHeaders"]["pragma"],
        json!(["no-cache"]),
        "{response}"
    );
    assert!(
        response["headers"].as_object().is_none_or(|h| h.is_empty()),
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sample_event_gets_its_expected_result() {
    // In this order: the REST API call repeats the HTTP API call's customer, the warm-up comes
    // between two requests, the delete removes that customer's session. All but the HTTP API
    // event (tests/fixtures/: the template routes no HTTP API) are the files in events/.
    let order = [
        "http-api-post-guest-tokens.json",
        "rest-api-post-guest-tokens.json",
        "scheduled-warm-up.json",
        "delete-guest-sessions.json",
        "malformed-request.json",
        "rest-api-post-auth-codes.json",
    ];
    // The OpenID Connect provider function's events: tests/api/oidc_function.rs runs them.
    let oidc_events = [
        "rest-api-get-oidc-discovery.json",
        "rest-api-get-oidc-jwks.json",
        "rest-api-post-oidc-token.json",
    ];
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
        .chain(&oidc_events)
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

#[tokio::test(flavor = "multi_thread")]
async fn an_alb_event_and_a_function_url_event_are_served() {
    let deployment = Deployment::start().await;
    let alb = |multi_value: bool| {
        let mut event = json!({
            "requestContext": {
                "elb": {
                    "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/guest-token-broker/0123456789abcdef"
                }
            },
            "httpMethod": "POST",
            "path": "/guest-tokens",
            "queryStringParameters": {},
            "body": crm_body("CRM-ALB-1"),
            "isBase64Encoded": false
        });
        let headers = [
            ("content-type", "application/json"),
            ("host", "internal-broker-1234567890.us-east-1.elb.amazonaws.com"),
            ("x-amzn-trace-id", "Root=1-69244a45-7a8b9c0d1e2f3a4b5c6d7e8f"),
            ("x-forwarded-for", "10.0.1.25"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-proto", "https"),
        ];
        if multi_value {
            event["multiValueHeaders"] = headers.iter().map(|(k, v)| ((*k).to_owned(), json!([v]))).collect();
            event["multiValueQueryStringParameters"] = json!({});
        } else {
            event["headers"] = headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        }
        event
    };
    let function_url = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/guest-tokens",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "xyz.lambda-url.us-east-1.on.aws",
            "x-amzn-trace-id": "Root=1-69244a46-8b9c0d1e2f3a4b5c6d7e8f9a",
            "x-forwarded-for": "203.0.113.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "xyz",
            "authorizer": {
                "iam": {
                    "accessKey": "ASIAEXAMPLEACCESSKEY",
                    "accountId": "123456789012",
                    "callerId": "AROAEXAMPLEROLEID01:crm-backend",
                    "cognitoIdentity": null,
                    "principalOrgId": null,
                    "userArn": "arn:aws:sts::123456789012:assumed-role/crm-backend/crm-backend",
                    "userId": "AROAEXAMPLEROLEID01:crm-backend"
                }
            },
            "domainName": "xyz.lambda-url.us-east-1.on.aws",
            "domainPrefix": "xyz",
            "http": {
                "method": "POST",
                "path": "/guest-tokens",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2025:12:00:05 +0000",
            "timeEpoch": 1763985605000_u64
        },
        "body": crm_body("CRM-URL-1"),
        "isBase64Encoded": false
    });

    let from_alb = deployment.invoke(alb(false)).await.response();
    let from_alb_multi_value = deployment.invoke(alb(true)).await.response();
    let from_url = deployment.invoke(function_url).await.response();

    assert_eq!(from_alb["statusCode"], 200, "{from_alb}");
    assert_eq!(from_alb["statusDescription"], "200 OK", "{from_alb}");
    assert_eq!(from_alb["headers"]["cache-control"], "no-store", "{from_alb}");
    assert_token_body(&body_of(&from_alb));
    assert_eq!(
        from_alb_multi_value["statusDescription"], "200 OK",
        "{from_alb_multi_value}"
    );
    assert_eq!(
        from_alb_multi_value["multiValueHeaders"]["cache-control"],
        json!(["no-store"]),
        "a target group with multi-value headers on gets them back: {from_alb_multi_value}"
    );
    assert_eq!(body_of(&from_alb_multi_value), body_of(&from_alb));
    assert_http_api_response(&from_url, 200);
    assert_token_body(&body_of(&from_url));
    assert_eq!(deployment.sandbox.guests().len(), 2);
}

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

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_configuration_is_reported_as_an_init_error_saying_what_to_fix() {
    // (the variables set besides the Lambda ones, what the message must say)
    type Case = (&'static [(&'static str, &'static str)], &'static [&'static str]);
    let cases: [Case; 3] = [
        (
            &[
                ("GENESYS_REGION", "atlantis-1"),
                ("GENESYS_CREDENTIALS_SECRET_ID", "genesys"),
            ],
            &["GENESYS_REGION", "atlantis-1", "eu-central-1"],
        ),
        (
            &[
                ("SLIDING_WINDOW_SECONDS", "soon"),
                ("GENESYS_CREDENTIALS_SECRET_ID", "genesys"),
            ],
            &["SLIDING_WINDOW_SECONDS", "whole number"],
        ),
        (&[], &["GENESYS_CREDENTIALS_SECRET_ID", "GENESYS_CLIENT_ID"]),
    ];
    for (env, expected) in cases {
        let env: Vec<(&str, String)> = env.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
        let (error, lines) = init_error_of(LAMBDA_BINARY, &env).await;
        for words in expected {
            assert!(error.error_message.contains(words), "{env:?}: {error:?}");
        }
        assert!(
            lines.iter().any(|line| line.contains(expected[0])),
            "the log says it too: {lines:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_init_error_reaches_a_runtime_api_given_as_a_url_as_cargo_lambda_gives_it() {
    let harness = RuntimeHarness::start().await;
    let env = [("AWS_LAMBDA_RUNTIME_API", format!("http://{}", harness.runtime_api()))];
    let mut function = LambdaFunction::start(LAMBDA_BINARY, &harness, &env);

    let error = harness.init_error().await;
    function.wait_for_exit();

    let error = error.unwrap_or_else(|| panic!("no init error reported; it printed {:#?}", function.lines()));
    assert_eq!(error.error_type, "Runtime.ConfigurationError", "{error:?}");
}
