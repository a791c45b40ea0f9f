//! Relying-party plumbing that the HTTP-level tests in `web_tokens` do not reach.

use super::*;
use crate::config::WebMessagingConfig;

fn integration(issuer: Option<String>) -> OidcIntegration {
    OidcIntegration {
        issuer,
        ..WebMessagingConfig::default().integrations[0].clone()
    }
}

#[test]
fn basic_authorization_form_encodes_both_parts_first() {
    let mut integration = integration(None);
    integration.client_id = "id:1".into();
    integration.client_secret = "s e/cret".into();
    let header = basic_authorization(&integration);
    let decoded = STANDARD.decode(header.strip_prefix("Basic ").unwrap()).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "id%3A1:s+e%2Fcret");
}

#[tokio::test]
async fn unreachable_provider_is_a_discovery_failure() {
    // Bound then dropped: nothing listens on this port any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let grant = Grant::IdToken {
        id_token: "x.y.z".into(),
        nonce: "n".into(),
    };
    let http = new_http_client().unwrap();
    let outcome = authenticate(&http, &integration(Some(issuer)), &grant, None, || {}).await;
    assert_eq!(outcome, Err(ExchangeFailure::Discovery("connection failed".into())));
}

#[test]
fn failure_messages_name_the_check() {
    assert_eq!(
        ExchangeFailure::BadSignature.to_string(),
        "id_token signature does not verify"
    );
    assert!(
        ExchangeFailure::UnknownKid(Some("k9".into()))
            .to_string()
            .contains("k9")
    );
}
