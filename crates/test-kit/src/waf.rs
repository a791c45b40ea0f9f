//! AWS WAF's rate-based rule keyed on the client IP, as a front applies it before the API: the
//! model of `template.yaml`'s `OidcApiWebAcl` (rule `PerSourceRateLimit`) for the tests that go
//! through a front. Its limit is the template's default (`OidcRateLimitPerSource`), read from
//! the template rather than restated, so the rule modelled and the rule deployed cannot drift.
//!
//! What it keeps of WAF (AWS WAF Developer Guide, *Rate-based rule high-level settings*; API
//! Gateway's `WAF_FILTERED` gateway response):
//! - each client IP's requests are counted over the evaluation window; once an address is over
//!   the limit, WAF applies the rule's action (Block) to its further requests, which API Gateway
//!   answers 403 `{"message":"Forbidden"}` before any route, throttle or integration;
//! - every request from the address counts, blocked ones too, so a flood that keeps flooding stays
//!   blocked; other addresses are counted apart and unaffected;
//! - the scope-down statement leaves the allow-list's ranges (`OidcGenesysEgressCidrs`) out: their
//!   requests are neither counted nor blocked.
//!
//! What it leaves out, on purpose: time. A test runs well within one evaluation window (the
//! template's is at least 60 s); [`RateBasedRule::next_window`] is the window passing, said by the
//! test, so nothing depends on how fast the machine is. WAF's own lag (it "applies rate limiting
//! near the limit", checking every few seconds) is not modelled: the rule here is exact.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::template::Template;

/// An IPv4 range, as the allow-list parameter gives it (`203.0.113.0/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ipv4Range {
    network: u32,
    mask: u32,
}

impl Ipv4Range {
    fn parse(cidr: &str) -> Self {
        let (address, prefix) = cidr.split_once('/').expect("a CIDR range: address/prefix");
        let address: Ipv4Addr = address.parse().expect("an IPv4 address");
        let prefix: u32 = prefix.parse().expect("a prefix length");
        assert!(prefix <= 32, "a prefix length of at most 32: {cidr}");
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        Self {
            network: u32::from(address) & mask,
            mask,
        }
    }

    fn contains(self, address: IpAddr) -> bool {
        match address {
            IpAddr::V4(address) => u32::from(address) & self.mask == self.network,
            IpAddr::V6(_) => false,
        }
    }
}

/// What the rule counted of one address in the current window.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    requests: u64,
    blocked: u64,
}

/// A rate-based rule on the client IP, with the Block action and an optional allow-list.
#[derive(Debug)]
pub struct RateBasedRule {
    limit: u64,
    exempt: Vec<Ipv4Range>,
    tallies: Mutex<HashMap<IpAddr, Tally>>,
}

impl RateBasedRule {
    /// A rule blocking an address's requests beyond `limit` in a window; nothing exempt.
    pub fn new(limit: u64) -> Self {
        assert!(limit >= 10, "WAF's lowest rate limit is 10");
        Self {
            limit,
            exempt: Vec::new(),
            tallies: Mutex::default(),
        }
    }

    /// The rule `template.yaml` deploys with its defaults: `OidcRateLimitPerSource`, and
    /// `OidcGenesysEgressCidrs` (empty by default) as the allow-list.
    pub fn from_template(template: &Template) -> Self {
        Self::new(template.numeric_default("OidcRateLimitPerSource"))
            .exempting(&template.default_of("OidcGenesysEgressCidrs"))
    }

    /// The same rule with `cidrs` (comma-separated IPv4 ranges, as the parameter takes them) left
    /// out of it.
    pub fn exempting(mut self, cidrs: &str) -> Self {
        self.exempt = cidrs
            .split(',')
            .filter(|cidr| !cidr.is_empty())
            .map(Ipv4Range::parse)
            .collect();
        self
    }

    /// The limit per address and window.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Applies the rule to one request from `source`: false when WAF blocks it.
    pub fn admits(&self, source: IpAddr) -> bool {
        if self.exempt.iter().any(|range| range.contains(source)) {
            return true;
        }
        let mut tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
        let tally = tallies.entry(source).or_default();
        tally.requests += 1;
        let admitted = tally.requests <= self.limit;
        if !admitted {
            tally.blocked += 1;
        }
        admitted
    }

    /// The evaluation window has passed: every address starts counting again.
    pub fn next_window(&self) {
        self.tallies.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Requests from `source` blocked in the current window.
    pub fn blocked_from(&self, source: IpAddr) -> u64 {
        self.tally(source).blocked
    }

    /// Requests from `source` counted in the current window (none for an exempt address).
    pub fn counted_from(&self, source: IpAddr) -> u64 {
        self.tally(source).requests
    }

    fn tally(&self, source: IpAddr) -> Tally {
        let tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
        tallies.get(&source).copied().unwrap_or_default()
    }
}

/// API Gateway's answer to a request the web ACL blocked (gateway response `WAF_FILTERED`).
pub fn blocked_answer() -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(br#"{"message":"Forbidden"}"#));
    *response.status_mut() = StatusCode::FORBIDDEN;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("x-amzn-errortype", HeaderValue::from_static("ForbiddenException"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_holds_the_addresses_its_prefix_covers() {
        let range = Ipv4Range::parse("203.0.113.0/24");
        assert!(range.contains(IpAddr::from([203, 0, 113, 200])));
        assert!(!range.contains(IpAddr::from([203, 0, 114, 1])));
        assert!(Ipv4Range::parse("127.0.0.2/32").contains(IpAddr::from([127, 0, 0, 2])));
        assert!(!Ipv4Range::parse("127.0.0.2/32").contains(IpAddr::from([127, 0, 0, 1])));
        assert!(Ipv4Range::parse("0.0.0.0/0").contains(IpAddr::from([198, 51, 100, 7])));
    }
}
