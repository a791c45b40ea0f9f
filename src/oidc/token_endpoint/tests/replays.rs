//! A code presented again after its redemption (a replay, RFC 6749 §4.1.2, §10.5): refused like
//! any code that grants nothing, and told apart from an unknown code only by the count and the log.

use super::*;
use crate::broker::CodeBinding;
use crate::domain::Deadline;
use crate::telemetry::Metrics;
use crate::web::ApiRequest;

/// The handler's answer to a token request and the replays it counted.
async fn handled(provider: &OidcProvider<MemoryStore>, body: &[u8]) -> (StatusCode, Value, u64) {
    let auth = basic("genesys-integration", "integration-secret");
    let metrics = Metrics::new();
    let request = ApiRequest {
        authorization: Some(&auth),
        ..ApiRequest::new(&http::Method::POST, "/prod/oidc/token", body)
    };
    let deadline = Deadline::after(Duration::from_secs(5));
    let response = crate::oidc::handle(provider, request, deadline, &metrics).await;
    let answer = serde_json::from_slice(response.body()).unwrap();
    (response.status(), answer, metrics.snapshot().oidc_code_replays)
}

#[tokio::test]
async fn a_replayed_code_is_counted_and_answered_exactly_as_an_unknown_one() {
    let (provider, store) = provider();
    let code = mint(&store, CodeBinding::default()).await;
    let body = form(&code, REDIRECT, "");
    let (status, _, replays) = handled(&provider, &body).await;
    assert_eq!((status, replays), (StatusCode::OK, 0), "the first redemption");

    let (status, replayed, replays) = handled(&provider, &body).await;
    assert_eq!((status, replays), (StatusCode::BAD_REQUEST, 1), "{replayed}");
    let (_, unknown, replays) = handled(&provider, &form("never-issued", REDIRECT, "")).await;
    assert_eq!(replays, 0, "an unknown code is no replay");
    assert_eq!(replayed, unknown, "the caller cannot tell the two apart");
    assert_eq!(replayed["error"], "invalid_grant");

    // Spent by a refused presentation (another redirect URI): presenting it again is a replay.
    let spent = mint(&store, CodeBinding::default()).await;
    let elsewhere = form(&spent, "https://evil.example.com/cb", "");
    assert_eq!(handled(&provider, &elsewhere).await.2, 0);
    let (status, _, replays) = handled(&provider, &form(&spent, REDIRECT, "")).await;
    assert_eq!((status, replays), (StatusCode::BAD_REQUEST, 1));
}
