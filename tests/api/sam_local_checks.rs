//! `scripts/sam_local_check.py`, the checker `scripts/sam-local` runs on what each sample event
//! gets under `sam local invoke`, run here on the compiled OIDC function's own answers to the same
//! events. SAM needs Docker and a release build, so it runs last in `scripts/test`; this keeps the
//! checker and the events it reads in step with the function on every test run (the OIDC events
//! once changed shape while the checker still expected the old one).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use test_kit::emulators::python;

use crate::deployment::{EVENTS_DIR, OIDC_EVENTS, sample_event};
use crate::web_fleet::WebFleet;

const CHECKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/sam_local_check.py");

/// The checker's verdict on `answer` to the sample event `name` (the function's mode is `mode`):
/// what it printed, or the reason it gave for refusing the answer.
fn check(name: &str, answer: &Value, mode: &str, issuer: &str) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("sam-local-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let (answer_file, state_file) = (dir.join("answer.json"), dir.join("state.json"));
    std::fs::write(&answer_file, answer.to_string()).expect("the answer written");
    let output = Command::new(python())
        .arg(CHECKER)
        .args(["invoke", &format!("{EVENTS_DIR}/{name}")])
        .args([&answer_file, &state_file].map(|path| path.as_os_str()))
        .arg(mode)
        .env("SAM_LOCAL_CHECK_OIDC_ISSUER", issuer)
        .output()
        .expect("python runs the checker");
    std::fs::remove_dir_all(&dir).ok();
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match output.status.success() {
        true => Ok(printed),
        false => Err(format!("{printed}{}", String::from_utf8_lossy(&output.stderr))),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sam_locals_checker_accepts_what_the_oidc_function_answers_to_each_of_its_sample_events() {
    let mut fleet = WebFleet::start(1).await;
    // Every OIDC event in events/ is in the list (lambda_runtime::sample_events checks it).
    for name in OIDC_EVENTS {
        assert!(Path::new(EVENTS_DIR).join(name).exists());
        let answer = fleet.oidc_harness.invoke(sample_event(name)).await.response();
        let verdict = check(name, &answer, "oidc", &fleet.issuer);
        assert!(verdict.is_ok(), "{name}: {verdict:?}\nanswer: {answer}");
    }
    // And the checker is not a rubber stamp: an answer without the headers every token answer
    // carries is refused.
    let token = "rest-api-post-oidc-token.json";
    let mut answer = fleet.oidc_harness.invoke(sample_event(token)).await.response();
    answer["multiValueHeaders"]["pragma"] = serde_json::json!([]);
    assert!(check(token, &answer, "oidc", &fleet.issuer).is_err(), "{answer}");
    fleet.stop();
}
