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

use std::time::{Duration, Instant};

use crate::stats::Samples;
use genesys_sandbox::{Endpoint, Sandbox, SandboxConfig};
use serde_json::{Value, json};
use test_kit::aws_proxy::AwsProxy;
use test_kit::processes::{self, ChildProcess};
use test_kit::runtime_harness::lambda_env;
use test_kit::runtime_harness::{Backends, Outcome, RuntimeHarness};

const SAMPLE_EVENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/events/http-api-post-guest-tokens.json");
const PYTHON_BOOTSTRAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/python_reference/bootstrap");
const REPORT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/last-run.md");
/// The customer of the sample event, whose session the bench creates first.
const CUSTOMER: &str = "CRM-987654";
/// A customer only the Python reference serves, to check that it creates guests too.
const PYTHON_ONLY_CUSTOMER: &str = "CRM-python-reference";
/// Identifies a spawned process in `/proc` (its pid is not exposed by `ChildProcess`).
const INSTANCE_MARKER: &str = "GTB_BENCH_INSTANCE";
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
    world.seed_session_and_check_the_reference().await;
    let broker_unprimed = Subject::Broker { primed: false };
    let broker_primed = Subject::Broker { primed: true };
    let subjects = [broker_primed, broker_unprimed, Subject::Python];

    progress(&format!("init: {} runs each", settings.runs));
    let init = measure_each(&subjects, settings.runs, |subject| world.time_init(subject)).await;
    progress(&format!("cold start: {} runs each", settings.runs));
    let cold = measure_each(&subjects, settings.runs, |subject| world.time_cold_start(subject)).await;
    progress(&format!("warm: {} hits each", settings.hits));
    let warm_broker = world.warm(broker_primed, settings.hits).await;
    let warm_python = world.warm(Subject::Python, settings.hits).await;
    let sdk_overhead = sdk_overhead::measure(&world.proxy, &world.table, TRIVIAL_INVOCATIONS).await;

    let results = report::Results {
        init_unprimed: Samples::new(take(&init, broker_unprimed)),
        init_primed: Samples::new(take(&init, broker_primed)),
        init_python: Samples::new(take(&init, Subject::Python)),
        cold_primed: cold::summary(take(&cold, broker_primed)),
        cold_unprimed: cold::summary(take(&cold, broker_unprimed)),
        cold_python: cold::summary(take(&cold, Subject::Python)),
        warm_broker,
        warm_python,
        sdk_overhead,
        machine: machine::describe(&world.python_dir),
        hits: settings.hits,
        function_env: settings.function_env_text(),
    };
    let markdown = report::markdown(&results);
    println!("\n{markdown}");
    std::fs::write(REPORT_PATH, &markdown).unwrap_or_else(|err| panic!("cannot write {REPORT_PATH}: {err}"));
    progress(&format!("written to {REPORT_PATH}"));
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

/// What runs as the Lambda function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// The release binary; `primed` is its `PRIME_AT_INIT`.
    Broker { primed: bool },
    /// `bench/python_reference/bootstrap` with `guest_token.handler`.
    Python,
}

impl Subject {
    fn program(self) -> &'static str {
        match self {
            Self::Broker { .. } => env!("CARGO_BIN_EXE_guest-token-broker"),
            Self::Python => PYTHON_BOOTSTRAP,
        }
    }
}

/// A function process; killed when dropped.
struct Instance {
    process: ChildProcess,
    /// The value of its `INSTANCE_MARKER` variable.
    marker: String,
}

impl Instance {
    /// Looked up in `/proc` when needed (not while a start is being timed).
    fn pid(&self) -> u32 {
        proc_fs::pid_with_env(INSTANCE_MARKER, &self.marker)
    }

    fn stop(mut self) -> Vec<String> {
        self.process.kill();
        self.process.lines().to_vec()
    }
}

