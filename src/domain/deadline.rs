//! The point in time by which a request must be answered; every retry and wait is fitted inside it.

use std::time::Duration;

use tokio::time::Instant;

/// The farthest a deadline is set: far beyond any Lambda timeout (15 minutes), well inside the
/// clock's range.
const FARTHEST: Duration = Duration::from_secs(366 * 86_400);

/// The instant by which the current request must be answered (on tokio's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    /// A deadline at `instant`.
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// `budget` from now, at most [`FARTHEST`]: a budget from outside data (Lambda's deadline) of
    /// any size is a deadline every clock can hold, and the times derived from it (holds in the
    /// store) stay within the calendar.
    pub fn after(budget: Duration) -> Self {
        Self(Instant::now() + budget.min(FARTHEST))
    }

    /// The deadline as an instant, e.g. for `tokio::time::timeout_at`.
    pub fn instant(self) -> Instant {
        self.0
    }

    /// A deadline `margin` before this one (this one's instant when `margin` reaches back past
    /// the clock's start).
    pub fn earlier_by(self, margin: Duration) -> Self {
        Self(self.0.checked_sub(margin).unwrap_or(self.0))
    }

    /// Time left, zero once passed.
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether waiting `wait` would still leave time before the deadline.
    pub fn allows(self, wait: Duration) -> bool {
        Instant::now().checked_add(wait).is_some_and(|end| end < self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_waits_of_any_size_never_panic() {
        let far = Deadline::after(Duration::MAX);
        assert!(far.remaining() <= FARTHEST);
        assert!(!far.allows(Duration::MAX));
        assert!(far.allows(Duration::from_secs(60)));
        assert!(!Deadline::after(Duration::ZERO).allows(Duration::from_secs(u64::MAX)));
    }
}
