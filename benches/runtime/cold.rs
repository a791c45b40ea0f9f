//! Cold starts: total time, and the AWS requests made on the way with the emulators' share of the time.

use std::time::Duration;

use crate::stats::Samples;

#[derive(Debug, Clone)]
pub struct Run {
    pub elapsed: Duration,
    /// From handing the invocation out to its answer: the first invocation's duration.
    pub invocation: Duration,
    /// How long the move into the cgroup held the first poll up (taken out of `elapsed`).
    pub moving: Duration,
    /// The CPU time the process used from its first poll to the answer.
    pub invocation_cpu: Duration,
    /// Process start → first poll, in this run.
    pub init: Duration,
    /// CFS periods in which the instance was throttled.
    pub throttled: u64,
    pub aws: Duration,
    pub operations: Vec<String>,
}

pub struct Summary {
    pub elapsed: Samples,
    pub invocation: Samples,
    pub moving: Samples,
    pub invocation_cpu: Samples,
    pub init: Samples,
    /// How many of the runs were throttled at least once.
    pub runs_throttled: usize,
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
        invocation: Samples::new(runs.iter().map(|run| run.invocation).collect()),
        moving: Samples::new(runs.iter().map(|run| run.moving).collect()),
        invocation_cpu: Samples::new(runs.iter().map(|run| run.invocation_cpu).collect()),
        init: Samples::new(runs.iter().map(|run| run.init).collect()),
        runs_throttled: runs.iter().filter(|run| run.throttled > 0).count(),
        aws: Samples::new(runs.iter().map(|run| run.aws).collect()),
        operations,
    }
}