/// The servers every measurement shares, and the environment a function gets.
struct World {
    proxy: AwsProxy,
    table: String,
    sandbox: Sandbox,
    /// AWS (through the proxy), table, secret and Genesys variables, as `Backends` sets them.
    env: Vec<(&'static str, String)>,
    event: Value,
    /// The folder of the real Python interpreter (not a pyenv shim), first on the reference's PATH.
    python_dir: String,
}

impl World {
    async fn start(function_env: &[(&'static str, String)]) -> Self {
        progress("starting dynalite, moto, the timing proxy and the Genesys sandbox");
        let proxy = AwsProxy::start().await;
        let config = SandboxConfig::default();
        let clients: Vec<(&str, &str)> = config.clients.iter().map(|(i, s)| (i.as_str(), s.as_str())).collect();
        let sandbox = Sandbox::start(config.clone()).await.expect("the sandbox starts");
        let backends = Backends::create(&sandbox.base_url(), &clients).await;
        let table = backends.table;
        let mut env = backends.env;
        env.extend(proxy.env());
        env.extend([
            // Lambda sets both; boto3 reads only this one.
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ]);
        env.extend_from_slice(function_env);
        Self {
            proxy,
            table,
            sandbox,
            env,
            event: sample_event(),
            python_dir: python_dir(),
        }
    }

    fn start_instance(&self, subject: Subject, runtime_api: &str) -> Instance {
        let marker = uuid::Uuid::new_v4().simple().to_string();
        let mut vars = lambda_env(runtime_api);
        vars.extend(self.env.iter().map(|(name, value)| (*name, value.clone())));
        vars.push((INSTANCE_MARKER, marker.clone()));
        match subject {
            Subject::Broker { primed } => vars.push(("PRIME_AT_INIT", primed.to_string())),
            Subject::Python => vars.extend([
                ("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", self.python_dir)),
                ("LAMBDA_TASK_ROOT", python_task_root()),
                ("_HANDLER", "guest_token.handler".to_owned()),
            ]),
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let process = ChildProcess::spawn_isolated(subject.program(), &vars);
        Instance { process, marker }
    }

    fn genesys_calls(&self) -> usize {
        [Endpoint::OAuthToken, Endpoint::CreateGuest, Endpoint::GuestToken]
            .into_iter()
            .map(|endpoint| self.sandbox.calls(endpoint))
            .sum()
    }

    /// Creates the customer's guest and token through the broker, then checks that the reference
    /// gives the same answer for it and creates a guest for a new customer.
    async fn seed_session_and_check_the_reference(&self) {
        progress("creating the customer's session through the broker");
        let broker_answer = self.invoke_once(Subject::Broker { primed: true }, &self.event).await;
        progress("checking that the Python reference gives the same answer");
        let python_answer = self.invoke_once(Subject::Python, &self.event).await;
        assert_eq!(
            comparable(&python_answer),
            comparable(&broker_answer),
            "the Python reference answers the customer's request as the broker does"
        );
        let guests_before = self.sandbox.guests().len();
        let other = with_crm_id(&self.event, PYTHON_ONLY_CUSTOMER);
        self.invoke_once(Subject::Python, &other).await;
        assert_eq!(
            self.sandbox.guests().len(),
            guests_before + 1,
            "the reference creates guests"
        );
    }

    /// One invocation on a fresh instance; the answer must be a 200.
    async fn invoke_once(&self, subject: Subject, event: &Value) -> Value {
        let harness = RuntimeHarness::start().await;
        let instance = self.start_instance(subject, &harness.runtime_api());
        let outcome = harness.invoke(event.clone()).await;
        let lines = instance.stop();
        match outcome {
            Outcome::Response(response) if response["statusCode"] == 200 => response,
            other => panic!("{subject:?} answered {other:?}; it printed:\n{}", lines.join("\n")),
        }
    }

    /// Process start → first `GET /runtime/invocation/next`.
    async fn time_init(&self, subject: Subject) -> Duration {
        let clock = poll_clock::PollClock::bind().await;
        let started = Instant::now();
        let instance = self.start_instance(subject, &clock.runtime_api());
        let polled = clock.first_poll(INIT_DEADLINE).await;
        let lines = instance.stop();
        match polled {
            Ok(at) => at - started,
            Err(problem) => panic!("{subject:?}: {problem}; it printed:\n{}", lines.join("\n")),
        }
    }

    /// Process start → the answer to a token request whose stored token is still good.
    async fn time_cold_start(&self, subject: Subject) -> cold::Run {
        let harness = RuntimeHarness::start().await;
        self.proxy.take();
        let started = Instant::now();
        let instance = self.start_instance(subject, &harness.runtime_api());
        let outcome = harness.invoke(self.event.clone()).await;
        let elapsed = started.elapsed();
        let lines = instance.stop();
        expect_hit(subject, &outcome, &lines);
        let aws = self.proxy.take();
        cold::Run {
            elapsed,
            aws: aws.iter().map(|record| record.elapsed).sum(),
            operations: aws.into_iter().map(|record| record.operation).collect(),
        }
    }

    /// `hits` sequential hits on one instance after its cold start, then its peak RSS, then the
    /// trivial invocations that time the round trip every invocation costs.
    async fn warm(&self, subject: Subject, hits: usize) -> warm::Warm {
        let harness = RuntimeHarness::start().await;
        let instance = self.start_instance(subject, &harness.runtime_api());
        let first = harness.invoke(self.event.clone()).await;
        expect_hit(subject, &first, &[]);
        let genesys_before = self.genesys_calls();
        self.proxy.take();

        let hits = self.time_hits(&harness, subject, hits).await;
        let genesys_calls = self.genesys_calls() - genesys_before;
        let peak_rss_kib = proc_fs::vm_hwm_kib(instance.pid());
        let trivial = time_trivial_invocations(&harness, subject).await;
        assert!(self.proxy.take().is_empty(), "a rejected payload makes no AWS request");
        instance.stop();
        warm::Warm::new(hits, trivial, genesys_calls, peak_rss_kib)
    }

    /// Each hit's latency (queued → answer at the harness) and the AWS requests it made.
    async fn time_hits(&self, harness: &RuntimeHarness, subject: Subject, hits: usize) -> Vec<warm::Hit> {
        let mut timed = Vec::with_capacity(hits);
        for _ in 0..hits {
            let started = Instant::now();
            let outcome = harness.invoke(self.event.clone()).await;
            let latency = started.elapsed();
            expect_hit(subject, &outcome, &[]);
            timed.push(warm::Hit::new(latency, self.proxy.take()));
        }
        timed
    }
}

/// The round trip of an invocation answered without I/O: an empty JSON object, which both
/// functions answer with an invocation error.
async fn time_trivial_invocations(harness: &RuntimeHarness, subject: Subject) -> Samples {
    let mut timed = Vec::with_capacity(TRIVIAL_INVOCATIONS);
    for _ in 0..TRIVIAL_INVOCATIONS {
        let started = Instant::now();
        let outcome = harness.invoke(json!({})).await;
        timed.push(started.elapsed());
        assert!(
            matches!(outcome, Outcome::Error(_)),
            "{subject:?} rejects an empty object"
        );
    }
    Samples::new(timed)
}

#[track_caller]
fn expect_hit(subject: Subject, outcome: &Outcome, lines: &[String]) {
    let ok = matches!(outcome, Outcome::Response(response) if response["statusCode"] == 200);
    assert!(
        ok,
        "{subject:?} answered {outcome:?}; it printed:\n{}",
        lines.join("\n")
    );
}

fn sample_event() -> Value {
    let text = std::fs::read_to_string(SAMPLE_EVENT).unwrap_or_else(|err| panic!("cannot read {SAMPLE_EVENT}: {err}"));
    let event: Value = serde_json::from_str(&text).expect("the sample event is JSON");
    with_crm_id(&event, CUSTOMER)
}

fn with_crm_id(event: &Value, crm_id: &str) -> Value {
    let mut event = event.clone();
    event["body"] = json!({ "crmId": crm_id }).to_string().into();
    event
}

/// What both functions must agree on: status, headers and the parsed body.
fn comparable(response: &Value) -> Value {
    let body: Value = response["body"]
        .as_str()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    json!({
        "statusCode": response["statusCode"],
        "headers": response["headers"],
        "body": body,
    })
}

fn python_task_root() -> String {
    std::path::Path::new(PYTHON_BOOTSTRAP)
        .parent()
        .expect("the bootstrap's folder")
        .display()
        .to_string()
}

/// The folder of the interpreter `python3` runs (through a pyenv shim, say), so the reference
/// starts the interpreter itself, as Lambda does.
fn python_dir() -> String {
    let executable = processes::run_shell("python3 -c 'import sys; print(sys.executable)'");
    std::path::Path::new(executable.trim())
        .parent()
        .expect("the interpreter's folder")
        .display()
        .to_string()
}

/// What one DynamoDB GetItem costs outside the emulator: the broker's call, made with the same SDK from the
/// bench process through the same proxy, timed by the caller minus the proxy's time. That is the
/// SDK's own work (request building, SigV4 signing, response parsing), the loopback hops and the
/// proxy's HTTP handling, all of which the own time per hit includes.
mod sdk_overhead {
    use std::time::{Duration, Instant};

    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_dynamodb::config::Credentials;
    use aws_sdk_dynamodb::types::AttributeValue;
    use guest_token_broker::domain::{CrmId, Pseudonymiser};

    use crate::stats::Samples;
    use test_kit::aws_proxy::AwsProxy;

    const WARM_UP: usize = 20;

    pub async fn measure(proxy: &AwsProxy, table: &str, calls: usize) -> Samples {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
            .endpoint_url(proxy.url())
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let hash = Pseudonymiser::Sha256.hash(&CrmId::parse(crate::CUSTOMER).expect("a valid id"));
        let get = || {
            client
                .get_item()
                .table_name(table)
                .key("crm_id_hash", AttributeValue::S(hash.as_str().to_owned()))
                .consistent_read(true)
                .send()
        };
        for _ in 0..WARM_UP {
            get().await.expect("dynalite answers");
        }
        proxy.take();
        let mut overheads = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            let item = get().await.expect("dynalite answers").item;
            let elapsed = started.elapsed();
            assert!(item.is_some(), "the customer's session is stored");
            let at_proxy: Duration = proxy.take().iter().map(|record| record.elapsed).sum();
            overheads.push(elapsed.saturating_sub(at_proxy));
        }
        Samples::new(overheads)
    }
}

/// Order statistics of a set of durations.
mod stats {
    use std::time::Duration;

