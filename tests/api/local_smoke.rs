//! The README's first command: the `local` binary on its embedded defaults, driven with the very
//! curl command it prints.

use crate::processes::{ChildProcess, run_shell};

#[tokio::test]
async fn local_serves_a_token_to_its_printed_curl_and_repeats_it_from_the_store() {
    let mut local = ChildProcess::spawn(
        env!("CARGO_BIN_EXE_local"),
        &[("PORT", "0"), ("RUST_LOG", "info")],
    );
    local.wait_for_line(|line| line.starts_with("Listening on http://127.0.0.1:"));
    let curl = local
        .wait_for_line(|line| line.trim_start().starts_with("curl "))
        .trim()
        .to_owned();

    let first: serde_json::Value =
        serde_json::from_str(&run_shell(&curl)).expect("JSON from the printed curl");
    let second: serde_json::Value = serde_json::from_str(&run_shell(&curl)).unwrap();

    assert!(first["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(first, second);
    let created =
        local.wait_for_line(|line| line.contains("outcome=") && line.contains("status=200"));
    assert!(
        created.contains("outcome=\"created\"") || created.contains("outcome=created"),
        "{created}"
    );
    let repeated =
        local.wait_for_line(|line| line.contains("outcome=") && line.contains("status=200"));
    assert!(
        repeated.contains("hit"),
        "the repeat made no upstream call: {repeated}"
    );
}
