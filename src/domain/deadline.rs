//! The point in time by which a request must be answered; every retry and wait is fitted inside it.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    pub fn after(budget: Duration) -> Self {
        Self(Instant::now() + budget)
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    /// Time left, zero once passed.
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether waiting `wait` would still leave time before the deadline.
    pub fn allows(self, wait: Duration) -> bool {
        Instant::now() + wait < self.0
    }
}
