//! A pass-through to the Genesys sandbox that records every credential crossing it, for the
//! log-hygiene tests: what the function saw is what its logs must never show.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use genesys_sandbox::server::{self as http_server, ServerHandle};
use serde_json::Value;
use tokio::net::TcpListener;

/// The response body keys whose values are credentials: OAuth access tokens, the owner's guest
/// tokens, web messaging jwts and refresh tokens.
const BODY_TOKENS: [&str; 4] = ["access_token", "token", "jwt", "refreshToken"];

/// A pass-through to the sandbox that remembers every credential that crossed it: the values of
/// Authorization headers (Basic client credentials, bearer access tokens and jwts) and the tokens in
/// response bodies (access tokens, guest tokens, web messaging jwts and refresh tokens). The
/// function cannot print what it never saw, and it saw all of these.
pub struct RecordingProxy {
    url: String,
    /// (where it was seen: `authorization` or a body key, the value)
    seen: Arc<Mutex<Vec<(&'static str, String)>>>,
    _server: ServerHandle,
}

impl RecordingProxy {
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        let client = reqwest::Client::new();
        let server = http_server::spawn(listener, move |request: http::Request<Bytes>| {
            let (client, upstream, recorded) = (client.clone(), upstream.clone(), Arc::clone(&recorded));
            async move {
                let (parts, body) = request.into_parts();
                let mut forwarded = client
                    .request(parts.method, format!("{upstream}{}", parts.uri))
                    .body(body);
                for (name, value) in &parts.headers {
                    if name == http::header::AUTHORIZATION {
                        let credential = value.to_str().unwrap_or_default().split_once(' ');
                        let credential = credential.map(|(_, c)| ("authorization", c.to_owned()));
                        recorded.lock().unwrap().extend(credential);
                    }
                    if name == http::header::AUTHORIZATION || name == http::header::CONTENT_TYPE {
                        forwarded = forwarded.header(name, value);
                    }
                }
                let Ok(response) = forwarded.send().await else {
                    let mut unreachable = http::Response::new(Bytes::new());
                    *unreachable.status_mut() = http::StatusCode::BAD_GATEWAY;
                    return unreachable;
                };
                let mut reply = http::Response::builder().status(response.status());
                for name in [http::header::CONTENT_TYPE, http::header::RETRY_AFTER] {
                    if let Some(value) = response.headers().get(&name) {
                        reply = reply.header(name, value);
                    }
                }
                let body = response.bytes().await.unwrap_or_default();
                if let Ok(json) = serde_json::from_slice::<Value>(&body) {
                    let tokens = BODY_TOKENS.map(|key| Some((key, json[key].as_str()?.to_owned())));
                    recorded.lock().unwrap().extend(tokens.into_iter().flatten());
                }
                reply.body(body).unwrap()
            }
        });
        Self {
            url: server.base_url(),
            seen,
            _server: server,
        }
    }

    /// Where Genesys is, through the proxy.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every value seen, after checking that each of `kinds` (`authorization` or a body key) was
    /// seen at least once.
    pub fn seen(&self, kinds: &[&str]) -> Vec<String> {
        let seen = self.seen.lock().unwrap().clone();
        for kind in kinds {
            assert!(seen.iter().any(|(k, _)| k == kind), "the proxy saw no {kind}: {seen:?}");
        }
        seen.into_iter().map(|(_, value)| value).collect()
    }
}
