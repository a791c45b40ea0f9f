//! What the broker keeps per customer, and the sliding-window rule that decides whether a stored
//! guest token can be handed out as it is.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{CrmIdHash, RefreshToken};

/// The id Genesys gave the customer's guest. Not secret: it is logged for reconciliation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GuestId(String);

impl GuestId {
    /// `None` for the empty string, which stored placeholders use for "no guest".
    pub fn new(id: impl Into<String>) -> Option<Self> {
        let id = id.into();
        (!id.is_empty()).then_some(Self(id))
    }

    /// The id as Genesys wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GuestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuestId({})", self.0)
    }
}

impl fmt::Display for GuestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A guest token with its expiry exactly as Genesys wrote it, so stored items stay byte-compatible
/// with what the Python utility wrote and reads.
#[derive(Clone)]
pub struct GuestToken {
    value: SecretString,
    expires_at_raw: String,
    /// What renews the token upstream without a new sign-in, when the upstream gives one
    /// (authenticated web messaging). A secret like the token itself.
    refresh: Option<RefreshToken>,
}

impl GuestToken {
    /// `None` for the placeholders (empty token or empty expiry) that mean "no token yet".
    pub fn new(value: SecretString, expires_at_raw: impl Into<String>) -> Option<Self> {
        let expires_at_raw = expires_at_raw.into();
        (!value.expose_secret().is_empty() && !expires_at_raw.is_empty()).then_some(Self {
            value,
            expires_at_raw,
            refresh: None,
        })
    }

    /// The token with the refresh token that renews it.
    pub fn with_refresh(mut self, refresh: Option<RefreshToken>) -> Self {
        self.refresh = refresh;
        self
    }

    /// The refresh token that renews this token upstream, if the upstream gave one, in the form
    /// it is held in.
    pub fn refresh(&self) -> Option<&RefreshToken> {
        self.refresh.as_ref()
    }

    /// The token itself, to hand to the customer's web-messaging client.
    pub fn secret(&self) -> &SecretString {
        &self.value
    }

    /// The expiry exactly as Genesys wrote it (and as it is stored).
    pub fn expires_at_raw(&self) -> &str {
        &self.expires_at_raw
    }

    /// The expiry as an instant. ISO 8601 with an offset or `Z`; a naive timestamp is read as UTC,
    /// as the Python utility's `fromisoformat` did. `None` when unreadable (the token is then renewed).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        let raw = self.expires_at_raw.trim();
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|t| t.and_utc())
            })
    }

    /// The expiry in RFC 3339 (UTC, milliseconds), as the API returns it.
    pub fn expires_at_rfc3339(&self) -> Option<String> {
        self.expires_at()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    /// Whether the token is still valid at `at` (an unreadable expiry never is).
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.expires_at().is_some_and(|expires_at| expires_at > at)
    }

    /// Whether the token can be handed out at `now` given the sliding `window`.
    pub fn freshness(&self, now: DateTime<Utc>, window: Duration) -> TokenFreshness {
        let Some(expires_at) = self.expires_at() else {
            return TokenFreshness::Unusable;
        };
        let remaining = expires_at - now;
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        if remaining > window {
            TokenFreshness::Fresh
        } else if remaining > chrono::Duration::zero() {
            TokenFreshness::ExpiringSoon
        } else {
            TokenFreshness::Unusable
        }
    }
}

impl fmt::Debug for GuestToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestToken")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at_raw)
            .field("refresh", &self.refresh.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Where a stored token stands against the sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFreshness {
    /// More than the window left: hand it out as it is.
    Fresh,
    /// Still valid, but inside the window: renew it.
    ExpiringSoon,
    /// Expired or unreadable.
    Unusable,
}

/// A right held by one request until a point in time: the claim to create a customer's guest, or
/// the lease to renew its token. The owner is a random value only its holder knows, so a holder
/// that is late (its hold expired and was taken over) cannot end its successor's hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Until when the hold runs.
    pub until: DateTime<Utc>,
    /// The holder; only it may release or extend the hold.
    pub owner: HoldOwner,
}

impl Hold {
    /// A new hold with a fresh owner.
    pub fn until(until: DateTime<Utc>) -> Self {
        Self {
            until,
            owner: HoldOwner::random(),
        }
    }

    /// Whether the hold still runs at `now`.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }
}

/// Who holds a [`Hold`]: 128 random bits, hex. Not secret (it grants nothing outside the store).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HoldOwner(String);

impl HoldOwner {
    /// A fresh owner: 128 random bits.
    pub fn random() -> Self {
        Self(format!("{:032x}", fastrand::u128(..)))
    }

