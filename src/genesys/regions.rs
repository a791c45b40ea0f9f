//! Genesys Cloud regions and the API / login hosts they map to.

use url::Url;

/// Genesys's own region table: AWS region name → the org's Genesys domain.
pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("eu-west-1", "mypurecloud.ie"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("eu-central-1", "mypurecloud.de"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
];

/// Where the broker talks to Genesys: the REST API and the OAuth login service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesysEndpoints {
    /// The REST API host, e.g. `https://api.mypurecloud.com`.
    pub api_base: Url,
    /// The OAuth login host, e.g. `https://login.mypurecloud.com`.
    pub login_base: Url,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "GENESYS_REGION {region:?} is not a Genesys Cloud region; use one of: {}",
    valid_regions()
)]
/// `GENESYS_REGION` names no Genesys Cloud region; the message lists the valid ones.
pub struct UnknownRegion {
    /// The region as configured.
    pub region: String,
}

fn valid_regions() -> String {
    REGIONS.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", ")
}

impl GenesysEndpoints {
    /// The hosts of a region: `https://api.{domain}` and `https://login.{domain}`.
    pub fn for_region(region: &str) -> Result<Self, UnknownRegion> {
        let domain = REGIONS
            .iter()
            .find(|(name, _)| *name == region)
            .map(|(_, domain)| *domain)
            .ok_or_else(|| UnknownRegion {
                region: region.to_owned(),
            })?;
        let parse = |host: String| Url::parse(&host).unwrap_or_else(|_| unreachable!("region table holds valid hosts"));
        Ok(Self {
            api_base: parse(format!("https://api.{domain}")),
            login_base: parse(format!("https://login.{domain}")),
        })
    }

    pub(crate) fn api_url(&self, path: &str) -> Url {
        join(&self.api_base, path)
    }

    pub(crate) fn login_url(&self, path: &str) -> Url {
        join(&self.login_base, path)
    }
}

/// A path segment from configuration or an upstream answer (an id, a version), percent-encoded so
/// that it stays one segment.
pub(crate) fn path_segment(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// Appends `path` to a base that may itself carry a path prefix (e.g. a proxy or the sandbox).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_maps_to_api_and_login_hosts() {
        for (region, domain) in REGIONS {
            let endpoints = GenesysEndpoints::for_region(region).unwrap();
            assert_eq!(endpoints.api_base.host_str(), Some(format!("api.{domain}").as_str()));
            assert_eq!(
                endpoints.login_base.host_str(),
                Some(format!("login.{domain}").as_str())
            );
        }
        assert_eq!(REGIONS.len(), 17);
    }

    #[test]
    fn known_regions_use_genesys_domains() {
        let eu = GenesysEndpoints::for_region("eu-west-1").unwrap();
        assert_eq!(
            eu.login_url("/oauth/token").as_str(),
            "https://login.mypurecloud.ie/oauth/token"
        );
        let gov = GenesysEndpoints::for_region("us-east-2").unwrap();
        assert_eq!(
            gov.api_url("/api/v2/externalusers/guests").as_str(),
            "https://api.use2.us-gov-pure.cloud/api/v2/externalusers/guests"
        );
    }

    #[test]
    fn an_unknown_region_lists_the_valid_ones() {
        let err = GenesysEndpoints::for_region("mars-north-1").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("mars-north-1"));
        assert!(message.contains("us-east-1") && !message.contains("pure.cloud"));
        assert!(message.contains("ap-southeast-1"));
    }

    #[test]
    fn urls_keep_a_base_path_prefix() {
        let base = Url::parse("http://127.0.0.1:8080/genesys/").unwrap();
        assert_eq!(
            join(&base, "/oauth/token").as_str(),
            "http://127.0.0.1:8080/genesys/oauth/token"
        );
    }
}
