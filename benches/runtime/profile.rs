//! Evidence of where a primed init's time goes, over TLS at full CPU: one init under `strace -f -c`
//! (system calls: files read, sockets, waits) and one under `perf record` (CPU), their reports
//! written to `bench/profile/`. `BENCH_PROFILE_BINARY` names the broker binary to profile (a
//! release build with symbols, as `scripts/bench profile` makes, so perf can name functions); the
//! bench's own binary is stripped. A tool that is not installed is skipped with a message.

use std::path::{Path, PathBuf};

use test_kit::processes;

use crate::world::{Conditions, Subject, World};
use crate::{PROFILE_DIR, progress};

const BROKER_PRIMED: Subject = Subject::Broker { primed: true };

pub async fn record(world: &World, binary: &str) {
    std::fs::create_dir_all(PROFILE_DIR).unwrap_or_else(|err| panic!("cannot create {PROFILE_DIR}: {err}"));
    let scratch = std::env::temp_dir().join(format!("gtb-profile-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch folder");

    if let Some(strace) = tool("strace") {
        let report = Path::new(PROFILE_DIR).join("strace-primed-init.txt");
        let wrapper = wrapper(
            &scratch,
            "strace",
            &format!("{strace} -f -c -o {} {binary}", report.display()),
        );
        progress(&format!(
            "profile: a primed init under strace -f -c → {}",
            report.display()
        ));
        world.time_init(BROKER_PRIMED, &under(wrapper)).await;
    }
    if let Some(perf) = tool("perf") {
        let data = scratch.join("perf.data");
        let wrapper = wrapper(
            &scratch,
            "perf",
            &format!("{perf} record --quiet -F 20000 -g -o {} -- {binary}", data.display()),
        );
        progress("profile: a primed init under perf record");
        world.time_init(BROKER_PRIMED, &under(wrapper)).await;
        let report = Path::new(PROFILE_DIR).join("perf-primed-init.txt");
        let text = processes::run_shell(&format!(
            "{perf} report -i {} --stdio --no-children --sort dso,symbol --percent-limit 0.7 -g none 2>/dev/null",
            data.display()
        ));
        std::fs::write(&report, text).unwrap_or_else(|err| panic!("cannot write {}: {err}", report.display()));
        progress(&format!("profile: perf report → {}", report.display()));
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

fn under(wrapper: PathBuf) -> Conditions {
    Conditions {
        wrapper: Some(wrapper),
        ..Conditions::tls(None)
    }
}

/// The tool's absolute path (the function runs with Lambda's variables only, no `PATH`), or
/// `None` with a message when it is not installed.
fn tool(name: &str) -> Option<String> {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    if found.is_none() {
        progress(&format!(
            "profile: {name} is not installed, so there is no {name} report"
        ));
    }
    found
}

/// An executable script that `exec`s `command`, which takes the function's place.
fn wrapper(folder: &Path, name: &str, command: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = folder.join(name);
    std::fs::write(&path, format!("#!/bin/sh\nexec {command}\n")).expect("a wrapper script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("an executable wrapper");
    path
}
