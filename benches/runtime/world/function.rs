//! What runs as the Lambda function (the broker, primed or not, or the Python reference, with the
//! folders the reference needs) and the conditions a process runs under (AWS over TLS or not, a
//! memory size's cgroups, a profiler), with the harness that moves it into its cgroups.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use test_kit::processes;
use test_kit::runtime_harness::RuntimeHarness;

use crate::cgroup::{Cgroup, SizeGroups};
use crate::{PYTHON_BOOTSTRAP, proc_fs};

/// What a function process runs under.
#[derive(Clone, Default)]
pub(crate) struct Conditions {
    /// AWS through the TLS terminator (as in Lambda), or in plain HTTP to the proxy.
    pub(crate) tls: bool,
    /// The memory size whose CPU share and memory limit each instance gets from its first poll
    /// on, in cgroups of its own; full CPU and no limit when `None`.
    pub(crate) size: Option<Arc<SizeGroups>>,
    /// A script that starts the function under a profiler (see [`crate::profile`]).
    pub(crate) wrapper: Option<std::path::PathBuf>,
}

impl Conditions {
    pub(crate) fn plain() -> Self {
        Self::default()
    }

    pub(crate) fn tls(size: Option<Arc<SizeGroups>>) -> Self {
        Self {
            tls: true,
            size,
            wrapper: None,
        }
    }

    /// A harness for one instance, and its cgroups if the conditions have a memory size: the
    /// harness moves the process whose id `pid` will hold into them when it first polls, the end
    /// of init.
    /// The process's CPU time at its first poll is noted in `cpu_at_first_poll`.
    pub(crate) async fn harness(
        &self,
        pid: &Arc<OnceLock<u32>>,
        cpu_at_first_poll: &Arc<OnceLock<Duration>>,
    ) -> (RuntimeHarness, Option<Arc<Cgroup>>) {
        let cgroup = self.size.as_ref().map(|size| Arc::new(size.fresh()));
        let (entered, pid, cpu) = (cgroup.clone(), Arc::clone(pid), Arc::clone(cpu_at_first_poll));
        let harness = RuntimeHarness::start_with_first_poll_hook(move || {
            // Set right after the spawn, before the bench's runtime gets to serve the poll.
            let pid = *pid.get().expect("the process id is known before it polls");
            let _ = cpu.set(proc_fs::cpu_time(pid));
            if let Some(cgroup) = entered {
                cgroup.enter(pid);
            }
        })
        .await;
        (harness, cgroup)
    }

    /// Adds an instance's throttling to its size's, once the instance has stopped; the periods
    /// it was throttled in.
    pub(crate) fn account(&self, cgroup: Option<Arc<Cgroup>>) -> u64 {
        match (&self.size, cgroup) {
            (Some(size), Some(cgroup)) => size.account(&cgroup),
            _ => 0,
        }
    }
}

/// One init: how long it took, and the emulators' share of it (AWS requests made during init).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InitRun {
    pub(crate) elapsed: Duration,
    pub(crate) aws: Duration,
}

/// What runs as the Lambda function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    /// The release binary; `primed` is its `PRIME_AT_INIT`.
    Broker { primed: bool },
    /// `bench/python_reference/bootstrap` with `guest_token.handler`.
    Python,
}

impl Subject {
    pub(crate) fn program(self) -> &'static str {
        match self {
            Self::Broker { .. } => env!("CARGO_BIN_EXE_guest-token-broker"),
            Self::Python => PYTHON_BOOTSTRAP,
        }
    }
}

pub(crate) fn python_task_root() -> String {
    std::path::Path::new(PYTHON_BOOTSTRAP)
        .parent()
        .expect("the bootstrap's folder")
        .display()
        .to_string()
}

/// The folder of the interpreter `python3` runs (through a pyenv shim, say), so the reference
/// starts the interpreter itself, as Lambda does.
pub(crate) fn python_dir() -> String {
    let executable = processes::run_shell("python3 -c 'import sys; print(sys.executable)'");
    std::path::Path::new(executable.trim())
        .parent()
        .expect("the interpreter's folder")
        .display()
        .to_string()
}
