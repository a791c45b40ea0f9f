//! The web-messaging bench: a first token for a new customer in `GENESYS_UPSTREAM_MODE=genesys-web-messaging`
//! (External Contacts enrich, then `oauthcodegrantjwtexchange`, during which the Genesys sandbox
//! calls the OIDC provider function back: discovery, `POST /oidc/token`, JWKS), beside the same
//! first token in the default owner-contract mode (OAuth, create guest, guest token).
//!
//! Each pair of instances is fresh: the guest function polls a Runtime API harness of its own, and
//! in web messaging the `oidc-provider` binary polls another behind a [`CallbackFront`], the issuer
//! the sandbox is told about. Both run under the same conditions as the Lambda-physics table: AWS
//! (dynalite, moto, KMS in moto) over TLS through the world's terminator and proxy, init at full
//! CPU, then, from each process's first poll, cgroups of its own with the 128 MB CPU share and
//! memory limit. The first invocation of a pair is the cold figure; the pair then serves more new
//! customers, the warm figures.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use genesys_sandbox::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Sandbox,
    SandboxConfig,
};
use serde_json::{Value, json};
use test_kit::aws::{create_secret, create_signing_key, unique};
use test_kit::processes::ChildProcess;
use test_kit::runtime_harness::{Backends, Outcome, RuntimeHarness, lambda_env};

use crate::callback_front::{Callback, CallbackFront};
use crate::cgroup::{Cgroup, MemorySize, SizeGroups};
use crate::web_codes::CODE_SAMPLE_EVENT;
use crate::world::{Conditions, World, read_event, sample_event, with_crm_id};
use crate::{INIT_DEADLINE, progress};

pub(crate) const GUEST_BINARY: &str = env!("CARGO_BIN_EXE_guest-token-broker");
const OIDC_BINARY: &str = env!("CARGO_BIN_EXE_oidc-provider");
/// The redirect URI the guest function binds its authorization codes to.
const REDIRECT_URI: &str = "https://broker.example.com/oidc/callback";
/// The memory size both functions get after init, as in the Lambda-physics table's first size.
const SIZE: MemorySize = MemorySize(128);
/// The routes the sandbox calls back during one exchange.
const CALLBACKS_PER_EXCHANGE: usize = 3;

/// The upstream mode of the guest function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamMode {
    /// The default: OAuth client credentials, create guest, guest token.
    OwnerContract,
    /// Enrich, then the code-grant JWT exchange with the callback to the OIDC provider.
    WebMessaging,
}

/// One first token: the guest invocation's duration (handed out → answer) and the provider's
/// invocations the sandbox made meanwhile (none in the owner contract).
#[derive(Debug, Clone)]
pub struct FirstToken {
    pub invocation: Duration,
    pub callbacks: Vec<Callback>,
}

/// A fresh pair's first token (cold) and the next ones (warm), all for new customers.
pub struct PairRun {
    pub cold: FirstToken,
    pub warm: Vec<FirstToken>,
    /// CFS periods in which either function was throttled.
    pub throttled_periods: u64,
}

