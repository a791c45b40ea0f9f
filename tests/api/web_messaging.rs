//! The genesys-web-messaging mode in process, for what the binary-level tests
//! (`web_messaging_fleet`, `oidc_codes`) cannot set up: a wrong integration secret, a jwt without
//! `exp`, the warm-up's preflight, a clock moved on with a DynamoDB store. The OIDC provider is
//! served over HTTP on loopback (the same `oidc::handle` its Lambda events reach), on the same
//! store and clock as the broker, because the sandbox, like Genesys, calls its discovery, JWKS and
//! token endpoints during every exchange and verifies the id_token's RS256 signature, issuer,
//! audience and expiry. Requests from the test go through
//! `lambda::handle_event` as everywhere else.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use genesys_sandbox::server::{self as http_server, ServerHandle};
use genesys_sandbox::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint,
    ExchangeFailure, Fault, Sandbox, SandboxConfig,
};
use guest_token_broker::broker::{Broker, CodeIssuer, Upstream, WebMessaging};
use guest_token_broker::domain::{Clock, Deadline, FixedClock};
use guest_token_broker::genesys::{GenesysClient, GenesysEndpoints, RetryPolicy};
use guest_token_broker::oidc::{self, OidcProvider, OidcSettings, Signer};
use guest_token_broker::secrets::{Credential, OidcClientSource, Pseudonyms};
use guest_token_broker::store::{CodeStore, MemoryStore, SessionStore};
use guest_token_broker::telemetry::Metrics;
use guest_token_broker::web::ApiRequest;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::helpers::{TestApp, credential_source, hash_of};
use crate::web_fleet::web_calls;

const REDIRECT_URI: &str = "https://broker.example.com/oidc/callback";
const WINDOW: Duration = Duration::from_secs(300);

struct WebApp<S> {
    app: TestApp<S>,
    _http: ServerHandle,
}

/// The broker in web messaging mode on `store`, reachable over HTTP at its issuer URL, with the
/// integration's client secret `client_secret` (the sandbox's unless a test wants it wrong).
async fn spawn_web_app<S: SessionStore + CodeStore + Clone>(store: S, client_secret: &str) -> WebApp<S> {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    sandbox.set_oidc_issuer(&issuer);
    let clock = FixedClock::at(Utc::now());
    let oidc = Arc::new(OidcProvider::new(
        OidcSettings {
            issuer,
            id_token_lifetime: Duration::from_secs(300),
        },
        Signer::generate_local().unwrap(),
        Vec::new(),
        OidcClientSource::Fixed(Arc::new(Credential {
            client_id: DEFAULT_OIDC_CLIENT_ID.into(),
            client_secret: SecretString::from(client_secret.to_owned()),
        })),
        store.clone(),
        Arc::new(clock.clone()),
    ));
    let base = sandbox.base_url();
    let endpoints = GenesysEndpoints {
        api_base: base.parse().unwrap(),
        login_base: base.parse().unwrap(),
    };
    let credentials = Arc::new(credential_source(&SandboxConfig::default().clients));
    let upstream = Upstream::WebMessaging(WebMessaging {
        genesys: GenesysClient::new(endpoints, credentials, RetryPolicy::default()),
        deployment_id: DEFAULT_DEPLOYMENT_ID.into(),
        external_source_id: DEFAULT_EXTERNAL_SOURCE_ID.into(),
        codes: CodeIssuer {
            redirect_uri: REDIRECT_URI.into(),
            lifetime: Duration::from_secs(60),
            pkce: false,
        },
    });
    let broker = Arc::new(Broker::with_upstream(
        store.clone(),
        upstream,
        Pseudonyms::sha256(),
        Arc::new(clock.clone()),
        WINDOW,
    ));
    let http = http_server::spawn(listener, move |request: http::Request<Bytes>| {
        let oidc = Arc::clone(&oidc);
        async move {
            let (parts, body) = request.into_parts();
            let request = ApiRequest {
                authorization: parts
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok()),
                ..ApiRequest::new(&parts.method, parts.uri.path(), &body)
            };
            oidc::handle(
                &oidc,
                request,
                Deadline::after(Duration::from_secs(10)),
                &Metrics::new(),
            )
            .await
        }
    });
    WebApp {
        app: TestApp::from_parts(broker, sandbox, store, clock, Duration::from_secs(10)),
        _http: http,
    }
}

