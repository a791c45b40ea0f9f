//! The web-messaging section: runs the pairs of [`crate::web_world`] (owner contract and web
//! messaging interleaved, one unrecorded pair of each first) and the `POST /auth-codes` runs of
//! [`crate::web_codes`], sums them up with the bench's order statistics, and prints the
//! first-token table beside the default mode's, with the codes' figures beside the token's.

use std::fmt::Write;
use std::time::Duration;

use crate::callback_front::CallbackRoute;
use crate::stats::{Samples, ms};
use crate::web_codes::{CodeRun, FirstCode};
use crate::web_world::{FirstToken, PairRun, UpstreamMode, WebWorld};
use crate::{Settings, progress};

/// One figure, cold (the first invocation of fresh instances) and warm (instances already used).
pub struct ColdWarm {
    pub cold: Samples,
    pub warm: Samples,
}

impl ColdWarm {
    fn of(runs: &[PairRun], figure: impl Fn(&FirstToken) -> Duration) -> Self {
        Self {
            cold: Samples::new(runs.iter().map(|run| figure(&run.cold)).collect()),
            warm: Samples::new(runs.iter().flat_map(|run| &run.warm).map(&figure).collect()),
        }
    }
}

pub struct WebMessagingResults {
    pub conditions: String,
    pub runs: usize,
    pub warm_tokens: usize,
    pub owner_first_token: ColdWarm,
    pub web_first_token: ColdWarm,
    pub token_callback: ColdWarm,
    pub discovery_callback: ColdWarm,
    pub jwks_callback: ColdWarm,
    pub all_callbacks: ColdWarm,
    /// `POST /auth-codes` for a new customer: cold (a fresh instance's first), warm.
    pub code_new_customer: ColdWarm,
    /// `POST /auth-codes` for a known customer (a Messenger re-authentication): cold, warm.
    pub code_known_customer: ColdWarm,
    /// CFS periods in which a function was throttled, per mode, over all pairs.
    pub throttled_periods: (u64, u64),
    /// Likewise over all the code runs.
    pub code_throttled_periods: u64,
}

/// The cold figures of the runs that began with `first`, and the warm ones `warm` picks from all.
fn codes(runs: &[CodeRun], first: FirstCode, warm: impl Fn(&CodeRun) -> &Vec<Duration>) -> ColdWarm {
    ColdWarm {
        cold: Samples::new(
            runs.iter()
                .filter(|run| run.first == first)
                .map(|run| run.cold)
                .collect(),
        ),
        warm: Samples::new(runs.iter().flat_map(|run| warm(run).iter().copied()).collect()),
    }
}

/// `settings.runs` fresh pairs per mode, each serving `settings.web_warm_tokens` more new
/// customers after its first.
pub async fn measure(world: &WebWorld, settings: &Settings) -> WebMessagingResults {
    let warm_tokens = settings.web_warm_tokens;
    progress(&format!(
        "web messaging vs owner contract, first tokens: {} fresh pairs each, {warm_tokens} warm tokens per pair",
        settings.runs
    ));
    for mode in [UpstreamMode::OwnerContract, UpstreamMode::WebMessaging] {
        world.pair_run(mode, 1).await;
    }
    let (mut owner, mut web) = (Vec::new(), Vec::new());
    for _ in 0..settings.runs {
        owner.push(world.pair_run(UpstreamMode::OwnerContract, warm_tokens).await);
        web.push(world.pair_run(UpstreamMode::WebMessaging, warm_tokens).await);
    }
    progress(&format!(
        "POST /auth-codes: {} fresh instances each for a new and a known customer, {warm_tokens} new customers per instance asking twice",
        settings.runs
    ));
    let (mut code_runs, mut known) = (Vec::new(), None);
    for _ in 0..settings.runs {
        for first in [FirstCode::NewCustomer, FirstCode::KnownCustomer] {
            code_runs.push(world.code_run(first, warm_tokens, &mut known).await);
        }
    }
    let callback = |route: CallbackRoute| {
        move |token: &FirstToken| {
            token
                .callbacks
                .iter()
                .filter(|callback| callback.route == route)
                .map(|callback| callback.invocation)
                .sum()
        }
    };
    WebMessagingResults {
        conditions: world.conditions_described.clone(),
        runs: settings.runs,
        warm_tokens,
        owner_first_token: ColdWarm::of(&owner, |token| token.invocation),
        web_first_token: ColdWarm::of(&web, |token| token.invocation),
        token_callback: ColdWarm::of(&web, callback(CallbackRoute::Token)),
        discovery_callback: ColdWarm::of(&web, callback(CallbackRoute::Discovery)),
        jwks_callback: ColdWarm::of(&web, callback(CallbackRoute::Jwks)),
        all_callbacks: ColdWarm::of(&web, |token| {
            token.callbacks.iter().map(|callback| callback.invocation).sum()
        }),
        code_new_customer: codes(&code_runs, FirstCode::NewCustomer, |run| &run.warm_new),
        code_known_customer: codes(&code_runs, FirstCode::KnownCustomer, |run| &run.warm_known),
        throttled_periods: (
            owner.iter().map(|run| run.throttled_periods).sum(),
            web.iter().map(|run| run.throttled_periods).sum(),
        ),
        code_throttled_periods: code_runs.iter().map(|run| run.throttled_periods).sum(),
    }
}

