//! The rotation function's four steps through its compiled binary, against moto's Secrets Manager
//! (versions and staging labels) and the Genesys sandbox: what each step changes, that running a
//! step again changes nothing, and that a rotation which cannot be done safely fails cleanly with
//! `AWSCURRENT` as it was.

use genesys_sandbox::{Endpoint, Sandbox};
use serde_json::json;

use crate::rotation_function::{
    A, ADMIN, B, Rotation, STEPS, credentials_secret, error_of, new_token, rotation_metrics, rotation_of, sandbox_with,
    secret_of, set_of_two,
};
use test_kit::aws_proxy::{AwsFault, AwsProxy, FaultRule};

/// Whether the sandbox grants `(id, secret)` a token now.
async fn works(sandbox: &Sandbox, (id, secret): (&str, &str)) -> bool {
    reqwest::Client::new()
        .post(format!("{}/oauth/token", sandbox.base_url()))
        .basic_auth(id, Some(secret))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .status()
        == 200
}

#[tokio::test(flavor = "multi_thread")]
async fn the_four_steps_regenerate_one_client_store_the_set_as_pending_then_make_it_current_each_once() {
    let sandbox = sandbox_with(&[A, B]).await;
    let mut rotation = rotation_of(&set_of_two(), &sandbox).await;
    let before = rotation.stages().await;
    let (first, first_labels) = before.iter().next().map(|(v, l)| (v.clone(), l.clone())).unwrap();
    assert_eq!(first_labels, ["AWSCURRENT"]);
    let token = new_token();

    let created = rotation.step("createSecret", &token).await.response();

    assert_eq!(created["result"], "stored", "{created}");
    let stages = rotation.stages().await;
    assert_eq!(stages[&token], ["AWSPENDING"]);
    assert_eq!(stages[&first], ["AWSCURRENT"]);
    let pending = rotation.document("AWSPENDING").await.unwrap();
    // Neither was rotated: the tie goes to B, further down the list (fewer instances use it).
    let new_b = sandbox.client_secret(B.0).unwrap();
    assert_ne!(new_b, B.1);
    assert_eq!(secret_of(&pending, B.0).as_deref(), Some(new_b.as_str()));
    assert_eq!(secret_of(&pending, A.0).as_deref(), Some(A.1));
    assert!(pending["credentials"][1]["rotated_at"].is_string(), "{pending}");
    assert_eq!(pending["credentials"][0]["label"], "primary");
    assert_eq!(pending["note"], "kept by every rotation");
    assert_eq!(rotation.document("AWSCURRENT").await.unwrap(), set_of_two());
    assert!(!works(&sandbox, B).await, "Genesys refuses B's old secret at once");
    assert!(works(&sandbox, A).await, "A serves meanwhile");

    // Secrets Manager retries steps: the same token finds each step done.
    let again = rotation.step("createSecret", &token).await.response();
    assert_eq!(again["result"], "already-pending");
    assert_eq!(
        sandbox.client_secret(B.0).as_deref(),
        Some(new_b.as_str()),
        "not regenerated twice"
    );
    for step in &STEPS[1..3] {
        for _ in 0..2 {
            let answer = rotation.step(step, &token).await.response();
            assert!(
                matches!(answer["result"].as_str(), Some("nothing-to-do" | "accepted")),
                "{answer}"
            );
        }
    }
    assert_eq!(
        rotation.stages().await,
        stages,
        "setSecret and testSecret move no label"
    );
    let finished = rotation.step("finishSecret", &token).await.response();
    assert_eq!(finished["result"], "current");
    let finished_again = rotation.step("finishSecret", &token).await.response();
    assert_eq!(finished_again["result"], "already-current");

    let stages = rotation.stages().await;
    assert_eq!(stages[&token], ["AWSCURRENT"]);
    assert!(!stages[&first].contains(&"AWSCURRENT".to_owned()), "{stages:?}");
    assert!(
        stages.values().flatten().all(|label| label != "AWSPENDING"),
        "{stages:?}"
    );
    assert_eq!(rotation.document("AWSCURRENT").await.unwrap(), pending);
    assert_eq!(sandbox.calls(Endpoint::RegenerateClientSecret), 1);
    let lines = rotation.function.stop();
    assert!(
        lines.iter().all(|line| !line.contains(&new_b)),
        "a log line holds the new secret"
    );
    let metrics = rotation_metrics(&lines);
    assert_eq!(metrics.len(), 8, "one EMF record per invocation: {metrics:?}");
    assert!(
        metrics.iter().all(|(_, done, failed)| (*done, *failed) == (1, 0)),
        "{metrics:?}"
    );
    assert_eq!(metrics[0].0, "createSecret");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_rotation_takes_the_other_client_and_both_secrets_keep_working_in_turn() {
    let sandbox = sandbox_with(&[A, B]).await;
    let rotation = rotation_of(&set_of_two(), &sandbox).await;

    let results = rotation.rotate(&new_token()).await;
    assert_eq!(results, ["stored", "nothing-to-do", "accepted", "current"]);
    let after_first = rotation.document("AWSCURRENT").await.unwrap();
    rotation.rotate(&new_token()).await;
    let after_second = rotation.document("AWSCURRENT").await.unwrap();

    let new_a = secret_of(&after_second, A.0).unwrap();
    assert_ne!(new_a, A.1, "A, never rotated, goes second");
    assert_eq!(
        secret_of(&after_second, B.0),
        secret_of(&after_first, B.0),
        "B is left alone"
    );
    assert!(works(&sandbox, (A.0, &new_a)).await);
    assert!(works(&sandbox, (B.0, &secret_of(&after_second, B.0).unwrap())).await);
    assert_eq!(sandbox.calls(Endpoint::RegenerateClientSecret), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_client_genesys_refuses_fails_the_rotation_cleanly_with_awscurrent_untouched() {
    // Without oauth:client:edit (403 at the regenerate), then with a wrong secret (no token).
    let forbidden = sandbox_with(&[A, B]).await;
    forbidden.add_client(ADMIN.0, ADMIN.1);
    let wrong_secret = sandbox_with(&[A, B]).await;
    wrong_secret.regenerate_client_secret(ADMIN.0);
    for (sandbox, says) in [(forbidden, "oauth:client:edit"), (wrong_secret, "refused")] {
        let mut rotation = rotation_of(&set_of_two(), &sandbox).await;
        let before = rotation.stages().await;
        let token = new_token();

        let (kind, message) = error_of(rotation.step("createSecret", &token).await);

        assert_eq!(kind, "GenesysFailed", "{message}");
        assert!(
            message.contains(says) && message.contains("nothing was changed"),
            "{message}"
        );
        assert_eq!(
            rotation.stages().await,
            before,
            "no AWSPENDING, AWSCURRENT where it was"
        );
        assert_eq!(rotation.document("AWSCURRENT").await.unwrap(), set_of_two());
        assert_eq!(sandbox.client_secret(A.0).as_deref(), Some(A.1));
        assert_eq!(sandbox.client_secret(B.0).as_deref(), Some(B.1));
        // The later steps find no pending version of this rotation.
        let (kind, _) = error_of(rotation.step("finishSecret", &token).await);
        assert_eq!(kind, "NotPending");
        assert_eq!(rotation.stages().await, before);
        let metrics = rotation_metrics(&rotation.function.stop());
        assert_eq!(
            metrics,
            [("createSecret".into(), 0, 1), ("finishSecret".into(), 0, 1)],
            "each failure counted for the alarm"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_set_of_one_or_one_whose_other_credential_is_refused_is_never_rotated() {
    let one = json!({"credentials": [{"client_id": A.0, "client_secret": A.1}]});
    let sandbox = sandbox_with(&[A, B]).await;
    let rotation = rotation_of(&one, &sandbox).await;
    let (kind, message) = error_of(rotation.step("createSecret", &new_token()).await);
    assert_eq!(kind, "CredentialSetNotRotatable");
    assert!(message.contains("single credential"), "{message}");
    assert_eq!(sandbox.calls(Endpoint::OAuthToken), 0, "no Genesys call at all");

    // B is due (the tie), but A, the only other one, is refused: B may be the last that works.
    let sandbox = sandbox_with(&[A, B]).await;
    sandbox.revoke_client(A.0);
    let rotation = rotation_of(&set_of_two(), &sandbox).await;
    let before = rotation.stages().await;
    let (kind, message) = error_of(rotation.step("createSecret", &new_token()).await);
    assert_eq!(kind, "NoOtherCredentialWorks");
    assert!(message.contains(B.0), "{message}");
    assert_eq!(sandbox.calls(Endpoint::RegenerateClientSecret), 0);
    assert_eq!(sandbox.client_secret(B.0).as_deref(), Some(B.1));
    assert_eq!(rotation.stages().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_it_cannot_run_are_invocation_errors_that_say_why() {
    let sandbox = sandbox_with(&[A, B]).await;
    let rotation = rotation_of(&set_of_two(), &sandbox).await;
    let cases = [
        (
            json!({"Step": "rotateSecret", "SecretId": rotation.secret, "ClientRequestToken": "t"}),
            "InvalidRotationEvent",
            "not one of createSecret",
        ),
        (
            json!({"SecretId": rotation.secret, "ClientRequestToken": "t"}),
            "InvalidRotationEvent",
            "Step is missing",
        ),
        (
            json!({"httpMethod": "POST", "requestContext": {}}),
            "InvalidRotationEvent",
            "Step is missing",
        ),
        (
            json!({"Step": "createSecret", "SecretId": "another-secret", "ClientRequestToken": "t"}),
            "WrongSecret",
            "another-secret",
        ),
    ];
    for (event, kind, says) in cases {
        let (got, message) = error_of(rotation.harness.invoke(event.clone()).await);
        assert_eq!(got, kind, "{event}: {message}");
        assert!(message.contains(says), "{event}: {message}");
    }
    assert_eq!(sandbox.calls(Endpoint::OAuthToken), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_store_is_retried_at_once_and_one_that_keeps_failing_is_regenerated_when_the_rotation_is_retried() {
    let sandbox = sandbox_with(&[A, B]).await;
    let proxy = AwsProxy::start().await;
    let secret = credentials_secret(&set_of_two()).await;
    let mut rotation = Rotation::start(&secret, &sandbox.base_url(), &proxy.env()).await;
    // More 500s than one PutSecretValue's SDK attempts (3): the function's own retry stores it.
    proxy.fail(FaultRule::new("PutSecretValue", 4, AwsFault::ServerError));
    let first = new_token();
    assert_eq!(
        rotation.step("createSecret", &first).await.response()["result"],
        "stored"
    );
    assert_eq!(proxy.faults_played(), 4);
    let pending = rotation.document("AWSPENDING").await.unwrap();
    assert_eq!(secret_of(&pending, B.0), sandbox.client_secret(B.0));
    for step in &STEPS[1..] {
        rotation.step(step, &first).await.response();
    }
    let current = rotation.document("AWSCURRENT").await.unwrap();

    // Next, A is due, and Secrets Manager keeps failing: the step gives up inside its deadline.
    proxy.take();
    proxy.fail(FaultRule::new("PutSecretValue", 1000, AwsFault::ServerError));
    let second = new_token();
    let (kind, message) = error_of(rotation.step("createSecret", &second).await);
    let lost = sandbox.client_secret(A.0).unwrap();
    assert_eq!(kind, "NewSecretNotStored");
    assert!(
        message.contains(A.0) && message.contains("regenerates it again"),
        "{message}"
    );
    let attempts = proxy.faults_played();
    println!("PutSecretValue attempts before giving up: {attempts}");
    assert!(
        (2..=18).contains(&attempts),
        "bounded: {attempts} PutSecretValue attempts"
    );
    assert_eq!(
        rotation.document("AWSCURRENT").await.unwrap(),
        current,
        "AWSCURRENT untouched"
    );
    assert!(!works(&sandbox, (A.0, A.1)).await, "A's old secret is dead at Genesys");
    assert!(
        works(&sandbox, (B.0, &secret_of(&current, B.0).unwrap())).await,
        "B serves"
    );

    // Secrets Manager retries the rotation: createSecret regenerates A again and stores it.
    proxy.stop_failing();
    assert_eq!(
        rotation.step("createSecret", &second).await.response()["result"],
        "stored"
    );
    let pending = rotation.document("AWSPENDING").await.unwrap();
    let stored = secret_of(&pending, A.0).unwrap();
    assert_ne!(stored, lost);
    assert_eq!(sandbox.client_secret(A.0), Some(stored.clone()));
    assert_eq!(sandbox.calls(Endpoint::RegenerateClientSecret), 3);
    let lines = rotation.function.stop();
    assert!(
        lines
            .iter()
            .any(|line| line.contains("storing the new secret as AWSPENDING failed; trying again")),
        "{lines:#?}"
    );
    for value in [lost, stored] {
        assert!(
            lines.iter().all(|line| !line.contains(&value)),
            "a log line holds a secret"
        );
    }
}
