//! What a code binds, checked at redemption: the PKCE challenge (RFC 7636, S256; RFC 9700
//! §2.1.1 for a verifier sent with a code that has none), the nonce and the agent's claims in
//! the id_token; and a form `client_id` beside Basic credentials (RFC 6749 §2.3.1).

use super::*;
use crate::broker::CodeBinding;
use crate::domain::{CodeChallenge, CustomerProfile};

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn challenged() -> CodeBinding {
    CodeBinding {
        challenge: Some(CodeChallenge::parse(CHALLENGE, Some("S256")).unwrap()),
        ..CodeBinding::default()
    }
}

#[tokio::test]
async fn a_challenged_code_needs_its_verifier_and_a_plain_code_takes_none() {
    let (provider, store) = provider();
    let auth = basic("genesys-integration", "integration-secret");
    let wrong = format!("&code_verifier={}", VERIFIER.replace('d', "e"));
    let right = format!("&code_verifier={VERIFIER}");
    for (binding, extra) in [
        (challenged(), ""),
        (challenged(), wrong.as_str()),
        (CodeBinding::default(), right.as_str()),
    ] {
        let code = mint(&store, binding).await;
        assert_eq!(
            refusal(redeem(&provider, &form(&code, REDIRECT, extra), Some(&auth)).await),
            OAuthError::InvalidGrant,
            "{extra:?}"
        );
    }
    let code = mint(&store, challenged()).await;
    let response = redeem(&provider, &form(&code, REDIRECT, &right), Some(&auth))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the right verifier");
}

#[tokio::test]
async fn the_id_token_carries_the_bound_nonce_and_claims_and_nothing_unbound() {
    let (provider, store) = provider();
    let auth = basic("genesys-integration", "integration-secret");
    let binding = CodeBinding {
        nonce: Some("n-0S6_WzA2Mj".into()),
        profile: CustomerProfile {
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            email: Some("ada@example.com".into()),
        },
        ..CodeBinding::default()
    };
    let claims_of = |response: ApiResponse| {
        let answer: Value = serde_json::from_slice(response.body()).unwrap();
        verify(&provider, answer["id_token"].as_str().unwrap())
    };
    let code = mint(&store, binding).await;
    let claims = claims_of(
        redeem(&provider, &form(&code, REDIRECT, ""), Some(&auth))
            .await
            .unwrap(),
    );
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Lovelace");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["sub"], hash().as_str(), "sub stays the pseudonym");
    let plain = mint(&store, CodeBinding::default()).await;
    let claims = claims_of(
        redeem(&provider, &form(&plain, REDIRECT, ""), Some(&auth))
            .await
            .unwrap(),
    );
    for absent in ["nonce", "given_name", "family_name", "email"] {
        assert!(claims.get(absent).is_none(), "{absent}");
    }
}

#[tokio::test]
async fn a_form_client_id_beside_basic_credentials_is_accepted_only_when_it_names_the_same_client() {
    let (provider, store) = provider();
    let auth = basic("genesys-integration", "integration-secret");
    let code = mint(&store, CodeBinding::default()).await;
    let operations = store.operations();
    let other = form(&code, REDIRECT, "&client_id=someone-else");
    assert_eq!(
        refusal(redeem(&provider, &other, Some(&auth)).await),
        OAuthError::InvalidRequest
    );
    let secret_too = form(
        &code,
        REDIRECT,
        "&client_id=genesys-integration&client_secret=integration-secret",
    );
    assert_eq!(
        refusal(redeem(&provider, &secret_too, Some(&auth)).await),
        OAuthError::InvalidRequest
    );
    assert_eq!(store.operations(), operations, "refused before the store");
    let same = form(&code, REDIRECT, "&client_id=genesys-integration");
    let response = redeem(&provider, &same, Some(&auth)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