fn row(out: &mut String, metric: &str, figure: &ColdWarm) {
    let _ = writeln!(
        out,
        "| {metric} | {} | {} | {} | {} |",
        ms(figure.cold.median()),
        ms(figure.cold.percentile(99.0)),
        ms(figure.warm.median()),
        ms(figure.warm.percentile(99.0)),
    );
}

pub fn markdown(r: &WebMessagingResults) -> String {
    let mut out = String::new();
    out.push_str("## Web messaging: first token and the callback\n\n");
    let _ = writeln!(
        out,
        "{}. Cold: the first invocation of fresh instances ({} pairs per mode); warm: the next {} \
         new customers on each pair ({} tokens per mode). Every token is for a new customer.\n",
        r.conditions,
        r.runs,
        r.warm_tokens,
        r.runs * r.warm_tokens
    );
    out.push_str(
        "| first token for a new customer (invocation, handed out → answer) | cold p50 | cold p99 | warm p50 | warm p99 |\n\
         |---|---:|---:|---:|---:|\n",
    );
    row(
        &mut out,
        "Owner contract (default mode): OAuth + create guest + guest token",
        &r.owner_first_token,
    );
    row(
        &mut out,
        "**Web messaging**: enrich + exchange, incl. the callback",
        &r.web_first_token,
    );
    row(
        &mut out,
        "**`POST /auth-codes`**, new customer: enrich + code write (no exchange)",
        &r.code_new_customer,
    );
    row(
        &mut out,
        "**`POST /auth-codes`**, known customer (re-authentication): one read + one code write",
        &r.code_known_customer,
    );
    row(
        &mut out,
        "… the callback, all three provider invocations summed",
        &r.all_callbacks,
    );
    row(
        &mut out,
        "… the callback's `POST /oidc/token` (provider invocation)",
        &r.token_callback,
    );
    row(
        &mut out,
        "… the callback's discovery (provider invocation)",
        &r.discovery_callback,
    );
    row(
        &mut out,
        "… the callback's JWKS (provider invocation)",
        &r.jwks_callback,
    );
    let _ = writeln!(
        out,
        "\nCFS periods throttled over all pairs: owner contract {}, web messaging {} (guest and provider); \
         over the code runs {}.\n",
        r.throttled_periods.0, r.throttled_periods.1, r.code_throttled_periods
    );
    out.push_str(METHOD);
    out
}

const METHOD: &str = "\
- The first token's figure is the guest function's invocation at its Runtime API harness, from
  handing the event out to the answer; in web messaging it includes the enrich, the exchange and,
  inside the exchange, the sandbox's three calls back to the provider function.
- The callback's figures are the provider function's invocations at its own harness (behind the
  REST API stage that is its issuer), from handing the event out to the answer; the sandbox calls
  discovery, `POST /oidc/token` (which signs with KMS) and JWKS in turn on every exchange.
- `POST /auth-codes` runs the guest function alone (no exchange, so no callback), on fresh
  instances of their own: per run one whose first invocation is a new customer's code and one whose
  first is a known customer's (the cold figures), each then serving new customers that ask twice
  (the warm figures: the second ask is a known customer's, one `GetItem` and one `UpdateItem`).
- Init is not in these figures: each pair's processes are started and have polled (init done, in
  their cgroups) before the first token is asked for.
";
