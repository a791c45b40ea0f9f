//! The docs' Messenger page, for real: `docs/examples/auth-provider.js` (byte for byte the plugin
//! `docs/messenger.md` shows) runs in headless Chromium (Debian's `chromium`, which
//! `scripts/tools` installs) on a page whose stand-in for the `Genesys(...)` command queue plays
//! Messenger's side: it calls the plugin's `getAuthCode`, whose fetch reaches a brand backend that
//! calls the compiled broker under the Runtime API harness. What the plugin resolved is handed to
//! the Genesys sandbox's exchange as the Messenger's Auth plugin hands it, and must become a jwt.
//!
//! Everything is served from loopback: Chromium's own network is closed here. The page reports
//! what it resolved, or its error, by POSTing it back to the test's server: no DevTools protocol
//! and no browser driver are needed to read it.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use genesys_sandbox::server::{self as http_server};
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::deployment::keys_of;
use crate::fleet::status;
use crate::web_fleet::{REDIRECT_URI, WebFleet, auth_code_event};

const WORKSPACE: &str = env!("CARGO_MANIFEST_DIR");
const MARKER: &str = "<!-- docs/examples/auth-provider.js -->\n```js\n";
/// The customer the brand backend has signed in (its session would say so).
const CRM_ID: &str = "CRM-PAGE-1";

fn plugin() -> String {
    std::fs::read_to_string(format!("{WORKSPACE}/docs/examples/auth-provider.js")).expect("the plugin file")
}

/// The page: a stand-in for Messenger's command queue, the plugin, and Messenger's side, which
/// calls `getAuthCode` once the plugin is ready and reports what it resolved.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>brand page</title>
<script>
  const report = (path, body) =>
    fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  window.addEventListener('error', (event) => report('/page-error', { message: String(event.message) }));
  window.addEventListener('unhandledrejection', (event) => report('/page-error', { message: String(event.reason) }));
  const commands = {};
  function messengerSide() {
    for (const name of ['getAuthCode', 'reAuthenticate']) {
      if (typeof commands[name] !== 'function') return report('/page-error', { message: `no ${name} command` });
    }
    new Promise((resolve, reject) => commands.getAuthCode({ data: {}, resolve, reject })).then(
      (resolved) => report('/resolved', resolved),
      (error) => report('/page-error', { message: `getAuthCode rejected: ${error}` }),
    );
  }
  window.Genesys = (kind, name, setup) => {
    if (kind !== 'registerPlugin' || name !== 'AuthProvider') throw new Error(`unexpected Genesys(${kind}, ${name})`);
    setup({
      registerCommand: (command, handler) => { commands[command] = handler; },
      ready: () => setTimeout(messengerSide, 0),
    });
  };
</script>
<script src="/auth-provider.js"></script>
</head><body>brand page</body></html>
"#;

fn answer(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}

/// The brand's page and backend: the page and plugin, `POST /messenger/auth-code` (the customer's
/// code from the broker under `fleet`'s harness), and the page's reports, sent on `reports`.
async fn brand_site(
    fleet: &WebFleet,
    reports: mpsc::UnboundedSender<Result<Value, String>>,
) -> http_server::ServerHandle {
    let harness = Arc::clone(&fleet.harness);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    http_server::spawn(listener, move |request: Request<Bytes>| {
        let (harness, reports) = (Arc::clone(&harness), reports.clone());
        async move {
            let body: Value = serde_json::from_slice(request.body()).unwrap_or_default();
            match (request.method().as_str(), request.uri().path()) {
                ("GET", "/") => answer(StatusCode::OK, "text/html; charset=utf-8", PAGE),
                ("GET", "/auth-provider.js") => answer(StatusCode::OK, "text/javascript", plugin()),
                ("POST", "/messenger/auth-code") => {
                    // The backend names the customer itself and passes the page's challenge and nonce on.
                    let call = json!({
                        "crmId": CRM_ID,
                        "codeChallenge": body["codeChallenge"],
                        "codeChallengeMethod": body["codeChallengeMethod"],
                        "nonce": body["nonce"],
                        "givenName": "Ada",
                    });
                    let reply = harness.invoke(auth_code_event(&call)).await.response();
                    let code = StatusCode::from_u16(status(&reply) as u16).unwrap_or(StatusCode::BAD_GATEWAY);
                    answer(
                        code,
                        "application/json",
                        reply["body"].as_str().unwrap_or_default().to_owned(),
                    )
                }
                ("POST", "/resolved") => {
                    let _ = reports.send(Ok(body));
                    answer(StatusCode::NO_CONTENT, "text/plain", "")
                }
                ("POST", "/page-error") => {
                    let _ = reports.send(Err(body["message"].as_str().unwrap_or("?").to_owned()));
                    answer(StatusCode::NO_CONTENT, "text/plain", "")
                }
                _ => answer(StatusCode::NOT_FOUND, "text/plain", "not found"),
            }
        }
    })
}

