//! Issue 19: Lambda's slot limit in genesys-web-messaging mode, through the compiled binary. A
//! first token holds a slot of the guest function while Genesys's `oauthcodegrantjwtexchange` runs,
//! and Genesys answers that exchange only after calling the broker's OIDC routes (discovery, the
//! token endpoint, JWKS) through an HTTP API. Each function is a [`FunctionPool`] of K slots (its
//! reserved concurrency): an invocation beyond them is throttled, and API Gateway answers it with a
//! 500 (see `test_kit::function_pool`). The widget's requests and the callbacks go through the
//! same dispatchers; a burst of first tokens arrives at once ([`FunctionPool::invoke_together`]).
//!
//! - [`Routing::Shared`] is the template before issue 19 (`OidcApiIntegration` → `Function.Alias`):
//!   one function, K slots, takes both the widget's requests and the callbacks. The guest binary
//!   no longer answers the OIDC routes, so the callbacks go to `oidc-provider` instances that take
//!   the guest function's slots ([`FunctionPool::sharing_slots_of`]): the same capacity, served as
//!   one binary served it then. It shows the collapse: the callbacks starve.
//! - [`Routing::OwnOidcFunction`] is the template now: the OIDC routes on the `oidc-provider`
//!   function, with slots of its own, behind a REST API stage (the issuer is `…/prod`, and the
//!   function gets REST API events, as since issue 25), optionally behind AWS WAF's per-source rate
//!   rule (`tests/api/oidc_flood.rs`).

use std::sync::Arc;

use genesys_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use test_kit::function_pool::{FunctionPool, GatewayApi, Invocation};
use test_kit::http_front::HttpFront;
use test_kit::runtime_harness::Outcome;
use test_kit::waf::RateBasedRule;

use crate::deployment::{LAMBDA_BINARY, body_of, crm_body, rest_api_post};
use crate::fleet::error_code;
use crate::web_fleet::{OIDC_BINARY, OIDC_STAGE, WebBackends};

/// The guest function's reserved concurrency in these tests (the template's default is 10).
pub const K: usize = 4;

/// The OIDC function's slots. Genesys calls the routes one after another for an exchange, so at
/// most one callback per first token in flight: K slots are never all busy with K guest slots.
/// Fewer would make throttles of the OIDC function a race, which is not what these tests are about.
pub const OIDC_SLOTS: usize = K;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    Shared,
    OwnOidcFunction,
}

pub struct Stack {
    pub sandbox: Sandbox,
    pub guest: Arc<FunctionPool>,
    /// The instances answering the callbacks: the OIDC function's, or the guest function's slots.
    pub oidc: Arc<FunctionPool>,
    /// The OIDC routes' API: the sandbox's issuer.
    pub oidc_api: HttpFront,
    _backends: WebBackends,
}

/// What the widget got for one first-token request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The error code of a refusal by the broker (empty when it was throttled or answered a token).
    pub error: String,
    pub jwt: bool,
}

impl Stack {
    async fn start(routing: Routing) -> Self {
        Self::start_behind(routing, None).await
    }

    /// The stack with `waf`'s rule, if any, before the OIDC API (its own function's routing only:
    /// the shared routing predates the web ACL, on an HTTP API).
    pub async fn start_behind(routing: Routing, waf: Option<Arc<RateBasedRule>>) -> Self {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("sandbox starts");
        let guest = FunctionPool::start(K).await;
        let oidc = match routing {
            Routing::Shared => FunctionPool::sharing_slots_of(&guest).await,
            Routing::OwnOidcFunction => FunctionPool::start(OIDC_SLOTS).await,
        };
        let oidc_api = match routing {
            Routing::Shared => HttpFront::over_pool(Arc::clone(&oidc), GatewayApi::Http).await,
            Routing::OwnOidcFunction => HttpFront::rest_stage(Arc::clone(&oidc), OIDC_STAGE, waf).await,
        };
        let backends = WebBackends::create(&sandbox, &sandbox.base_url(), &oidc_api.base_url()).await;
        guest.launch(LAMBDA_BINARY, &backends.guest_env).await;
        oidc.launch(OIDC_BINARY, &backends.oidc_env).await;
        Self {
            sandbox,
            guest,
            oidc,
            oidc_api,
            _backends: backends,
        }
    }

