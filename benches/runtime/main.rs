//! The runtime benchmark: the compiled Lambda binary (`guest-token-broker`, release profile) next to
//! a Python 3 reference doing the same job with boto3 and requests (`bench/python_reference/`), on
//! the same machine, in the same run, against the same servers:
//!
//! - dynalite (DynamoDB) and moto (Secrets Manager) behind a timing proxy that records each AWS request's
//!   operation and how long the emulator took to answer it;
//! - the Genesys sandbox, whose call counters show any upstream call;
//! - the tests' Lambda Runtime API harness (one per function process), or, to time init, a listener
//!   that only notes when the first `GET …/invocation/next` arrives.
//!
//! It measures init (process start → first Runtime API poll), cold start (process start → answer to
//! a `POST /guest-tokens` HTTP API event for a customer whose token is still good), primed and with
//! `PRIME_AT_INIT=false`, warm hits (latency, AWS requests, Genesys calls, DynamoDB time and the
//! broker's own time per hit) and peak RSS, then prints a markdown table and writes it to
//! `bench/last-run.md`.
//!
//! Run it with `scripts/bench` (installs moto, boto3 and requests first) or `cargo bench --bench
//! runtime`. `BENCH_RUNS` (default 30) sets the runs per init and cold-start figure, `BENCH_HITS`
//! (default 1000) the warm hits per function; `BENCH_FUNCTION_ENV` (`NAME=value …`, for experiments)
//! adds variables to both functions' environment, and the report names them.
//!
//! The web-messaging section ([`web_report`]) times a first token for a new customer in
//! `genesys-web-messaging` mode (enrich + exchange, with the sandbox's callback to the
//! `oidc-provider` function) beside the default mode's, cold and warm, under the Lambda-physics
//! conditions, and `POST /auth-codes` (the code for the Messenger and the mobile SDK, [`web_codes`])
//! beside them, cold and warm, for new and known customers. `BENCH_WEB_WARM` (default 10) sets the
//! warm tokens (and codes) per instance; `BENCH_ONLY=web-messaging` runs that section alone.

// The broker's request path nests futures deeply; computing their layout needs more than 128.
#![recursion_limit = "256"]

use std::time::Duration;

use crate::stats::Samples;

const SAMPLE_EVENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/http-api-post-guest-tokens.json"
);
const PYTHON_BOOTSTRAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/python_reference/bootstrap");
const REPORT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/last-run.md");
const PROFILE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/profile");
/// The customer of the sample event, whose session the bench creates first.
const CUSTOMER: &str = "CRM-987654";
/// A customer only the Python reference serves, to check that it creates guests too.
const PYTHON_ONLY_CUSTOMER: &str = "CRM-python-reference";
const GET_ITEM: &str = "DynamoDB_20120810.GetItem";
/// Invocations answered without I/O that time the harness and runtime-loop round trip.
const TRIVIAL_INVOCATIONS: usize = 200;
/// How long init may take before the bench gives up on a process.
const INIT_DEADLINE: Duration = Duration::from_secs(60);

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(Settings::from_env()));
}

struct Settings {
    runs: usize,
    hits: usize,
    /// Extra variables for both functions.
    function_env: Vec<(&'static str, String)>,
    /// `BENCH_PROFILE_BINARY`: profile a primed init of this binary instead of measuring.
    profile_binary: Option<String>,
    /// `BENCH_WEB_WARM`: first tokens per pair of instances after its cold one (web-messaging section).
    web_warm_tokens: usize,
    /// `BENCH_ONLY=web-messaging`: run the web-messaging section alone.
    only_web_messaging: bool,
}

impl Settings {
    fn from_env() -> Self {
        let number = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .map(|raw| raw.parse().unwrap_or_else(|_| panic!("{name} must be a whole number")))
                .unwrap_or(default)
        };
        Self {
            runs: number("BENCH_RUNS", 30).max(1),
            hits: number("BENCH_HITS", 1000).max(1),
            function_env: pairs(&std::env::var("BENCH_FUNCTION_ENV").unwrap_or_default()),
            profile_binary: std::env::var("BENCH_PROFILE_BINARY")
                .ok()
                .filter(|path| !path.is_empty()),
            web_warm_tokens: number("BENCH_WEB_WARM", 10).max(1),
            only_web_messaging: match std::env::var("BENCH_ONLY").unwrap_or_default().as_str() {
                "" => false,
                "web-messaging" => true,
                other => panic!("BENCH_ONLY takes web-messaging (or nothing), not {other:?}"),
            },
        }
    }

    /// `BENCH_FUNCTION_ENV` as the report shows it.
    fn function_env_text(&self) -> String {
        let pairs: Vec<String> = self
            .function_env
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        pairs.join(" ")
    }
}

/// `NAME=value NAME2=value2` as variables.
fn pairs(text: &str) -> Vec<(&'static str, String)> {
    text.split_whitespace()
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("BENCH_FUNCTION_ENV takes NAME=value pairs, not {pair:?}"));
            // Names live for the whole run, like the `&'static str` names of the other variables.
            let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
            (name, value.to_owned())
        })
        .collect()
}

