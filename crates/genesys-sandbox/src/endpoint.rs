//! The upstream operations the sandbox emulates ([`Endpoint`]): each one's path (or path template),
//! method and error envelope, and how a request path is matched to one.

use http::Method;

/// The upstream operations the sandbox emulates, used to count calls and target faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /oauth/token`
    OAuthToken,
    /// `POST /api/v2/externalusers/guests`
    CreateGuest,
    /// `POST /api/v2/externalusers/guests/token`
    GuestToken,
    /// `POST /api/v2/externalcontacts/contacts/enrich`
    EnrichContact,
    /// `POST /api/v2/externalcontacts/identifierlookup/contacts`
    LookupContact,
    /// `POST /api/v2/webdeployments/token/oauthcodegrantjwtexchange`
    WebDeploymentTokenExchange,
    /// `POST /api/v2/webdeployments/token/refresh`
    WebDeploymentTokenRefresh,
    /// `DELETE /api/v2/webdeployments/token/revoke`
    WebDeploymentTokenRevoke,
    /// `GET /api/v2/webdeployments/deployments/{deploymentId}`
    WebDeployment,
    /// `GET /api/v2/webdeployments/configurations/{configurationId}/versions/{version}`
    WebDeploymentConfigurationVersion,
    /// `POST /api/v2/oauth/clients/{clientId}/secret` ("Regenerate Client Secret")
    RegenerateClientSecret,
    /// `POST /sandbox/messenger/auth-code`: not Genesys's, the sandbox playing the Messenger's Auth
    /// plugin (or the mobile SDK's `authorize`): what `getAuthCode` resolved in, the code exchange.
    MessengerAuthCode,
}

const ALL: [Endpoint; 12] = [
    Endpoint::OAuthToken,
    Endpoint::CreateGuest,
    Endpoint::GuestToken,
    Endpoint::EnrichContact,
    Endpoint::LookupContact,
    Endpoint::WebDeploymentTokenExchange,
    Endpoint::WebDeploymentTokenRefresh,
    Endpoint::WebDeploymentTokenRevoke,
    Endpoint::WebDeployment,
    Endpoint::WebDeploymentConfigurationVersion,
    Endpoint::RegenerateClientSecret,
    Endpoint::MessengerAuthCode,
];

impl Endpoint {
    /// The path, or the path template whose `{...}` segments are parameters.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::OAuthToken => "/oauth/token",
            Endpoint::CreateGuest => "/api/v2/externalusers/guests",
            Endpoint::GuestToken => "/api/v2/externalusers/guests/token",
            Endpoint::EnrichContact => "/api/v2/externalcontacts/contacts/enrich",
            Endpoint::LookupContact => "/api/v2/externalcontacts/identifierlookup/contacts",
            Endpoint::WebDeploymentTokenExchange => "/api/v2/webdeployments/token/oauthcodegrantjwtexchange",
            Endpoint::WebDeploymentTokenRefresh => "/api/v2/webdeployments/token/refresh",
            Endpoint::WebDeploymentTokenRevoke => "/api/v2/webdeployments/token/revoke",
            Endpoint::WebDeployment => "/api/v2/webdeployments/deployments/{deploymentId}",
            Endpoint::WebDeploymentConfigurationVersion => {
                "/api/v2/webdeployments/configurations/{configurationId}/versions/{version}"
            }
            Endpoint::RegenerateClientSecret => "/api/v2/oauth/clients/{clientId}/secret",
            Endpoint::MessengerAuthCode => "/sandbox/messenger/auth-code",
        }
    }

    /// The one method the endpoint answers.
    pub fn method(self) -> Method {
        match self {
            Endpoint::WebDeploymentTokenRevoke => Method::DELETE,
            Endpoint::WebDeployment | Endpoint::WebDeploymentConfigurationVersion => Method::GET,
            _ => Method::POST,
        }
    }

    /// Whether errors use the full platform envelope (`contextId`, `details`, `errors`); the
    /// original guest contract keeps its shorter shape.
    pub(crate) fn platform_envelope(self) -> bool {
        !matches!(
            self,
            Endpoint::OAuthToken | Endpoint::CreateGuest | Endpoint::GuestToken
        )
    }

    pub(crate) fn allow_header(self) -> &'static str {
        match self.method() {
            Method::GET => "GET",
            Method::DELETE => "DELETE",
            _ => "POST",
        }
    }

    pub(crate) fn from_path(path: &str) -> Option<Endpoint> {
        ALL.into_iter()
            .find(|endpoint| path_params(endpoint.path(), path).is_some())
    }
}

/// The values of the template's `{...}` segments when `path` matches `template`, else `None`.
/// A parameter matches one non-empty segment.
pub(crate) fn path_params<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    let mut params = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(want), Some(got)) if want.starts_with('{') && want.ends_with('}') && !got.is_empty() => {
                params.push(got);
            }
            (Some(want), Some(got)) if want == got => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_match_one_non_empty_segment_per_parameter() {
        let template = Endpoint::WebDeploymentConfigurationVersion.path();
        let path = "/api/v2/webdeployments/configurations/c1/versions/2";
        assert_eq!(path_params(template, path), Some(vec!["c1", "2"]));
        assert_eq!(
            path_params(template, "/api/v2/webdeployments/configurations//versions/2"),
            None
        );
        assert_eq!(
            path_params(template, "/api/v2/webdeployments/configurations/c1/versions/2/x"),
            None
        );
        assert_eq!(path_params("/oauth/token", "/oauth/token"), Some(vec![]));
        assert_eq!(
            Endpoint::from_path("/api/v2/webdeployments/deployments/d1"),
            Some(Endpoint::WebDeployment)
        );
        assert_eq!(Endpoint::from_path("/api/v2/webdeployments/deployments/"), None);
    }
}
