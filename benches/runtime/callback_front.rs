//! The OIDC provider's API for the web-messaging bench: what
//! `test_kit::http_front::HttpFront::rest_stage_over_harness` does (the template's `OidcApi`: each
//! request to the stage `prod`, the issuer `<front>/prod`, becomes a REST API event on the
//! provider's Runtime API harness), and it notes, per request, which route the Genesys sandbox
//! called back and how long the provider's invocation took as the harness sees it (handed out →
//! answer).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use genesys_sandbox::server::{self as http_server, ServerHandle};
use http::Request;
use test_kit::http_front::{answer, missing_authentication_token, stage_event};
use test_kit::runtime_harness::{Outcome, RuntimeHarness};
use tokio::net::TcpListener;

/// The OIDC API's stage (the template's `StageName` default), in its URL and so in the issuer.
const STAGE: &str = "prod";

/// The provider's routes the sandbox calls back during an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackRoute {
    Discovery,
    Token,
    Jwks,
}

impl CallbackRoute {
    fn of(path: &str) -> Self {
        if path.ends_with("/openid-configuration") {
            Self::Discovery
        } else if path.ends_with("/token") {
            Self::Token
        } else {
            Self::Jwks
        }
    }
}

/// One callback: its route, the provider invocation's duration, and whether it answered (a
/// response, not an invocation error).
#[derive(Debug, Clone, Copy)]
pub struct Callback {
    pub route: CallbackRoute,
    pub invocation: Duration,
    pub answered: bool,
}

pub struct CallbackFront {
    server: ServerHandle,
    callbacks: Arc<Mutex<Vec<Callback>>>,
}

impl CallbackFront {
    /// Serves on a free loopback port until dropped.
    pub async fn start(harness: Arc<RuntimeHarness>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let callbacks: Arc<Mutex<Vec<Callback>>> = Arc::default();
        let record = Arc::clone(&callbacks);
        let server = http_server::spawn(listener, move |request: Request<Bytes>| {
            let (harness, record) = (Arc::clone(&harness), Arc::clone(&record));
            async move {
                let route = CallbackRoute::of(request.uri().path());
                // Outside the stage: API Gateway's 403, and no callback (the exchange then fails).
                let Some(event) = stage_event(&request, STAGE) else {
                    return missing_authentication_token();
                };
                let outcome = harness.invoke(event).await;
                let answered_at = Instant::now();
                // The sandbox calls back one route at a time, so the latest hand-out is this one's.
                let handed_out = harness.last_handed_out().expect("the callback was handed out");
                let callback = Callback {
                    route,
                    invocation: answered_at - handed_out,
                    answered: matches!(outcome, Outcome::Response(_)),
                };
                record.lock().unwrap_or_else(PoisonError::into_inner).push(callback);
                answer(outcome)
            }
        });
        Self { server, callbacks }
    }

    /// `http://127.0.0.1:port/prod`: the provider's issuer.
    pub fn base_url(&self) -> String {
        format!("{}/{STAGE}", self.server.base_url())
    }

    /// The callbacks since the last call.
    pub fn take(&self) -> Vec<Callback> {
        std::mem::take(&mut *self.callbacks.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