    #[derive(Debug, Clone)]
    pub struct Samples(Vec<Duration>);

    impl Samples {
        pub fn new(mut samples: Vec<Duration>) -> Self {
            assert!(!samples.is_empty(), "no samples");
            samples.sort();
            Self(samples)
        }

        /// Nearest-rank percentile, `p` in 0..=100.
        pub fn percentile(&self, p: f64) -> Duration {
            let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
            self.0[rank.clamp(1, self.0.len()) - 1]
        }

        pub fn median(&self) -> Duration {
            let n = self.0.len();
            if n % 2 == 1 {
                self.0[n / 2]
            } else {
                (self.0[n / 2 - 1] + self.0[n / 2]) / 2
            }
        }

        pub fn min(&self) -> Duration {
            self.0[0]
        }

        pub fn max(&self) -> Duration {
            self.0[self.0.len() - 1]
        }

        pub fn len(&self) -> usize {
            self.0.len()
        }
    }

    /// Milliseconds, with three decimals below 10 ms and one above.
    pub fn ms(duration: Duration) -> String {
        let ms = duration.as_secs_f64() * 1000.0;
        if ms < 10.0 {
            format!("{ms:.3} ms")
        } else {
            format!("{ms:.1} ms")
        }
    }
}

/// A stand-in Runtime API for timing init: it notes when the first bytes of the function's first
/// request arrive and checks that they are a `GET /runtime/invocation/next`. It never answers; the
/// bench kills the function once it has polled.
mod poll_clock {
    use std::time::{Duration, Instant};

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    const NEXT: &[u8] = b"GET /2018-06-01/runtime/invocation/next";

