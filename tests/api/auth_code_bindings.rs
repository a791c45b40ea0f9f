//! What a code from `POST /auth-codes` binds, through the compiled binaries and the sandbox as
//! Genesys's client: PKCE (the page's challenge, or a verifier the broker makes with
//! `OIDC_PKCE=S256`; right, wrong and missing verifiers; a verifier for a code without a
//! challenge), the nonce (round trip into the id_token, a mismatch refused by the sandbox), and
//! the claims the agent sees: in the id_token, and in no log line at TRACE.

use genesys_sandbox::ExchangeFailure;
use serde_json::{Value, json};

use crate::auth_codes::{code_body, crm};
use crate::oidc_codes::{CLIENT, claims, redeem};
use crate::web_fleet::{REDIRECT_URI, WebFleet};

/// RFC 7636 Appendix B: a verifier a page made, and its S256 challenge.
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The resolution with `field` replaced (`None`: removed).
fn with(resolved: &Value, field: &str, value: Option<&str>) -> Value {
    let mut changed = resolved.clone();
    match value {
        Some(value) => changed[field] = value.into(),
        None => {
            changed.as_object_mut().unwrap().remove(field);
        }
    }
    changed
}

#[track_caller]
fn refused_at_the_token_endpoint(fleet: &WebFleet, status: u16) {
    assert_eq!(status, 401);
    assert!(
        matches!(fleet.sandbox.exchange_failures().last(), Some(ExchangeFailure::TokenEndpoint(why)) if why.contains("invalid_grant")),
        "{:?}",
        fleet.sandbox.exchange_failures()
    );
}

#[tokio::test]
async fn with_pkce_on_the_right_verifier_works_a_wrong_or_missing_one_is_refused_in_both_paths() {
    let fleet = WebFleet::start_with(1, |backends| backends.add_env(&[("OIDC_PKCE", "S256")])).await;
    // No challenge from the caller: the broker makes the verifier and hands it out.
    let made = code_body(&fleet.auth_code(&crm("CRM-PKCE-1")).await, true);
    let verifier = made["codeVerifier"].as_str().unwrap();
    assert_eq!(verifier.len(), 43);
    let wrong = format!("{}A", &verifier[..42]);
    let (status, _) = fleet
        .messenger_exchange(&with(&made, "codeVerifier", Some(&wrong)))
        .await;
    refused_at_the_token_endpoint(&fleet, status);
    let made = code_body(&fleet.auth_code(&crm("CRM-PKCE-1")).await, true);
    let (status, _) = fleet.messenger_exchange(&with(&made, "codeVerifier", None)).await;
    refused_at_the_token_endpoint(&fleet, status);
    let made = code_body(&fleet.auth_code(&crm("CRM-PKCE-1")).await, true);
    assert_eq!(fleet.messenger_exchange(&made).await.0, 200, "the right verifier");

    // The page's own challenge: nothing secret comes back, the page's verifier redeems it.
    let body = json!({"crmId": "CRM-PKCE-1", "codeChallenge": CHALLENGE, "codeChallengeMethod": "S256"});
    let page = code_body(&fleet.auth_code(&body).await, false);
    let (status, _) = fleet.messenger_exchange(&page).await;
    refused_at_the_token_endpoint(&fleet, status);
    let page = code_body(&fleet.auth_code(&body).await, false);
    let (status, jwt) = fleet
        .messenger_exchange(&with(&page, "codeVerifier", Some(VERIFIER)))
        .await;
    assert_eq!(status, 200, "{jwt}");

    // The jwt path sends its own verifier and nonce in its exchange.
    let token = fleet.post("CRM-PKCE-2").await;
    assert_eq!(crate::fleet::status(&token), 200, "{token}");
    let sent = fleet.sandbox.exchange_requests().pop().unwrap();
    assert!(sent.code_verifier.as_deref().is_some_and(|v| v.len() == 43), "{sent:?}");
    assert!(sent.nonce.is_some(), "{sent:?}");
}

