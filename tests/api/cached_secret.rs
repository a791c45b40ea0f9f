//! The one cached-secret type behind the three secrets, against moto through the counting proxy:
//! its time to live, its minimum interval between forced re-reads, and the OIDC client's reload
//! on a refused secret (a rotation picked up) that a stranger's guess never causes, and a read that
//! failed with nothing cached, which no caller can have tried again at once.

use std::time::Duration;

use guest_token_broker::secrets::{CachedSecret, CredentialError, OidcClientSource, ReloadPolicy};
use serde_json::json;
use test_kit::aws::{create_secret, delete_secret, rotate_secret, sdk_config_for, unique};
use test_kit::aws_proxy::{AwsFault, AwsProxy, FaultRule};

const LONG: Duration = Duration::from_secs(3600);
/// Integration client secrets, as long as the provider requires.
const CLIENT_SECRET: &str = "s3cret-of-at-least-32-characters";
const OLD_SECRET: &str = "old-secret-of-at-least-32-characters";
const NEW_SECRET: &str = "new-secret-of-at-least-32-characters";
const GET_SECRET_VALUE: &str = "secretsmanager.GetSecretValue";

/// A secret in moto, and a Secrets Manager client whose calls the proxy counts.
async fn secret(value: &str) -> (String, AwsProxy, aws_sdk_secretsmanager::Client) {
    let name = unique("cached");
    create_secret(&name, value).await;
    let proxy = AwsProxy::start().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk_config_for(&proxy.url()).await);
    (name, proxy, client)
}

fn reads(proxy: &AwsProxy) -> usize {
    proxy
        .take()
        .iter()
        .filter(|record| record.operation == GET_SECRET_VALUE)
        .count()
}

fn text(value: &str) -> Result<String, CredentialError> {
    Ok(value.to_owned())
}

#[tokio::test]
async fn a_value_is_read_once_within_its_time_to_live_and_again_after_it() {
    let (name, proxy, client) = secret("v1").await;
    let cached = CachedSecret::new(
        client.clone(),
        &name,
        "test",
        text,
        ReloadPolicy {
            ttl: LONG,
            min_reload_interval: LONG,
        },
    );
    for _ in 0..3 {
        assert_eq!(cached.current().await.unwrap().as_str(), "v1");
    }
    assert_eq!(reads(&proxy), 1, "one read serves the time to live");

    let expired = CachedSecret::new(
        client,
        &name,
        "test",
        text,
        ReloadPolicy {
            ttl: Duration::ZERO,
            min_reload_interval: LONG,
        },
    );
    expired.current().await.unwrap();
    rotate_secret(&name, "v2").await;
    assert_eq!(expired.current().await.unwrap().as_str(), "v2");
    assert_eq!(reads(&proxy), 2, "past its time to live a value is read again");
}

#[tokio::test]
async fn a_forced_reload_reads_at_once_and_the_next_only_after_the_minimum_interval() {
    let (name, proxy, client) = secret("v1").await;
    let policy = |min_reload_interval| ReloadPolicy {
        ttl: LONG,
        min_reload_interval,
    };
    let spaced = CachedSecret::new(client.clone(), &name, "test", text, policy(LONG));
    spaced.current().await.unwrap();
    rotate_secret(&name, "v2").await;
    assert_eq!(
        spaced.reload().await.unwrap().as_str(),
        "v2",
        "the first forced re-read is at once"
    );
    rotate_secret(&name, "v3").await;
    assert_eq!(
        spaced.reload().await.unwrap().as_str(),
        "v2",
        "within the interval: the cached value"
    );
    assert_eq!(reads(&proxy), 2);

    let eager = CachedSecret::new(client, &name, "test", text, policy(Duration::ZERO));
    eager.current().await.unwrap();
    rotate_secret(&name, "v4").await;
    eager.reload().await.unwrap();
    assert_eq!(
        eager.reload().await.unwrap().as_str(),
        "v4",
        "past the interval: read again"
    );
    assert_eq!(reads(&proxy), 3);
}

