//! CloudWatch Embedded Metric Format: one JSON line per invocation on stdout, which CloudWatch
//! Logs turns into metrics with no API call and no extra latency.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::metrics::Metrics;

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "GuestTokenBroker";
/// The `service` dimension's name and value, as Powertools names it.
pub const SERVICE_DIMENSION: &str = "service";
/// The `service` dimension's value.
pub const SERVICE: &str = "guest-token-broker";

/// Turns what one invocation counted into an EMF record; remembers whether a record was written
/// before, for `ColdStart`.
pub struct EmfEmitter {
    function_name: String,
    cold: AtomicBool,
}

impl EmfEmitter {
    /// An emitter for the function `function_name`, whose next record is its cold start's.
    pub fn new(function_name: impl Into<String>) -> Self {
        Self {
            function_name: function_name.into(),
            cold: AtomicBool::new(true),
        }
    }

    /// The record of one invocation's `metrics`. `ColdStart` is in the instance's first record
    /// only; the invocation's outcome (`hit`, `created`, `warm-up`, …) is a dimension, so hits,
    /// refreshes and creations can be graphed apart.
    pub fn record(&self, metrics: &Metrics, timestamp_ms: i64) -> Value {
        let delta = metrics.snapshot();
        let cold = self.cold.swap(false, Ordering::Relaxed);
        let outcome = delta.outcome.unwrap_or("none");
        let count = |name: &str| json!({"Name": name, "Unit": "Count"});
        let mut declared = vec![
            count("Hits"),
            count("Refreshes"),
            count("GuestCreations"),
            count("CredentialRotations"),
            count("Retries"),
            count("Genesys429s"),
            count("UpstreamRejections"),
            count("StoreThrottles"),
            count("OidcInvalidClient"),
            count("OidcCodeReplays"),
            count("SecretRotationSteps"),
            count("SecretRotationFailures"),
            json!({"Name": "UpstreamLatency", "Unit": "Milliseconds"}),
        ];
        if cold {
            declared.push(count("ColdStart"));
        }
        let mut record = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [[SERVICE_DIMENSION], [SERVICE_DIMENSION, "outcome"]],
                    "Metrics": declared,
                }],
            },
            SERVICE_DIMENSION: SERVICE,
            "outcome": outcome,
            "FunctionName": self.function_name,
            "Hits": delta.hits,
            "Refreshes": delta.refreshes,
            "GuestCreations": delta.guest_creations,
            "CredentialRotations": delta.credential_rotations,
            "Retries": delta.retries,
            "Genesys429s": delta.genesys_rate_limited,
            "UpstreamRejections": delta.upstream_rejections,
            "StoreThrottles": delta.store_throttles,
            "OidcInvalidClient": delta.oidc_invalid_clients,
            "OidcCodeReplays": delta.oidc_code_replays,
            "SecretRotationSteps": delta.rotation_steps,
            "SecretRotationFailures": delta.rotation_failures,
            "UpstreamLatency": delta.upstream_latencies_ms,
        });
        if cold {
            record["ColdStart"] = json!(1);
        }
        record
    }

    /// Writes the record as one line on stdout, where the Lambda service collects it.
    pub fn emit(&self, metrics: &Metrics) {
        println!("{}", self.record(metrics, chrono::Utc::now().timestamp_millis()));
    }
}

impl std::fmt::Debug for EmfEmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfEmitter")
            .field("function_name", &self.function_name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_declares_every_metric_and_only_the_first_is_cold() {
        let emitter = EmfEmitter::new("fn");
        let (cold, warm) = (Metrics::new(), Metrics::new());
        cold.upstream_latency(std::time::Duration::from_millis(12));
        cold.guest_created();
        cold.outcome("created");
        warm.hit();
        warm.oidc_invalid_client();
        warm.oidc_code_replay();
        let first = emitter.record(&cold, 1);
        let second = emitter.record(&warm, 2);

        let declared: Vec<&str> = first["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &declared {
            assert!(!first[*name].is_null(), "{name} has a value");
        }
        assert_eq!(first["ColdStart"], 1);
        assert!(
            second.get("ColdStart").is_none(),
            "only a cold invocation reports ColdStart"
        );
        let second_declared = second["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
        assert!(!second_declared.contains("ColdStart"));
        assert_eq!(first["service"], SERVICE);
        assert_eq!(first["FunctionName"], "fn");
        assert!(first["UpstreamLatency"].as_array().unwrap().contains(&json!(12.0)));
        assert_eq!(
            (first["GuestCreations"].as_u64(), first["outcome"].as_str()),
            (Some(1), Some("created"))
        );
        assert_eq!(
            (second["Hits"].as_u64(), second["GuestCreations"].as_u64()),
            (Some(1), Some(0))
        );
        assert_eq!(second["UpstreamLatency"], json!([]), "each invocation reports its own");
        assert_eq!(
            (
                first["OidcInvalidClient"].as_u64(),
                second["OidcInvalidClient"].as_u64()
            ),
            (Some(0), Some(1))
        );
        assert_eq!(
            (first["OidcCodeReplays"].as_u64(), second["OidcCodeReplays"].as_u64()),
            (Some(0), Some(1))
        );
    }
}
