//! What an operator sees, through the compiled binary: JSON log lines keyed by the Lambda request
//! id and X-Ray trace id, the request line's cold start, function and correlation id, the
//! correlation id echoed to the caller, and X-Ray subsegments for every DynamoDB, Secrets Manager
//! and Genesys call, received on a local UDP socket and free of secrets, tokens and CRM ids.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use tokio::net::UdpSocket;

use crate::deployment::{Deployment, body_of, crm_body, http_api_post};
use crate::helpers::hash_of;

const CRM_ID: &str = "CRM-OBSERVED-77";

fn post_with_correlation(correlation: &str) -> Value {
    let mut event = http_api_post(&crm_body(CRM_ID));
    event["headers"]["x-correlation-id"] = correlation.into();
    event
}

/// Datagrams until none arrives for a while (the function sends them as it goes).
async fn drain(socket: &UdpSocket) -> Vec<String> {
    let mut received = Vec::new();
    let mut buffer = vec![0; 65_536];
    while let Ok(Ok(length)) = tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buffer)).await {
        received.push(String::from_utf8_lossy(&buffer[..length]).into_owned());
    }
    received
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_correlation_and_xray_let_an_operator_follow_one_request() {
    let daemon = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let daemon_address = daemon.local_addr().unwrap().to_string();
    let env = [
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_XRAY_DAEMON_ADDRESS", daemon_address.as_str()),
    ];
    let mut deployment = Deployment::start_with(&env).await;

    let created = deployment
        .invoke(post_with_correlation("order-42:attempt.1"))
        .await
        .response();
    let fallback = deployment
        .invoke(post_with_correlation("not a safe id\""))
        .await
        .response();
    let datagrams = drain(&daemon).await;
    let lines = deployment.function.stop();

    // The caller's id is echoed; a malformed one gives way to the gateway's request id.
    assert_eq!(
        created["headers"]["x-correlation-id"], "order-42:attempt.1",
        "{created}"
    );
    let gateway_request_id = http_api_post("{}")["requestContext"]["requestId"].clone();
    assert_eq!(
        fallback["headers"]["x-correlation-id"], gateway_request_id,
        "{fallback}"
    );
    let token = body_of(&created)["token"].as_str().unwrap().to_owned();

    // Every log line of an invocation carries the request id and trace id at the top level.
    let logged: Vec<Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_none() && line.get("message").is_some())
        .collect();
    let in_invocations: Vec<&Value> = logged
        .iter()
        .filter(|line| line.get("function_request_id").is_some())
        .collect();
    assert!(in_invocations.len() >= 2, "{logged:?}");
    for line in &in_invocations {
        assert!(
            line["xray_trace_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("Root=1-")),
            "{line}"
        );
    }
    let requests: Vec<&&Value> = in_invocations
        .iter()
        .filter(|line| line["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 2, "{logged:?}");
    assert_eq!(requests[0]["cold_start"], true);
    assert_eq!(requests[1]["cold_start"], false);
    assert_eq!(requests[0]["function_name"], "guest-token-broker");
    assert_eq!(requests[0]["function_version"], "$LATEST");
    assert_eq!(requests[0]["correlation_id"], "order-42:attempt.1");
    assert_eq!(requests[1]["correlation_id"], gateway_request_id);

    // X-Ray: one subsegment per call, under the invocation's trace.
    let documents: Vec<Value> = datagrams
        .iter()
        .map(|datagram| {
            let (header, document) = datagram.split_once('\n').expect("a header line, then the document");
            assert_eq!(header, r#"{"format":"json","version":1}"#);
            serde_json::from_str(document).expect("a JSON document")
        })
        .collect();
    let names: BTreeSet<&str> = documents.iter().filter_map(|doc| doc["name"].as_str()).collect();
    assert!(
        names.is_superset(&BTreeSet::from(["DynamoDB", "SecretsManager", "Genesys Cloud"])),
        "{names:?}"
    );
    let operations: BTreeSet<String> = documents
        .iter()
        .map(|doc| doc["aws"]["operation"].to_string())
        .collect();
    assert!(
        operations.contains("\"GetItem\"") && operations.contains("\"GetSecretValue\""),
        "{operations:?}"
    );
    for doc in &documents {
        assert_eq!(doc["type"], "subsegment");
        assert!(doc["trace_id"].as_str().is_some_and(|id| id.starts_with("1-")), "{doc}");
        assert!(doc["parent_id"].as_str().is_some_and(|id| id.len() == 16), "{doc}");
        assert!(doc["end_time"].as_f64() >= doc["start_time"].as_f64(), "{doc}");
    }
    let everything = datagrams.concat();
    for private in [CRM_ID, hash_of(CRM_ID).as_str(), token.as_str(), "sandbox-secret"] {
        assert!(!everything.contains(private), "a trace document carries {private}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_records_carry_the_service_and_outcome_and_only_a_cold_start_says_so() {
    let mut deployment = Deployment::start().await;
    deployment.invoke(http_api_post(&crm_body("CRM-1"))).await.response();
    deployment.invoke(http_api_post(&crm_body("CRM-1"))).await.response();

    let records = crate::fleet::metrics_records(&deployment.function.stop());

    assert_eq!(records.len(), 2, "{records:?}");
    for record in &records {
        assert_eq!(record["service"], "guest-token-broker");
        assert_eq!(
            record["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["service"], ["service", "outcome"]])
        );
    }
    assert_eq!(
        (records[0]["outcome"].as_str(), records[0]["ColdStart"].as_u64()),
        (Some("created"), Some(1))
    );
    assert_eq!(records[1]["outcome"], "hit");
    assert!(records[1].get("ColdStart").is_none(), "{}", records[1]);
}
