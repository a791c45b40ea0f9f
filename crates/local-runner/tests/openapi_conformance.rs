//! `openapi.yaml` against the running API: schemathesis (from PyPI) drives the `local` binary with
//! generated valid and invalid requests and checks every answer against the description: no
//! server error, no undocumented status, headers and bodies as described, 405 with `Allow` for
//! undocumented methods. Bounded: a fixed number of examples per operation and a fixed seed.

use std::process::Command;

use test_kit::processes::ChildProcess;

const MAX_EXAMPLES: &str = "25";
const SEED: &str = "20261124";

#[tokio::test(flavor = "multi_thread")]
async fn the_api_conforms_to_its_openapi_description() {
    let mut local = ChildProcess::spawn(env!("CARGO_BIN_EXE_local"), &[("PORT", "0"), ("RUST_LOG", "warn")]);
    let listening = local.wait_for_line(|line| line.starts_with("Listening on "));
    let url = listening.trim_start_matches("Listening on ").trim().to_owned();
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");

    let output = tokio::task::spawn_blocking(move || {
        Command::new(test_kit::emulators::python())
            .args(["-m", "schemathesis.cli", "run", spec, "--url", &url, "--checks", "all"])
            .args([
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--no-color",
                "--generation-database",
                "none",
            ])
            .output()
            .expect("python3 runs (schemathesis comes from requirements-dev.txt, installed into .venv by scripts/test)")
    })
    .await
    .unwrap();

    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && report.contains("No issues found"),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