    pub struct PollClock {
        listener: TcpListener,
        /// Held open until the clock is dropped, so the function waits instead of failing.
        connection: Option<TcpStream>,
    }

    impl PollClock {
        pub async fn bind() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
            Self {
                listener,
                connection: None,
            }
        }

        pub fn runtime_api(&self) -> String {
            self.listener.local_addr().expect("a bound address").to_string()
        }

        /// When the first poll arrived; an error if the first request was something else or none
        /// came within `deadline`.
        pub async fn first_poll(mut self, deadline: Duration) -> Result<Instant, String> {
            let wait = async {
                let (mut stream, _) = self.listener.accept().await.map_err(|err| err.to_string())?;
                let mut head = vec![0u8; 256];
                let read = stream.read(&mut head).await.map_err(|err| err.to_string())?;
                let arrived = Instant::now();
                head.truncate(read);
                if !head.starts_with(NEXT) {
                    return Err(format!(
                        "the first request was not a poll: {}",
                        String::from_utf8_lossy(&head)
                    ));
                }
                self.connection = Some(stream);
                Ok(arrived)
            };
            tokio::time::timeout(deadline, wait)
                .await
                .unwrap_or_else(|_| Err(format!("no poll within {deadline:?}")))
        }
    }
}

/// What `/proc` tells about a function process.
mod proc_fs {
    use std::time::{Duration, Instant};