    /// An owner as the store keeps it.
    pub fn from_stored(owner: impl Into<String>) -> Self {
        Self(owner.into())
    }

    /// The owner as stored: 32 hex characters for a generated one.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HoldOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HoldOwner({})", self.0)
    }
}

/// One customer's stored session, as the session store holds it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The customer's pseudonym, the record's key.
    pub crm_id_hash: CrmIdHash,
    /// The customer's Genesys guest, once created.
    pub guest_id: Option<GuestId>,
    /// The current guest token, when a usable one is stored.
    pub token: Option<GuestToken>,
    /// The stored `expires_at` exactly as written, whenever it is a string, even where no usable
    /// token came with it (a placeholder, a token of the wrong type): a renewal lease is taken
    /// against it, so a request that saw an older token cannot renew a newer one again.
    pub token_stamp: Option<String>,
    /// The request (in any instance) that may create this customer's guest, and until when.
    pub guest_claim: Option<Hold>,
    /// The request that may renew the stored token, and until when.
    pub refresh_lease: Option<Hold>,
}

impl SessionRecord {
    /// A customer with nothing stored.
    pub fn empty(crm_id_hash: CrmIdHash) -> Self {
        Self {
            crm_id_hash,
            guest_id: None,
            token: None,
            token_stamp: None,
            guest_claim: None,
            refresh_lease: None,
        }
    }

    /// Whether a claim on creating the guest still runs at `now`.
    pub fn guest_claim_live(&self, now: DateTime<Utc>) -> bool {
        self.guest_claim.as_ref().is_some_and(|hold| hold.live(now))
    }

    /// Whether a lease on renewing the token still runs at `now`.
    pub fn refresh_lease_live(&self, now: DateTime<Utc>) -> bool {
        self.refresh_lease.as_ref().is_some_and(|hold| hold.live(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const WINDOW: Duration = Duration::from_secs(300);

    fn token_expiring(raw: &str) -> GuestToken {
        GuestToken::new(SecretString::from("t"), raw).unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 12, 15, 14, 30, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    #[test]
    fn a_token_with_more_than_the_window_left_is_fresh() {
        let token = token_expiring("2024-12-15T14:30:00.000Z");
        assert_eq!(token.freshness(at(-301), WINDOW), TokenFreshness::Fresh);
    }

    #[test]
    fn a_token_with_exactly_the_window_left_is_renewed() {
        let token = token_expiring("2024-12-15T14:30:00.000Z");
        assert_eq!(token.freshness(at(-300), WINDOW), TokenFreshness::ExpiringSoon);
    }

    #[test]
    fn a_token_with_less_than_the_window_left_is_renewed() {
        let token = token_expiring("2024-12-15T14:30:00.000Z");
        assert_eq!(token.freshness(at(-299), WINDOW), TokenFreshness::ExpiringSoon);
    }

    #[test]
    fn an_expired_or_unreadable_token_is_unusable() {
        let token = token_expiring("2024-12-15T14:30:00.000Z");
        assert_eq!(token.freshness(at(0), WINDOW), TokenFreshness::Unusable);
        assert_eq!(token.freshness(at(1), WINDOW), TokenFreshness::Unusable);
        let garbled = token_expiring("next tuesday");
        assert_eq!(garbled.freshness(at(-9999), WINDOW), TokenFreshness::Unusable);
    }

    #[test]
    fn expiry_is_read_with_offsets_and_as_utc_when_naive() {
        assert_eq!(token_expiring("2024-12-15T15:30:00+01:00").expires_at(), Some(at(0)));
        assert_eq!(token_expiring("2024-12-15T14:30:00.000").expires_at(), Some(at(0)));
        assert_eq!(
            token_expiring("2024-12-15T14:30:00Z").expires_at_rfc3339().as_deref(),
            Some("2024-12-15T14:30:00.000Z")
        );
    }

    #[test]
    fn placeholders_mean_no_token_and_no_guest() {
        assert!(GuestToken::new(SecretString::from(""), "2024-12-15T14:30:00Z").is_none());
        assert!(GuestToken::new(SecretString::from("t"), "").is_none());
        assert!(GuestId::new("").is_none());
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = GuestToken::new(SecretString::from("eyJsecret"), "2024-12-15T14:30:00Z")
            .unwrap()
            .with_refresh(RefreshToken::plain(SecretString::from("rt-secret")));
        assert!(!format!("{token:?}").contains("eyJsecret"));
        assert!(!format!("{token:?}").contains("rt-secret"));
    }
}
