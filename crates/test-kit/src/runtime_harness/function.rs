//! The function's side of the harness: the compiled binary as a process polling a
//! [`RuntimeHarness`], with the variables Lambda gives every function and nothing of the test's
//! own, and the backends (a sessions table and a credentials secret on the AWS emulators) it is
//! pointed at.

use std::process::ExitStatus;

use super::{FUNCTION_NAME, RuntimeHarness};
use crate::aws::{aws_env, create_secret, create_sessions_table, credentials_document, unique};
use crate::processes::ChildProcess;

/// The variables Lambda gives every function, for a Runtime API at `runtime_api`.
pub fn lambda_env(runtime_api: &str) -> Vec<(&'static str, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/guest-token-broker"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2025/11/24/[$LATEST]0123456789abcdef0123456789abcdef",
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}

/// One instance of the compiled binary polling a harness, with the environment Lambda gives it
/// and nothing of the test's own. Killed when dropped.
pub struct LambdaFunction {
    process: ChildProcess,
}

impl LambdaFunction {
    /// Starts `binary` against `harness`; `env` comes on top of the Lambda variables (and wins).
    pub fn start(binary: &str, harness: &RuntimeHarness, env: &[(&str, String)]) -> Self {
        let mut vars = lambda_env(&harness.runtime_api());
        vars.extend(env.iter().map(|(name, value)| (*name, value.clone())));
        let vars: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
        Self {
            process: ChildProcess::spawn_isolated(binary, &vars),
        }
    }

    /// Waits for the process to exit (it does after an init error) and reads all it printed.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        self.process.wait_for_exit()
    }

    /// Kills the process and returns every line it printed, stdout and stderr.
    pub fn stop(&mut self) -> Vec<String> {
        self.process.kill();
        self.process.lines().to_vec()
    }

    /// The lines read so far; everything it printed once `wait_for_exit` or `stop` returned.
    pub fn lines(&self) -> &[String] {
        self.process.lines()
    }

    /// Every line the running process has printed by now, read without waiting (a test polls it,
    /// with a deadline, for what an instance logs while it serves).
    pub fn printed_so_far(&mut self) -> &[String] {
        self.process.printed_so_far()
    }
}

/// A fresh sessions table and credentials secret on the AWS emulators, and the environment pointing a function
/// at them (through the standard AWS variables) and at Genesys on `genesys_url`.
pub struct Backends {
    pub table: String,
    pub env: Vec<(&'static str, String)>,
}

impl Backends {
    pub async fn create(genesys_url: &str, clients: &[(&str, &str)]) -> Self {
        let table = unique("sessions");
        create_sessions_table(&table).await;
        let secret = unique("genesys-credentials");
        create_secret(&secret, &credentials_document(clients)).await;
        let mut env = aws_env();
        env.extend([
            ("SESSIONS_TABLE", table.clone()),
            ("GENESYS_CREDENTIALS_SECRET_ID", secret),
            ("GENESYS_BASE_URL", genesys_url.to_owned()),
            ("GENESYS_LOGIN_URL", genesys_url.to_owned()),
        ]);
        Self { table, env }
    }
}