    /// The pid of the process whose environment holds `name=value`. `ChildProcess` does not expose
    /// its child's pid, so the bench gives each process a unique marker and looks it up.
    pub fn pid_with_env(name: &str, value: &str) -> u32 {
        let wanted = format!("{name}={value}").into_bytes();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(pid) = find(&wanted) {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "no process has {name}={value} in its environment"
            );
            std::thread::yield_now();
        }
    }

    fn find(wanted: &[u8]) -> Option<u32> {
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ.split(|&byte| byte == 0).any(|var| var == wanted).then_some(pid)
        })
    }

    /// Peak resident set size (`VmHWM`), in KiB.
    pub fn vm_hwm_kib(pid: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|err| panic!("cannot read /proc/{pid}/status: {err}"));
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
    }
}

/// Cold starts: total time, and the AWS requests made on the way with the emulators' share of the time.
mod cold {
    use std::time::Duration;

    use crate::stats::Samples;

    #[derive(Debug, Clone)]
    pub struct Run {
        pub elapsed: Duration,
        pub aws: Duration,
        pub operations: Vec<String>,
    }

    pub struct Summary {
        pub elapsed: Samples,
        pub aws: Samples,
        /// The AWS operations of one cold start (the first run's; every run's count is checked).
        pub operations: Vec<String>,
    }

    pub fn summary(runs: Vec<Run>) -> Summary {
        let mut operations = runs[0].operations.clone();
        operations.sort();
        for run in &runs {
            assert_eq!(
                run.operations.len(),
                operations.len(),
                "every cold start makes the same calls"
            );
        }
        Summary {
            elapsed: Samples::new(runs.iter().map(|run| run.elapsed).collect()),
            aws: Samples::new(runs.iter().map(|run| run.aws).collect()),
            operations,
        }
    }
}

/// Warm hits: latency at the harness, AWS requests and the emulators' time per hit, the broker's own time.
mod warm {
    use std::time::Duration;

    use crate::stats::Samples;
    use test_kit::aws_proxy::Record;

    pub struct Hit {
        latency: Duration,
        aws: Duration,
        operations: Vec<String>,
    }

    impl Hit {
        pub fn new(latency: Duration, records: Vec<Record>) -> Self {
            Self {
                latency,
                aws: records.iter().map(|record| record.elapsed).sum(),
                operations: records.into_iter().map(|record| record.operation).collect(),
            }
        }
    }

    pub struct Warm {
        pub latency: Samples,
        /// Per hit: the time the emulators took for its AWS requests.
        pub aws: Samples,
        /// Per hit: latency − AWS time − the median trivial invocation.
        pub own: Samples,
        pub trivial: Samples,
        pub aws_requests_per_hit: f64,
        /// Whether every hit made exactly one request, a `GetItem`.
        pub exactly_one_get_item: bool,
        /// The operations of one hit (the last), for the report.
        pub operations: Vec<String>,
        pub genesys_calls: usize,
        pub peak_rss_kib: u64,
    }

