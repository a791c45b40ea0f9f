//! The OpenID Connect provider function through its compiled binary, behind its own REST API stage:
//! what a stranger can make it do. Discovery and the JWKS come from memory, a token request that
//! fails to authenticate is refused before any DynamoDB, KMS or Secrets Manager call, and a broken
//! client secret is read at most once per retry interval while strangers learn nothing of it
//! (every AWS call of the function goes through the fleet's counting proxy).

use std::time::{Duration, Instant};

use genesys_sandbox::{DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET};
use guest_token_broker::oidc::CLIENT_SECRET_UNUSABLE;
use guest_token_broker::secrets::FAILED_READ_RETRY_INTERVAL;
use test_kit::aws::{delete_secret, rotate_secret};
use test_kit::aws_proxy::{AwsFault, AwsProxy, FaultRule};

use crate::deployment::{OIDC_EVENTS, body_of, sample_event};
use crate::fleet::status;
use crate::oidc_codes::{CLIENT, redeem};
use crate::web_fleet::{REDIRECT_URI, TokenReply, WebFleet};

#[tokio::test(flavor = "multi_thread")]
async fn refused_token_requests_and_the_public_documents_make_no_aws_call() {
    let mut fleet = WebFleet::start(1).await;
    fleet.proxy.take();
    let http = reqwest::Client::new();
    for path in ["/.well-known/openid-configuration", "/.well-known/jwks.json"] {
        let response = http.get(format!("{}{path}", fleet.issuer)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=300", "{path}");
    }
    let code = [
        ("grant_type", "authorization_code"),
        ("code", "a-code-nobody-issued"),
        ("redirect_uri", REDIRECT_URI),
    ];
    let with_form_client = |id: &'static str, secret: &'static str| {
        let mut form = code.to_vec();
        form.extend([("client_id", id), ("client_secret", secret)]);
        form
    };
    let refusals = [
        (code.to_vec(), None, 401),
        (code.to_vec(), Some(("someone-else", DEFAULT_OIDC_CLIENT_SECRET)), 401),
        (code.to_vec(), Some((DEFAULT_OIDC_CLIENT_ID, "a-guess")), 401),
        (with_form_client(DEFAULT_OIDC_CLIENT_ID, "another-guess"), None, 401),
        (
            with_form_client(DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET),
            Some((DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET)),
            400,
        ),
    ];
    for (form, basic, status) in &refusals {
        let reply = fleet.oidc_token(form, *basic).await;
        assert_eq!(reply.status, *status, "{reply:?}");
    }
    assert_eq!(fleet.proxy.take().len(), 0, "a refused request reached AWS");

    // The proxy sees what an authenticated request costs: the code's one UpdateItem.
    let reply = redeem(&fleet, "a-code-nobody-issued", REDIRECT_URI, CLIENT, false).await;
    assert_eq!((reply.status, reply.error()), (400, "invalid_grant"), "{reply:?}");
    assert_eq!(fleet.proxy.operations(), ["DynamoDB_20120810.UpdateItem"]);
    fleet.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_refused_client_authentication_is_an_oidc_invalid_client_in_the_functions_metrics_record() {
    let mut fleet = WebFleet::start(1).await;
    let code = [
        ("grant_type", "authorization_code"),
        ("code", "a-code-nobody-issued"),
        ("redirect_uri", REDIRECT_URI),
    ];
    let refused = [
        fleet.oidc_token(&code, None).await,
        fleet.oidc_token(&code, Some((DEFAULT_OIDC_CLIENT_ID, "a-guess"))).await,
    ];
    for reply in &refused {
        assert_eq!((reply.status, reply.error()), (401, "invalid_client"), "{reply:?}");
    }
    let authenticated = fleet
        .oidc_token(&code, Some((DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET)))
        .await;
    assert_eq!(authenticated.error(), "invalid_grant", "{authenticated:?}");

    let records = crate::fleet::metrics_records(&fleet.stop());
    // One record per token request; the fleet's two OIDC instances print theirs apart.
    let counted = crate::fleet::counts_of(&records, "OidcInvalidClient");
    assert_eq!(counted, [0, 1, 1], "{records:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oidc_sample_events_get_discovery_the_jwks_and_a_clean_refusal_of_an_unknown_code() {
    let mut fleet = WebFleet::start(1).await;
    let invoke = |name: &'static str| {
        let harness = std::sync::Arc::clone(&fleet.oidc_harness);
        async move { harness.invoke(sample_event(name)).await.response() }
    };
    let [discovery_event, jwks_event, token_event] = OIDC_EVENTS;
    let discovery = invoke(discovery_event).await;
    assert_eq!(status(&discovery), 200, "{discovery}");
    assert_eq!(body_of(&discovery)["issuer"], fleet.issuer.as_str());
    assert_eq!(body_of(&discovery)["code_challenge_methods_supported"][0], "S256");
    let jwks = invoke(jwks_event).await;
    assert_eq!(status(&jwks), 200, "{jwks}");
    assert_eq!(body_of(&jwks)["keys"][0]["alg"], "RS256");
    // The sample's client is the sandbox's integration's; no code it could carry was ever issued.
    let token = invoke(token_event).await;
    assert_eq!(status(&token), 400, "{token}");
    assert_eq!(body_of(&token)["error"], "invalid_grant");
    assert_eq!(token["multiValueHeaders"]["cache-control"][0], "no-store", "{token}");
    assert_eq!(token["multiValueHeaders"]["pragma"][0], "no-cache", "{token}");
    fleet.stop();
}

/// The one HTTP API (payload 2.0) case of the OIDC function: the template routes its REST API
/// only (issue 25), but the binary serves every event kind the guest function does, so an HTTP
/// API in front of it would work. The event's `authorization` header is read (the sample's client
/// authenticates, so the unknown code is what is refused) and the answer comes back in the HTTP
/// API's shape, in single-value `headers` (the REST API's `multiValueHeaders` left empty).
#[tokio::test(flavor = "multi_thread")]
async fn an_http_api_token_request_is_authenticated_and_answered_in_the_http_api_shape() {
    let mut fleet = WebFleet::start(1).await;
    let token = fleet
        .oidc_harness
        .invoke(sample_event("http-api-post-oidc-token.json"))
        .await
        .response();
    assert_eq!(status(&token), 400, "{token}");
    assert_eq!(body_of(&token)["error"], "invalid_grant", "{token}");
    assert_eq!(token["headers"]["cache-control"], "no-store", "{token}");
    assert_eq!(token["headers"]["pragma"], "no-cache", "{token}");
    assert!(
        token["multiValueHeaders"]
            .as_object()
            .is_none_or(|multi| multi.is_empty()),
        "{token}"
    );
    fleet.stop();
}

/// The secret reads (forwarded to moto) since the last look.
fn secret_reads(proxy: &AwsProxy) -> usize {
    proxy
        .take()
        .iter()
        .filter(|record| record.operation == "secretsmanager.GetSecretValue" && record.fault.is_none())
        .count()
}

/// A stranger's token request: a code and a guessed client.
async fn stranger(fleet: &WebFleet) -> TokenReply {
    redeem(
        fleet,
        "a-code-nobody-issued",
        REDIRECT_URI,
        ("someone", "a-guess"),
        false,
    )
    .await
}

/// RFC 6749's shape, one fixed description, nothing about the secret.
#[track_caller]
fn assert_fixed_server_error(reply: &TokenReply, secret: &str) {
    assert_eq!((reply.status, reply.error()), (500, "server_error"), "{reply:?}");
    assert_eq!(reply.body["error_description"], CLIENT_SECRET_UNUSABLE, "{reply:?}");
    reply.assert_never_cached();
    let text = reply.body.to_string();
    for hint in [secret, "JSON", "exist", "Secrets Manager", "client_secret"] {
        assert!(!text.contains(hint), "the answer hints at the secret ({hint}): {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_or_deleted_client_secret_is_read_once_per_retry_interval_and_strangers_get_a_fixed_server_error() {
    for broken in ["malformed", "deleted"] {
        // Secrets Manager fails through the provider's init: it starts with nothing cached.
        let mut fleet = WebFleet::start_with(1, |backends| {
            backends
                .proxy
                .fail(FaultRule::new("GetSecretValue", 1_000, AwsFault::ServerError));
        })
        .await;
        fleet.proxy.stop_failing();
        let logged = match broken {
            "malformed" => {
                rotate_secret(&fleet.oidc_secret, "{not json").await;
                "is not a JSON object"
            }
            "deleted" => {
                delete_secret(&fleet.oidc_secret).await;
                "does not exist"
            }
            other => unreachable!("no such case: {other}"),
        };
        fleet.proxy.take();

        // Refused at once until the init failure's interval has passed and a request reads the
        // broken secret (a poll with a deadline).
        let deadline = Instant::now() + 4 * FAILED_READ_RETRY_INTERVAL;
        loop {
            assert_fixed_server_error(&stranger(&fleet).await, &fleet.oidc_secret);
            if secret_reads(&fleet.proxy) > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "no request read the secret again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Then a burst: each instance reads it at most once per interval, however many ask.
        let started = Instant::now();
        for _ in 0..12 {
            assert_fixed_server_error(&stranger(&fleet).await, &fleet.oidc_secret);
        }
        let intervals = started.elapsed().as_secs() / FAILED_READ_RETRY_INTERVAL.as_secs() + 1;
        let reads = secret_reads(&fleet.proxy);
        let bound = fleet.oidc_instances.len() * intervals as usize;
        assert!(reads <= bound, "{reads} reads for 12 requests; at most {bound}");

        let lines = fleet.stop();
        assert!(
            lines
                .iter()
                .any(|line| line.contains(logged) && line.contains(CLIENT_SECRET_UNUSABLE)),
            "the log says what is wrong ({logged}): {lines:#?}"
        );
    }
}
