//! Logging setup and in-process counters.
//!
//! Logs never carry secrets, access tokens, guest tokens or raw CRM ids: the broker's own events
//! only name hash prefixes and guest ids, and the crates that could print request or response
//! contents (the AWS SDK, hyper, reqwest, rustls, the Lambda runtime, which logs raw events at
//! TRACE) are capped at INFO whatever level is asked for.

mod aws_calls;
mod emf;
mod json;
mod metrics;
mod xray;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::config::LogConfig;

pub use aws_calls::AwsCallTracer;
pub use emf::{EmfEmitter, NAMESPACE, SERVICE};
pub use metrics::{Metrics, MetricsSnapshot};
pub use xray::{Subsegment, TraceContext, XRay};

/// Crates whose DEBUG/TRACE output can include payloads, headers or credentials.
const CAPPED_CRATES: &[&str] = &[
    "aws_config",
    "aws_runtime",
    "aws_sdk_dynamodb",
    "aws_sdk_kms",
    "aws_sdk_secretsmanager",
    "aws_sdk_sts",
    "aws_sigv4",
    "aws_smithy_http_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "h2",
    "hyper",
    "hyper_util",
    "lambda_http",
    "lambda_runtime",
    "lambda_runtime_api_client",
    "reqwest",
    "rustls",
    "tower",
];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`).
    Json,
}

/// Log settings as Lambda's advanced logging controls give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// The most verbose level logged.
    pub level: LevelFilter,
}

impl LogSettings {
    /// As the log controls say: JSON lines or text, and the level (INFO when none or an unknown
    /// one is given).
    pub fn from_config(config: &LogConfig) -> Self {
        let format = if config.json { LogFormat::Json } else { LogFormat::Text };
        let level = config
            .level
            .as_deref()
            .and_then(|l| l.trim().parse::<LevelFilter>().ok())
            .unwrap_or(LevelFilter::INFO);
        Self { format, level }
    }

    /// The filter: the chosen level for everything, INFO at most for the capped crates.
    pub fn filter(&self) -> EnvFilter {
        let mut directives = self.level.to_string().to_lowercase();
        let cap = self.level.min(LevelFilter::INFO).to_string().to_lowercase();
        for krate in CAPPED_CRATES {
            directives.push_str(&format!(",{krate}={cap}"));
        }
        EnvFilter::new(directives)
    }
}

/// Installs the global subscriber writing to stdout (where Lambda collects logs).
/// `with_time` is off on Lambda, which stamps every line itself.
pub fn init(settings: LogSettings, with_time: bool) {
    init_with_writer(settings, with_time, std::io::stdout);
}

/// [`init`] with another writer than stdout (tests capture the lines).
pub fn init_with_writer<W>(settings: LogSettings, with_time: bool, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let registry = tracing_subscriber::registry().with(settings.filter());
    // A second init (tests, or a harness that already installed one) is harmless.
    let _ = match (settings.format, with_time) {
        (LogFormat::Json, _) => registry
            .with(json::SpanFields)
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(json::JsonLines { with_time })
                    .with_writer(writer),
            )
            .try_init(),
        (LogFormat::Text, true) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(false)
                    .with_writer(writer),
            )
            .try_init(),
        (LogFormat::Text, false) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(false)
                    .without_time()
                    .with_writer(writer),
            )
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_log_controls_are_honoured() {
        let settings = LogSettings::from_config(&LogConfig {
            json: true,
            level: Some("DEBUG".into()),
        });
        assert_eq!(
            settings,
            LogSettings {
                format: LogFormat::Json,
                level: LevelFilter::DEBUG
            }
        );
    }

    #[test]
    fn payload_printing_crates_stay_at_info_even_at_trace() {
        let settings = LogSettings {
            format: LogFormat::Text,
            level: LevelFilter::TRACE,
        };
        let filter = settings.filter().to_string();
        assert!(filter.contains("lambda_runtime=info"));
        assert!(filter.contains("aws_smithy_runtime=info"));
        assert!(filter.contains("hyper=info"));
        // The signer's and the refresh-token cipher's client: KMS answers carry plaintexts.
        assert!(filter.contains("aws_sdk_kms=info"));
    }
}
