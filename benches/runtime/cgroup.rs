//! A Lambda memory size as Linux cgroups (v1) give it: the memory limit, and the CPU share that
//! comes with it (1,769 MB is one vCPU, so 128 MB is about 7.2 % of one: a CFS quota of 7,236 µs
//! per 100 ms period). Lambda runs init at full CPU and applies the share from the first
//! invocation on; the bench does the same by moving the process in when it first polls.
//!
//! Needs root and the v1 `cpu` and `memory` hierarchies at `/sys/fs/cgroup/{cpu,memory}`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const CPU_ROOT: &str = "/sys/fs/cgroup/cpu";
const MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";
/// The memory size that buys one full vCPU.
const MB_PER_VCPU: u64 = 1_769;
const PERIOD_US: u64 = 100_000;

/// A Lambda memory size, in MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySize(pub u64);

impl MemorySize {
    /// The CFS quota per 100 ms period: the size's share of one vCPU.
    pub fn quota_us(self) -> u64 {
        PERIOD_US * self.0 / MB_PER_VCPU
    }

    /// The share of a vCPU, in percent, for the report.
    pub fn cpu_percent(self) -> f64 {
        100.0 * self.0 as f64 / MB_PER_VCPU as f64
    }
}

/// A memory size whose every instance gets cgroups of its own, as each Lambda instance has its
/// own: a group shared across runs would carry one process's overrun of the quota (a throttled
/// period) into the next process's first invocation.
pub struct SizeGroups {
    pub size: MemorySize,
    throttled_periods: AtomicU64,
    charges_moved_pages: AtomicBool,
}

impl SizeGroups {
    /// Checks that this size's groups can be made here; the error says why not.
    pub fn new(size: MemorySize) -> Result<Self, String> {
        let probe = Cgroup::create(size)?;
        Ok(Self {
            size,
            throttled_periods: AtomicU64::new(0),
            charges_moved_pages: AtomicBool::new(probe.charges_moved_pages()),
        })
    }

    /// New groups for one instance.
    pub fn fresh(&self) -> Cgroup {
        Cgroup::create(self.size).unwrap_or_else(|problem| panic!("{problem}"))
    }

    /// Adds an instance's group's figures to the size's, once its process has gone; the
    /// instance's throttled periods.
    pub fn account(&self, cgroup: &Cgroup) -> u64 {
        let throttled = cgroup.throttled_periods();
        self.throttled_periods.fetch_add(throttled, Ordering::Relaxed);
        throttled
    }

    /// CFS periods in which an instance of this size was throttled, over all its instances.
    pub fn throttled_periods(&self) -> u64 {
        self.throttled_periods.load(Ordering::Relaxed)
    }

    /// Whether the pages a process had before moving in count against the limit.
    pub fn charges_moved_pages(&self) -> bool {
        self.charges_moved_pages.load(Ordering::Relaxed)
    }
}

/// The pair of cgroups (CPU quota, memory limit) of one instance; removed when dropped, once its
/// process is gone.
pub struct Cgroup {
    cpu: PathBuf,
    memory: PathBuf,
}

impl Cgroup {
    /// Creates `gtb-bench-<MB>-<unique>` in both hierarchies and sets its limits; the error says
    /// what could not be done, for the fallback message.
    fn create(size: MemorySize) -> Result<Self, String> {
        let name = format!("gtb-bench-{}-{}", size.0, uuid::Uuid::new_v4().simple());
        let cgroup = Self {
            cpu: Path::new(CPU_ROOT).join(&name),
            memory: Path::new(MEMORY_ROOT).join(&name),
        };
        for folder in [&cgroup.cpu, &cgroup.memory] {
            std::fs::create_dir(folder).map_err(|err| format!("cannot create {}: {err}", folder.display()))?;
        }
        write(&cgroup.cpu.join("cpu.cfs_period_us"), PERIOD_US)?;
        write(&cgroup.cpu.join("cpu.cfs_quota_us"), size.quota_us())?;
        write(&cgroup.memory.join("memory.limit_in_bytes"), size.0 * 1024 * 1024)?;
        // Charge the pages the process already has to the new group as it moves in, so the limit
        // covers everything it uses, as Lambda's does. Kernels from 6.x refuse it (deprecated):
        // then only what the process allocates after init is charged, which the report says.
        let _ = write(&cgroup.memory.join("memory.move_charge_at_immigrate"), 3);
        Ok(cgroup)
    }

    /// Moves the process (all its threads) into both groups.
    pub fn enter(&self, pid: u32) {
        for folder in [&self.memory, &self.cpu] {
            let procs = folder.join("cgroup.procs");
            std::fs::write(&procs, pid.to_string())
                .unwrap_or_else(|err| panic!("cannot move {pid} into {}: {err}", procs.display()));
        }
    }

    fn charges_moved_pages(&self) -> bool {
        std::fs::read_to_string(self.memory.join("memory.move_charge_at_immigrate"))
            .is_ok_and(|value| value.trim() == "3")
    }

    /// How often the group's processes were throttled so far (from `cpu.stat`), for the report.
    fn throttled_periods(&self) -> u64 {
        std::fs::read_to_string(self.cpu.join("cpu.stat"))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("nr_throttled "))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Fails only while a process is still inside, which the bench kills and reaps first.
        let _ = std::fs::remove_dir(&self.cpu);
        let _ = std::fs::remove_dir(&self.memory);
    }
}

fn write(file: &Path, value: u64) -> Result<(), String> {
    std::fs::write(file, value.to_string()).map_err(|err| format!("cannot write {}: {err}", file.display()))
}
