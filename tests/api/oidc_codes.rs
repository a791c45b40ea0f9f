//! The broker's codes and id_tokens through the compiled binary, with what the sandbox (as Genesys)
//! saw: codes the broker minted for real exchanges, replayed at its token endpoint with the wrong
//! client secret or redirect URI, twice, or after the sandbox redeemed them; and the broker's real
//! id_tokens altered or verified late by the sandbox, which must refuse them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use genesys_sandbox::{
    DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint, ExchangeFailure, Fault, IdTokenTamper,
};
use serde_json::Value;

use crate::fleet::{error_code, status};
use crate::helpers::hash_of;
use crate::web_fleet::{REDIRECT_URI, TokenReply, WebFleet};

pub const CLIENT: (&str, &str) = (DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET);

/// Redeems `code` at the broker with `client` authenticating by Basic header (`post`: in the form).
pub async fn redeem(fleet: &WebFleet, code: &str, redirect_uri: &str, client: (&str, &str), post: bool) -> TokenReply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if post {
        form.extend([("client_id", client.0), ("client_secret", client.1)]);
        return fleet.oidc_token(&form, None).await;
    }
    fleet.oidc_token(&form, Some(client)).await
}

pub fn claims(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_minted_code_is_refused_to_a_wrong_secret_or_redirect_uri_works_once_and_not_after_genesys_redeemed_it() {
    let fleet = WebFleet::start(2).await;
    // Two exchanges answered 503 before Genesys saw their codes: the broker retried with new ones.
    for _ in 0..2 {
        fleet
            .sandbox
            .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::status(503));
    }
    assert_eq!(status(&fleet.post("CRM-CODE-1").await), 200);
    let requests = fleet.sandbox.exchange_requests();
    let faulted: Vec<bool> = requests.iter().map(|request| request.faulted).collect();
    assert_eq!(faulted, [true, true, false], "{requests:?}");
    assert!(requests.iter().all(|r| r.redirect_uri.as_deref() == Some(REDIRECT_URI)));
    let codes: Vec<&str> = requests.iter().map(|r| r.code.as_deref().unwrap()).collect();
    let (unspent, other, redeemed) = (codes[0], codes[1], codes[2]);
    assert!(codes[0] != codes[1] && codes[1] != codes[2], "a new code per attempt");

    let wrong_secret = (DEFAULT_OIDC_CLIENT_ID, "not-the-secret");
    for post in [false, true] {
        let refused = redeem(&fleet, unspent, REDIRECT_URI, wrong_secret, post).await;
        assert_eq!(
            (refused.status, refused.error()),
            (401, "invalid_client"),
            "{refused:?}"
        );
    }
    let refused = redeem(&fleet, unspent, REDIRECT_URI, wrong_secret, false).await;
    assert_eq!(
        refused.www_authenticate.as_deref().map(|v| v.starts_with("Basic")),
        Some(true)
    );
    // An unauthenticated caller reaches nothing: the code still works.
    let granted = redeem(&fleet, unspent, REDIRECT_URI, CLIENT, false).await;
    assert_eq!(granted.status, 200, "{granted:?}");
    granted.assert_never_cached();
    let id_token = claims(granted.body["id_token"].as_str().expect("an id_token"));
    assert_eq!(id_token["iss"], fleet.issuer.as_str());
    assert_eq!(id_token["aud"], DEFAULT_OIDC_CLIENT_ID);
    assert_eq!(id_token["sub"], hash_of("CRM-CODE-1").as_str());
    let replayed = redeem(&fleet, unspent, REDIRECT_URI, CLIENT, true).await;
    assert_eq!(
        (replayed.status, replayed.error()),
        (400, "invalid_grant"),
        "a code works once"
    );

    // RFC 6749 §10.6: a code presented with another redirect URI may have been intercepted; the
    // broker refuses it and spends it, so the rightful redemption that follows fails too.
    let misdirected = redeem(&fleet, other, "https://evil.example/callback", CLIENT, false).await;
    assert_eq!((misdirected.status, misdirected.error()), (400, "invalid_grant"));
    let after = redeem(&fleet, other, REDIRECT_URI, CLIENT, false).await;
    assert_eq!(
        (after.status, after.error()),
        (400, "invalid_grant"),
        "spent by the misdirected attempt"
    );

    let again = redeem(&fleet, redeemed, REDIRECT_URI, CLIENT, false).await;
    assert_eq!(
        (again.status, again.error()),
        (400, "invalid_grant"),
        "Genesys redeemed it already"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_the_binarys_id_token_tampered_or_expired_and_nothing_is_stored() {
    let fleet = WebFleet::start(2).await;
    // OIDC_ID_TOKEN_TTL_SECONDS is 300 by default: a minute past it, the token has expired.
    let cases = [
        ("CRM-TAMPER-1", IdTokenTamper::Signature, ExchangeFailure::BadSignature),
        (
            "CRM-TAMPER-2",
            IdTokenTamper::ClockAhead(Duration::from_secs(360)),
            ExchangeFailure::Expired,
        ),
    ];
    for (crm_id, tamper, failure) in cases {
        fleet.sandbox.tamper_id_tokens(Some(tamper));
        let reply = fleet.post(crm_id).await;
        assert_eq!(status(&reply), 502, "{tamper:?}: {reply}");
        assert_eq!(error_code(&reply), "upstream_rejected");
        assert_eq!(fleet.sandbox.exchange_failures().last(), Some(&failure));
        assert_eq!(fleet.stored_token(crm_id).await, None, "no token stored");
    }
    assert_eq!(fleet.sandbox.provider_token_calls(), 2, "the broker's real id_tokens");
    assert!(fleet.sandbox.web_sessions().is_empty(), "Genesys opened no session");
    fleet.sandbox.tamper_id_tokens(None);
    assert_eq!(
        status(&fleet.post("CRM-TAMPER-1").await),
        200,
        "untampered, it verifies"
    );
}