/// Headless Chromium on `url`, with a profile of its own and nothing reaching past loopback.
fn chromium(url: &str, profile: &std::path::Path) -> Child {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| {
            panic!(
                "cannot start chromium ({err}): scripts/tools installs Debian's chromium (apt-get install chromium, as root)"
            )
        })
}

#[test]
fn the_pages_plugin_block_is_the_tested_file_byte_for_byte() {
    let page = std::fs::read_to_string(format!("{WORKSPACE}/docs/messenger.md")).unwrap();
    let start = page
        .find(MARKER)
        .expect("docs/messenger.md marks the plugin's code block")
        + MARKER.len();
    let block = &page[start..start + page[start..].find("\n```\n").expect("the block ends") + 1];
    assert_eq!(
        block,
        plugin(),
        "docs/messenger.md's plugin differs from docs/examples/auth-provider.js"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_plugin_in_headless_chromium_resolves_a_code_that_the_sandbox_turns_into_a_jwt() {
    let fleet = WebFleet::start(1).await;
    let (sender, mut reports) = mpsc::unbounded_channel();
    let site = brand_site(&fleet, sender).await;
    let profile = std::env::temp_dir().join(format!("chromium-profile-{}", uuid::Uuid::new_v4()));
    let mut browser = chromium(&format!("{}/", site.base_url()), &profile);
    let report = tokio::time::timeout(Duration::from_secs(60), reports.recv()).await;
    let _ = browser.kill();
    let _ = browser.wait();
    let _ = std::fs::remove_dir_all(&profile);
    let resolved = match report {
        Ok(Some(Ok(resolved))) => resolved,
        Ok(Some(Err(error))) => panic!("the page failed: {error}"),
        _ => panic!("the page reported nothing within 60 s"),
    };

    let keys = keys_of(&resolved);
    assert_eq!(
        keys,
        BTreeSet::from(["authCode", "codeVerifier", "nonce", "redirectUri"]),
        "{resolved}"
    );
    assert_eq!(resolved["redirectUri"], REDIRECT_URI);
    let verifier = resolved["codeVerifier"].as_str().expect("the page's verifier");
    assert_eq!(verifier.len(), 43);
    assert!(resolved["authCode"].as_str().is_some_and(|code| code.len() == 43));

    let (exchanged, jwt) = fleet.messenger_exchange(&resolved).await;
    assert_eq!(exchanged, 200, "{jwt}");
    assert!(jwt["jwt"].as_str().is_some_and(|jwt| jwt.starts_with("ey")), "{jwt}");
    let sent = fleet.sandbox.exchange_requests().pop().unwrap();
    assert_eq!(
        sent.code_verifier.as_deref(),
        Some(verifier),
        "the page's verifier reached Genesys"
    );
    assert_eq!(sent.nonce.as_deref(), resolved["nonce"].as_str());
    // The code was bound to the page's challenge: it is spent now, and a replay is refused.
    assert_eq!(fleet.messenger_exchange(&resolved).await.0, 401);
    site.shutdown().await;
}
