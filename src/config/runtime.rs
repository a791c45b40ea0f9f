//! What Lambda's runtime environment tells the process, beside the function's own settings: the
//! function's name, the Runtime API's address, the log controls chosen in the console, the X-Ray
//! daemon, and, per invocation, the trace header. Read here like every other variable; the modules
//! that use them take the values.

use super::process_env;

/// The log controls: Lambda's advanced logging settings, or `RUST_LOG` as a plain level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// `AWS_LAMBDA_LOG_FORMAT` is `JSON` (any case): JSON lines; otherwise text.
    pub json: bool,
    /// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`; `None` (or an unknown level) means INFO.
    pub level: Option<String>,
}

impl LogConfig {
    /// From this process's environment.
    pub fn from_env() -> Self {
        Self::from_lookup(process_env)
    }

    /// From `get` (the environment, or a test's table).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            json: get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json")),
            level: get("AWS_LAMBDA_LOG_LEVEL").or_else(|| get("RUST_LOG")),
        }
    }
}

/// `AWS_LAMBDA_FUNCTION_NAME`: the function's name, as Lambda sets it (empty outside Lambda).
pub fn function_name() -> String {
    process_env("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default()
}

/// `AWS_LAMBDA_RUNTIME_API`: the Runtime API's `host:port` (or URL, under `cargo lambda watch`).
pub fn runtime_api() -> Option<String> {
    process_env("AWS_LAMBDA_RUNTIME_API")
}

/// `AWS_XRAY_DAEMON_ADDRESS`: where X-Ray segments go, set by Lambda when active tracing is on.
pub fn xray_daemon_address() -> Option<String> {
    process_env("AWS_XRAY_DAEMON_ADDRESS")
}

/// `_X_AMZN_TRACE_ID`: the current invocation's trace header, which the runtime sets anew for
/// each invocation (so this is read per invocation, not at init).
pub fn invocation_trace_header() -> Option<String> {
    process_env("_X_AMZN_TRACE_ID")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_log_controls_come_first_then_rust_log() {
        let table = |vars: &'static [(&'static str, &'static str)]| {
            LogConfig::from_lookup(move |k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned()))
        };
        let lambda = table(&[
            ("AWS_LAMBDA_LOG_FORMAT", "json"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("RUST_LOG", "warn"),
        ]);
        assert_eq!(
            lambda,
            LogConfig {
                json: true,
                level: Some("DEBUG".into())
            }
        );
        let plain = table(&[("AWS_LAMBDA_LOG_FORMAT", "Text"), ("RUST_LOG", "warn")]);
        assert_eq!(
            plain,
            LogConfig {
                json: false,
                level: Some("warn".into())
            }
        );
        assert_eq!(table(&[]), LogConfig::default());
    }
}
