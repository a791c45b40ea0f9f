//! Wiring: builds the broker's parts from [`Config`] once, at init. Both binaries use it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use secrecy::ExposeSecret;

use crate::broker::{Broker, Upstream, WebMessaging};
use crate::config::{
    Config, ConfigError, CredentialsConfig, HashKeyConfig, OidcClientConfig, PseudonymConfig, SigningKeyConfig,
    UpstreamConfig,
};
use crate::credentials::{
    CredentialSource, HashKeyField, HashKeySource, OidcClientSource, Pseudonyms, SecretsManagerCredentials,
};
use crate::domain::SystemClock;
use crate::genesys::GenesysClient;
use crate::oidc::{OidcProvider, OidcSettings, Signer, SignerError, kms_public_key};
use crate::store::{DynamoDbStore, SessionStore};
use crate::telemetry::{AwsCallTracer, XRay};

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
    #[error("the OIDC signing key cannot be used: {0}")]
    Signer(#[from] SignerError),
}

/// The shared AWS configuration (region and credentials from the standard chain, endpoints from
/// `AWS_ENDPOINT_URL*` when set, which the SDK reads itself) and the tracer every AWS client built
/// from it records its calls with.
#[derive(Clone)]
pub struct Aws {
    pub sdk: SdkConfig,
    pub xray: XRay,
}

impl Aws {
    pub async fn load(xray: XRay) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(AWS_CONNECT_TIMEOUT)
                    .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
                    .operation_timeout(AWS_OPERATION_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        Self { sdk, xray }
    }

    /// Without X-Ray the clients carry no tracer, so a warm hit pays nothing for it.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
        if self.xray.is_enabled() {
            config = config.interceptor(AwsCallTracer::new(self.xray.clone()));
        }
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        let mut config = aws_sdk_kms::config::Builder::from(&self.sdk);
        if self.xray.is_enabled() {
            config = config.interceptor(AwsCallTracer::new(self.xray.clone()));
        }
        aws_sdk_kms::Client::from_conf(config.build())
    }

    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
        if self.xray.is_enabled() {
            config = config.interceptor(AwsCallTracer::new(self.xray.clone()));
        }
        aws_sdk_secretsmanager::Client::from_conf(config.build())
    }
}

