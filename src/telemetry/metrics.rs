//! Process-wide counters of what the broker did, and the upstream latencies seen since they were
//! last drained; read by the metrics emitter and by tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug)]
pub struct Metrics {
    hits: AtomicU64,
    refreshes: AtomicU64,
    guest_creations: AtomicU64,
    credential_rotations: AtomicU64,
    retries: AtomicU64,
    upstream_latencies_ms: Mutex<Vec<f64>>,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub hits: u64,
    pub refreshes: u64,
    pub guest_creations: u64,
    pub credential_rotations: u64,
    pub retries: u64,
}

impl MetricsSnapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            hits: self.hits - earlier.hits,
            refreshes: self.refreshes - earlier.refreshes,
            guest_creations: self.guest_creations - earlier.guest_creations,
            credential_rotations: self.credential_rotations - earlier.credential_rotations,
            retries: self.retries - earlier.retries,
        }
    }
}

/// EMF takes at most 100 values per metric in one record.
pub const MAX_LATENCIES: usize = 100;

static METRICS: Metrics = Metrics {
    hits: AtomicU64::new(0),
    refreshes: AtomicU64::new(0),
    guest_creations: AtomicU64::new(0),
    credential_rotations: AtomicU64::new(0),
    retries: AtomicU64::new(0),
    upstream_latencies_ms: Mutex::new(Vec::new()),
};

pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refresh(&self) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn guest_created(&self) {
        self.guest_creations.fetch_add(1, Ordering::Relaxed);
    }

    pub fn credential_rotation(&self) {
        self.credential_rotations.fetch_add(1, Ordering::Relaxed);
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// One HTTP exchange with Genesys took `elapsed` (whatever its outcome). Kept until drained,
    /// at most [`MAX_LATENCIES`] of them, so a process that never drains (`local`) does not grow.
    pub fn upstream_latency(&self, elapsed: Duration) {
        let mut latencies = self
            .upstream_latencies_ms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if latencies.len() < MAX_LATENCIES {
            latencies.push(elapsed.as_secs_f64() * 1000.0);
        }
    }

    /// The latencies recorded since the last call.
    pub fn drain_upstream_latencies(&self) -> Vec<f64> {
        std::mem::take(
            &mut *self
                .upstream_latencies_ms
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            hits: self.hits.load(Ordering::Relaxed),
            refreshes: self.refreshes.load(Ordering::Relaxed),
            guest_creations: self.guest_creations.load(Ordering::Relaxed),
            credential_rotations: self.credential_rotations.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undrained_latencies_stop_growing_at_what_one_record_can_carry() {
        for _ in 0..MAX_LATENCIES * 3 {
            metrics().upstream_latency(Duration::from_millis(1));
        }
        assert!(metrics().drain_upstream_latencies().len() <= MAX_LATENCIES);
    }
}
