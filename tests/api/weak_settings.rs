//! Weak or overflowing settings through the compiled binaries: a short HMAC key or integration
//! client secret, a code or id_token lifetime past its bound, a retention that overflows. Each
//! ends init with `Runtime.ConfigurationError` naming the variable and the bound; a short key in
//! the hash-key secret (read at first use) is a configuration error that hashes no one.

use genesys_sandbox::{DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID};
use serde_json::json;

use crate::deployment::{Deployment, LAMBDA_BINARY, body_of, init_error_of};
use crate::fleet::{error_code, post, status};
use crate::web_fleet::OIDC_BINARY;
use test_kit::aws::{aws_env, create_secret, create_signing_key, unique};

/// 31 bytes and 31 characters: one short of both bounds.
const ONE_SHORT: &str = "0123456789abcdef0123456789abcde";

/// `(variables set on top of a working configuration, what the init error must say)`.
type Case = (Vec<(&'static str, String)>, [&'static str; 2]);

async fn assert_each_stops_init(binary: &str, base: &[(&'static str, String)], cases: Vec<Case>) {
    for (vars, expected) in cases {
        let mut env = base.to_vec();
        env.extend(vars);
        let (error, lines) = init_error_of(binary, &env).await;
        for words in expected {
            assert!(error.error_message.contains(words), "{expected:?}: {error:?}");
        }
        assert!(!error.error_message.contains(ONE_SHORT), "{error:?}");
        assert!(
            lines.iter().any(|line| line.contains(expected[0])),
            "the log names it too: {lines:#?}"
        );
    }
}

fn set(vars: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    vars.iter().map(|(name, value)| (*name, (*value).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn weak_or_overflowing_settings_stop_the_guest_function_at_init_naming_the_variable_and_the_bound() {
    let base = set(&[("GENESYS_CREDENTIALS_SECRET_ID", "genesys")]);
    let web_messaging = |ttl: &str| {
        set(&[
            ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging"),
            ("GENESYS_DEPLOYMENT_ID", DEFAULT_DEPLOYMENT_ID),
            ("GENESYS_EXTERNAL_SOURCE_ID", DEFAULT_EXTERNAL_SOURCE_ID),
            ("OIDC_REDIRECT_URI", "https://broker.example.com/oidc/callback"),
            ("OIDC_CODE_TTL_SECONDS", ttl),
        ])
    };
    let cases: Vec<Case> = vec![
        (
            set(&[("SESSION_RETENTION_DAYS", "3651")]),
            ["SESSION_RETENTION_DAYS", "at most 3650 days"],
        ),
        // 86 400 times this overflows: the debug binary panicked at init, a release one wrapped.
        (
            set(&[("SESSION_RETENTION_DAYS", "300000000000000")]),
            ["SESSION_RETENTION_DAYS", "at most 3650 days"],
        ),
        (
            set(&[("CRM_ID_HASH_MODE", "hmac-sha256"), ("CRM_ID_HASH_KEY", ONE_SHORT)]),
            ["CRM_ID_HASH_KEY", "at least 32 bytes"],
        ),
        (web_messaging("601"), ["OIDC_CODE_TTL_SECONDS", "at most 600 seconds"]),
        // Accepted before, and every code minted with it panicked on `now + ttl`.
        (
            web_messaging("10000000000000"),
            ["OIDC_CODE_TTL_SECONDS", "at most 600 seconds"],
        ),
    ];
    assert_each_stops_init(LAMBDA_BINARY, &base, cases).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn weak_settings_stop_the_oidc_provider_at_init_naming_the_variable_and_the_bound() {
    let mut base = aws_env();
    base.extend([
        ("OIDC_ISSUER", "https://broker.example.com".to_owned()),
        ("OIDC_SIGNING_KEY_ID", create_signing_key().await),
    ]);
    let short_secret = unique("oidc-client");
    create_secret(
        &short_secret,
        &json!({"client_id": DEFAULT_OIDC_CLIENT_ID, "client_secret": ONE_SHORT}).to_string(),
    )
    .await;
    let long_enough = "0123456789abcdef0123456789abcdef";
    let cases: Vec<Case> = vec![
        (
            set(&[
                ("OIDC_CLIENT_ID", DEFAULT_OIDC_CLIENT_ID),
                ("OIDC_CLIENT_SECRET", long_enough),
                ("OIDC_ID_TOKEN_TTL_SECONDS", "3601"),
            ]),
            ["OIDC_ID_TOKEN_TTL_SECONDS", "at most 3600 seconds"],
        ),
        (
            set(&[
                ("OIDC_CLIENT_ID", DEFAULT_OIDC_CLIENT_ID),
                ("OIDC_CLIENT_SECRET", ONE_SHORT),
            ]),
            ["OIDC_CLIENT_SECRET", "at least 32 characters"],
        ),
        // The secret is read at init: a short one stops it there.
        (
            set(&[("OIDC_CLIENT_SECRET_ID", &short_secret)]),
            ["OIDC_CLIENT_SECRET_ID", "shorter than 32 characters"],
        ),
    ];
    assert_each_stops_init(OIDC_BINARY, &base, cases).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_key_secret_under_32_bytes_is_a_configuration_error_naming_the_variable_and_hashes_no_one() {
    let key_secret = unique("hash-key");
    create_secret(&key_secret, &json!({ "hash_key": ONE_SHORT }).to_string()).await;
    let deployment = Deployment::start_with(&[
        ("CRM_ID_HASH_MODE", "hmac-sha256"),
        ("CRM_ID_HASH_KEY_SECRET_ID", key_secret.as_str()),
    ])
    .await;

    let refused = post(&deployment, "CRM-1").await;

    assert_eq!(status(&refused), 500, "{refused}");
    assert_eq!(error_code(&refused), "configuration_error");
    let message = body_of(&refused)["error"]["message"].to_string();
    assert!(
        message.contains("CRM_ID_HASH_KEY_SECRET_ID") && message.contains("32 bytes"),
        "{message}"
    );
    assert!(
        !message.contains(ONE_SHORT) && !message.contains(&key_secret),
        "{message}"
    );
    assert!(deployment.sandbox.guests().is_empty(), "no customer was hashed with it");
}