async fn run(settings: Settings) {
    let world = World::start(&settings.function_env).await;
    if settings.only_web_messaging {
        let web = measure_web_messaging(&world, &settings).await;
        let mut markdown = report::title(&machine::describe(&world.python_dir), &settings.function_env_text());
        markdown.push_str(&web_report::markdown(&web));
        println!("\n{markdown}");
        return;
    }
    world.seed_session_and_check_the_reference().await;
    if let Some(binary) = &settings.profile_binary {
        profile::record(&world, binary).await;
        return;
    }
    let lambda = match lambda_mode::prepare(&world) {
        Ok(cgroups) => Some(lambda_mode::measure(&world, &settings, cgroups).await),
        Err(problem) => {
            progress(&format!(
                "Lambda mode cannot run here, so only the plain-loopback table follows: {problem}"
            ));
            None
        }
    };
    let plain = measure_plain(&world, &settings).await;
    let web = measure_web_messaging(&world, &settings).await;
    let mut markdown = report::title(&plain.machine, &plain.function_env);
    if let Some(lambda) = &lambda {
        markdown.push_str(&lambda_report::markdown(lambda, settings.hits));
    }
    markdown.push_str(&web_report::markdown(&web));
    markdown.push_str(&report::markdown(&plain));
    println!("\n{markdown}");
    std::fs::write(REPORT_PATH, &markdown).unwrap_or_else(|err| panic!("cannot write {REPORT_PATH}: {err}"));
    progress(&format!("written to {REPORT_PATH}"));
}

/// Everything in plain HTTP on loopback at full CPU: the table the bench printed before Lambda mode.
async fn measure_plain(world: &World, settings: &Settings) -> report::Results {
    let broker_unprimed = Subject::Broker { primed: false };
    let broker_primed = Subject::Broker { primed: true };
    let subjects = [broker_primed, broker_unprimed, Subject::Python];
    let plain = Conditions::plain();

    progress(&format!("plain loopback, init: {} runs each", settings.runs));
    let init = measure_each(&subjects, settings.runs, |subject| world.time_init(subject, &plain)).await;
    let init_of = |subject| Samples::new(take(&init, subject).iter().map(|run| run.elapsed).collect());
    progress(&format!("plain loopback, cold start: {} runs each", settings.runs));
    let cold = measure_each(&subjects, settings.runs, |subject| {
        world.time_cold_start(subject, &plain)
    })
    .await;
    progress(&format!("plain loopback, warm: {} hits each", settings.hits));
    let warm_broker = world.warm(broker_primed, settings.hits, &plain).await;
    let warm_python = world.warm(Subject::Python, settings.hits, &plain).await;
    let sdk_overhead = sdk_overhead::measure(&world.proxy, &world.table, TRIVIAL_INVOCATIONS).await;

    report::Results {
        init_unprimed: init_of(broker_unprimed),
        init_primed: init_of(broker_primed),
        init_python: init_of(Subject::Python),
        cold_primed: cold::summary(take(&cold, broker_primed)),
        cold_unprimed: cold::summary(take(&cold, broker_unprimed)),
        cold_python: cold::summary(take(&cold, Subject::Python)),
        warm_broker,
        warm_python,
        sdk_overhead,
        machine: machine::describe(&world.python_dir),
        hits: settings.hits,
        function_env: settings.function_env_text(),
    }
}

/// The web-messaging section: its own sandbox, table and secrets over the world's emulators.
async fn measure_web_messaging(world: &World, settings: &Settings) -> web_report::WebMessagingResults {
    let web_world = web_world::WebWorld::start(world).await;
    web_report::measure(&web_world, settings).await
}

fn progress(message: &str) {
    eprintln!("[bench] {message}");
}

/// `runs` measurements of every subject, interleaved (one of each, then again) so that drift in the
/// machine's load spreads over all of them; one unrecorded warm-up of each first (page cache).
async fn measure_each<T, F, Fut>(subjects: &[Subject], runs: usize, mut measure: F) -> Vec<(Subject, T)>
where
    F: FnMut(Subject) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    for &subject in subjects {
        measure(subject).await;
    }
    let mut results = Vec::with_capacity(runs * subjects.len());
    for _ in 0..runs {
        for &subject in subjects {
            results.push((subject, measure(subject).await));
        }
    }
    results
}

fn take<T: Clone>(results: &[(Subject, T)], wanted: Subject) -> Vec<T> {
    results
        .iter()
        .filter(|(subject, _)| *subject == wanted)
        .map(|(_, value)| value.clone())
        .collect()
}

mod world;

use world::*;

mod sdk_overhead;

mod stats;

mod poll_clock;

mod proc_fs;

mod cold;

mod warm;

mod machine;

mod report;

mod cgroup;

mod lambda_mode;

mod lambda_report;

mod profile;

mod callback_front;

mod web_world;

mod web_codes;

mod web_report;
