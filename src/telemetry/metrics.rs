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
    genesys_rate_limited: AtomicU64,
    upstream_rejections: AtomicU64,
    store_throttles: AtomicU64,
    upstream_latencies_ms: Mutex<Vec<f64>>,
    /// How the last request was served (`hit`, `created`, …), taken by the next record.
    outcome: Mutex<Option<&'static str>>,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub hits: u64,
    pub refreshes: u64,
    pub guest_creations: u64,
    pub credential_rotations: u64,
    pub retries: u64,
    pub genesys_rate_limited: u64,
    pub upstream_rejections: u64,
    pub store_throttles: u64,
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
            genesys_rate_limited: self.genesys_rate_limited - earlier.genesys_rate_limited,
            upstream_rejections: self.upstream_rejections - earlier.upstream_rejections,
            store_throttles: self.store_throttles - earlier.store_throttles,
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
    genesys_rate_limited: AtomicU64::new(0),
    upstream_rejections: AtomicU64::new(0),
    store_throttles: AtomicU64::new(0),
    upstream_latencies_ms: Mutex::new(Vec::new()),
    outcome: Mutex::new(None),
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

    /// Genesys answered 429 (or its OAuth endpoint's "rate limit exceeded").
    pub fn genesys_rate_limited(&self) {
        self.genesys_rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A request failed because Genesys refused it (403, refused credentials, a contract breach).
    pub fn upstream_rejection(&self) {
        self.upstream_rejections.fetch_add(1, Ordering::Relaxed);
    }

    /// DynamoDB throttled a request past the SDK's own retries.
    pub fn store_throttle(&self) {
        self.store_throttles.fetch_add(1, Ordering::Relaxed);
    }

    /// How the request was served, for the next record's `outcome` dimension.
    pub fn outcome(&self, outcome: &'static str) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }

    /// The outcome recorded since the last call, if any.
    pub fn take_outcome(&self) -> Option<&'static str> {
        self.outcome.lock().unwrap_or_else(PoisonError::into_inner).take()
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
            genesys_rate_limited: self.genesys_rate_limited.load(Ordering::Relaxed),
            upstream_rejections: self.upstream_rejections.load(Ordering::Relaxed),
            store_throttles: self.store_throttles.load(Ordering::Relaxed),
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
