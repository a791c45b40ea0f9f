//! The Secrets Manager credential set against moto: rotation picked up without a restart,
//! malformed secrets named without their values, keyed pseudonymisation, and the whole request
//! path on DynamoDB and Secrets Manager.

use std::sync::Arc;
use std::time::Duration;

use genesys_sandbox::SandboxConfig;
use guest_token_broker::secrets::{
    CredentialSource, HashKeyField, HashKeySource, Pseudonyms, SecretsManagerCredentials,
};
use guest_token_broker::store::{DynamoDbStore, MemoryStore, SessionStore};

use crate::helpers::{Options, credential_source, hash_of, pair, spawn_app_hashing_with, spawn_app_on, upstream_calls};
use test_kit::aws::{
    create_secret, create_sessions_table, credentials_document, dynamodb, rotate_secret, secrets, unique,
};

const CACHE: Duration = Duration::from_secs(300);

async fn secret_source(document: &str) -> (String, Arc<dyn CredentialSource>) {
    secret_source_cached_for(document, CACHE).await
}

async fn secret_source_cached_for(document: &str, cache: Duration) -> (String, Arc<dyn CredentialSource>) {
    let name = unique("genesys-credentials");
    create_secret(&name, document).await;
    let source = SecretsManagerCredentials::new(secrets().await, name.clone(), cache, HashKeyField::Refused);
    (name, Arc::new(source))
}

fn sandbox_with(clients: &[(&str, &str)]) -> Options {
    Options {
        sandbox: SandboxConfig {
            clients: clients.iter().map(|(id, secret)| pair(id, secret)).collect(),
            ..SandboxConfig::default()
        },
        ..Options::default()
    }
}

