//! The fronts the template does not deploy but the binary serves: an Application Load Balancer
//! target group, with and without multi-value headers, and a Lambda function URL (payload 2.0).

use serde_json::json;

use super::assert_http_api_response;
use crate::deployment::{Deployment, assert_token_body, body_of, crm_body};

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