fn advance(clock: &FixedClock, seconds: i64) {
    clock.set(clock.now() + chrono::Duration::seconds(seconds));
}

#[tokio::test]
async fn a_wrong_integration_secret_makes_genesys_refuse_the_exchange_and_the_caller_gets_502() {
    let web = spawn_web_app(MemoryStore::new(), "not-the-integration-secret").await;
    let reply = web.app.post_token("CRM-4").await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.error_code(), "upstream_rejected");
    assert!(matches!(
        web.app.sandbox.exchange_failures().as_slice(),
        [ExchangeFailure::TokenEndpoint(_)]
    ));
    assert!(!reply.body.to_string().contains("not-the-integration-secret"));
}

#[tokio::test]
async fn a_jwt_without_a_readable_exp_is_a_stable_502() {
    let web = spawn_web_app(MemoryStore::new(), DEFAULT_OIDC_CLIENT_SECRET).await;
    web.app.sandbox.push_fault(
        Endpoint::WebDeploymentTokenExchange,
        Fault::status(200).raw_body(r#"{"jwt":"not.a-jwt.at-all","refreshToken":"rt"}"#),
    );
    let reply = web.app.post_token("CRM-6").await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.error_code(), "upstream_rejected");
}

#[tokio::test]
async fn the_scheduled_warm_up_checks_the_deployment_has_authentication_enabled() {
    let web = spawn_web_app(MemoryStore::new(), DEFAULT_OIDC_CLIENT_SECRET).await;
    let warm_up = || async {
        let event = crate::deployment::sample_event("scheduled-warm-up.json");
        guest_token_broker::lambda::handle_event(
            web.app.broker.as_ref(),
            event,
            Deadline::after(Duration::from_secs(10)),
            &Metrics::new(),
        )
        .await
        .expect("a warm-up report")
    };
    let report = warm_up().await;
    assert_eq!(report["preflight"], "ok", "{report}");
    assert_eq!(report["warmed"], true);
    let mut deployment = SandboxConfig::default().web_messaging.deployments.remove(0);
    deployment.authentication_enabled = false;
    web.app.sandbox.put_deployment(deployment);
    let report = warm_up().await;
    assert_eq!(report["warmed"], false, "{report}");
    assert!(
        report["preflight"].as_str().unwrap().contains("enable Authentication"),
        "the report says what to fix: {report}"
    );
}

#[tokio::test]
async fn on_dynamodb_the_refresh_token_is_stored_beside_the_jwt_and_used_to_renew() {
    use test_kit::aws::{create_sessions_table, dynamodb, unique};
    let table = unique("sessions");
    create_sessions_table(&table).await;
    let store =
        guest_token_broker::store::DynamoDbStore::new(dynamodb().await, table.clone(), Duration::from_secs(86_400));
    let web = spawn_web_app(store, DEFAULT_OIDC_CLIENT_SECRET).await;
    let first = web.app.post_token("CRM-7").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let item = dynamodb()
        .await
        .get_item()
        .table_name(&table)
        .key(
            "crm_id_hash",
            aws_sdk_dynamodb::types::AttributeValue::S(hash_of("CRM-7").as_str().to_owned()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(item["genesys_refresh_token"].as_s().is_ok_and(|rt| !rt.is_empty()));
    assert_eq!(item["token"].as_s().unwrap(), first.body["token"].as_str().unwrap());
    advance(&web.app.clock, 400);
    let refreshed = web.app.post_token("CRM-7").await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        web_calls(&web.app.sandbox),
        (1, 1, 1, 0),
        "renewed with the stored refresh token"
    );
}
