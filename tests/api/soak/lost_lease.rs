//! The soak's expired tokens, reproduced: a request that read a token inside the window and lost the
//! refresh lease to another must not hand out that token once it has expired.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{LEASE_WRITE, life_left};
use crate::deployment::{Deployment, body_of};
use crate::fleet::{post, scale_out, status};
use crate::hot_path::deploy_behind_proxy;
use test_kit::aws_proxy::{AwsFault, FaultRule};

/// The answer to a token request, and when it arrived.
async fn answered(deployment: &Deployment, crm_id: &str) -> (Value, DateTime<Utc>) {
    let response = post(deployment, crm_id).await;
    (response, Utc::now())
}

/// The soak's expired tokens, made deterministic: a request reads a token inside the window, its
/// lease write is held up (as a throttled write retried by the SDK is), another request takes the
/// lease and renews meanwhile, and the token the first one read expires before it answers. It must
/// not hand that token out.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_loses_the_refresh_lease_never_hands_out_a_token_that_expired_meanwhile() {
    let (mut deployment, proxy) = deploy_behind_proxy(&[("SLIDING_WINDOW_SECONDS", "5")]).await;
    let _second = scale_out(&mut deployment, 1).await;
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(1));
    assert_eq!(status(&post(&deployment, "CRM-STALE").await), 200);
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(3600));
    // Held for less than the SDK's attempt timeout (2 s), so it is one attempt, but longer than the
    // stored token has left to live.
    proxy.fail(
        FaultRule::new("UpdateItem", 1, AwsFault::Slow(Duration::from_millis(1500))).when_body_contains(LEASE_WRITE),
    );
    proxy.take();
    let first = answered(&deployment, "CRM-STALE");
    let second = async {
        // Once the first request has read the session (its lease write is then on its way), the
        // second one finds no lease, takes it and renews.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !proxy.operations().iter().any(|op| op.ends_with(".GetItem")) {
            assert!(Instant::now() < deadline, "the first request never read the session");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        answered(&deployment, "CRM-STALE").await
    };
    let (first, second) = tokio::join!(first, second);

    for (response, arrived) in [first, second] {
        assert_eq!(status(&response), 200, "{response}");
        let body = body_of(&response);
        assert!(
            life_left(&body, arrived).is_some(),
            "a token that expired at {} was handed out, arriving at {arrived}",
            body["expiresAt"]
        );
    }
}