#[tokio::test]
async fn the_oidc_client_is_read_at_most_once_per_time_to_live_whoever_is_refused() {
    let document = |secret: &str| json!({"client_id": "integration", "client_secret": secret}).to_string();
    let (name, proxy, client) = secret(&document(OLD_SECRET)).await;
    let clients = OidcClientSource::secrets_manager(client.clone(), &name, LONG);
    clients.load().await.unwrap();
    let authenticated = |id: &str, secret: &str| {
        let (clients, id, secret) = (&clients, id.to_owned(), secret.to_owned());
        async move { clients.authenticate(&id, &secret).await.unwrap() }
    };
    assert_eq!(
        authenticated("integration", OLD_SECRET).await.as_deref(),
        Some("integration")
    );
    rotate_secret(&name, &document(NEW_SECRET)).await;
    for (id, guess) in [
        ("stranger", NEW_SECRET),
        ("integration", NEW_SECRET),
        ("integration", "guess"),
    ] {
        assert_eq!(
            authenticated(id, guess).await,
            None,
            "{id}/{guess}: within its TTL the cache decides"
        );
    }
    assert_eq!(reads(&proxy), 1, "the read at init, and none for any refusal");

    // Past its time to live the client is read again, once: the rotation is picked up.
    let expiring = OidcClientSource::secrets_manager(client, &name, Duration::ZERO);
    expiring.load().await.unwrap();
    reads(&proxy);
    assert_eq!(
        expiring
            .authenticate("integration", NEW_SECRET)
            .await
            .unwrap()
            .as_deref(),
        Some("integration")
    );
    assert_eq!(reads(&proxy), 1);
}

#[tokio::test]
async fn with_nothing_cached_a_failed_read_is_not_tried_again_at_once_by_anyone() {
    let document = json!({"client_id": "integration", "client_secret": CLIENT_SECRET}).to_string();
    let (name, proxy, client) = secret(&document).await;
    proxy.fail(FaultRule::new("GetSecretValue", 1000, AwsFault::ServerError));
    let clients = OidcClientSource::secrets_manager(client, &name, LONG);

    let at_init = clients.load().await;
    assert!(matches!(at_init, Err(CredentialError::Unavailable(_))), "{at_init:?}");
    assert!(
        reads(&proxy) >= 1,
        "the read at init was tried (with the SDK's retries)"
    );

    for (id, guess) in [
        ("stranger", "guess"),
        ("integration", CLIENT_SECRET),
        ("stranger", "other"),
    ] {
        let answer = clients.authenticate(id, guess).await;
        assert!(
            matches!(answer, Err(CredentialError::Unavailable(_))),
            "{id}: answered as unavailable at once: {answer:?}"
        );
    }
    assert_eq!(reads(&proxy), 0, "no caller made a Secrets Manager call, failed or not");
}

#[tokio::test]
async fn a_secret_deleted_or_malformed_under_a_cached_value_fails_closed_and_is_not_read_again_at_once() {
    for break_it in ["deleted", "malformed"] {
        let (name, proxy, client) = secret("v1").await;
        // The value expires at once, as a hash key checked on every request does.
        let cached = CachedSecret::new(
            client,
            &name,
            "test",
            |text: &str| match text {
                "v1" => Ok(text.to_owned()),
                _ => Err(CredentialError::Malformed("the test secret is malformed".into())),
            },
            ReloadPolicy {
                ttl: Duration::ZERO,
                min_reload_interval: Duration::ZERO,
            },
        );
        assert_eq!(cached.current().await.unwrap().as_str(), "v1");
        match break_it {
            "deleted" => delete_secret(&name).await,
            _ => rotate_secret(&name, "v2").await,
        }
        reads(&proxy);
        for attempt in 0..5 {
            let answer = cached.current().await;
            let expected = match break_it {
                "deleted" => matches!(answer, Err(CredentialError::Inaccessible { .. })),
                _ => matches!(answer, Err(CredentialError::Malformed(_))),
            };
            assert!(
                expected,
                "{break_it}, attempt {attempt}: never the old value: {answer:?}"
            );
        }
        assert_eq!(
            reads(&proxy),
            1,
            "{break_it}: one read, then the same answer without one"
        );
        let _ = cached.reload().await;
        assert_eq!(
            reads(&proxy),
            0,
            "{break_it}: a forced re-read waits for the interval too"
        );
    }
}
