//! `POST /oauth/token`: the login server's client-credentials grant.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::json;

use super::authorization::authorization;
use super::reply;
use super::state::{ClientRefusal, State};

pub(crate) fn token(state: &mut State, req: &Request<Bytes>) -> Response<Bytes> {
    let Some((client_id, secret)) = basic_credentials(req.headers()) else {
        return invalid_client_unauthorized();
    };
    match state.authenticate(&client_id, &secret) {
        Ok(()) => {}
        Err(ClientRefusal::Unknown) => return invalid_client_unauthorized(),
        Err(ClientRefusal::Inactive) => {
            return reply::oauth_error(StatusCode::BAD_REQUEST, "invalid_client", Some("client is not active"));
        }
    }
    match form_value(req.body(), "grant_type").as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return reply::oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None);
        }
        None => return reply::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", None),
    }
    let access_token = state.issue_access_token(&client_id);
    reply::json(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": state.access_token_ttl.as_secs(),
        }),
    )
}

fn invalid_client_unauthorized() -> Response<Bytes> {
    reply::oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some("client authentication failed"),
    )
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = authorization(headers, "Basic")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Lenient on purpose: no content-type check, malformed pairs are skipped, not rejected.
fn form_value(body: &[u8], key: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{create_guest, grant, start_default};
    use super::super::{Endpoint, Sandbox};
    use serde_json::{Value, json};

    #[tokio::test]
    async fn token_grant_with_basic_auth_returns_a_bearer_access_token() {
        let sandbox = start_default().await;
        let response = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 3600);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn wrong_secret_is_refused_with_401_invalid_client() {
        let sandbox = start_default().await;
        let response = grant(&sandbox, "sandbox-client", "not-the-secret").await;
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert!(sandbox.oauth_client_ids().is_empty());
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn revoked_client_is_refused_with_invalid_client_and_its_tokens_stop_working() {
        let sandbox = start_default().await;
        let response = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        let body: Value = response.json().await.unwrap();
        let old_token = body["access_token"].as_str().unwrap().to_owned();

        sandbox.revoke_client("sandbox-client");

        let refused = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(refused.status(), 400);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["description"], "client is not active");

        let api = create_guest(&sandbox, &old_token, json!({"name": "A", "email": "a@x"})).await;
        assert_eq!(api.status(), 401);
        let body: Value = api.json().await.unwrap();
        assert_eq!(body["code"], "bad.credentials");
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn missing_or_garbled_authorization_is_refused_with_401_invalid_client() {
        let sandbox = start_default().await;
        let url = format!("{}/oauth/token", sandbox.base_url());
        let client = reqwest::Client::new();
        for auth in [None, Some("Basic !!!not-base64"), Some("Bearer abc")] {
            let mut request = client.post(&url).body("grant_type=client_credentials");
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_client");
        }
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn other_grant_type_is_refused_with_unsupported_grant_type() {
        let sandbox = start_default().await;
        let response = reqwest::Client::new()
            .post(format!("{}/oauth/token", sandbox.base_url()))
            .basic_auth("sandbox-client", Some("sandbox-secret"))
            .body("grant_type=password&username=x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_grant_type");
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn oauth_client_ids_lists_each_successful_grant_in_order() {
        let sandbox = start_default().await;
        sandbox.add_client("second", "s3cret");
        grant(&sandbox, "second", "s3cret").await;
        grant(&sandbox, "sandbox-client", "wrong").await;
        grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        grant(&sandbox, "second", "s3cret").await;
        assert_eq!(sandbox.oauth_client_ids(), ["second", "sandbox-client", "second"]);
        assert_eq!(sandbox.calls(Endpoint::OAuthToken), 4);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn configured_access_token_ttl_is_reported_as_expires_in() {
        let config = super::super::SandboxConfig {
            access_token_ttl: std::time::Duration::from_secs(120),
            ..Default::default()
        };
        let sandbox = Sandbox::start(config).await.unwrap();
        let response = grant(&sandbox, "sandbox-client", "sandbox-secret").await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expires_in"], 120);
        sandbox.shutdown().await;
    }

    #[test]
    fn form_parsing_decodes_and_tolerates_junk() {
        assert_eq!(
            super::form_value(b"&&junk&grant_type=client%5Fcredentials", "grant_type").as_deref(),
            Some("client_credentials")
        );
        assert_eq!(super::form_value(b"", "grant_type"), None);
    }
}
