//! The rotation function's time budget: Genesys's answer to a regenerate holds the new secret's
//! only copy, so `createSecret` regenerates only when the invocation has time left to store it
//! (and gives the regenerate call what is left after that reserve, however Genesys retries).

use std::time::Duration;

use genesys_sandbox::Endpoint;

use crate::rotation_function::{A, B, error_of, new_token, rotation_of, sandbox_with, set_of_two};

#[tokio::test(flavor = "multi_thread")]
async fn a_create_secret_with_too_little_time_left_regenerates_nothing_and_changes_nothing() {
    let sandbox = sandbox_with(&[A, B]).await;
    let rotation = rotation_of(&set_of_two(), &sandbox).await;
    let before = rotation.stages().await;
    // Ten seconds: the other credential is checked, then there is no room to regenerate and store.
    let outcome = rotation
        .step_within("createSecret", &new_token(), Duration::from_secs(10))
        .await;
    let (kind, message) = error_of(outcome);
    assert_eq!(kind, "TooLittleTime", "{message}");
    assert!(message.contains("nothing was changed"), "{message}");
    assert_eq!(
        sandbox.calls(Endpoint::RegenerateClientSecret),
        0,
        "Genesys was not asked"
    );
    assert_eq!(sandbox.client_secret(A.0).as_deref(), Some(A.1));
    assert_eq!(
        rotation.stages().await,
        before,
        "no AWSPENDING, AWSCURRENT where it was"
    );
    // Given the template's timeout, the same step regenerates and stores.
    let token = new_token();
    let done = rotation.step("createSecret", &token).await.response();
    assert_eq!(done["result"], "stored", "{done}");
    assert_eq!(sandbox.calls(Endpoint::RegenerateClientSecret), 1);
}