    /// POST /guest-tokens for each customer (REST API events, as the widget's API sends them),
    /// arriving at the guest function together.
    pub async fn first_tokens(&self, customers: &[String]) -> Vec<Answer> {
        let events = customers
            .iter()
            .map(|crm_id| rest_api_post(&crm_body(crm_id)))
            .collect();
        let invocations = self.guest.invoke_together(events).await;
        invocations.iter().map(answer).collect()
    }
}

fn answer(invocation: &Invocation) -> Answer {
    let status = GatewayApi::Rest.status_of(invocation);
    let (error, jwt) = match invocation {
        Invocation::Served(Outcome::Response(response)) if status == 200 => {
            (String::new(), is_jwt(&body_of(response)["token"]))
        }
        Invocation::Served(Outcome::Response(response)) => (error_code(response), false),
        _ => (String::new(), false),
    };
    Answer { status, error, jwt }
}

/// A compact JWS: three dot-separated parts.
fn is_jwt(token: &Value) -> bool {
    token.as_str().is_some_and(|token| token.split('.').count() == 3)
}

pub fn customers(wave: usize) -> Vec<String> {
    (0..K).map(|n| format!("CRM-SLOT-{wave}-{n}")).collect()
}

#[tokio::test]
async fn shared_routing_k_concurrent_first_tokens_throttle_their_own_oidc_callbacks_and_not_all_get_a_jwt() {
    let stack = Stack::start(Routing::Shared).await;
    let answers = stack.first_tokens(&customers(0)).await;

    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    let jwts = answers.iter().filter(|answer| answer.jwt).count();
    let throttled = stack.oidc_api.throttled();
    let failures = stack.sandbox.exchange_failures();
    eprintln!(
        "slot_limit shared_routing: K={K} statuses={statuses:?} jwts={jwts} callbacks_throttled={} \
         (paths {throttled:?}) widget served={} throttles={} callbacks served={} exchange_failures={failures:?}",
        throttled.len(),
        stack.guest.served(),
        stack.guest.throttles(),
        stack.oidc.served(),
    );
    // The first callback to arrive finds all K slots held: no first token can end before its own
    // exchange, and that needs a callback. Neither Genesys nor the broker retries the refused
    // exchange (a 401), so that customer gets no jwt. Once a refused request ends its slot is free,
    // so later callbacks may get through: how many is a race, these identities are not.
    assert!(!throttled.is_empty(), "the callbacks were throttled");
    assert!(jwts < K, "not every first token got a jwt: {answers:?}");
    assert_eq!(failures.len(), K - jwts, "{failures:?}");
    for answer in answers.iter().filter(|answer| !answer.jwt) {
        assert_eq!(
            (answer.status, answer.error.as_str()),
            (502, "upstream_rejected"),
            "{answer:?}"
        );
    }
    assert_eq!(stack.guest.throttles(), 0, "the widget's K fit");
    assert_eq!(stack.oidc.throttles(), throttled.len(), "only callbacks were throttled");
    stack.guest.stop();
    stack.oidc.stop();
}

#[tokio::test]
async fn own_oidc_function_k_concurrent_first_tokens_and_4k_more_in_waves_all_get_a_jwt() {
    let stack = Stack::start(Routing::OwnOidcFunction).await;
    // The burst of K, then 4·K new customers in waves of K, each wave once the previous is answered.
    for wave in 0..5 {
        let answers = stack.first_tokens(&customers(wave)).await;
        for answer in &answers {
            assert!(answer.status == 200 && answer.jwt, "wave {wave}: {answers:?}");
        }
    }
    let oidc = &stack.oidc;
    eprintln!(
        "slot_limit own_oidc_function: K={K} first_tokens={} guest_pool served={} throttles={} \
         oidc_pool slots={} served={} throttles={}",
        5 * K,
        stack.guest.served(),
        stack.guest.throttles(),
        oidc.slots(),
        oidc.served(),
        oidc.throttles(),
    );
    assert_eq!(stack.guest.throttles(), 0, "no first token was throttled");
    assert_eq!(oidc.throttles(), 0, "no callback was throttled");
    assert_eq!(stack.oidc_api.throttled(), Vec::<String>::new());
    assert_eq!(stack.sandbox.provider_token_calls(), 5 * K, "every code was redeemed");
    assert_eq!(stack.guest.served(), 5 * K, "the guest function served the widget only");
    stack.guest.stop();
    oidc.stop();
}