#[tokio::test]
async fn a_verifier_for_a_code_without_a_challenge_is_refused_and_the_nonce_must_match() {
    let fleet = WebFleet::start(1).await;
    let plain = code_body(&fleet.auth_code(&crm("CRM-NONCE-1")).await, false);
    let (status, _) = fleet
        .messenger_exchange(&with(&plain, "codeVerifier", Some(VERIFIER)))
        .await;
    refused_at_the_token_endpoint(&fleet, status);

    let body = json!({"crmId": "CRM-NONCE-1", "nonce": "page-nonce-7f3a"});
    let answer = code_body(&fleet.auth_code(&body).await, false);
    assert_eq!(answer["nonce"], "page-nonce-7f3a", "the caller's nonce comes back");
    let (status, _) = fleet
        .messenger_exchange(&with(&answer, "nonce", Some("another-nonce")))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        fleet.sandbox.exchange_failures().last(),
        Some(&ExchangeFailure::NonceMismatch)
    );
    let answer = code_body(&fleet.auth_code(&body).await, false);
    assert_eq!(fleet.messenger_exchange(&answer).await.0, 200, "the matching nonce");

    // Broker-made nonces are in the id_token too (the jwt path's exchange sends its own).
    let made = code_body(&fleet.auth_code(&crm("CRM-NONCE-1")).await, false);
    let reply = redeem(&fleet, made["authCode"].as_str().unwrap(), REDIRECT_URI, CLIENT, false).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(claims(reply.body["id_token"].as_str().unwrap())["nonce"], made["nonce"]);
    assert_eq!(crate::fleet::status(&fleet.post("CRM-NONCE-2").await), 200);
    let sent = fleet.sandbox.exchange_requests().pop().unwrap();
    assert!(sent.nonce.is_some() && sent.code_verifier.is_none(), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agents_claims_are_in_the_id_token_and_in_no_log_line_at_trace() {
    let trace = [("AWS_LAMBDA_LOG_LEVEL", "TRACE")];
    let mut fleet = WebFleet::start_with(1, |backends| backends.add_env(&trace)).await;
    let (given, family, email) = ("Zebedee-Given-4711", "Quuxfamily-4711", "unique-4711@example.com");
    let body = json!({"crmId": "CRM-CLAIMS-4711", "givenName": given, "familyName": family, "email": email});
    let answer = code_body(&fleet.auth_code(&body).await, false);
    let reply = redeem(
        &fleet,
        answer["authCode"].as_str().unwrap(),
        REDIRECT_URI,
        CLIENT,
        false,
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let id_token = reply.body["id_token"].as_str().unwrap().to_owned();
    let signed = claims(&id_token);
    assert_eq!(
        (&signed["given_name"], &signed["family_name"], &signed["email"]),
        (&given.into(), &family.into(), &email.into())
    );
    assert_eq!(
        signed["sub"],
        crate::helpers::hash_of("CRM-CLAIMS-4711").as_str(),
        "sub stays the pseudonym"
    );
    let second = code_body(&fleet.auth_code(&body).await, false);
    assert_eq!(fleet.messenger_exchange(&second).await.0, 200, "Genesys accepts them");
    let rejected = json!({"crmId": "CRM-CLAIMS-4711", "email": "Zebedee-Given-4711 not an address"});
    assert_eq!(crate::fleet::status(&fleet.auth_code(&rejected).await), 400);

    let lines = fleet.stop();
    assert!(
        lines.iter().any(|line| line.contains("POST /auth-codes")),
        "the route logged at TRACE"
    );
    assert!(lines.iter().any(|line| line.contains("POST /oidc/token")));
    let secrets = [
        given,
        family,
        email,
        "CRM-CLAIMS-4711",
        answer["authCode"].as_str().unwrap(),
        &id_token,
    ];
    for line in &lines {
        for secret in secrets {
            assert!(!line.contains(secret), "logged {secret:.12}…: {line}");
        }
    }
}
