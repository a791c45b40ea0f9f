//! The logs of both compiled functions in the web messaging mode, at TRACE (the most verbose the
//! log controls allow), in text and in JSON, through every path: a first token (enrich, code
//! exchange, the provider's token endpoint), a hit, renewals with the refresh token and by a new
//! exchange, strangers at the token endpoint, a code redeemed by form, Genesys retried, bad input,
//! and deletes that revoke a valid jwt and renew an expired one to revoke it; HMAC pseudonyms, so a
//! hash key is held too. No line may carry a jwt, refresh token, code, id_token, the provider's
//! Authorization header or form secret, a client secret, the hash key, a raw CRM id or a full
//! pseudonym.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use genesys_sandbox::{DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint, Fault, Sandbox, SandboxConfig};
use guest_token_broker::domain::{CrmId, Pseudonymiser};
use secrecy::SecretSlice;
use serde_json::json;

use crate::deployment::{body_of, http_api_post};
use crate::fleet::status;
use crate::log_hygiene::LoggedRun;
use crate::oidc_codes::{CLIENT, redeem};
use crate::recording_proxy::RecordingProxy;
use crate::web_fleet::{REDIRECT_URI, WebFleet, wait_past};
use test_kit::aws::{create_secret, unique};

const HASH_KEY: &str = "web-hygiene-hash-key-0123456789abcdef";
/// Every raw CRM id below starts with this, so no log line may contain it.
const CRM_PREFIX: &str = "CRM-HIDDEN-";

fn crm(n: &str) -> String {
    format!("{CRM_PREFIX}{n}")
}

fn pseudonym(n: &str) -> String {
    let key = SecretSlice::from(HASH_KEY.as_bytes().to_vec());
    let id = CrmId::parse(&crm(n)).unwrap();
    Pseudonymiser::HmacSha256(key).hash(&id).as_str().to_owned()
}

/// `Basic base64(id:secret)`'s credential, as a client sends it.
fn basic(id: &str, secret: &str) -> String {
    BASE64.encode(format!("{id}:{secret}"))
}

