//! The OpenAPI descriptions against the running API: schemathesis (from PyPI) drives the `local`
//! binary with generated valid and invalid requests and checks every answer against the
//! description: no server error, no undocumented status, headers and bodies as described, 405 with
//! `Allow` for undocumented methods. Bounded: a fixed number of examples per operation and a fixed
//! seed. `openapi.yaml` (the guest routes) in both modes: in the default mode without
//! `POST /auth-codes`, which answers only `404 wrong_upstream_mode` there, and whole in the web
//! messaging mode; `openapi-oidc.yaml` (the OpenID Connect provider's routes, which exist only
//! there) in the web messaging mode.

use std::process::Command;

use test_kit::processes::ChildProcess;

const MAX_EXAMPLES: &str = "25";
const SEED: &str = "20261124";

/// Runs schemathesis with `spec` (relative to the workspace root) and `args` against `local`
/// started with `env`.
async fn assert_conforms(spec: &'static str, env: &[(&str, &str)], args: &'static [&'static str]) {
    let mut vars = vec![("PORT", "0"), ("RUST_LOG", "warn")];
    vars.extend_from_slice(env);
    let mut local = ChildProcess::spawn(env!("CARGO_BIN_EXE_local"), &vars);
    let listening = local.wait_for_line(|line| line.starts_with("Listening on "));
    let url = listening.trim_start_matches("Listening on ").trim().to_owned();
    let spec = format!("{}/../../{spec}", env!("CARGO_MANIFEST_DIR"));

    let output = tokio::task::spawn_blocking(move || {
        Command::new(test_kit::emulators::python())
            .args(["-m", "schemathesis.cli", "run", &spec, "--url", &url, "--checks", "all"])
            .args([
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--no-color",
                "--generation-database",
                "none",
            ])
            .args(args)
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

#[tokio::test(flavor = "multi_thread")]
async fn the_api_conforms_to_its_openapi_description() {
    assert_conforms("openapi.yaml", &[], &["--exclude-path", "/auth-codes"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn in_web_messaging_mode_the_guest_routes_with_auth_codes_conform_to_their_openapi_description() {
    assert_conforms(
        "openapi.yaml",
        &[("GENESYS_UPSTREAM_MODE", "genesys-web-messaging")],
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn in_web_messaging_mode_the_oidc_routes_conform_to_their_openapi_description() {
    // As the integration's client (the sandbox's defaults `local` uses), so that requests get past
    // client authentication to the code. No generated request can hold a live one-time code, so a
    // schema-valid request is refused (400 `invalid_grant`) by design: that check, and the warning
    // that most requests are refused, are left out; every answer is still checked against the
    // description, and the other warnings still count.
    assert_conforms(
        "openapi-oidc.yaml",
        &[("GENESYS_UPSTREAM_MODE", "genesys-web-messaging")],
        &[
            "--auth",
            "sandbox-oidc-client:sandbox-oidc-client-secret-of-38-chars",
            "--exclude-checks",
            "positive_data_acceptance",
            "--warnings",
            "missing_auth,missing_test_data,base_url_mismatch,missing_deserializer,unused_openapi_auth,\
             unsupported_regex,unresolvable_reference",
        ],
    )
    .await;
}
