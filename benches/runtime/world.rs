//! The world every measurement shares (dynalite, moto and the timing proxy, the Genesys sandbox,
//! the environment a function gets), the function processes it starts and the measurements it
//! makes with them (init, cold start, warm hits). What runs as the function and under what
//! conditions is in `world/function.rs`; the sample event and what its answer must be in
//! `world/events.rs`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use genesys_sandbox::{Endpoint, Sandbox, SandboxConfig};
use serde_json::Value;
use test_kit::aws_proxy::AwsProxy;
use test_kit::processes::{self, ChildProcess};
use test_kit::runtime_harness::lambda_env;
use test_kit::runtime_harness::{Backends, Outcome, RuntimeHarness};
use test_kit::tls_terminator::{RunCertificates, TlsTerminator};

use crate::*;

mod events;
mod function;

pub(crate) use events::{comparable, expect_hit, read_event, sample_event, time_trivial_invocations, with_crm_id};
pub(crate) use function::{Conditions, InitRun, Subject, python_dir, python_task_root};

/// AWS over TLS: the run's certificate authority and the terminator in front of the proxy.
struct Tls {
    terminator: TlsTerminator,
    _certificates: RunCertificates,
}

/// A function process; killed when dropped.
pub(crate) struct Instance {
    process: ChildProcess,
}

