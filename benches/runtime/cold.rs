//! Cold starts: total time, and the AWS requests made on the way with the emulators' share of the time.

use std::time::Duration;

use crate::stats::Samples;

#[derive(Debug, Clone)]
pub struct Run {
    pub elapsed: Duration,
    /// From handing the invocation out to its answer: the first invocation's duration.
    pub invocation: Duration,
    pub aws: Duration,
    pub operations: Vec<String>,
}

pub struct Summary {
    pub elapsed: Samples,
    pub invocation: Samples,
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
        aws: Samples::new(runs.iter().map(|run| run.aws).collect()),
        operations,
    }
}
