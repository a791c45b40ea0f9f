//! Wiring: builds the broker's parts from [`Config`] once, at init. Both binaries use it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{Config, ConfigError, CredentialsConfig, HashKeyConfig, PseudonymConfig};
use crate::credentials::{CredentialSource, HashKeyField, HashKeySource, Pseudonyms, SecretsManagerCredentials};
use crate::domain::{Broker, SystemClock};
use crate::genesys::GenesysClient;
use crate::store::{DynamoDbStore, SessionStore};

/// AWS calls give up well inside a Lambda timeout: a hung endpoint becomes a 503, not a kill.
const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(4);

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("{0} is set but no AWS configuration was loaded")]
    AwsConfigMissing(&'static str),
}

/// The shared AWS configuration: region and credentials from the standard chain, endpoints from
/// `AWS_ENDPOINT_URL*` when set (the SDK reads those itself).
pub async fn aws_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(AWS_CONNECT_TIMEOUT)
                .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
                .operation_timeout(AWS_OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

/// Whether the configuration needs AWS at all (`local` runs without it on its defaults).
pub fn needs_aws(config: &Config) -> bool {
    config.sessions_table.is_some()
        || matches!(config.credentials, CredentialsConfig::SecretsManager { .. })
        || matches!(
            config.pseudonyms,
            PseudonymConfig::HmacSha256 {
                key: HashKeyConfig::SecretsManager { .. },
                ..
            }
        )
}

/// The credential source; `aws` is only used (and only needed) for Secrets Manager.
pub fn credential_source(config: &Config, aws: Option<&SdkConfig>) -> Result<Arc<dyn CredentialSource>, InitError> {
    Ok(match &config.credentials {
        CredentialsConfig::Environment(env) => Arc::new(env.clone()),
        CredentialsConfig::SecretsManager { secret_id, cache_ttl } => {
            let aws = aws.ok_or(InitError::AwsConfigMissing("GENESYS_CREDENTIALS_SECRET_ID"))?;
            let hash_key = match config.pseudonyms {
                PseudonymConfig::Sha256 => HashKeyField::Refused,
                PseudonymConfig::HmacSha256 { .. } => HashKeyField::Ignored,
            };
            Arc::new(
                SecretsManagerCredentials::new(aws_sdk_secretsmanager::Client::new(aws), secret_id, *cache_ttl)
                    .with_hash_key_field(hash_key),
            )
        }
    })
}

/// The pseudonymiser; `aws` is only used (and only needed) for a key in Secrets Manager.
pub fn pseudonyms(config: &Config, aws: Option<&SdkConfig>) -> Result<Pseudonyms, InitError> {
    Ok(match &config.pseudonyms {
        PseudonymConfig::Sha256 => Pseudonyms::sha256(),
        PseudonymConfig::HmacSha256 { key, check_every } => {
            let source = match key {
                HashKeyConfig::SecretsManager { secret_id } => HashKeySource::SecretsManager {
                    client: aws_sdk_secretsmanager::Client::new(
                        aws.ok_or(InitError::AwsConfigMissing("CRM_ID_HASH_KEY_SECRET_ID"))?,
                    ),
                    secret_id: secret_id.clone(),
                },
                HashKeyConfig::Environment(key) => HashKeySource::Fixed(key.clone()),
            };
            Pseudonyms::hmac(source, *check_every)
        }
    })
}

pub fn dynamodb_store(config: &Config, aws: &SdkConfig) -> DynamoDbStore {
    DynamoDbStore::new(
        aws_sdk_dynamodb::Client::new(aws),
        config.sessions_table_or_default(),
        config.session_retention,
    )
}

pub fn broker<S: SessionStore>(
    config: &Config,
    store: S,
    credentials: Arc<dyn CredentialSource>,
    pseudonyms: Pseudonyms,
) -> Broker<S> {
    let genesys = GenesysClient::new(config.genesys.clone(), credentials, config.retry);
    Broker::new(store, genesys, pseudonyms, Arc::new(SystemClock), config.sliding_window)
}

/// Everything the Lambda binary needs, built once at init: configuration from the environment,
/// the AWS clients, the credential source and the broker on DynamoDB.
pub async fn lambda_broker() -> Result<(Config, Broker<DynamoDbStore>), InitError> {
    let config = Config::from_env()?;
    let aws = aws_sdk_config().await;
    let credentials = credential_source(&config, Some(&aws))?;
    let pseudonyms = pseudonyms(&config, Some(&aws))?;
    let broker = broker(&config, dynamodb_store(&config, &aws), credentials, pseudonyms);
    Ok((config, broker))
}
