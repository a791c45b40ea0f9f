//! The regenerate endpoint over HTTP: who may call it, what it answers, and what happens to the
//! old secret and the tokens obtained with it.

use serde_json::Value;

use super::super::test_support::{create_guest, grant, start_default, status_and_json};
use super::super::{Endpoint, Fault, Sandbox};
use super::OAUTH_CLIENT_EDIT;

const ADMIN: (&str, &str) = ("rotation-admin", "admin-secret");

async fn with_admin() -> Sandbox {
    let sandbox = start_default().await;
    sandbox.add_client_with_permissions(ADMIN.0, ADMIN.1, &[OAUTH_CLIENT_EDIT]);
    sandbox
}

async fn token_of(sandbox: &Sandbox, (id, secret): (&str, &str)) -> String {
    let (status, body) = status_and_json(grant(sandbox, id, secret).await).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn regenerate(sandbox: &Sandbox, token: Option<&str>, client_id: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!(
        "{}/api/v2/oauth/clients/{client_id}/secret",
        sandbox.base_url()
    ));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    status_and_json(request.send().await.unwrap()).await
}

#[tokio::test]
async fn an_admin_regenerates_a_secret_and_the_old_one_and_its_tokens_stop_working_at_once() {
    let sandbox = with_admin().await;
    let old_token = token_of(&sandbox, ("sandbox-client", "sandbox-secret")).await;
    let admin = token_of(&sandbox, ADMIN).await;

    let (status, body) = regenerate(&sandbox, Some(&admin), "sandbox-client").await;

    assert_eq!(status, 200, "{body}");
    let secret = body["secret"].as_str().expect("the new secret").to_owned();
    assert_ne!(secret, "sandbox-secret");
    assert_eq!(body["id"], "sandbox-client");
    assert_eq!(body["authorizedGrantType"], "CLIENT-CREDENTIALS");
    assert_eq!(
        sandbox.client_secret("sandbox-client").as_deref(),
        Some(secret.as_str())
    );
    let (refused, error) = status_and_json(grant(&sandbox, "sandbox-client", "sandbox-secret").await).await;
    assert_eq!((refused, error["error"].as_str()), (401, Some("invalid_client")));
    let guest = create_guest(&sandbox, &old_token, serde_json::json!({"name": "A", "email": "a@x"})).await;
    assert_eq!(guest.status(), 401, "a token obtained with the old secret is revoked");
    token_of(&sandbox, ("sandbox-client", &secret)).await;
    let still = create_guest(&sandbox, &admin, serde_json::json!({"name": "A", "email": "a@x"})).await;
    assert_eq!(still.status(), 200, "the admin's own token is untouched");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_client_without_oauth_client_edit_is_forbidden_and_changes_nothing() {
    let sandbox = with_admin().await;
    sandbox.add_client("second", "second-secret");
    let plain = token_of(&sandbox, ("second", "second-secret")).await;

    let (status, body) = regenerate(&sandbox, Some(&plain), "sandbox-client").await;

    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "missing.any.permissions");
    assert!(body["message"].as_str().unwrap().contains(OAUTH_CLIENT_EDIT), "{body}");
    assert!(body["secret"].is_null());
    assert_eq!(
        sandbox.client_secret("sandbox-client").as_deref(),
        Some("sandbox-secret")
    );
    token_of(&sandbox, ("sandbox-client", "sandbox-secret")).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn no_token_or_an_unknown_one_is_401_and_an_unknown_client_404() {
    let sandbox = with_admin().await;
    for token in [None, Some("not-a-token")] {
        let (status, body) = regenerate(&sandbox, token, "sandbox-client").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("bad.credentials")),
            "{token:?}"
        );
    }
    let admin = token_of(&sandbox, ADMIN).await;
    let (status, body) = regenerate(&sandbox, Some(&admin), "nobody").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not.found")));
    assert_eq!(
        sandbox.client_secret("sandbox-client").as_deref(),
        Some("sandbox-secret")
    );
    assert_eq!(sandbox.calls(Endpoint::RegenerateClientSecret), 3);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_fault_answers_instead_and_leaves_the_secret_as_it_was() {
    let sandbox = with_admin().await;
    let admin = token_of(&sandbox, ADMIN).await;
    sandbox.push_fault(Endpoint::RegenerateClientSecret, Fault::status(503));

    let (status, body) = regenerate(&sandbox, Some(&admin), "sandbox-client").await;

    assert_eq!((status, body["code"].as_str()), (503, Some("fault")));
    assert!(body["contextId"].is_string(), "the platform's error envelope: {body}");
    assert_eq!(
        sandbox.client_secret("sandbox-client").as_deref(),
        Some("sandbox-secret")
    );
    let (status, _) = regenerate(&sandbox, Some(&admin), "sandbox-client").await;
    assert_eq!(status, 200);
    sandbox.shutdown().await;
}
