//! Wall-clock time for token expiry decisions, injectable so window edges can be tested exactly.

#[cfg(any(test, feature = "test-support"))]
use std::sync::{Arc, Mutex, PoisonError};

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// `at` plus `span`, or the latest time the calendar holds when that would overflow: lifetimes and
/// holds come from configuration and deadlines, and no setting may panic the request path.
pub fn later_by(at: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(span)
        .ok()
        .and_then(|span| at.checked_add_signed(span))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The current time, as the broker reads it for token expiry, holds and code lifetimes.
pub trait Clock: Send + Sync {
    /// The current instant, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move; shared by clones (tests only).
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

#[cfg(any(test, feature = "test-support"))]
impl FixedClock {
    /// A clock standing at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// Moves this clock, and every clone of it, to `now`.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_of_any_size_ends_at_the_latest_time_rather_than_panic() {
        let now = Utc::now();
        assert_eq!(later_by(now, Duration::from_secs(60)), now + TimeDelta::seconds(60));
        for huge in [
            Duration::from_secs(10_u64.pow(13)),
            Duration::from_secs(10_u64.pow(15)),
            Duration::MAX,
        ] {
            assert_eq!(later_by(now, huge), DateTime::<Utc>::MAX_UTC, "{huge:?}");
        }
    }
}