pub struct WebWorld {
    sandbox: Sandbox,
    pub(crate) conditions: Conditions,
    /// The conditions the functions run under, for the report.
    pub conditions_described: String,
    /// Table, secrets, Genesys and AWS endpoint variables both modes share.
    shared_env: Vec<(&'static str, String)>,
    /// The provider's own variables, but its issuer (each pair has a front of its own).
    oidc_env: Vec<(&'static str, String)>,
    event: Value,
    /// The REST API's `POST /auth-codes` sample event, read once ([`crate::web_codes`]).
    pub(crate) code_event: Value,
    customers: Cell<usize>,
}

impl WebWorld {
    /// A sandbox, sessions table and secrets of its own, and a KMS signing key, over the world's
    /// proxy (and TLS terminator when the Lambda-physics conditions can be had here).
    pub async fn start(world: &World) -> Self {
        progress("web messaging: a sandbox, a table, secrets and a KMS key for the two functions");
        let (conditions, conditions_described) = lambda_physics_or_plain(world);
        let config = SandboxConfig::default();
        let clients: Vec<(&str, &str)> = config.clients.iter().map(|(i, s)| (i.as_str(), s.as_str())).collect();
        let sandbox = Sandbox::start(config.clone()).await.expect("the sandbox starts");
        let mut shared_env = Backends::create(&sandbox.base_url(), &clients).await.env;
        // KMS through the same proxy (and terminator) too, so the provider's signing is timed as its other calls.
        shared_env.extend(world.aws_env(conditions.tls));
        let oidc_secret = unique("oidc-client");
        let client = json!({"client_id": DEFAULT_OIDC_CLIENT_ID, "client_secret": DEFAULT_OIDC_CLIENT_SECRET});
        create_secret(&oidc_secret, &client.to_string()).await;
        let oidc_env = vec![
            ("OIDC_CLIENT_SECRET_ID", oidc_secret),
            ("OIDC_SIGNING_KEY_ID", create_signing_key().await),
        ];
        Self {
            sandbox,
            conditions,
            conditions_described,
            shared_env,
            oidc_env,
            event: sample_event(),
            code_event: read_event(CODE_SAMPLE_EVENT),
            customers: Cell::new(0),
        }
    }

    /// A fresh pair (the guest function alone in the owner contract): its first token, then
    /// `warm_tokens` more, each for a new customer.
    pub async fn pair_run(&self, mode: UpstreamMode, warm_tokens: usize) -> PairRun {
        let guest = Function::start(&self.conditions).await;
        let provider = match mode {
            UpstreamMode::OwnerContract => None,
            UpstreamMode::WebMessaging => Some(self.start_provider().await),
        };
        let mut guest = guest.spawn(GUEST_BINARY, &self.guest_env(mode)).await;
        let mut provider = match provider {
            Some((function, front, env)) => Some((function.spawn(OIDC_BINARY, &env).await, front)),
            None => None,
        };
        let mut tokens = Vec::with_capacity(warm_tokens + 1);
        for _ in 0..=warm_tokens {
            tokens.push(self.first_token(mode, &mut guest, provider.as_mut()).await);
        }
        let mut throttled_periods = guest.stop(&self.conditions);
        if let Some((provider, _front)) = provider {
            throttled_periods += provider.stop(&self.conditions);
        }
        let cold = tokens.remove(0);
        PairRun {
            cold,
            warm: tokens,
            throttled_periods,
        }
    }

    /// The guest function's variables in `mode`.
    pub(crate) fn guest_env(&self, mode: UpstreamMode) -> Vec<(&'static str, String)> {
        let mut guest_env = self.shared_env.clone();
        if mode == UpstreamMode::WebMessaging {
            guest_env.extend([
                ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging".to_owned()),
                ("GENESYS_DEPLOYMENT_ID", DEFAULT_DEPLOYMENT_ID.to_owned()),
                ("GENESYS_EXTERNAL_SOURCE_ID", DEFAULT_EXTERNAL_SOURCE_ID.to_owned()),
                ("OIDC_REDIRECT_URI", REDIRECT_URI.to_owned()),
            ]);
        }
        guest_env
    }

    /// A new customer's number (customers are never reused across figures).
    pub(crate) fn new_customer(&self) -> usize {
        let number = self.customers.get() + 1;
        self.customers.set(number);
        number
    }

    /// The provider's harness, its front (the issuer the sandbox now calls back) and its variables.
    async fn start_provider(&self) -> (Function, CallbackFront, Vec<(&'static str, String)>) {
        let provider = Function::start(&self.conditions).await;
        let front = CallbackFront::start(Arc::clone(&provider.harness)).await;
        self.sandbox.set_oidc_issuer(&front.base_url());
        let mut env = self.shared_env.clone();
        env.extend(self.oidc_env.iter().cloned());
        env.push(("OIDC_ISSUER", front.base_url()));
        (provider, front, env)
    }

    async fn first_token(
        &self,
        mode: UpstreamMode,
        guest: &mut Running,
        provider: Option<&mut (Running, CallbackFront)>,
    ) -> FirstToken {
        let number = self.new_customer();
        let event = with_crm_id(&self.event, &format!("CRM-first-token-{number}"));
        let outcome = guest.harness.invoke(event).await;
        let answered = Instant::now();
        let handed_out = guest.harness.last_handed_out().expect("the invocation was handed out");
        let callbacks = provider.as_ref().map(|(_, front)| front.take()).unwrap_or_default();
        let created = matches!(&outcome, Outcome::Response(response) if response["statusCode"] == 200);
        let called_back = mode == UpstreamMode::OwnerContract
            || (callbacks.len() == CALLBACKS_PER_EXCHANGE && callbacks.iter().all(|callback| callback.answered));
        if !(created && called_back) {
            let mut lines = guest.process.lines().to_vec();
            if let Some((provider, _)) = provider {
                lines.extend(provider.process.lines().iter().cloned());
            }
            panic!(
                "{mode:?}: the first token came to {outcome:?} with callbacks {callbacks:?}; the functions printed:\n{}",
                lines.join("\n")
            );
        }
        FirstToken {
            invocation: answered - handed_out,
            callbacks,
        }
    }
}

/// A function's harness (with the first-poll hook that moves it into its cgroups), before its
/// process starts.
pub(crate) struct Function {
    harness: Arc<RuntimeHarness>,
    pid: Arc<OnceLock<u32>>,
    cgroup: Option<Arc<Cgroup>>,
}

impl Function {
    pub(crate) async fn start(conditions: &Conditions) -> Self {
        let (pid, cpu_at_first_poll) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
        let (harness, cgroup) = conditions.harness(&pid, &cpu_at_first_poll).await;
        Self {
            harness: Arc::new(harness),
            pid,
            cgroup,
        }
    }

    /// Starts `binary` against the harness and waits for the end of its init (its first poll,
    /// once the hook has moved it into its cgroups).
    pub(crate) async fn spawn(self, binary: &str, env: &[(&'static str, String)]) -> Running {
        let mut vars = lambda_env(&self.harness.runtime_api());
        vars.extend(env.iter().cloned());
        let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let process = ChildProcess::spawn_isolated(binary, &vars);
        // Set before the bench's runtime gets to serve the first poll (the hook reads it).
        let _ = self.pid.set(process.pid());
        let deadline = Instant::now() + INIT_DEADLINE;
        while self.harness.first_poll().is_none() {
            assert!(
                Instant::now() < deadline,
                "{binary} never polled; it printed:\n{}",
                process.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Running {
            harness: self.harness,
            cgroup: self.cgroup,
            process,
        }
    }
}

/// A function process polling its harness.
pub(crate) struct Running {
    pub(crate) harness: Arc<RuntimeHarness>,
    cgroup: Option<Arc<Cgroup>>,
    pub(crate) process: ChildProcess,
}

impl Running {
    /// Kills the process, then adds its cgroup's throttling to the size's; its throttled periods.
    pub(crate) fn stop(mut self, conditions: &Conditions) -> u64 {
        self.process.kill();
        conditions.account(self.cgroup.take())
    }
}

/// The Lambda-physics conditions (AWS over TLS, the 128 MB share after init) when this machine
/// allows them, plain loopback at full CPU otherwise; and how the report names them.
fn lambda_physics_or_plain(world: &World) -> (Conditions, String) {
    let groups = match &world.tls_problem {
        Some(problem) => Err(format!("no certificates for the TLS terminator: {problem}")),
        None => SizeGroups::new(SIZE).map_err(|problem| format!("no cgroups (run as root, cgroup v1): {problem}")),
    };
    match groups {
        Ok(groups) => (
            Conditions::tls(Some(Arc::new(groups))),
            format!(
                "Lambda physics: AWS over TLS, init at full CPU, then {} MB ({:.1} % of a vCPU) for both functions",
                SIZE.0,
                SIZE.cpu_percent()
            ),
        ),
        Err(problem) => {
            progress(&format!("web messaging runs on plain loopback at full CPU: {problem}"));
            (
                Conditions::plain(),
                format!("plain loopback at full CPU (no Lambda physics here: {problem})"),
            )
        }
    }
}
