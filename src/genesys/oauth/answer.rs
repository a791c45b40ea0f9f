//! What the login server answers to a client-credentials grant: the access token and its life, or
//! an OAuth error body that says whether the client was refused or the server is rate limiting.

use std::time::Duration;

use serde::Deserialize;

/// An access token is dropped this long before Genesys says it expires (or at half its life when
/// that is shorter), so it is never sent in its last seconds.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The longest an access token is trusted for, whatever `expires_in` says (Genesys issues them
/// for at most 48 hours).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(48 * 3600);

#[derive(Deserialize)]
pub(super) struct TokenResponse {
    pub(super) access_token: String,
    /// Any JSON number: a negative one reads as "expired already", a huge one as the longest
    /// lifetime this client trusts.
    pub(super) expires_in: serde_json::Number,
}

impl TokenResponse {
    /// How long the token may be used: its lifetime, clamped, less the margin.
    pub(super) fn usable_for(&self) -> Duration {
        usable_for(lifetime(&self.expires_in))
    }
}

#[derive(Deserialize, Default)]
pub(super) struct OAuthErrorBody {
    #[serde(default)]
    pub(super) error: String,
    #[serde(default, alias = "error_description")]
    pub(super) description: String,
}

fn lifetime(expires_in: &serde_json::Number) -> Duration {
    let seconds = expires_in.as_f64().unwrap_or(0.0);
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).map_or(MAX_TOKEN_LIFETIME, |lifetime| lifetime.min(MAX_TOKEN_LIFETIME))
}

fn usable_for(expires_in: Duration) -> Duration {
    expires_in.saturating_sub(EXPIRY_MARGIN.min(expires_in / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_of_any_size_or_sign_is_clamped() {
        let number = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        assert_eq!(lifetime(&number("3600")), Duration::from_secs(3600));
        assert_eq!(lifetime(&number("86399.5")), Duration::from_secs_f64(86_399.5));
        for huge in ["9223372036854775807", "18446744073709551615", "1e300"] {
            assert_eq!(lifetime(&number(huge)), MAX_TOKEN_LIFETIME, "{huge}");
        }
        for none in ["0", "-1", "-9223372036854775808", "-1e300"] {
            assert_eq!(lifetime(&number(none)), Duration::ZERO, "{none}");
        }
    }

    #[test]
    fn tokens_are_dropped_shortly_before_they_expire() {
        assert_eq!(usable_for(Duration::from_secs(86_400)), Duration::from_secs(86_340));
        assert_eq!(usable_for(Duration::from_secs(10)), Duration::from_secs(5));
        assert_eq!(usable_for(Duration::ZERO), Duration::ZERO);
    }
}
