//! Warm hits: latency at the harness, AWS requests and the emulators' time per hit, the broker's own time.

use std::time::Duration;

use crate::stats::Samples;
use test_kit::aws_proxy::Record;

pub struct Hit {
    latency: Duration,
    aws: Duration,
    operations: Vec<String>,
}

impl Hit {
    pub fn new(latency: Duration, records: Vec<Record>) -> Self {
        Self {
            latency,
            aws: records.iter().map(|record| record.elapsed).sum(),
            operations: records.into_iter().map(|record| record.operation).collect(),
        }
    }
}

pub struct Warm {
    pub latency: Samples,
    /// Per hit: the time the emulators took for its AWS requests.
    pub aws: Samples,
    /// Per hit: latency − AWS time − the median trivial invocation.
    pub own: Samples,
    pub trivial: Samples,
    pub aws_requests_per_hit: f64,
    /// Whether every hit made exactly one request, a `GetItem`.
    pub exactly_one_get_item: bool,
    /// The operations of one hit (the last), for the report.
    pub operations: Vec<String>,
    pub genesys_calls: usize,
    pub peak_rss_kib: u64,
}

impl Warm {
    pub fn new(hits: Vec<Hit>, trivial: Samples, genesys_calls: usize, peak_rss_kib: u64) -> Self {
        let round_trip = trivial.median();
        let requests: usize = hits.iter().map(|hit| hit.operations.len()).sum();
        Self {
            latency: Samples::new(hits.iter().map(|hit| hit.latency).collect()),
            aws: Samples::new(hits.iter().map(|hit| hit.aws).collect()),
            own: Samples::new(
                hits.iter()
                    .map(|hit| hit.latency.saturating_sub(hit.aws).saturating_sub(round_trip))
                    .collect(),
            ),
            trivial,
            aws_requests_per_hit: requests as f64 / hits.len() as f64,
            exactly_one_get_item: hits.iter().all(|hit| hit.operations == [super::GET_ITEM]),
            operations: hits.last().map(|hit| hit.operations.clone()).unwrap_or_default(),
            genesys_calls,
            peak_rss_kib,
        }
    }
}
