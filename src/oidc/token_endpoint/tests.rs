//! The token endpoint on the in-memory store with a local signer: what it grants, what it refuses,
//! and that its id_token verifies against the published JWKS.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::*;
use crate::broker::{CodeBinding, CodeIssuer};
use crate::domain::{CrmIdHash, SystemClock};
use crate::oidc::{OidcSettings, Signer};
use crate::secrets::{Credential, OidcClientSource};
use crate::store::MemoryStore;

mod bindings;
mod replays;

pub(super) const ISSUER: &str = "https://broker.example.com/prod";
pub(super) const REDIRECT: &str = "https://broker.example.com/callback";

/// The provider on an in-memory code store, and that store (shared) to mint codes into.
pub(super) fn provider() -> (OidcProvider<MemoryStore>, MemoryStore) {
    let client = Credential {
        client_id: "genesys-integration".into(),
        client_secret: SecretString::from("integration-secret"),
    };
    let store = MemoryStore::new();
    let provider = OidcProvider::new(
        OidcSettings {
            issuer: format!("{ISSUER}/"),
            id_token_lifetime: Duration::from_secs(300),
        },
        Signer::generate_local().unwrap(),
        Vec::new(),
        OidcClientSource::Fixed(Arc::new(client)),
        store.clone(),
        Arc::new(SystemClock),
    );
    (provider, store)
}

/// What the guest function mints codes with.
pub(super) fn issuer() -> CodeIssuer {
    CodeIssuer {
        redirect_uri: REDIRECT.into(),
        lifetime: Duration::from_secs(60),
        pkce: false,
    }
}

/// A code minted into `store` for [`hash`] with `binding`, as the guest function mints it.
pub(super) async fn mint(store: &MemoryStore, binding: CodeBinding) -> String {
    let code = issuer().mint(store, &hash(), binding, Utc::now()).await.unwrap();
    code.expose_secret().to_owned()
}

pub(super) fn hash() -> CrmIdHash {
    CrmIdHash::from_stored("54e48adaffd9027bce4eef4ba19ca3b0e30dd91cdc082d25de52df256082c8e4".into())
}

pub(super) fn form(code: &str, redirect: &str, extra: &str) -> Vec<u8> {
    let encode = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    format!(
        "grant_type=authorization_code&code={}&redirect_uri={}{extra}",
        encode(code),
        encode(redirect)
    )
    .into_bytes()
}