#[tokio::test]
async fn the_request_path_runs_end_to_end_on_dynamodb_and_secrets_manager() {
    let table = unique("sessions");
    create_sessions_table(&table).await;
    let store = DynamoDbStore::new(dynamodb().await, table, Duration::from_secs(86_400));
    let (_, source) = secret_source(&credentials_document(&[("sandbox-client", "sandbox-secret")])).await;
    let app = spawn_app_on(Options::default(), store, source).await;

    let first = app.post_token("CRM-1").await;
    let second = app.post_token("CRM-1").await;
    let deleted = app.delete_session("CRM-1").await;

    assert_eq!(first.status, 200);
    assert_eq!(second.body, first.body);
    assert_eq!(upstream_calls(&app.sandbox), (1, 1, 1));
    assert_eq!(deleted.status, 204);
    assert!(app.store.get(&hash_of("CRM-1")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_rotated_secret_is_picked_up_without_a_restart() {
    let (name, source) = secret_source(&credentials_document(&[("old", "old-secret")])).await;
    let app = spawn_app_on(sandbox_with(&[("old", "old-secret")]), MemoryStore::new(), source).await;
    assert_eq!(app.post_token("CRM-1").await.status, 200);

    rotate_secret(&name, &credentials_document(&[("new", "new-secret")])).await;
    app.sandbox.add_client("new", "new-secret");
    app.sandbox.revoke_client("old");
    app.sandbox.expire_access_tokens();
    let reply = app.post_token("CRM-2").await;

    assert_eq!(reply.status, 200);
    assert_eq!(app.sandbox.oauth_client_ids(), ["old", "new"]);
}

/// The rotation function regenerates one client's secret at Genesys (its old secret and tokens
/// stop working at once), then stores the set with the new secret. An instance moves to the other
/// client meanwhile; once it reads the new set, it starts from the set's first client again, so
/// the rotated client is back in use rather than left aside until the other one is rotated.
#[tokio::test]
async fn after_a_rotation_the_rotated_client_is_used_again_once_its_new_secret_is_read() {
    let clients = [("a", "a-1"), ("b", "b-1")];
    let (name, source) = secret_source_cached_for(&credentials_document(&clients), Duration::ZERO).await;
    let app = spawn_app_on(sandbox_with(&clients), MemoryStore::new(), source).await;
    assert_eq!(app.post_token("CRM-1").await.status, 200);

    let regenerated = app.sandbox.regenerate_client_secret("a").unwrap();
    assert_eq!(app.post_token("CRM-2").await.status, 200, "the other client serves");
    rotate_secret(&name, &credentials_document(&[("a", &regenerated), ("b", "b-1")])).await;
    let reply = app.post_token("CRM-3").await;

    assert_eq!(reply.status, 200);
    assert_eq!(app.sandbox.oauth_client_ids(), ["a", "b", "a"]);
}

#[tokio::test]
async fn malformed_secrets_are_configuration_errors_that_name_the_problem_not_the_values() {
    let cases = [
        ("not json: sk-123", "is not valid JSON"),
        (r#"{"clients":[{"client_id":"sk-123"}]}"#, "has no \"credentials\" list"),
        (r#"{"credentials":[]}"#, "has an empty \"credentials\" list"),
        (
            r#"{"credentials":[{"client_id":"sk-123"}]}"#,
            "has no \"client_secret\" in credentials[0]",
        ),
        (
            r#"{"credentials":[{"client_secret":"sk-123"}]}"#,
            "has no \"client_id\" in credentials[0]",
        ),
    ];
    for (document, expected) in cases {
        let (_, source) = secret_source(document).await;
        let app = spawn_app_on(Options::default(), MemoryStore::new(), source).await;

        let reply = app.post_token("CRM-1").await;

        assert_eq!(reply.status, 500, "{document}");
        assert_eq!(reply.error_code(), "configuration_error");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains("sk-123"), "{message}");
        assert!(app.sandbox.guests().is_empty());
        let session = app.store.get(&hash_of("CRM-1")).await.unwrap();
        assert!(
            session.is_none_or(|s| s.guest_id.is_none() && s.guest_claim.is_none()),
            "the claim is given back for the next request"
        );
    }
}

#[tokio::test]
async fn a_missing_secret_is_a_configuration_error_named_in_the_log_only() {
    let source = SecretsManagerCredentials::new(secrets().await, "no-such-secret", CACHE, HashKeyField::Refused);
    let app = spawn_app_on(Options::default(), MemoryStore::new(), Arc::new(source)).await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 500);
    assert_eq!(reply.error_code(), "configuration_error");
    assert!(
        !reply.error_message().contains("no-such-secret"),
        "{}",
        reply.error_message()
    );
}

#[tokio::test]
async fn a_hash_key_in_the_credentials_secret_fails_closed_where_pseudonyms_are_sha256() {
    let document = serde_json::json!({
        "credentials": [{"client_id": "sandbox-client", "client_secret": "sandbox-secret"}],
        "hash_key": "k3y-for-tests-0123456789abcdefghij",
    });
    let (_, source) = secret_source(&document.to_string()).await;
    let app = spawn_app_on(Options::default(), MemoryStore::new(), source).await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 500);
    assert_eq!(reply.error_code(), "configuration_error");
    assert!(
        reply.error_message().contains("CRM_ID_HASH_MODE"),
        "{}",
        reply.error_message()
    );
    assert!(!reply.error_message().contains("k3y-for-tests-0123456789abcdefghij"));
    assert!(
        app.sandbox.guests().is_empty(),
        "no guest under a pseudonym that may be the wrong one"
    );
}

#[tokio::test]
async fn hmac_pseudonyms_use_the_key_from_their_own_secret() {
    let name = unique("hash-key");
    create_secret(&name, r#"{"hash_key": "k3y-for-tests-0123456789abcdefghij"}"#).await;
    let pseudonyms = Pseudonyms::hmac(
        HashKeySource::SecretsManager {
            client: secrets().await,
            secret_id: name,
        },
        Duration::from_secs(300),
    );
    let credentials = Arc::new(credential_source(&[pair("sandbox-client", "sandbox-secret")]));
    let app = spawn_app_hashing_with(Options::default(), MemoryStore::new(), credentials, pseudonyms).await;

    assert_eq!(app.post_token("CRM-1").await.status, 200);

    // python3 -c "import hmac,hashlib;print(hmac.new(b'k3y-for-tests-0123456789abcdefghij',b'CRM-1',hashlib.sha256).hexdigest())"
    let expected = "4ce7d6c0d3e7fd9b31d0855c3ebdb5e45ecc046e22c3ce765d8846245a073686";
    assert_eq!(app.sandbox.guests()[0].custom_attributes["crm_id_hash"], expected);
}

#[tokio::test]
async fn a_hash_key_that_changes_under_a_running_instance_stops_hashing() {
    let name = unique("hash-key");
    create_secret(&name, r#"{"hash_key": "first-key-with-32-bytes-or-more-1"}"#).await;
    let pseudonyms = Pseudonyms::hmac(
        HashKeySource::SecretsManager {
            client: secrets().await,
            secret_id: name.clone(),
        },
        Duration::ZERO,
    );
    let credentials = Arc::new(credential_source(&[pair("sandbox-client", "sandbox-secret")]));
    let app = spawn_app_hashing_with(Options::default(), MemoryStore::new(), credentials, pseudonyms).await;
    assert_eq!(app.post_token("CRM-1").await.status, 200);

    rotate_secret(&name, r#"{"hash_key": "second-key-with-32-bytes-or-more-2"}"#).await;
    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 500);
    assert_eq!(reply.error_code(), "configuration_error");
    assert!(!reply.error_message().contains("second-key-with-32-bytes-or-more-2"));
    assert_eq!(app.sandbox.guests().len(), 1, "never a second guest under another hash");
}

#[tokio::test]
async fn forced_re_reads_of_the_secret_are_spaced_out() {
    let (name, source) = secret_source(&credentials_document(&[("old", "old-secret")])).await;
    let app = spawn_app_on(sandbox_with(&[("old", "old-secret")]), MemoryStore::new(), source).await;
    app.sandbox.revoke_client("old");
    // Refused: the secret is re-read at once, and still holds only the revoked client.
    assert_eq!(app.post_token("CRM-1").await.status, 502);

    rotate_secret(&name, &credentials_document(&[("new", "new-secret")])).await;
    app.sandbox.add_client("new", "new-secret");
    let reply = app.post_token("CRM-2").await;

    // Within the minimum interval the broker does not hammer Secrets Manager on every refusal.
    assert_eq!(reply.status, 502);
    assert!(app.sandbox.oauth_client_ids().is_empty());
}
