//! id_tokens the verification refuses, each with its reason recorded: every check broken one at a
//! time, a nonce that differs from the request's (in both flows), and tokens the sandbox tampers
//! with or verifies after their `exp`.

use std::time::Duration;

use serde_json::json;

use super::super::super::test_support::oidc_provider::{self, REDIRECT_URI, TokenSpec};
use super::super::super::{ExchangeFailure, IdTokenTamper};
use super::World;

/// Each spec breaks exactly one check of an otherwise valid id_token.
#[tokio::test]
async fn each_broken_id_token_is_refused_with_its_reason_recorded() {
    let world = World::default().await;
    let valid = world.provider.valid_spec();
    let with = |edit: &dyn Fn(&mut TokenSpec)| {
        let mut spec = valid.clone();
        edit(&mut spec);
        spec
    };
    let now = super::oidc::unix_now();
    let cases: Vec<(&str, TokenSpec, ExchangeFailure)> = vec![
        (
            "tampered signature",
            with(&|s| s.break_signature = true),
            ExchangeFailure::BadSignature,
        ),
        (
            "wrong iss",
            with(&|s| {
                s.claims.insert("iss".into(), "https://evil.example".into());
            }),
            ExchangeFailure::WrongIssuer("https://evil.example".into()),
        ),
        (
            "wrong aud",
            with(&|s| {
                s.claims.insert("aud".into(), "someone-else".into());
            }),
            ExchangeFailure::WrongAudience,
        ),
        (
            "expired",
            with(&|s| {
                s.claims.insert("exp".into(), (now - 3600).into());
            }),
            ExchangeFailure::Expired,
        ),
        (
            "no iat",
            with(&|s| {
                s.claims.remove("iat");
            }),
            ExchangeFailure::MissingIssuedAt,
        ),
        (
            "no sub",
            with(&|s| {
                s.claims.remove("sub");
            }),
            ExchangeFailure::MissingSubject,
        ),
        (
            "unknown kid",
            with(&|s| s.kid = Some("rotated-away".into())),
            ExchangeFailure::UnknownKid(Some("rotated-away".into())),
        ),
        (
            "alg none",
            with(&|s| s.alg = "none"),
            ExchangeFailure::UnsupportedAlgorithm("none".into()),
        ),
    ];
    let count = cases.len();
    for (name, spec, expected) in cases {
        let (status, error) = world.exchange_spec(spec).await;
        assert_eq!(status, 401, "{name}: {error}");
        assert_eq!(error["code"], "authentication.failed", "{name}");
        assert_eq!(error["message"], expected.to_string(), "{name}");
        assert_eq!(world.sandbox.exchange_failures().last(), Some(&expected), "{name}");
    }
    assert_eq!(world.sandbox.exchange_failures().len(), count);
    assert!(world.sandbox.web_sessions().is_empty());
    world.shutdown().await;
}

#[tokio::test]
async fn nonce_that_differs_from_the_requests_is_refused_in_both_flows() {
    let world = World::default().await;
    let mut spec = world.provider.valid_spec();
    spec.claims.insert("nonce".into(), "sent-by-the-browser".into());
    let id_token = oidc_provider::sign(&spec);
    let (status, _) = world.exchange(json!({"idToken": id_token, "nonce": "another"})).await;
    assert_eq!(status, 401);
    let code = world.provider.code_for(spec);
    let (status, _) = world
        .exchange(json!({"code": code, "redirectUri": REDIRECT_URI, "nonce": "another"}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        world.sandbox.exchange_failures(),
        [ExchangeFailure::NonceMismatch, ExchangeFailure::NonceMismatch]
    );
    world.shutdown().await;
}

#[tokio::test]
async fn a_tampered_id_token_or_one_verified_after_its_exp_is_refused() {
    let world = World::default().await;
    let cases = [
        (IdTokenTamper::Signature, ExchangeFailure::BadSignature),
        (IdTokenTamper::Subject, ExchangeFailure::BadSignature),
        // The test provider's tokens live 300 s.
        (
            IdTokenTamper::ClockAhead(Duration::from_secs(301)),
            ExchangeFailure::Expired,
        ),
    ];
    for (tamper, _) in &cases {
        let tamper = *tamper;
        world.sandbox.tamper_id_tokens(Some(tamper));
        let (status, body) = world.exchange_spec(world.provider.valid_spec()).await;
        assert_eq!(status, 401, "{tamper:?}: {body}");
        assert_eq!(body["code"], "authentication.failed");
    }
    let expected: Vec<ExchangeFailure> = cases.into_iter().map(|(_, failure)| failure).collect();
    assert_eq!(world.sandbox.exchange_failures(), expected);
    world
        .sandbox
        .tamper_id_tokens(Some(IdTokenTamper::ClockAhead(Duration::from_secs(250))));
    assert_eq!(
        world.exchange_spec(world.provider.valid_spec()).await.0,
        200,
        "not yet expired"
    );
    world.sandbox.tamper_id_tokens(None);
    world.session().await;
    assert_eq!(
        world.sandbox.web_sessions().len(),
        2,
        "only the untampered exchanges opened sessions"
    );
    world.shutdown().await;
}
