//! Wiring: builds each function's parts from its configuration once, at init. Every binary uses it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use secrecy::ExposeSecret;

use crate::broker::{Broker, CodeIssuer, Upstream, WebMessaging};
use crate::config::{
    ClientCredentials, Config, ConfigError, CredentialsConfig, GenesysConfig, HashKeyConfig, OidcClientConfig,
    OidcConfig, PseudonymConfig, RotationConfig, SigningKeyConfig, UpstreamConfig, xray_daemon_address,
};
use crate::domain::SystemClock;
use crate::genesys::{GenesysClient, GenesysEndpoints, RetryPolicy, UnknownRegion};
use crate::oidc::{OidcProvider, OidcSettings, Signer, SignerError, kms_public_key};
use crate::rotation::{SecretRotation, SecretVersions};
use crate::secrets::{
    Credential, CredentialError, CredentialSet, CredentialSource, EnvCredentials, HashKeyField, HashKeySource,
    OidcClientSource, Pseudonyms, SecretsManagerCredentials,
};
use crate::store::{CodeStore, DynamoDbStore, RefreshTokenKey, SessionStore};
use crate::telemetry::{AwsCallTracer, XRay};

/// AWS calls give up well inside a Lambda timeout: a hung endpoint becomes a 503, not a kill.
const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(4);

