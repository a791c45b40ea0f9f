//! What `/proc` tells about a function process.

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