    impl Warm {
        pub fn new(hits: Vec<Hit>, trivial: Samples, genesys_calls: usize, peak_rss_kib: u64) -> Self {
            let round_trip = trivial.median();
            let requests: usize = hits.iter().map(|hit| hit.operations.len()).sum();
            Self {
                latency: Samples::new(hits.iter().map(|hit| hit.latency).collect()),
                aws: Samples::new(hits.iter().map(|hit| hit.aws).collect()),
                own: Samples::new(
                    hits.iter()
                        .map(|hit| hit.latency.saturating_sub(hit.aws).saturating_sub(round_trip))
                        .collect(),
                ),
                trivial,
                aws_requests_per_hit: requests as f64 / hits.len() as f64,
                exactly_one_get_item: hits.iter().all(|hit| hit.operations == [super::GET_ITEM]),
                operations: hits.last().map(|hit| hit.operations.clone()).unwrap_or_default(),
                genesys_calls,
                peak_rss_kib,
            }
        }
    }
}

/// The machine and toolchain the figures come from.
mod machine {
    use std::process::Command;

    pub struct Machine {
        pub cpu: String,
        pub cores: usize,
        pub kernel: String,
        pub rustc: String,
        pub python: String,
        pub date: String,
    }

    pub fn describe(python_dir: &str) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or("unknown".to_owned(), |(_, model)| model.trim().to_owned());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or("unknown".to_owned(), |release| release.trim().to_owned()),
            rustc: version_of("rustc", &["--version"]),
            python: version_of(&format!("{python_dir}/python3"), &["--version"]),
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    fn version_of(program: &str, args: &[&str]) -> String {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| {
                let text = [output.stdout, output.stderr].concat();
                String::from_utf8_lossy(&text).trim().to_owned()
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// The markdown report.
mod report {
    use std::fmt::Write;
    use std::time::Duration;

    use crate::cold::Summary;
    use crate::machine::Machine;
    use crate::stats::{Samples, ms};
    use crate::warm::Warm;

    const INIT_TARGET: Duration = Duration::from_millis(10);
    const COLD_TARGET: Duration = Duration::from_millis(15);
    const COLD_SPEED_UP: f64 = 20.0;
    const OWN_TIME_TARGET: Duration = Duration::from_micros(500);
    const RSS_TARGET_KIB: u64 = 32 * 1024;

    pub struct Results {
        pub init_unprimed: Samples,
        pub init_primed: Samples,
        pub init_python: Samples,
        pub cold_primed: Summary,
        pub cold_unprimed: Summary,
        pub cold_python: Summary,
        pub warm_broker: Warm,
        pub warm_python: Warm,
        pub sdk_overhead: Samples,
        pub machine: Machine,
        pub hits: usize,
        /// `BENCH_FUNCTION_ENV`, when set.
        pub function_env: String,
    }

    struct Row {
        metric: String,
        broker: String,
        python: String,
        ratio: String,
        target: &'static str,
        met: &'static str,
    }

    fn yes(met: bool) -> &'static str {
        if met { "yes" } else { "**no**" }
    }

    /// How many times the broker's figure goes into the reference's.
    fn ratio(python: Duration, broker: Duration) -> f64 {
        python.as_secs_f64() / broker.as_secs_f64().max(1e-9)
    }

    fn mib(kib: u64) -> String {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    }

    fn rows(r: &Results) -> Vec<Row> {
        let (wb, wp) = (&r.warm_broker, &r.warm_python);
        let cold = |metric: &str, broker: &Summary| {
            let speed_up = ratio(r.cold_python.elapsed.median(), broker.elapsed.median());
            Row {
                metric: metric.to_owned(),
                broker: ms(broker.elapsed.median()),
                python: ms(r.cold_python.elapsed.median()),
                ratio: format!("{speed_up:.1}×"),
                target: "≤ 15 ms and ≥ 20× faster",
                met: yes(broker.elapsed.median() <= COLD_TARGET && speed_up >= COLD_SPEED_UP),
            }
        };
        vec![
            Row {
                metric: "Init, process start → first poll, `PRIME_AT_INIT=false` (median)".into(),
                broker: ms(r.init_unprimed.median()),
                python: ms(r.init_python.median()),
                ratio: format!("{:.1}×", ratio(r.init_python.median(), r.init_unprimed.median())),
                target: "≤ 10 ms",
                met: yes(r.init_unprimed.median() <= INIT_TARGET),
            },
            Row {
                metric: "Init, primed (default) (median)".into(),
                broker: ms(r.init_primed.median()),
                python: ms(r.init_python.median()),
                ratio: format!("{:.1}×", ratio(r.init_python.median(), r.init_primed.median())),
                target: "—",
                met: "—",
            },
            cold(
                "Cold start, process start → answer, primed (default) (median)",
                &r.cold_primed,
            ),
            cold("Cold start, `PRIME_AT_INIT=false` (median)", &r.cold_unprimed),
            Row {
                metric: "Warm hit latency, queued → answer at the harness, p50".into(),
                broker: ms(wb.latency.median()),
                python: ms(wp.latency.median()),
                ratio: format!("{:.1}×", ratio(wp.latency.median(), wb.latency.median())),
                target: "—",
                met: "—",
            },
            Row {
                metric: "Warm hit latency, p99".into(),
                broker: ms(wb.latency.percentile(99.0)),
                python: ms(wp.latency.percentile(99.0)),
                ratio: format!(
                    "{:.1}×",
                    ratio(wp.latency.percentile(99.0), wb.latency.percentile(99.0))
                ),
                target: "—",
                met: "—",
            },
            Row {
                metric: "AWS requests per warm hit".into(),
                broker: format!("{:.2}", wb.aws_requests_per_hit),
                python: format!("{:.2}", wp.aws_requests_per_hit),
                ratio: "—".into(),
                target: "exactly 1 (a GetItem)",
                met: yes(wb.exactly_one_get_item),
            },
            Row {
                metric: format!("Genesys calls in {} warm hits", r.hits),
                broker: wb.genesys_calls.to_string(),
                python: wp.genesys_calls.to_string(),
                ratio: "—".into(),
                target: "0",
                met: yes(wb.genesys_calls == 0),
            },
            Row {
                metric: "DynamoDB time per hit, at the proxy (median)".into(),
                broker: ms(wb.aws.median()),
                python: ms(wp.aws.median()),
                ratio: "—".into(),
                target: "—",
                met: "—",
            },
            Row {
                metric: "Round trip of a trivial invocation (median, subtracted below)".into(),
                broker: ms(wb.trivial.median()),
                python: ms(wp.trivial.median()),
                ratio: "—".into(),
                target: "—",
                met: "—",
            },
            Row {
                metric: "Own time per hit = latency − DynamoDB time − trivial round trip (median)".into(),
                broker: ms(wb.own.median()),
                python: ms(wp.own.median()),
                ratio: format!("{:.1}×", ratio(wp.own.median(), wb.own.median())),
                target: "< 0.5 ms",
                met: yes(wb.own.median() < OWN_TIME_TARGET),
            },
            Row {
                metric: "… of which one GetItem's SDK and loopback overhead, outside the emulator (median)".into(),
                broker: ms(r.sdk_overhead.median()),
                python: "—".into(),
                ratio: "—".into(),
                target: "—",
                met: "—",
            },
            Row {
                metric: format!("Peak RSS (VmHWM) after {} warm hits", r.hits),
                broker: mib(wb.peak_rss_kib),
                python: mib(wp.peak_rss_kib),
                ratio: format!("{:.1}×", wp.peak_rss_kib as f64 / wb.peak_rss_kib.max(1) as f64),
                target: "< 32 MiB",
                met: yes(wb.peak_rss_kib < RSS_TARGET_KIB),
            },
        ]
    }

    fn distribution(name: &str, samples: &Samples) -> String {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            samples.len(),
            ms(samples.min()),
            ms(samples.median()),
            ms(samples.percentile(90.0)),
            ms(samples.percentile(99.0)),
            ms(samples.max()),
        )
    }

    pub fn markdown(r: &Results) -> String {
        let m = &r.machine;
        let mut out = String::new();
        let _ = writeln!(out, "# Runtime benchmark: guest-token-broker vs the Python reference\n");
        let _ = writeln!(
            out,
            "{} · {} ({} cores) · Linux {} · {} · {}\n",
            m.date, m.cpu, m.cores, m.kernel, m.rustc, m.python
        );
        if !r.function_env.is_empty() {
            let _ = writeln!(out, "**Experiment**: both functions ran with `{}`.\n", r.function_env);
        }
        out.push_str("| metric | guest-token-broker | Python reference | ratio | target | met? |\n");
        out.push_str("|---|---:|---:|---:|---|---|\n");
        for row in rows(r) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.metric, row.broker, row.python, row.ratio, row.target, row.met
            );
        }
        out.push_str("\nRatios are Python reference ÷ guest-token-broker.\n\n## Distributions\n\n");
        out.push_str("| samples | n | min | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for (name, samples) in [
            ("init, broker, `PRIME_AT_INIT=false`", &r.init_unprimed),
            ("init, broker, primed", &r.init_primed),
            ("init, Python reference", &r.init_python),
            ("cold start, broker, primed", &r.cold_primed.elapsed),
            ("cold start, broker, `PRIME_AT_INIT=false`", &r.cold_unprimed.elapsed),
            ("cold start, Python reference", &r.cold_python.elapsed),
            ("AWS time in a cold start, broker, primed", &r.cold_primed.aws),
            (
                "AWS time in a cold start, broker, `PRIME_AT_INIT=false`",
                &r.cold_unprimed.aws,
            ),
            ("AWS time in a cold start, Python reference", &r.cold_python.aws),
            ("warm hit latency, broker", &r.warm_broker.latency),
            ("warm hit latency, Python reference", &r.warm_python.latency),
            ("DynamoDB time per hit, broker", &r.warm_broker.aws),
            ("DynamoDB time per hit, Python reference", &r.warm_python.aws),
            ("trivial invocation, broker", &r.warm_broker.trivial),
            ("trivial invocation, Python reference", &r.warm_python.trivial),
            ("own time per hit, broker", &r.warm_broker.own),
            ("own time per hit, Python reference", &r.warm_python.own),
            (
                "GetItem overhead outside the emulator, SDK from the bench process",
                &r.sdk_overhead,
            ),
        ] {
            out.push_str(&distribution(name, samples));
        }
        let _ = writeln!(
            out,
            "\nAWS requests of one cold start: primed {:?}; `PRIME_AT_INIT=false` {:?}; Python reference {:?}. \
             Of one warm hit: broker {:?}; Python reference {:?}.",
            r.cold_primed.operations,
            r.cold_unprimed.operations,
            r.cold_python.operations,
            r.warm_broker.operations,
            r.warm_python.operations,
        );
        out.push_str(METHOD);
        out
    }

    const METHOD: &str = "