/// Why a function could not start; reported as the Lambda init error, with what to fix.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The configuration was refused.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The named variable needs AWS (e.g. a Secrets Manager secret) but no AWS configuration was
    /// loaded (`local` without AWS).
    #[error("{0} is set but no AWS configuration was loaded")]
    AwsConfigMissing(&'static str),
    /// The OIDC signing key cannot be used (KMS unreachable, a wrong key, an unreadable local key).
    #[error("the OIDC signing key cannot be used: {0}")]
    Signer(#[from] SignerError),
    /// The OIDC client secret, or the Genesys credentials given in the environment, cannot be used.
    #[error("the OIDC client secret cannot be used: {0}")]
    OidcClient(#[from] CredentialError),
    /// `GENESYS_REGION` names no Genesys Cloud region.
    #[error(transparent)]
    UnknownRegion(#[from] UnknownRegion),
}

/// The shared AWS configuration (region and credentials from the standard chain, endpoints from
/// `AWS_ENDPOINT_URL*` when set, which the SDK reads itself) and the tracer every AWS client built
/// from it records its calls with.
#[derive(Clone)]
pub struct Aws {
    /// Region, credentials and timeouts every AWS client is built with.
    pub sdk: SdkConfig,
    /// Where the clients' calls are recorded (nowhere without an X-Ray daemon address).
    pub xray: XRay,
}

impl Aws {
    /// Loads the standard AWS configuration, with timeouts well inside a Lambda timeout.
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

    /// A KMS client (the OIDC signer, the refresh-token key), traced when X-Ray is on.
    pub fn kms(&self) -> aws_sdk_kms::Client {
        let mut config = aws_sdk_kms::config::Builder::from(&self.sdk);
        if self.xray.is_enabled() {
            config = config.interceptor(AwsCallTracer::new(self.xray.clone()));
        }
        aws_sdk_kms::Client::from_conf(config.build())
    }

    /// A Secrets Manager client, traced when X-Ray is on.
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
pub fn credential_source(config: &Config, aws: Option<&Aws>) -> Result<Arc<dyn CredentialSource>, InitError> {
    Ok(match &config.credentials {
        CredentialsConfig::Environment(clients) => {
            let credentials = clients.iter().map(credential).collect();
            Arc::new(EnvCredentials::new(CredentialSet::new(credentials)?))
        }
        CredentialsConfig::SecretsManager { secret_id, cache_ttl } => {
            let aws = aws.ok_or(InitError::AwsConfigMissing("GENESYS_CREDENTIALS_SECRET_ID"))?;
            let hash_key = match config.pseudonyms {
                PseudonymConfig::Sha256 => HashKeyField::Refused,
                PseudonymConfig::HmacSha256 { .. } => HashKeyField::Ignored,
            };
            Arc::new(SecretsManagerCredentials::new(
                aws.secrets_manager(),
                secret_id,
                *cache_ttl,
                hash_key,
            ))
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

/// The session store: the DynamoDB table of `SESSIONS_TABLE` (or the default), with the configured
/// retention, sealing refresh tokens with `REFRESH_TOKEN_KMS_KEY_ID` when it is set.
pub fn dynamodb_store(config: &Config, aws: &Aws) -> DynamoDbStore {
    let store = DynamoDbStore::new(
        aws.dynamodb(),
        config.sessions_table_or_default(),
        config.session_retention,
    );
    match &config.upstream {
        UpstreamConfig::WebMessaging(mode) => match &mode.refresh_token_key_id {
            Some(key_id) => store.with_refresh_token_key(RefreshTokenKey::new(aws.kms(), key_id)),
            None => store,
        },
        UpstreamConfig::OwnerContract => store,
    }
}

/// The upstream adapter `GENESYS_UPSTREAM_MODE` chose; its Genesys calls are recorded with
/// `xray`.
pub fn upstream(config: &Config, credentials: Arc<dyn CredentialSource>, xray: XRay) -> Result<Upstream, InitError> {
    let genesys = genesys_client(&config.genesys, credentials, xray)?;
    Ok(match &config.upstream {
        UpstreamConfig::OwnerContract => Upstream::OwnerContract(genesys),
        UpstreamConfig::WebMessaging(mode) => Upstream::WebMessaging(WebMessaging {
            genesys,
            deployment_id: mode.deployment_id.clone(),
            external_source_id: mode.external_source_id.clone(),
            codes: CodeIssuer {
                redirect_uri: mode.redirect_uri.as_str().to_owned(),
                lifetime: mode.code_lifetime,
                pkce: mode.pkce,
            },
        }),
    })
}

/// The region's hosts, each replaced by its URL override when one is set.
pub fn genesys_endpoints(config: &GenesysConfig) -> Result<GenesysEndpoints, UnknownRegion> {
    let mut endpoints = GenesysEndpoints::for_region(&config.region)?;
    if let Some(url) = &config.api_base {
        endpoints.api_base = url.clone();
    }
    if let Some(url) = &config.login_base {
        endpoints.login_base = url.clone();
    }
    Ok(endpoints)
}

/// A Genesys client on the configured hosts, with the default retry policy but for the configured
/// attempt timeout, authenticating with `credentials`; its calls are recorded with `xray`.
fn genesys_client(
    config: &GenesysConfig,
    credentials: Arc<dyn CredentialSource>,
    xray: XRay,
) -> Result<GenesysClient, InitError> {
    let default = RetryPolicy::default();
    let retry = RetryPolicy {
        attempt_timeout: config.attempt_timeout.unwrap_or(default.attempt_timeout),
        ..default
    };
    Ok(GenesysClient::traced(
        genesys_endpoints(config)?,
        credentials,
        retry,
        xray,
    ))
}

fn credential(client: &ClientCredentials) -> Credential {
    Credential {
        client_id: client.client_id.clone(),
        client_secret: client.client_secret.clone(),
    }
}

/// Whether the provider's configuration needs AWS (`local` runs it on a local key and client).
pub fn oidc_needs_aws(config: &OidcConfig) -> bool {
    matches!(config.client, OidcClientConfig::SecretsManager { .. })
        || matches!(config.signing_key, SigningKeyConfig::Kms { .. })
}

/// The OpenID Connect provider on `codes`, built at init: the signer reads its KMS public keys
/// (`GetPublicKey`) and the client secret is read into its cache, so no request pays for either
/// and a request that fails to authenticate costs no AWS call.
pub async fn oidc_provider<C: CodeStore>(
    config: &OidcConfig,
    codes: C,
    aws: Option<&Aws>,
) -> Result<OidcProvider<C>, InitError> {
    let (signer, also_published) = match &config.signing_key {
        SigningKeyConfig::Local(pem) => (Signer::local_pkcs8(pem.expose_secret())?, Vec::new()),
        SigningKeyConfig::Kms { key_id, previous, next } => {
            let kms = aws.ok_or(InitError::AwsConfigMissing("OIDC_SIGNING_KEY_ID"))?.kms();
            // Keys about to sign, then keys rotated out: public keys only, read once here.
            let mut published = Vec::with_capacity(next.len() + previous.len());
            for other in next.iter().chain(previous) {
                published.push(kms_public_key(&kms, other).await?);
            }
            (Signer::kms(kms, key_id).await?, published)
        }
    };
    let clients = match &config.client {
        OidcClientConfig::Environment(client) => OidcClientSource::Fixed(Arc::new(credential(client))),
        OidcClientConfig::SecretsManager { secret_id, cache_ttl } => OidcClientSource::secrets_manager(
            aws.ok_or(InitError::AwsConfigMissing("OIDC_CLIENT_SECRET_ID"))?
                .secrets_manager(),
            secret_id,
            *cache_ttl,
        ),
    };
    match clients.load().await {
        // An outage at init is not fatal (the failed read is in the log already): requests read
        // the secret again, one try per retry interval.
        Err(CredentialError::Unavailable(_)) => {}
        other => other?,
    }
    let settings = OidcSettings {
        issuer: config.issuer.as_str().to_owned(),
        id_token_lifetime: config.id_token_lifetime,
    };
    Ok(OidcProvider::new(
        settings,
        signer,
        also_published,
        clients,
        codes,
        Arc::new(SystemClock),
    ))
}

/// The broker on `store` with `upstream`.
pub fn broker<S: SessionStore + CodeStore>(
    config: &Config,
    store: S,
    upstream: Upstream,
    pseudonyms: Pseudonyms,
) -> Broker<S> {
    Broker::with_upstream(
        store,
        upstream,
        pseudonyms,
        Arc::new(SystemClock),
        config.sliding_window,
    )
}

/// Everything the guest function needs, built once at init: configuration from the environment,
/// the AWS clients, the credential source and the broker on DynamoDB.
pub async fn lambda_broker() -> Result<(Config, Broker<DynamoDbStore>), InitError> {
    let config = Config::from_env()?;
    let aws = Aws::load(XRay::to_daemon(xray_daemon_address().as_deref())).await;
    let credentials = credential_source(&config, Some(&aws))?;
    let pseudonyms = pseudonyms(&config, Some(&aws))?;
    let store = dynamodb_store(&config, &aws);
    let upstream = upstream(&config, credentials, aws.xray.clone())?;
    let broker = broker(&config, store, upstream, pseudonyms);
    Ok((config, broker))
}

/// Everything the OpenID Connect provider function needs, built once at init: its configuration,
/// the AWS clients, and the provider on the sessions table's code items.
pub async fn lambda_oidc_provider() -> Result<(OidcConfig, OidcProvider<DynamoDbStore>), InitError> {
    let config = OidcConfig::from_env()?;
    let aws = Aws::load(XRay::to_daemon(xray_daemon_address().as_deref())).await;
    // Codes are never kept past their own expiry; the retention applies to sessions only.
    let codes = DynamoDbStore::new(aws.dynamodb(), &config.sessions_table, Duration::ZERO);
    let provider = oidc_provider(&config, codes, Some(&aws)).await?;
    Ok((config, provider))
}

/// Everything the credential rotation function needs, built once at init: its configuration, the
/// Secrets Manager client, and a Genesys client whose one credential is the admin client (read
/// from its own secret when a step needs it).
pub async fn lambda_secret_rotation() -> Result<(RotationConfig, SecretRotation), InitError> {
    let config = RotationConfig::from_env()?;
    let aws = Aws::load(XRay::to_daemon(xray_daemon_address().as_deref())).await;
    let secrets = aws.secrets_manager();
    let admin = SecretsManagerCredentials::admin_client(secrets.clone(), &config.admin_client_secret_id);
    let genesys = genesys_client(&config.genesys, Arc::new(admin), aws.xray.clone())?;
    let versions = SecretVersions::new(secrets, &config.credentials_secret_id);
    Ok((config, SecretRotation::new(versions, genesys)))
}
