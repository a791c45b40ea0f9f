//! docs/local-runs.md's "Running the Lambda locally" recipe, step by step, without cargo-lambda's own
//! emulator: the standalone Genesys sandbox binary (`cargo run --bin genesys-sandbox`) prints the
//! variables to export; the compiled Lambda binary, with them and the emulators' table and secret,
//! runs under a Runtime API (the harness, as `cargo lambda watch` provides one) and answers every
//! sample event in `events/`.

use std::path::Path;

use serde_json::Value;
use test_kit::processes::ChildProcess;
use test_kit::runtime_harness::{Backends, LambdaFunction, RuntimeHarness};

use crate::deployment::{GUEST_EVENTS_IN_ORDER, LAMBDA_BINARY, body_of, sample_event};

/// `genesys-sandbox`, built beside the Lambda binary (`cargo build --workspace --bins`, which
/// `scripts/test` runs first).
fn sandbox_binary() -> String {
    let path = Path::new(LAMBDA_BINARY).with_file_name("genesys-sandbox");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// The `NAME=value` pairs of the `export` lines the sandbox printed.
fn exported(lines: &[String]) -> Vec<(&'static str, String)> {
    let names = [
        "GENESYS_BASE_URL",
        "GENESYS_LOGIN_URL",
        "GENESYS_CLIENT_ID",
        "GENESYS_CLIENT_SECRET",
    ];
    let mut vars = Vec::new();
    for line in lines.iter().filter_map(|line| line.strip_prefix("export ")) {
        for (name, value) in line.split_whitespace().filter_map(|pair| pair.split_once('=')) {
            if let Some(name) = names.iter().find(|known| **known == name) {
                vars.push((*name, value.to_owned()));
            }
        }
    }
    vars
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_recipe_with_the_standalone_sandbox_answers_every_sample_event() {
    let mut sandbox = ChildProcess::spawn_isolated(&sandbox_binary(), &[("GENESYS_SANDBOX_PORT", "0")]);
    sandbox.wait_for_line(|line| line.starts_with("export GENESYS_CLIENT_ID="));
    let exports = exported(sandbox.lines());
    assert_eq!(exports.len(), 4, "{:?}", sandbox.lines());
    let url = exports
        .iter()
        .find(|(name, _)| *name == "GENESYS_BASE_URL")
        .unwrap()
        .1
        .clone();
    let (client_id, client_secret) = (&exports[2].1, &exports[3].1);
    // As scripts/local_aws_setup.py makes them: a table, and a secret with the sandbox's client.
    let backends = Backends::create(&url, &[(client_id.as_str(), client_secret.as_str())]).await;
    let mut env = backends.env;
    env.extend(exports.iter().cloned());
    let harness = RuntimeHarness::start().await;
    let _function = LambdaFunction::start(LAMBDA_BINARY, &harness, &env);

    let mut answers = Vec::new();
    for name in GUEST_EVENTS_IN_ORDER {
        let response = harness.invoke(sample_event(name)).await.response();
        answers.push((name, response));
    }

    let status = |response: &Value| response["statusCode"].as_u64();
    assert_eq!(status(&answers[0].1), Some(200), "{:?}", answers[0]);
    assert!(body_of(&answers[0].1)["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(status(&answers[1].1), Some(200), "{:?}", answers[1]);
    assert_eq!(answers[2].1["warmed"], true, "{:?}", answers[2]);
    assert_eq!(status(&answers[3].1), Some(204), "{:?}", answers[3]);
    assert_eq!(status(&answers[4].1), Some(400), "{:?}", answers[4]);
    // The recipe's function runs the owner's contract, which has no codes.
    assert_eq!(status(&answers[5].1), Some(404), "{:?}", answers[5]);
}
