//! The genesys-web-messaging mode through the compiled binary, as Lambda runs it: instances poll the
//! Runtime API harness, an HTTP front turns the sandbox's calls to the broker's OIDC routes into HTTP
//! API events for whichever instance is free (as API Gateway and Lambda's scaling would), the
//! signing key is a KMS key in moto and the integration's client a secret in moto.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use genesys_sandbox::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint,
    Sandbox, SandboxConfig,
};
use serde_json::{Value, json};

use crate::deployment::{LAMBDA_BINARY, assert_token_body, body_of, crm_body, http_api_post};
use crate::fleet::{served_a_request, status};
use test_kit::aws::{create_secret, sdk_config_for, unique};
use test_kit::emulators::moto;
use test_kit::http_front::HttpFront;
use test_kit::runtime_harness::{Backends, LambdaFunction, RuntimeHarness};

struct WebFleet {
    harness: Arc<RuntimeHarness>,
    sandbox: Sandbox,
    instances: Vec<LambdaFunction>,
    _front: HttpFront,
}

impl WebFleet {
    /// `instances` processes of the function in web messaging mode, all polling for work.
    async fn start(instances: usize) -> Self {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
        let harness = Arc::new(RuntimeHarness::start().await);
        let front = HttpFront::start(Arc::clone(&harness)).await;
        sandbox.set_oidc_issuer(&front.base_url());
        let clients = SandboxConfig::default().clients;
        let clients: Vec<(&str, &str)> = clients
            .iter()
            .map(|(id, secret)| (id.as_str(), secret.as_str()))
            .collect();
        let mut env = Backends::create(&sandbox.base_url(), &clients).await.env;
        let oidc_secret = unique("oidc-client");
        create_secret(
            &oidc_secret,
            &json!({"client_id": DEFAULT_OIDC_CLIENT_ID, "client_secret": DEFAULT_OIDC_CLIENT_SECRET}).to_string(),
        )
        .await;
        env.extend([
            ("AWS_ENDPOINT_URL_KMS", moto().endpoint.clone()),
            ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging".into()),
            ("GENESYS_DEPLOYMENT_ID", DEFAULT_DEPLOYMENT_ID.into()),
            ("GENESYS_EXTERNAL_SOURCE_ID", DEFAULT_EXTERNAL_SOURCE_ID.into()),
            ("OIDC_ISSUER", front.base_url()),
            ("OIDC_REDIRECT_URI", "https://broker.example.com/oidc/callback".into()),
            ("OIDC_CLIENT_SECRET_ID", oidc_secret),
            ("OIDC_SIGNING_KEY_ID", kms_signing_key().await),
        ]);
        let polls_before = harness.next_polls();
        let instances: Vec<_> = (0..instances)
            .map(|_| LambdaFunction::start(LAMBDA_BINARY, &harness, &env))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while harness.next_polls() < polls_before + instances.len() {
            assert!(Instant::now() < deadline, "the instances never polled for work");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self {
            harness,
            sandbox,
            instances,
            _front: front,
        }
    }

    async fn post(&self, crm_id: &str) -> Value {
        self.harness.invoke(http_api_post(&crm_body(crm_id))).await.response()
    }
}

async fn kms_signing_key() -> String {
    aws_sdk_kms::Client::new(&sdk_config_for(&moto().endpoint).await)
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .expect("moto creates the key")
        .key_metadata
        .expect("key metadata")
        .key_id
}

#[tokio::test]
async fn the_binary_serves_a_web_messaging_token_signed_by_kms_then_hits() {
    // Two instances: one serves the token request, the other the sandbox's calls to the OIDC routes.
    let mut fleet = WebFleet::start(2).await;
    let first = fleet.post("CRM-WEB-1").await;
    assert_eq!(status(&first), 200, "{first}");
    let body = body_of(&first);
    assert_token_body(&body);
    assert_eq!(fleet.sandbox.provider_token_calls(), 1);
    assert_eq!(fleet.sandbox.calls(Endpoint::WebDeploymentTokenExchange), 1);
    let second = fleet.post("CRM-WEB-1").await;
    assert_eq!(body_of(&second), body, "a hit");
    assert_eq!(fleet.sandbox.calls(Endpoint::WebDeploymentTokenExchange), 1);
    let output: Vec<String> = fleet.instances.iter_mut().flat_map(LambdaFunction::stop).collect();
    assert!(
        output
            .iter()
            .any(|line| line.contains("POST /oidc/token") && line.contains("200")),
        "an instance redeemed the code"
    );
    let token = body["token"].as_str().unwrap();
    assert!(
        !output.iter().any(|line| line.contains(token)),
        "the jwt is never logged"
    );
}

#[tokio::test]
async fn eight_instances_racing_for_one_new_customer_make_one_contact_and_one_exchange() {
    // Eight race for the customer; four more are free for the sandbox's calls to the OIDC routes.
    let mut fleet = WebFleet::start(12).await;
    let racing = (0..8).map(|_| fleet.post("CRM-WEB-RACE"));
    let replies = futures::future::join_all(racing).await;
    let guests: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|reply| {
            assert_eq!(status(reply), 200, "{reply}");
            body_of(reply)["guestId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(guests.len(), 1, "one guest for the customer: {guests:?}");
    assert_eq!(fleet.sandbox.external_contacts().len(), 1);
    assert_eq!(
        fleet.sandbox.calls(Endpoint::WebDeploymentTokenExchange),
        1,
        "one exchange"
    );
    let served = fleet
        .instances
        .iter_mut()
        .map(LambdaFunction::stop)
        .filter(|lines| served_a_request(lines))
        .count();
    assert!(
        served > 1,
        "the requests really raced across instances ({served} served)"
    );
}

#[tokio::test]
async fn a_signing_key_that_does_not_exist_stops_the_function_at_init_naming_the_problem() {
    let harness = RuntimeHarness::start().await;
    let mut env = test_kit::aws::aws_env();
    env.extend([
        ("AWS_ENDPOINT_URL_KMS", moto().endpoint.clone()),
        ("GENESYS_CLIENT_ID", "id".into()),
        ("GENESYS_CLIENT_SECRET", "secret".into()),
        ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging".into()),
        ("GENESYS_DEPLOYMENT_ID", DEFAULT_DEPLOYMENT_ID.into()),
        ("GENESYS_EXTERNAL_SOURCE_ID", DEFAULT_EXTERNAL_SOURCE_ID.into()),
        ("OIDC_ISSUER", "https://broker.example.com".into()),
        ("OIDC_REDIRECT_URI", "https://broker.example.com/oidc/callback".into()),
        ("OIDC_CLIENT_ID", DEFAULT_OIDC_CLIENT_ID.into()),
        ("OIDC_CLIENT_SECRET", DEFAULT_OIDC_CLIENT_SECRET.into()),
        (
            "OIDC_SIGNING_KEY_ID",
            "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000".into(),
        ),
    ]);
    let mut function = LambdaFunction::start(LAMBDA_BINARY, &harness, &env);
    let error = harness.init_error().await.expect("an init error is reported");
    assert_eq!(error.error_type, "Runtime.ConfigurationError");
    assert!(error.error_message.contains("OIDC signing key"), "{error:?}");
    assert!(error.error_message.contains("does not exist"), "{error:?}");
    assert!(!function.wait_for_exit().success());
}
