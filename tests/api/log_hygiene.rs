//! The logs of the compiled guest function in the owner's mode, at TRACE (text and JSON),
//! through every path: success, refresh, rotation, faults, bad input, delete and warm-up. No line
//! may carry a secret, an access or guest token, a raw CRM id or a full pseudonym; what must not
//! appear is what crossed the recording proxy, what the function answered, and what the test set.
//! `LoggedRun` is shared with the web messaging mode's run (`web_log_hygiene`).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use genesys_sandbox::{Endpoint, Fault, Sandbox, SandboxConfig};
use serde_json::Value;

use crate::deployment::{Deployment, crm_body, http_api_post, rest_api_post, sample_event};
use crate::fleet::delete_event;
use crate::helpers::{hash_of, pair};
use crate::recording_proxy::RecordingProxy;

const RETIRED_CLIENT: (&str, &str) = ("retired-client", "retired-S3CRET-1111");
const CURRENT_CLIENT: (&str, &str) = ("current-client", "current-S3CRET-2222");
/// Every raw CRM id below starts with this, so no log line may contain it.
const CRM_PREFIX: &str = "CRM-SECRET-";

/// What a run through every path printed, and what it must not have printed.
pub struct LoggedRun {
    pub lines: Vec<String>,
    pub forbidden: Vec<String>,
    pub hash_prefix: String,
}

/// Runs one function with `log_env` through success (created, hit, refreshed), upstream faults
/// (503, 429 with Retry-After, 403), a revoked credential rotated away from, bad input, a delete
/// and a warm-up; then stops it and gathers what it printed and every value it must not print.
async fn run_every_path(log_env: &[(&'static str, &str)]) -> LoggedRun {
    let clients = vec![
        pair(RETIRED_CLIENT.0, RETIRED_CLIENT.1),
        pair(CURRENT_CLIENT.0, CURRENT_CLIENT.1),
    ];
    let sandbox = Sandbox::start(SandboxConfig {
        clients: clients.clone(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    sandbox.revoke_client(RETIRED_CLIENT.0);
    let proxy = RecordingProxy::start(sandbox.base_url()).await;
    let mut deployment = Deployment::start_on(sandbox, &clients, proxy.url(), log_env).await;
    let crm = |n: &str| format!("{CRM_PREFIX}{n}");
    let post = |crm_id: &str| http_api_post(&crm_body(crm_id));
    let mut responses = Vec::new();
    let mut expect_status = async |event: Value, status: u16| {
        let response = deployment.invoke(event).await.response();
        assert_eq!(response["statusCode"], status, "{response}");
        responses.push(response);
    };

    // Created, through a rotation away from the revoked client; then hit, through both front ends.
    expect_status(post(&crm("4242")), 200).await;
    expect_status(post(&crm("4242")), 200).await;
    expect_status(rest_api_post(&crm_body(&crm("4242"))), 200).await;
    // A token with 200 s left is inside the 300 s window: the next request refreshes it.
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(200));
    expect_status(post(&crm("5151")), 200).await;
    expect_status(post(&crm("5151")), 200).await;
    deployment.sandbox.set_guest_token_ttl(Duration::from_secs(3600));
    // Transient upstream trouble, retried through.
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(503));
    deployment
        .sandbox
        .push_fault(Endpoint::GuestToken, Fault::status(429).retry_after(1));
    expect_status(post(&crm("6363")), 200).await;
    // A missing scope.
    deployment.sandbox.push_fault(Endpoint::CreateGuest, Fault::status(403));
    expect_status(post(&crm("7070")), 502).await;
    // Bad input, carrying raw ids.
    expect_status(http_api_post(&format!("{{\"crmId\": \"{}\"", crm("8080"))), 400).await;
    expect_status(post(&crm("90\u{7}90")), 400).await;
    expect_status(delete_event(&crm("4242")), 204).await;
    let warmed = deployment
        .invoke(sample_event("scheduled-warm-up.json"))
        .await
        .response();
    assert_eq!(warmed["warmed"], true, "{warmed}");

    let lines = deployment.function.stop();
    let mut forbidden = proxy.seen(&["authorization", "access_token", "token"]);
    forbidden.extend(
        responses
            .iter()
            .filter_map(|response| serde_json::from_str::<Value>(response["body"].as_str()?).ok())
            .filter_map(|body| body["token"].as_str().map(str::to_owned)),
    );
    for (id, secret) in [RETIRED_CLIENT, CURRENT_CLIENT] {
        forbidden.push(secret.to_owned());
        forbidden.push(BASE64.encode(format!("{id}:{secret}")));
    }
    forbidden.push(CRM_PREFIX.to_owned());
    forbidden.push(BASE64.encode(crm_body(&crm("4242"))));
    for n in ["4242", "5151", "6363", "7070"] {
        forbidden.push(hash_of(&crm(n)).as_str().to_owned());
    }
    LoggedRun {
        lines,
        forbidden,
        hash_prefix: hash_of(&crm("4242")).prefix(8).to_owned(),
    }
}

impl LoggedRun {
    #[track_caller]
    pub fn assert_nothing_forbidden(&self) {
        for line in &self.lines {
            for secret in &self.forbidden {
                assert!(
                    !line.contains(secret.as_str()),
                    "a log line contains {secret:?}:\n{line}"
                );
            }
        }
    }

    /// Every line is a JSON object (`AWS_LAMBDA_LOG_FORMAT=JSON`).
    #[track_caller]
    pub fn assert_json_lines(&self) {
        for line in &self.lines {
            assert!(
                serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
                "not a JSON log line: {line}"
            );
        }
    }

    /// A request line: route, status and outcome on one line, whatever the format.
    #[track_caller]
    pub fn assert_request_line(&self, route: &str, status: u16, outcome: &str) {
        let found = self.lines.iter().any(|line| {
            line.contains(route)
                && (line.contains(&format!("status={status}")) || line.contains(&format!("\"status\":{status}")))
                && (line.contains(&format!("outcome=\"{outcome}\""))
                    || line.contains(&format!("outcome={outcome}"))
                    || line.contains(&format!("\"outcome\":\"{outcome}\"")))
        });
        assert!(
            found,
            "no {route} {status} {outcome} line in:\n{}",
            self.lines.join("\n")
        );
    }

    #[track_caller]
    pub fn assert_logged(&self, words: &str) {
        assert!(
            self.lines.iter().any(|line| line.contains(words)),
            "nothing logged {words:?}:\n{}",
            self.lines.join("\n")
        );
    }

    /// The lines that must be there, so that the test fails if logging were simply off.
    #[track_caller]
    fn assert_every_path_logged(&self) {
        let route = "POST /guest-tokens";
        for (status, outcome) in [
            (200, "created"),
            (200, "hit"),
            (200, "refreshed"),
            (502, "failed"),
            (400, "rejected"),
        ] {
            self.assert_request_line(route, status, outcome);
        }
        self.assert_request_line("DELETE /guest-sessions", 204, "deleted");
        self.assert_logged(&self.hash_prefix);
        self.assert_logged("request rejected");
        self.assert_logged("retrying Genesys call");
        self.assert_logged("rotating to the next credential");
        self.assert_logged("warm-up");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_of_the_owner_mode_never_contain_secrets_tokens_or_crm_ids() {
    let text = run_every_path(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")]).await;
    text.assert_every_path_logged();
    text.assert_nothing_forbidden();

    let json = run_every_path(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    json.assert_every_path_logged();
    json.assert_nothing_forbidden();
    json.assert_json_lines();
}
