//! Rotating the id_token signing key in two phases, through the compiled provider: a key listed in
//! `OIDC_NEXT_SIGNING_KEY_IDS` is in the JWKS before it signs, so once the provider switches to
//! it, its id_tokens verify against the JWKS a verifier fetched (and may still cache) before the
//! switch; the key rotated out stays published for the id_tokens it signed.

use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use genesys_sandbox::{Endpoint, Fault};
use serde_json::Value;

use crate::fleet::status;
use crate::helpers::hash_of;
use crate::oidc_codes::{CLIENT, redeem};
use crate::web_fleet::{REDIRECT_URI, WebFleet};
use test_kit::aws::create_signing_key;

/// The JWKS the provider serves now.
async fn jwks(fleet: &WebFleet) -> Value {
    let url = format!("{}/.well-known/jwks.json", fleet.issuer);
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn decoded(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// RS256 verification of a compact JWS against the key of `jwks` its header names, as a verifier
/// that cached `jwks` does it: the kid of the key it used, or `None` when no key verifies it.
fn verified_by(jwks: &Value, id_token: &str) -> Option<String> {
    let (signing_input, signature) = id_token.rsplit_once('.')?;
    let kid = decoded(signing_input.split('.').next()?)["kid"].as_str()?.to_owned();
    let key = jwks["keys"].as_array()?.iter().find(|key| key["kid"] == kid.as_str())?;
    let component = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap_or_default()).ok();
    PublicKeyComponents {
        n: component("n")?,
        e: component("e")?,
    }
    .verify(
        &RSA_PKCS1_2048_8192_SHA256,
        signing_input.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).ok()?,
    )
    .ok()
    .map(|()| kid)
}

fn set(env: &mut Vec<(&'static str, String)>, name: &'static str, value: Option<String>) {
    env.retain(|(existing, _)| *existing != name);
    env.extend(value.map(|value| (name, value)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_token_signed_by_the_next_key_verifies_against_the_jwks_served_before_the_switch() {
    let next_key = create_signing_key().await;
    // Phase one: the current key signs, the next one is only published.
    let mut fleet = WebFleet::start_with(1, |backends| {
        backends.oidc_env.push(("OIDC_NEXT_SIGNING_KEY_IDS", next_key.clone()));
    })
    .await;
    let before = jwks(&fleet).await;
    assert_eq!(kids(&before).len(), 2, "the signing key and the next one: {before}");
    let current_key = fleet
        .oidc_env
        .iter()
        .find(|(name, _)| *name == "OIDC_SIGNING_KEY_ID")
        .map(|(_, key)| key.clone())
        .unwrap();

    // Phase two, a cache lifetime later: the next key signs, the old one is only published.
    fleet
        .redeploy_oidc(|env| {
            set(env, "OIDC_SIGNING_KEY_ID", Some(next_key.clone()));
            set(env, "OIDC_NEXT_SIGNING_KEY_IDS", None);
            set(env, "OIDC_PREVIOUS_SIGNING_KEY_IDS", Some(current_key));
        })
        .await;
    let after = jwks(&fleet).await;
    assert_eq!(
        kids(&after),
        [kids(&before)[1].clone(), kids(&before)[0].clone()],
        "{after}"
    );

    // A first token through the switched provider (Genesys verifies its id_token), and a code of
    // that exchange Genesys never saw (its first attempt was answered 503), redeemed by the test.
    fleet
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::status(503));
    assert_eq!(status(&fleet.post("CRM-ROTATE-1").await), 200);
    let unspent = fleet.sandbox.exchange_requests()[0].code.clone().unwrap();
    let granted = redeem(&fleet, &unspent, REDIRECT_URI, CLIENT, false).await;
    assert_eq!(granted.status, 200, "{granted:?}");
    let id_token = granted.body["id_token"].as_str().unwrap();
    assert_eq!(
        decoded(id_token.split('.').nth(1).unwrap())["sub"],
        hash_of("CRM-ROTATE-1").as_str()
    );

    assert_eq!(
        verified_by(&before, id_token),
        Some(kids(&before)[1].clone()),
        "signed by the next key, verified by the JWKS served before the switch"
    );
    fleet.stop();
}
