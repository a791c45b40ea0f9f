//! Waiting between attempts inside a deadline: pauses that start short and double up to a cap,
//! and no pause that would end past the deadline.

use std::time::Duration;

use crate::domain::Deadline;

/// Polling of the store while another request works: starts quick, backs off to this.
pub(super) const FIRST_POLL: Duration = Duration::from_millis(20);
pub(super) const MAX_POLL: Duration = Duration::from_millis(250);
/// Backoff between attempts at storing a new guest while the store is throttled or unreachable.
pub(super) const FIRST_STORE_RETRY: Duration = Duration::from_millis(50);

/// Successive pauses: `first`, then doubling, at most `max`.
pub(super) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(super) fn new(first: Duration, max: Duration) -> Self {
        Self { next: first, max }
    }

    /// Sleeps for the next pause, if it ends before `deadline`; `false` (without sleeping) if not.
    pub(super) async fn pause_within(&mut self, deadline: Deadline) -> bool {
        if !deadline.allows(self.next) {
            return false;
        }
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_to_the_cap_and_stop_short_of_the_deadline() {
        let started = tokio::time::Instant::now();
        let deadline = Deadline::after(Duration::from_millis(500));
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(150));
        let mut ends = Vec::new();
        while backoff.pause_within(deadline).await {
            ends.push(started.elapsed().as_millis());
        }
        assert_eq!(ends, [50, 150, 300, 450]);
    }
}
