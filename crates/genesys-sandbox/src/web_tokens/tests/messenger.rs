//! The sandbox playing the Messenger's Auth plugin: what `getAuthCode` resolved becomes the code
//! exchange, nonce and verifier included, and a body that is no such resolution is a 400.

use serde_json::{Value, json};

use super::super::super::test_support::oidc_provider::{REDIRECT_URI, TestProvider};
use super::super::super::test_support::{post_json, status_and_json};
use super::super::super::{DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint, Sandbox, SandboxConfig};

#[tokio::test]
async fn what_get_auth_code_resolved_is_exchanged_as_the_auth_plugin_would() {
    let provider = TestProvider::start(DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET).await;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    sandbox.set_oidc_issuer(&provider.issuer());
    let mut spec = provider.valid_spec();
    spec.claims.insert("nonce".into(), "n-1".into());
    let resolved = json!({
        "authCode": provider.code_for(spec),
        "redirectUri": REDIRECT_URI,
        "nonce": "n-1",
        "codeVerifier": "v".repeat(43),
        "expiresIn": 60,
    });
    let (status, body) = status_and_json(post_json(&sandbox, Endpoint::MessengerAuthCode, None, &resolved).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["jwt"].as_str().is_some_and(|jwt| !jwt.is_empty()));
    let sent = sandbox.exchange_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].nonce.as_deref(), Some("n-1"));
    assert_eq!(sent[0].code_verifier.as_deref(), Some("v".repeat(43).as_str()));

    let (status, body): (u16, Value) =
        status_and_json(post_json(&sandbox, Endpoint::MessengerAuthCode, None, &json!({"authCode": "x"})).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(sandbox.exchange_requests().len(), 1, "a refused body is no exchange");
    sandbox.shutdown().await;
    provider.shutdown().await;
}
