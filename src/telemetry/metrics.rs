//! What one invocation did, counted as it happens: a recorder made per invocation, handed down the
//! request path (API, broker, Genesys client) and written out once as an EMF record afterwards.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// EMF takes at most 100 values per metric in one record.
pub const MAX_LATENCIES: usize = 100;

/// The counters of one invocation. Interior mutability, so the request path shares it by `&`.
#[derive(Debug, Default)]
pub struct Metrics {
    hits: AtomicU64,
    refreshes: AtomicU64,
    guest_creations: AtomicU64,
    credential_rotations: AtomicU64,
    retries: AtomicU64,
    genesys_rate_limited: AtomicU64,
    upstream_rejections: AtomicU64,
    store_throttles: AtomicU64,
    oidc_invalid_clients: AtomicU64,
    oidc_code_replays: AtomicU64,
    rotation_steps: AtomicU64,
    rotation_failures: AtomicU64,
    upstream_latencies_ms: Mutex<Vec<f64>>,
    /// How the request was served (`hit`, `created`, `warm-up`, …).
    outcome: Mutex<Option<&'static str>>,
}

/// The counters' values, as a record reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Tokens handed out as stored.
    pub hits: u64,
    /// Tokens renewed for a stored guest.
    pub refreshes: u64,
    /// Guests created.
    pub guest_creations: u64,
    /// OAuth clients Genesys refused, each moving on to the next credential.
    pub credential_rotations: u64,
    /// Genesys attempts repeated.
    pub retries: u64,
    /// Genesys answers of 429 (or its OAuth endpoint's rate limit).
    pub genesys_rate_limited: u64,
    /// Requests failed because Genesys refused them.
    pub upstream_rejections: u64,
    /// DynamoDB throttles past the SDK's retries.
    pub store_throttles: u64,
    /// OIDC token requests refused `invalid_client` (the caller did not authenticate).
    pub oidc_invalid_clients: u64,
    /// OIDC token requests that presented a code redeemed before (refused `invalid_grant`).
    pub oidc_code_replays: u64,
    /// Secret rotation steps done (the rotation function).
    pub rotation_steps: u64,
    /// Secret rotation steps failed (the rotation function).
    pub rotation_failures: u64,
    /// Each Genesys HTTP exchange's duration, in milliseconds; at most `MAX_LATENCIES`.
    pub upstream_latencies_ms: Vec<f64>,
    /// How the request was served (`hit`, `created`, `warm-up`, …), if it was said.
    pub outcome: Option<&'static str>,
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// A recorder with everything at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stored token was handed out.
    pub fn hit(&self) {
        add(&self.hits);
    }

    /// A stored guest's token was renewed.
    pub fn refresh(&self) {
        add(&self.refreshes);
    }

    /// A guest was created.
    pub fn guest_created(&self) {
        add(&self.guest_creations);
    }

    /// Genesys refused an OAuth client (`invalid_client`); the next credential is tried.
    pub fn credential_rotation(&self) {
        add(&self.credential_rotations);
    }

    /// A Genesys attempt is being repeated.
    pub fn retry(&self) {
        add(&self.retries);
    }

    /// Genesys answered 429 (or its OAuth endpoint's "rate limit exceeded").
    pub fn genesys_rate_limited(&self) {
        add(&self.genesys_rate_limited);
    }

    /// The request failed because Genesys refused it (403, refused credentials, a contract breach).
    pub fn upstream_rejection(&self) {
        add(&self.upstream_rejections);
    }

    /// DynamoDB throttled a request past the SDK's own retries.
    pub fn store_throttle(&self) {
        add(&self.store_throttles);
    }

    /// The OIDC token endpoint refused a caller that did not authenticate as the integration's
    /// client (`invalid_client`): Genesys holding another secret, or a stranger guessing.
    pub fn oidc_invalid_client(&self) {
        add(&self.oidc_invalid_clients);
    }

    /// The OIDC token endpoint was presented a code redeemed before (a replay, refused): a code
    /// stolen after its use, or a client presenting one twice.
    pub fn oidc_code_replay(&self) {
        add(&self.oidc_code_replays);
    }

    /// The rotation function completed a rotation step.
    pub fn rotation_step_done(&self) {
        add(&self.rotation_steps);
    }

    /// A rotation step failed (Secrets Manager retries the rotation; the failure alarm fires).
    pub fn rotation_step_failed(&self) {
        add(&self.rotation_failures);
    }

    /// How the request was served, for the record's `outcome` dimension.
    pub fn outcome(&self, outcome: &'static str) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }

    /// One HTTP exchange with Genesys took `elapsed` (whatever its outcome); at most
    /// `MAX_LATENCIES` are kept, what one record can carry.
    pub fn upstream_latency(&self, elapsed: Duration) {
        let mut latencies = self
            .upstream_latencies_ms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if latencies.len() < MAX_LATENCIES {
            latencies.push(elapsed.as_secs_f64() * 1000.0);
        }
    }

    /// The values counted so far.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        MetricsSnapshot {
            hits: load(&self.hits),
            refreshes: load(&self.refreshes),
            guest_creations: load(&self.guest_creations),
            credential_rotations: load(&self.credential_rotations),
            retries: load(&self.retries),
            genesys_rate_limited: load(&self.genesys_rate_limited),
            upstream_rejections: load(&self.upstream_rejections),
            store_throttles: load(&self.store_throttles),
            oidc_invalid_clients: load(&self.oidc_invalid_clients),
            oidc_code_replays: load(&self.oidc_code_replays),
            rotation_steps: load(&self.rotation_steps),
            rotation_failures: load(&self.rotation_failures),
            upstream_latencies_ms: self
                .upstream_latencies_ms
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            outcome: *self.outcome.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_stop_growing_at_what_one_record_can_carry() {
        let metrics = Metrics::new();
        for _ in 0..MAX_LATENCIES * 3 {
            metrics.upstream_latency(Duration::from_millis(1));
        }
        assert_eq!(metrics.snapshot().upstream_latencies_ms.len(), MAX_LATENCIES);
    }

    #[test]
    fn each_refused_client_authentication_is_counted_once() {
        let metrics = Metrics::new();
        assert_eq!(metrics.snapshot().oidc_invalid_clients, 0);
        metrics.oidc_invalid_client();
        metrics.oidc_invalid_client();
        assert_eq!(metrics.snapshot().oidc_invalid_clients, 2);
    }
}
