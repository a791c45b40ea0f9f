//! moto's server for DynamoDB and Secrets Manager, started once per test run on a free port, and
//! helpers that create the tables and secrets tests use through the real AWS SDK clients.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};

pub struct Moto {
    pub endpoint: String,
    // Kept open for the life of the test process: the server exits when it closes.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The shared moto server; starting it fails the test (it never skips) when moto is missing.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .expect("moto prints its endpoint");
        assert!(
            first_line.starts_with("http://"),
            "moto did not start (is it installed? pip install 'moto[server]'): {first_line:?}"
        );
        Moto {
            endpoint: first_line.trim().to_owned(),
            _stdin: Mutex::new(child.stdin.take().unwrap()),
            _child: Mutex::new(child),
        }
    })
}

/// Environment for a process (the Lambda binary, `local`) that should use moto through the
/// standard AWS variables.
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .endpoint_url(&moto().endpoint)
        .load()
        .await
}

/// A fresh table name per test, so tests share moto without sharing data.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

pub async fn secrets() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config().await)
}

/// A sessions table as the template creates it: partition key `crm_id_hash` (S), on demand.
pub async fn create_sessions_table(name: &str) {
    dynamodb()
        .await
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("crm_id_hash")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("crm_id_hash")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("moto creates the table");
}

pub async fn create_secret(name: &str, value: &str) {
    secrets()
        .await
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret");
}

/// A new AWSCURRENT version, as a rotation leaves it.
pub async fn rotate_secret(name: &str, value: &str) {
    secrets()
        .await
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .expect("moto stores the new version");
}

/// The secret document for `(client_id, client_secret)` pairs.
pub fn credentials_document(pairs: &[(&str, &str)]) -> String {
    let list: Vec<_> = pairs
        .iter()
        .map(|(id, secret)| serde_json::json!({"client_id": id, "client_secret": secret}))
        .collect();
    serde_json::json!({ "credentials": list }).to_string()
}
