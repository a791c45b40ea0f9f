//! Reading one variable into a typed value, with an error that names the variable.

use std::time::Duration;

use url::Url;

use super::{ConfigError, DEFAULT_DEADLINE_MARGIN};

/// `lookup` as every setting is read: values trimmed, an empty one the same as none.
pub(super) fn trimmed(lookup: impl Fn(&str) -> Option<String>) -> impl Fn(&str) -> Option<String> {
    move |name| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `DEADLINE_MARGIN_MS`, which every function reads: [`DEFAULT_DEADLINE_MARGIN`] when unset.
pub(super) fn deadline_margin(get: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    Ok(number(get, "DEADLINE_MARGIN_MS")?.map_or(DEFAULT_DEADLINE_MARGIN, Duration::from_millis))
}

pub(super) fn url(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<Url>, ConfigError> {
    get(var)
        .map(|raw| match Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
            _ => Err(ConfigError::Invalid {
                var,
                problem: "must be an http(s) URL such as https://api.mypurecloud.com".into(),
            }),
        })
        .transpose()
}

pub(super) fn number(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<u64>, ConfigError> {
    get(var)
        .map(|raw| {
            raw.parse::<u64>().map_err(|_| ConfigError::Invalid {
                var,
                problem: "must be a whole number".into(),
            })
        })
        .transpose()
}

pub(super) fn flag(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<bool>, ConfigError> {
    get(var)
        .map(|raw| match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::Invalid {
                var,
                problem: "must be true or false".into(),
            }),
        })
        .transpose()
}

pub(super) fn positive(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<u64>, ConfigError> {
    match number(get, var)? {
        Some(0) => Err(ConfigError::Invalid {
            var,
            problem: "must be greater than zero".into(),
        }),
        other => Ok(other),
    }
}

/// A whole number from 1 to `max` `unit`s; the error names the bound (a larger value would be a
/// weaker setting than the function promises, or overflow the time it is added to).
pub(super) fn up_to(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    max: u64,
    unit: &str,
) -> Result<Option<u64>, ConfigError> {
    match positive(get, var)? {
        Some(value) if value > max => Err(ConfigError::Invalid {
            var,
            problem: format!("must be at most {max} {unit}"),
        }),
        other => Ok(other),
    }
}
