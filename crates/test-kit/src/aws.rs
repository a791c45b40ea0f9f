//! AWS for the tests: real SDK clients pointed at the emulators (dynalite for DynamoDB, moto for
//! Secrets Manager and KMS), the environment that points a process at them, and the tables,
//! secrets and keys the tests create.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};

use crate::emulators::{dynalite, moto};

/// Environment for a process (the Lambda binary, `local`) that should use the emulators through
/// the standard AWS variables: DynamoDB on dynalite, Secrets Manager and KMS on moto (a function
/// that never calls KMS, the owner's mode, simply never uses its endpoint).
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_DYNAMODB", dynalite().endpoint.clone()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto().endpoint.clone()),
        ("AWS_ENDPOINT_URL_KMS", moto().endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// SDK configuration for an emulator (or a proxy in front of one) at `endpoint`.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A fresh table or secret name per test, so tests share the emulators without sharing data.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config_for(&dynalite().endpoint).await)
}

pub async fn secrets() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config_for(&moto().endpoint).await)
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
                .expect("a complete attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("crm_id_hash")
                .key_type(KeyType::Hash)
                .build()
                .expect("a complete key schema element"),
        )
        .send()
        .await
        .expect("dynalite creates the table");
}

/// An RSA 2048 SIGN_VERIFY key in moto, as the OIDC provider's `OIDC_SIGNING_KEY_ID`: its id.
pub async fn create_signing_key() -> String {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let request = kms().await.create_key();
    key_id(request.key_spec(KeySpec::Rsa2048).key_usage(KeyUsageType::SignVerify)).await
}

/// A symmetric ENCRYPT_DECRYPT key in moto, as the guest function's `REFRESH_TOKEN_KMS_KEY_ID`: its id.
pub async fn create_encryption_key() -> String {
    key_id(kms().await.create_key()).await
}

/// The id of the key `request` makes.
async fn key_id(request: aws_sdk_kms::operation::create_key::builders::CreateKeyFluentBuilder) -> String {
    request
        .send()
        .await
        .expect("moto creates the key")
        .key_metadata
        .expect("key metadata")
        .key_id
}

/// A KMS client on moto.
pub async fn kms() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config_for(&moto().endpoint).await)
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

/// Deletes the secret at once (no recovery window), as an operator's mistake would.
pub async fn delete_secret(name: &str) {
    secrets()
        .await
        .delete_secret()
        .secret_id(name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("moto deletes the secret");
}

/// The secret document for `(client_id, client_secret)` pairs.
pub fn credentials_document(pairs: &[(&str, &str)]) -> String {
    let list: Vec<_> = pairs
        .iter()
        .map(|(id, secret)| serde_json::json!({"client_id": id, "client_secret": secret}))
        .collect();
    serde_json::json!({ "credentials": list }).to_string()
}