impl Instance {
    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Interrupts it (SIGINT, which a profiler wrapping the function answers by writing its
    /// report) and waits for it to exit.
    pub(crate) fn interrupt(mut self) -> Vec<String> {
        let pid = self.pid().to_string();
        processes::run_shell(&format!("kill -INT {pid}"));
        self.process.wait_for_exit();
        self.process.lines().to_vec()
    }

    pub(crate) fn stop(mut self) -> Vec<String> {
        self.process.kill();
        self.process.lines().to_vec()
    }
}

/// The servers every measurement shares, and the environment a function gets.
pub(crate) struct World {
    pub(crate) proxy: AwsProxy,
    pub(crate) table: String,
    sandbox: Sandbox,
    /// Table, secret and Genesys variables, as `Backends` sets them (AWS endpoints are per
    /// [`Conditions`]).
    env: Vec<(&'static str, String)>,
    /// `None` when certificates could not be made (the reason is in `tls_problem`).
    tls: Option<Tls>,
    pub(crate) tls_problem: Option<String>,
    event: Value,
    /// The folder of the real Python interpreter (not a pyenv shim), first on the reference's PATH.
    pub(crate) python_dir: String,
}

impl World {
    pub(crate) async fn start(function_env: &[(&'static str, String)]) -> Self {
        progress("starting dynalite, moto, the timing proxy and the Genesys sandbox");
        let proxy = AwsProxy::start().await;
        let config = SandboxConfig::default();
        let clients: Vec<(&str, &str)> = config.clients.iter().map(|(i, s)| (i.as_str(), s.as_str())).collect();
        let sandbox = Sandbox::start(config.clone()).await.expect("the sandbox starts");
        let backends = Backends::create(&sandbox.base_url(), &clients).await;
        let table = backends.table;
        let mut env = backends.env;
        let (tls, tls_problem) = match RunCertificates::generate() {
            Ok(certificates) => {
                let terminator = TlsTerminator::start(proxy.addr(), &certificates).await;
                let tls = Tls {
                    terminator,
                    _certificates: certificates,
                };
                (Some(tls), None)
            }
            Err(problem) => (None, Some(problem)),
        };
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
            tls,
            tls_problem,
            event: sample_event(),
            python_dir: python_dir(),
        }
    }

    /// The AWS endpoint variables: the terminator's URL and the trust of the run's CA over TLS,
    /// the proxy's plain URL otherwise.
    pub(crate) fn aws_env(&self, tls: bool) -> Vec<(&'static str, String)> {
        match (&self.tls, tls) {
            (Some(tls), true) => {
                // The proxy's variables (DynamoDB, Secrets Manager, KMS), at the terminator in front of it.
                let url = tls.terminator.url();
                let mut env: Vec<_> = self
                    .proxy
                    .env()
                    .into_iter()
                    .map(|(name, _)| (name, url.clone()))
                    .collect();
                env.extend(tls.terminator.trust_env());
                env
            }
            (None, true) => panic!("TLS was asked for, but the run has no certificates"),
            (_, false) => self.proxy.env(),
        }
    }

    pub(crate) fn start_instance(&self, subject: Subject, runtime_api: &str, conditions: &Conditions) -> Instance {
        let mut vars = lambda_env(runtime_api);
        vars.extend(self.env.iter().map(|(name, value)| (*name, value.clone())));
        vars.extend(self.aws_env(conditions.tls));
        match subject {
            Subject::Broker { primed } => vars.push(("PRIME_AT_INIT", primed.to_string())),
            Subject::Python => vars.extend([
                ("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", self.python_dir)),
                ("LAMBDA_TASK_ROOT", python_task_root()),
                ("_HANDLER", "guest_token.handler".to_owned()),
            ]),
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let program = match &conditions.wrapper {
            Some(wrapper) => wrapper.display().to_string(),
            None => subject.program().to_owned(),
        };
        let process = ChildProcess::spawn_isolated(&program, &vars);
        Instance { process }
    }

    pub(crate) fn genesys_calls(&self) -> usize {
        [Endpoint::OAuthToken, Endpoint::CreateGuest, Endpoint::GuestToken]
            .into_iter()
            .map(|endpoint| self.sandbox.calls(endpoint))
            .sum()
    }

    /// Creates the customer's guest and token through the broker, then checks that the reference
    /// gives the same answer for it and creates a guest for a new customer.
    pub(crate) async fn seed_session_and_check_the_reference(&self) {
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
    pub(crate) async fn invoke_once(&self, subject: Subject, event: &Value) -> Value {
        let harness = RuntimeHarness::start().await;
        let instance = self.start_instance(subject, &harness.runtime_api(), &Conditions::plain());
        let outcome = harness.invoke(event.clone()).await;
        let lines = instance.stop();
        match outcome {
            Outcome::Response(response) if response["statusCode"] == 200 => response,
            other => panic!("{subject:?} answered {other:?}; it printed:\n{}", lines.join("\n")),
        }
    }

    /// Process start → first `GET /runtime/invocation/next` (init runs at full CPU, as in Lambda),
    /// and the emulators' time for the AWS requests made meanwhile.
    pub(crate) async fn time_init(&self, subject: Subject, conditions: &Conditions) -> InitRun {
        let clock = poll_clock::PollClock::bind().await;
        self.proxy.take();
        let started = Instant::now();
        let instance = self.start_instance(subject, &clock.runtime_api(), conditions);
        let polled = clock.first_poll(INIT_DEADLINE).await;
        let lines = match conditions.wrapper {
            Some(_) => instance.interrupt(),
            None => instance.stop(),
        };
        let aws = self.proxy.take().iter().map(|record| record.elapsed).sum();
        match polled {
            Ok(at) => InitRun {
                elapsed: at - started,
                aws,
            },
            Err(problem) => panic!("{subject:?}: {problem}; it printed:\n{}", lines.join("\n")),
        }
    }

    /// Process start → the answer to a token request whose stored token is still good; and the
    /// invocation's own share, from handing it out to the answer.
    pub(crate) async fn time_cold_start(&self, subject: Subject, conditions: &Conditions) -> cold::Run {
        let (pid, cpu_at_first_poll) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
        let (harness, cgroup) = conditions.harness(&pid, &cpu_at_first_poll).await;
        self.proxy.take();
        let started = Instant::now();
        let instance = self.start_instance(subject, &harness.runtime_api(), conditions);
        let _ = pid.set(instance.pid());
        let outcome = harness.invoke(self.event.clone()).await;
        let answered = Instant::now();
        let cpu = proc_fs::cpu_time(instance.pid());
        let lines = instance.stop();
        let throttled = conditions.account(cgroup);
        let cpu_at_first_poll = cpu_at_first_poll.get().copied().unwrap_or_default();
        expect_hit(subject, &outcome, &lines);
        let handed_out = harness.last_handed_out().expect("the invocation was handed out");
        // Moving the process into the cgroup holds its first poll up for a while, which Lambda
        // does not: the function waits, idle, meanwhile, so that wait is not its time.
        let (first_poll, moving) = harness.first_poll().expect("the function polled");
        let aws = self.proxy.take();
        cold::Run {
            elapsed: (answered - started).saturating_sub(moving),
            moving,
            init: first_poll - started,
            invocation: answered - handed_out,
            invocation_cpu: cpu.saturating_sub(cpu_at_first_poll),
            throttled,
            aws: aws.iter().map(|record| record.elapsed).sum(),
            operations: aws.into_iter().map(|record| record.operation).collect(),
        }
    }

    /// `hits` sequential hits on one instance after its cold start, then its peak RSS, then the
    /// trivial invocations that time the round trip every invocation costs.
    pub(crate) async fn warm(&self, subject: Subject, hits: usize, conditions: &Conditions) -> warm::Warm {
        let (pid, cpu_at_first_poll) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
        let (harness, cgroup) = conditions.harness(&pid, &cpu_at_first_poll).await;
        let instance = self.start_instance(subject, &harness.runtime_api(), conditions);
        let _ = pid.set(instance.pid());
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
        conditions.account(cgroup);
        warm::Warm::new(hits, trivial, genesys_calls, peak_rss_kib)
    }

    /// Each hit's latency (queued → answer at the harness) and the AWS requests it made.
    pub(crate) async fn time_hits(&self, harness: &RuntimeHarness, subject: Subject, hits: usize) -> Vec<warm::Hit> {
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