/// Both functions at TRACE (`json`: JSON lines) behind a recording proxy, with HMAC pseudonyms.
async fn start(json: bool) -> (WebFleet, RecordingProxy) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
    let proxy = RecordingProxy::start(sandbox.base_url()).await;
    let key_secret = unique("hash-key");
    create_secret(&key_secret, &json!({ "hash_key": HASH_KEY }).to_string()).await;
    let fleet = WebFleet::start_on(sandbox, proxy.url(), 2, |backends| {
        backends.guest_env.extend([
            ("CRM_ID_HASH_MODE", "hmac-sha256".to_owned()),
            ("CRM_ID_HASH_KEY_SECRET_ID", key_secret),
        ]);
        backends.add_env(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")]);
        if json {
            backends.add_env(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
        }
    })
    .await;
    (fleet, proxy)
}

/// Runs every path, stops both functions, and gathers what they printed and what they must not.
async fn run_every_web_messaging_path(json: bool) -> LoggedRun {
    let (mut fleet, proxy) = start(json).await;
    let mut replies = Vec::new();
    let mut post = async |fleet: &WebFleet, n: &str, expected: u64| {
        let reply = fleet.post(&crm(n)).await;
        assert_eq!(status(&reply), expected, "{reply}");
        replies.push(reply.clone());
        reply
    };
    // A first token, then a hit; a 503 on the first exchange leaves an unspent code.
    fleet
        .sandbox
        .push_fault(Endpoint::WebDeploymentTokenExchange, Fault::status(503));
    post(&fleet, "1", 200).await;
    post(&fleet, "1", 200).await;
    // Renewed with the refresh token, then by a new exchange once it lapsed; Genesys retried.
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(120));
    fleet.sandbox.push_fault(Endpoint::EnrichContact, Fault::status(503));
    post(&fleet, "2", 200).await;
    post(&fleet, "2", 200).await;
    fleet.sandbox.expire_refresh_tokens();
    post(&fleet, "2", 200).await;
    // Bad input carrying raw ids.
    let malformed = fleet
        .harness
        .invoke(http_api_post(&format!("{{\"crmId\": \"{}\"", crm("3"))))
        .await
        .response();
    assert_eq!(status(&malformed), 400);
    post(&fleet, "4\u{7}", 400).await;
    post(&fleet, "5\u{200B}", 400).await;

    // Strangers at the token endpoint, and the unspent code redeemed by form.
    let code = fleet.sandbox.exchange_requests()[0].code.clone().unwrap();
    let stranger = ("someone", "a-guess");
    assert_eq!(redeem(&fleet, &code, REDIRECT_URI, stranger, false).await.status, 401);
    let wrong_secret = (DEFAULT_OIDC_CLIENT_ID, "a-wrong-secret");
    assert_eq!(
        redeem(&fleet, &code, REDIRECT_URI, wrong_secret, true).await.status,
        401
    );
    assert_eq!(
        redeem(&fleet, "never-issued", REDIRECT_URI, CLIENT, false).await.status,
        400
    );
    let granted = redeem(&fleet, &code, REDIRECT_URI, CLIENT, true).await;
    assert_eq!(granted.status, 200, "{granted:?}");

    // Deletes: a valid jwt revoked; an expired one renewed to be revoked.
    assert_eq!(status(&fleet.delete(&crm("1")).await), 204);
    fleet.sandbox.set_web_jwt_ttl(Duration::from_secs(2));
    let expiring = post(&fleet, "6", 200).await;
    wait_past(body_of(&expiring)["expiresAt"].as_str().unwrap()).await;
    assert_eq!(status(&fleet.delete(&crm("6")).await), 204);
    assert_eq!(fleet.sandbox.calls(Endpoint::WebDeploymentTokenRevoke), 2);

    let mut lines = fleet.stop();
    lines.append(&mut fleet.retired_lines);
    let mut forbidden = proxy.seen(&["authorization", "access_token", "jwt", "refreshToken"]);
    forbidden.extend(fleet.sandbox.refresh_tokens_issued());
    forbidden.extend(
        fleet
            .sandbox
            .exchange_requests()
            .into_iter()
            .filter_map(|request| request.code),
    );
    forbidden.extend(
        replies
            .iter()
            .filter_map(|reply| Some(body_of(reply)["token"].as_str()?.to_owned())),
    );
    for key in ["id_token", "access_token"] {
        forbidden.push(granted.body[key].as_str().unwrap().to_owned());
    }
    let (genesys_id, genesys_secret) = SandboxConfig::default().clients.remove(0);
    forbidden.extend([
        genesys_secret.clone(),
        basic(&genesys_id, &genesys_secret),
        DEFAULT_OIDC_CLIENT_SECRET.to_owned(),
        basic(DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET),
        HASH_KEY.to_owned(),
        CRM_PREFIX.to_owned(),
    ]);
    forbidden.extend(["1", "2", "6"].map(pseudonym));
    LoggedRun {
        lines,
        forbidden,
        hash_prefix: pseudonym("1")[..8].to_owned(),
    }
}

impl LoggedRun {
    /// The lines both functions must have written, so the test fails if logging were off.
    #[track_caller]
    fn assert_every_web_messaging_path_logged(&self) {
        let route = "POST /guest-tokens";
        for (status, outcome) in [(200, "created"), (200, "hit"), (200, "refreshed"), (400, "rejected")] {
            self.assert_request_line(route, status, outcome);
        }
        self.assert_request_line("DELETE /guest-sessions", 204, "deleted");
        self.assert_request_line("POST /oidc/token", 200, "code-redeemed");
        self.assert_request_line("POST /oidc/token", 401, "rejected");
        self.assert_request_line("POST /oidc/token", 400, "rejected");
        self.assert_logged("GET /.well-known/jwks.json");
        self.assert_logged(&self.hash_prefix);
        self.assert_logged("retrying Genesys call");
        // A DEBUG event: the verbose level is in force.
        self.assert_logged("request rejected");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_of_both_web_messaging_functions_never_contain_tokens_codes_secrets_or_crm_ids() {
    let text = run_every_web_messaging_path(false).await;
    text.assert_every_web_messaging_path_logged();
    text.assert_nothing_forbidden();

    let json = run_every_web_messaging_path(true).await;
    json.assert_every_web_messaging_path_logged();
    json.assert_nothing_forbidden();
    json.assert_json_lines();
}