pub(super) fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub(super) async fn redeem(
    provider: &OidcProvider<MemoryStore>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<ApiResponse, TokenError> {
    provider.token(TokenRequest { body, authorization }).await
}

pub(super) fn refusal(result: Result<ApiResponse, TokenError>) -> OAuthError {
    match result {
        Err(TokenError::Refused { error, .. }) => error,
        Err(TokenError::Replayed) => OAuthError::InvalidGrant,
        Err(other) => panic!("expected a refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, got a token"),
    }
}

/// Verifies a compact RS256 JWS against the provider's JWKS; returns its claims.
pub(super) fn verify(provider: &OidcProvider<MemoryStore>, jwt: &str) -> Value {
    let jwks: Value = serde_json::from_slice(provider.jwks().body()).unwrap();
    let (signing_input, signature) = jwt.rsplit_once('.').unwrap();
    let (header, claims) = signing_input.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == header["kid"])
        .expect("the kid is published");
    let component = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap();
    PublicKeyComponents {
        n: component("n"),
        e: component("e"),
    }
    .verify(
        &RSA_PKCS1_2048_8192_SHA256,
        signing_input.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .expect("the signature verifies against the JWKS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap()
}

#[tokio::test]
async fn a_code_redeemed_with_basic_credentials_gives_a_verifiable_id_token_once() {
    let (provider, store) = provider();
    let code = mint(&store, CodeBinding::default()).await;
    let body = form(&code, REDIRECT, "");
    let auth = basic("genesys-integration", "integration-secret");
    let response = redeem(&provider, &body, Some(&auth)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[http::header::CACHE_CONTROL], "no-store");
    let answer: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    let claims = verify(&provider, answer["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "genesys-integration");
    assert_eq!(claims["sub"], hash().as_str());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    assert_eq!(
        refusal(redeem(&provider, &body, Some(&auth)).await),
        OAuthError::InvalidGrant,
        "a replayed code is refused"
    );
}

#[tokio::test]
async fn client_secret_post_works_and_wrong_or_missing_client_credentials_reach_nothing() {
    let (provider, store) = provider();
    let code = mint(&store, CodeBinding::default()).await;
    let operations = store.operations();
    let wrong = [
        (form(&code, REDIRECT, ""), Some(basic("genesys-integration", "wrong"))),
        (form(&code, REDIRECT, ""), Some(basic("other", "integration-secret"))),
        (form(&code, REDIRECT, ""), Some("Bearer abc".to_owned())),
        (form(&code, REDIRECT, ""), None),
        (
            form(&code, REDIRECT, "&client_id=genesys-integration&client_secret=nope"),
            None,
        ),
    ];
    for (body, auth) in wrong {
        assert_eq!(
            refusal(redeem(&provider, &body, auth.as_deref()).await),
            OAuthError::InvalidClient
        );
    }
    assert_eq!(store.operations(), operations, "no refused client reached the store");
    let both = form(
        &code,
        REDIRECT,
        "&client_id=genesys-integration&client_secret=integration-secret",
    );
    let auth = basic("genesys-integration", "integration-secret");
    assert_eq!(
        refusal(redeem(&provider, &both, Some(&auth)).await),
        OAuthError::InvalidRequest
    );
    let response = redeem(&provider, &both, None).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "client_secret_post, and the code survived the refusals"
    );
}

#[tokio::test]
async fn a_code_for_another_redirect_uri_or_expired_is_refused_and_spent() {
    let (provider, store) = provider();
    let auth = basic("genesys-integration", "integration-secret");
    let code = mint(&store, CodeBinding::default()).await;
    let elsewhere = form(&code, "https://evil.example.com/cb", "");
    assert_eq!(
        refusal(redeem(&provider, &elsewhere, Some(&auth)).await),
        OAuthError::InvalidGrant
    );
    let right = form(&code, REDIRECT, "");
    assert_eq!(
        refusal(redeem(&provider, &right, Some(&auth)).await),
        OAuthError::InvalidGrant
    );
    let old = issuer()
        .mint(
            &store,
            &hash(),
            CodeBinding::default(),
            Utc::now() - chrono::Duration::seconds(61),
        )
        .await
        .unwrap();
    let body = form(old.expose_secret(), REDIRECT, "");
    assert_eq!(
        refusal(redeem(&provider, &body, Some(&auth)).await),
        OAuthError::InvalidGrant
    );
    let unknown = form("not-a-code", REDIRECT, "");
    assert_eq!(
        refusal(redeem(&provider, &unknown, Some(&auth)).await),
        OAuthError::InvalidGrant
    );
}

#[tokio::test]
async fn other_grants_and_broken_forms_are_refused_per_rfc_6749() {
    let (provider, _) = provider();
    let auth = basic("genesys-integration", "integration-secret");
    let cases: [(&[u8], OAuthError); 6] = [
        (
            b"grant_type=refresh_token&refresh_token=x",
            OAuthError::UnsupportedGrantType,
        ),
        (b"grant_type=client_credentials", OAuthError::UnsupportedGrantType),
        (b"code=x&redirect_uri=y", OAuthError::InvalidRequest),
        (
            b"grant_type=authorization_code&redirect_uri=y",
            OAuthError::InvalidRequest,
        ),
        (
            b"grant_type=authorization_code&code=a&code=b&redirect_uri=y",
            OAuthError::InvalidRequest,
        ),
        (&[0xff, 0xfe, b'=', 0x00], OAuthError::InvalidRequest),
    ];
    for (body, expected) in cases {
        assert_eq!(refusal(redeem(&provider, body, Some(&auth)).await), expected);
    }
    let huge = vec![b'a'; MAX_FORM_BYTES + 1];
    assert_eq!(
        refusal(redeem(&provider, &huge, Some(&auth)).await),
        OAuthError::InvalidRequest
    );
}

#[tokio::test]
async fn refusals_answer_in_rfc_6749_shape_through_the_one_error_mapping() {
    let (provider, _) = provider();
    let err = redeem(&provider, b"grant_type=authorization_code", None)
        .await
        .unwrap_err();
    let response = crate::web::ApiError::from(err).into_response();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()[http::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(response.headers()[http::header::CACHE_CONTROL], "no-store");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string());
}

#[test]
fn discovery_points_at_the_routes_under_the_issuer() {
    let (provider, _) = provider();
    let discovery: Value = serde_json::from_slice(provider.discovery().body()).unwrap();
    assert_eq!(discovery["issuer"], ISSUER);
    assert_eq!(discovery["token_endpoint"], format!("{ISSUER}/oidc/token"));
    assert_eq!(discovery["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    assert_eq!(discovery["id_token_signing_alg_values_supported"][0], "RS256");
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let claims = discovery["claims_supported"].as_array().unwrap();
    for claim in ["nonce", "given_name", "family_name", "email"] {
        assert!(claims.iter().any(|c| c == claim), "{claim}");
    }
}

#[tokio::test]
async fn the_handler_counts_each_refused_client_authentication_and_nothing_else() {
    let (provider, _) = provider();
    let auth = basic("genesys-integration", "integration-secret");
    let wrong = basic("genesys-integration", "a-guess");
    let cases: [(&[u8], Option<&str>, u64); 4] = [
        (b"grant_type=authorization_code&code=x&redirect_uri=y", None, 1),
        (b"grant_type=authorization_code&code=x&redirect_uri=y", Some(&wrong), 1),
        // Authenticated, then refused for its code: not a client-authentication failure.
        (b"grant_type=authorization_code&code=x&redirect_uri=y", Some(&auth), 0),
        (b"grant_type=password", Some(&auth), 0),
    ];
    for (body, authorization, counted) in cases {
        let metrics = crate::telemetry::Metrics::new();
        let request = crate::web::ApiRequest {
            authorization,
            ..crate::web::ApiRequest::new(&http::Method::POST, "/prod/oidc/token", body)
        };
        let deadline = crate::domain::Deadline::after(Duration::from_secs(5));
        let response = crate::oidc::handle(&provider, request, deadline, &metrics).await;
        assert_eq!(
            (
                metrics.snapshot().oidc_invalid_clients,
                response.status() == StatusCode::UNAUTHORIZED
            ),
            (counted, counted == 1),
            "{authorization:?}"
        );
    }
}