## How it is measured

- Both functions run as Lambda runs them: a fresh process with only Lambda's variables, polling a
  Runtime API on loopback; the broker is the release binary (LTO, one codegen unit, stripped), the
  reference is `bench/python_reference/` (boto3 and requests, clients created at import) under its
  own urllib Runtime API loop. AWS is dynalite (DynamoDB) and moto (Secrets Manager) behind a timing proxy, Genesys is the sandbox; all
  plain HTTP on loopback, so no TLS handshakes are in any figure.
- Init: process start → the first `GET /runtime/invocation/next` arriving at a listener.
  Primed init also reads the credentials secret and makes one GetItem.
- Cold start: process start → the answer, at the harness, to `POST /guest-tokens` (the sample HTTP
  API event) for a customer whose stored token has more than the sliding window left.
- Warm hits: one instance, after its cold start, answers the same request in sequence; latency is
  from queuing the invocation to receiving the answer at the harness. DynamoDB time is measured at
  the proxy, from reading the function's request to reading the emulator's answer. The trivial invocation
  is an empty JSON object, which both functions answer with an invocation error without any I/O; its
  median (harness queue, the `/next` long poll, the runtime loop, the error post) is what is
  subtracted, with the hit's own DynamoDB time, to give the own time.
- The GetItem overhead is the same SDK call made from the bench process through the same proxy:
  the caller's time minus the proxy's (SDK work, signing, loopback hops, the proxy's HTTP handling).
- Peak RSS is `VmHWM` from `/proc/<pid>/status` right after the warm hits.
- The Python reference reads the session twice per request, as the utility does (`ensure_guest`,
  then `get_guest_token`), and reads the secret only when it calls Genesys.
";
}
