//! Driving a deployment of the compiled function as its callers and Lambda would: token requests,
//! their answers, more instances of the function (Lambda scaling out), and which instances served.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use genesys_sandbox::{Sandbox, SandboxConfig};
use guest_token_broker::domain::CodeKey;
use serde_json::Value;

use crate::deployment::{Deployment, body_of, crm_body, http_api_post, sample_event};
use crate::helpers::{hash_of, pair};
use test_kit::aws::dynamodb;
use test_kit::runtime_harness::LambdaFunction;

/// The response to a POST /guest-tokens for `crm_id`, as the HTTP API shapes it.
pub async fn post(deployment: &Deployment, crm_id: &str) -> Value {
    deployment.invoke(http_api_post(&crm_body(crm_id))).await.response()
}

pub async fn post_within(deployment: &Deployment, crm_id: &str, timeout: Duration) -> Value {
    deployment
        .harness
        .invoke_with_timeout(http_api_post(&crm_body(crm_id)), timeout)
        .await
        .response()
}

/// The response to a DELETE /guest-sessions for `crm_id`, as the REST API shapes it (the sample event).
pub async fn delete(deployment: &Deployment, crm_id: &str) -> Value {
    deployment.invoke(delete_event(crm_id)).await.response()
}

/// The sample DELETE /guest-sessions event (REST API shape) for `crm_id`.
pub fn delete_event(crm_id: &str) -> Value {
    let mut event = sample_event("delete-guest-sessions.json");
    event["body"] = crm_body(crm_id).into();
    event
}

pub fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().unwrap_or_default()
}

pub fn error_code(response: &Value) -> String {
    body_of(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A deployment whose secret and sandbox both hold `clients`, in order.
pub async fn deploy_with_clients(clients: &[(&str, &str)], env: &[(&'static str, &str)]) -> Deployment {
    let clients: Vec<(String, String)> = clients.iter().map(|(id, secret)| pair(id, secret)).collect();
    let sandbox = Sandbox::start(SandboxConfig {
        clients: clients.clone(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let url = sandbox.base_url();
    Deployment::start_on(sandbox, &clients, &url, env).await
}

/// The customer's item in the deployment's sessions table, as stored (read straight from dynalite).
pub async fn stored_item(deployment: &Deployment, crm_id: &str) -> Option<HashMap<String, AttributeValue>> {
    item_in(&deployment.table, crm_id).await
}

/// The customer's item in `table`, read straight from dynalite.
pub async fn item_in(table: &str, crm_id: &str) -> Option<HashMap<String, AttributeValue>> {
    dynamodb()
        .await
        .get_item()
        .table_name(table)
        .key("crm_id_hash", AttributeValue::S(hash_of(crm_id).as_str().to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("dynalite answers")
        .item
}

/// A code's key in the sessions table: the store's `oidc-code#` prefix and the code's key.
pub fn code_item_key(key: &CodeKey) -> AttributeValue {
    AttributeValue::S(format!("oidc-code#{}", key.as_str()))
}

/// The code's item in `table`, read straight from dynalite.
pub async fn code_item(table: &str, key: &CodeKey) -> HashMap<String, AttributeValue> {
    dynamodb()
        .await
        .get_item()
        .table_name(table)
        .key("crm_id_hash", code_item_key(key))
        .consistent_read(true)
        .send()
        .await
        .expect("dynalite answers")
        .item
        .expect("the code's item is there")
}

/// Starts `extra` more instances and waits (a poll with a deadline) until every instance of the
/// deployment is polling for work, so that the invocations that follow really race.
pub async fn scale_out(deployment: &mut Deployment, extra: usize) -> Vec<LambdaFunction> {
    let polls_before = deployment.harness.next_polls();
    let instances: Vec<_> = (0..extra).map(|_| deployment.start_instance()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while deployment.harness.next_polls() < polls_before + extra {
        assert!(Instant::now() < deadline, "the new instances never polled for work");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    instances
}

/// Stops every instance of the deployment (its first one, then `others`) and returns what each printed.
pub fn stop_all(deployment: &mut Deployment, others: &mut [LambdaFunction]) -> Vec<Vec<String>> {
    std::iter::once(&mut deployment.function)
        .chain(others.iter_mut())
        .map(LambdaFunction::stop)
        .collect()
}

/// Whether an instance's output shows it served a token request.
pub fn served_a_request(lines: &[String]) -> bool {
    lines.iter().any(|line| logs_a_token_request(line))
}

/// Whether a log line is the one line an instance writes per token request.
pub fn logs_a_token_request(line: &str) -> bool {
    line.contains("route=\"POST /guest-tokens\"")
}

/// How many instances logged a served request: more than one means the requests really raced.
pub fn instances_that_served(deployment: &mut Deployment, others: &mut [LambdaFunction]) -> usize {
    stop_all(deployment, others)
        .iter()
        .filter(|lines| served_a_request(lines))
        .count()
}

pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// The EMF metrics records among a function's output lines, in order.
pub fn metrics_records(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

/// The count `metric` in each record, sorted (instances print their records in no set order);
/// every record must carry it, and declare it as a count the way CloudWatch reads it.
#[track_caller]
pub fn counts_of(records: &[Value], metric: &str) -> Vec<u64> {
    let declaration = format!(r#"{{"Name":"{metric}","Unit":"Count"}}"#);
    let mut counts: Vec<u64> = records
        .iter()
        .map(|record| {
            let declared = record["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
            assert!(declared.contains(&declaration), "{metric} is not declared: {declared}");
            record[metric].as_u64().expect("every record carries it")
        })
        .collect();
    counts.sort_unstable();
    counts
}