/// Whether the configuration needs AWS at all (`local` runs without it on its defaults).
pub fn needs_aws(config: &Config) -> bool {
    let web_messaging_needs_aws = match &config.upstream {
        UpstreamConfig::OwnerContract => false,
        UpstreamConfig::WebMessaging(mode) => {
            matches!(mode.client, OidcClientConfig::SecretsManager { .. })
                || matches!(mode.signing_key, SigningKeyConfig::Kms { .. })
        }
    };
    web_messaging_needs_aws
        || config.sessions_table.is_some()
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
pub fn credential_source(config: &Config, aws: Option<&Aws>) -> Result<Arc<dyn CredentialSource>, InitError> {
    Ok(match &config.credentials {
        CredentialsConfig::Environment(env) => Arc::new(env.clone()),
        CredentialsConfig::SecretsManager { secret_id, cache_ttl } => {
            let aws = aws.ok_or(InitError::AwsConfigMissing("GENESYS_CREDENTIALS_SECRET_ID"))?;
            let hash_key = match config.pseudonyms {
                PseudonymConfig::Sha256 => HashKeyField::Refused,
                PseudonymConfig::HmacSha256 { .. } => HashKeyField::Ignored,
            };
            Arc::new(
                SecretsManagerCredentials::new(aws.secrets_manager(), secret_id, *cache_ttl)
                    .with_hash_key_field(hash_key),
            )
        }
    })
}

/// The pseudonymiser; `aws` is only used (and only needed) for a key in Secrets Manager.
pub fn pseudonyms(config: &Config, aws: Option<&Aws>) -> Result<Pseudonyms, InitError> {
    Ok(match &config.pseudonyms {
        PseudonymConfig::Sha256 => Pseudonyms::sha256(),
        PseudonymConfig::HmacSha256 { key, check_every } => {
            let source = match key {
                HashKeyConfig::SecretsManager { secret_id } => HashKeySource::SecretsManager {
                    client: aws
                        .ok_or(InitError::AwsConfigMissing("CRM_ID_HASH_KEY_SECRET_ID"))?
                        .secrets_manager(),
                    secret_id: secret_id.clone(),
                },
                HashKeyConfig::Environment(key) => HashKeySource::Fixed(key.clone()),
            };
            Pseudonyms::hmac(source, *check_every)
        }
    })
}

pub fn dynamodb_store(config: &Config, aws: &Aws) -> DynamoDbStore {
    DynamoDbStore::new(
        aws.dynamodb(),
        config.sessions_table_or_default(),
        config.session_retention,
    )
}

/// The upstream adapter `GENESYS_UPSTREAM_MODE` chose; its Genesys calls are recorded with
/// `xray`. In web messaging mode this builds the OIDC provider: the signer reads its KMS public
/// keys now (`GetPublicKey`), so no request pays for it.
pub async fn upstream(
    config: &Config,
    credentials: Arc<dyn CredentialSource>,
    xray: XRay,
    aws: Option<&Aws>,
) -> Result<Upstream, InitError> {
    let genesys = GenesysClient::traced(config.genesys.clone(), credentials, config.retry, xray);
    let mode = match &config.upstream {
        UpstreamConfig::OwnerContract => return Ok(Upstream::OwnerContract(genesys)),
        UpstreamConfig::WebMessaging(mode) => mode,
    };
    let (signer, previous) = match &mode.signing_key {
        SigningKeyConfig::Local(pem) => (Signer::local_pkcs8(pem.expose_secret())?, Vec::new()),
        SigningKeyConfig::Kms { key_id, previous } => {
            let kms = aws.ok_or(InitError::AwsConfigMissing("OIDC_SIGNING_KEY_ID"))?.kms();
            let mut published = Vec::with_capacity(previous.len());
            for old in previous {
                published.push(kms_public_key(&kms, old).await?);
            }
            (Signer::kms(kms, key_id).await?, published)
        }
    };
    let clients = match &mode.client {
        OidcClientConfig::Environment(client) => OidcClientSource::Fixed(Arc::new(client.clone())),
        OidcClientConfig::SecretsManager { secret_id, cache_ttl } => OidcClientSource::secrets_manager(
            aws.ok_or(InitError::AwsConfigMissing("OIDC_CLIENT_SECRET_ID"))?
                .secrets_manager(),
            secret_id,
            *cache_ttl,
        ),
    };
    let settings = OidcSettings {
        issuer: mode.issuer.as_str().to_owned(),
        redirect_uri: mode.redirect_uri.as_str().to_owned(),
        code_lifetime: mode.code_lifetime,
        id_token_lifetime: mode.id_token_lifetime,
    };
    Ok(Upstream::WebMessaging(WebMessaging {
        genesys,
        deployment_id: mode.deployment_id.clone(),
        external_source_id: mode.external_source_id.clone(),
        oidc: Arc::new(OidcProvider::new(settings, signer, previous, clients)),
    }))
}

/// The broker on `store` with `upstream`.
pub fn broker<S: SessionStore>(config: &Config, store: S, upstream: Upstream, pseudonyms: Pseudonyms) -> Broker<S> {
    Broker::with_upstream(
        store,
        upstream,
        pseudonyms,
        Arc::new(SystemClock),
        config.sliding_window,
    )
}

/// Everything the Lambda binary needs, built once at init: configuration from the environment,
/// the AWS clients, the credential source and the broker on DynamoDB.
pub async fn lambda_broker() -> Result<(Config, Broker<DynamoDbStore>), InitError> {
    let config = Config::from_env()?;
    let aws = Aws::load(XRay::from_lookup(|name| std::env::var(name).ok())).await;
    let credentials = credential_source(&config, Some(&aws))?;
    let pseudonyms = pseudonyms(&config, Some(&aws))?;
    let store = dynamodb_store(&config, &aws);
    let upstream = upstream(&config, credentials, aws.xray.clone(), Some(&aws)).await?;
    let broker = broker(&config, store, upstream, pseudonyms);
    Ok((config, broker))
}
