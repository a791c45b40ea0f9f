//! DynamoDB failing, as the broker's HTTP answers show it: a missing table is a configuration error
//! that names the table only in the log, an unreachable or hanging DynamoDB a 503; Genesys is not
//! called in any of them.

use std::sync::Arc;
use std::time::Duration;

use guest_token_broker::store::{DynamoDbStore, SessionStore, StoreError};

use super::RETENTION;
use crate::fleet::closed_port_url;
use crate::helpers::{Options, TestApp, credential_source, hash_of, pair, spawn_app_on, upstream_calls};
use test_kit::aws::dynamodb;
use test_kit::emulators::dynalite;

/// The broker on `store`, with the sandbox's client, and `options`.
async fn app_on(store: DynamoDbStore, options: Options) -> TestApp<DynamoDbStore> {
    spawn_app_on(
        options,
        store,
        Arc::new(credential_source(&[pair("sandbox-client", "sandbox-secret")])),
    )
    .await
}

/// A store whose DynamoDB is at `endpoint` (credentials and region as the emulators').
async fn store_at(endpoint: String) -> DynamoDbStore {
    let config = test_kit::aws::sdk_config_for(&dynalite().endpoint)
        .await
        .into_builder()
        .endpoint_url(endpoint)
        .build();
    DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), "Sessions", RETENTION)
}

#[tokio::test]
async fn a_missing_table_is_a_configuration_error_named_in_the_log_only() {
    let store = DynamoDbStore::new(dynamodb().await, "NoSuchSessions", RETENTION);
    let err = store.get(&hash_of("CRM-1")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Misconfigured { ref table, .. } if table == "NoSuchSessions"),
        "{err:?}"
    );

    let app = app_on(store, Options::default()).await;
    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 500);
    assert_eq!(reply.error_code(), "configuration_error");
    assert!(
        !reply.error_message().contains("NoSuchSessions"),
        "{}",
        reply.error_message()
    );
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_503_and_nothing_is_created_upstream() {
    let store = store_at(closed_port_url()).await;
    let app = app_on(store, Options::default()).await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert_eq!(reply.error_code(), "upstream_unavailable");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}

#[tokio::test]
async fn a_hanging_dynamodb_is_503_within_the_deadline() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let _hang = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let store = store_at(endpoint).await;
    let options = Options {
        budget: Duration::from_millis(300),
        ..Options::default()
    };
    let app = app_on(store, options).await;

    let reply = app.post_token("CRM-1").await;

    assert_eq!(reply.status, 503);
    assert!(reply.error_message().contains("deadline"));
    assert_eq!(upstream_calls(&app.sandbox), (0, 0, 0));
}
