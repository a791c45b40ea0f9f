//! Request dispatch: path → endpoint, call counting, fault injection, then the real handler.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, header};

use super::inspection::ExchangeRequestRecord;
use super::state::{Shared, lock};
use super::{contacts, deployments, guests, oauth, reply, web_tokens};

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
}

const ALL: [Endpoint; 10] = [
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
];

impl Endpoint {
    /// The path, or for the two `GET`s the path template whose `{...}` segments are parameters.
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
    fn platform_envelope(self) -> bool {
        !matches!(
            self,
            Endpoint::OAuthToken | Endpoint::CreateGuest | Endpoint::GuestToken
        )
    }

    fn allow_header(self) -> &'static str {
        match self.method() {
            Method::GET => "GET",
            Method::DELETE => "DELETE",
            _ => "POST",
        }
    }

    fn from_path(path: &str) -> Option<Endpoint> {
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

pub(crate) async fn handle(shared: Shared, req: Request<Bytes>) -> Response<Bytes> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = dispatch(&shared, req).await;
    // Paths carry no credentials (ids travel in bodies or are plain resource ids), so they are
    // safe to log.
    tracing::debug!(%method, %path, status = response.status().as_u16(), "sandbox request");
    response
}

async fn dispatch(shared: &Shared, req: Request<Bytes>) -> Response<Bytes> {
    let Some(endpoint) = Endpoint::from_path(req.uri().path()) else {
        return reply::not_found();
    };
    let fault = {
        let mut state = lock(shared);
        state.record_call(endpoint);
        if req.method() != endpoint.method() {
            return reply::method_not_allowed(endpoint.allow_header());
        }
        state.pop_fault(endpoint)
    };
    // The lock is released before playing the fault: a delayed call must not stall others.
    let answered = match fault {
        Some(fault) => fault.play(endpoint.platform_envelope()).await,
        None => None,
    };
    if endpoint == Endpoint::WebDeploymentTokenExchange {
        let record = ExchangeRequestRecord::of(req.body(), answered.is_some());
        lock(shared).exchange_requests.push(record);
    }
    if let Some(response) = answered {
        return response;
    }
    if endpoint == Endpoint::WebDeploymentTokenExchange {
        // Calls the OIDC provider: it takes the lock only between its awaits.
        return web_tokens::exchange(shared, &req).await;
    }
    let mut state = lock(shared);
    match endpoint {
        Endpoint::OAuthToken => oauth::token(&mut state, &req),
        Endpoint::CreateGuest => guests::create(&mut state, &req),
        Endpoint::GuestToken => guests::token(&state, &req),
        Endpoint::EnrichContact => contacts::enrich(&mut state, &req),
        Endpoint::LookupContact => contacts::lookup(&state, &req),
        // Answered above, without holding the lock; listed so that the match stays exhaustive.
        Endpoint::WebDeploymentTokenExchange => reply::not_found(),
        Endpoint::WebDeploymentTokenRefresh => web_tokens::refresh(&mut state, &req),
        Endpoint::WebDeploymentTokenRevoke => web_tokens::revoke(&mut state, &req),
        Endpoint::WebDeployment => deployments::deployment(&state, &req),
        Endpoint::WebDeploymentConfigurationVersion => deployments::configuration_version(&state, &req),
    }
}

/// The value after a case-insensitive `scheme ` prefix of the Authorization header.
pub(crate) fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (given, rest) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| rest.trim())
        .filter(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::Endpoint;
    use super::super::test_support::{access_token, grant, start_default};

    #[tokio::test]
    async fn unknown_path_is_not_found() {
        let sandbox = start_default().await;
        let response = reqwest::Client::new()
            .post(format!("{}/api/v2/nothing", sandbox.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn wrong_method_on_a_known_path_is_method_not_allowed_and_still_counted() {
        let sandbox = start_default().await;
        let response = reqwest::Client::new()
            .get(format!("{}/oauth/token", sandbox.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "POST");
        assert_eq!(sandbox.calls(Endpoint::OAuthToken), 1);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn call_counters_are_kept_per_endpoint_including_refused_calls() {
        let sandbox = start_default().await;
        let token = access_token(&sandbox).await;
        grant(&sandbox, "sandbox-client", "wrong").await;
        let client = reqwest::Client::new();
        let url = format!("{}{}", sandbox.base_url(), Endpoint::GuestToken.path());
        for _ in 0..3 {
            client.post(&url).bearer_auth(&token).send().await.unwrap();
        }
        assert_eq!(sandbox.calls(Endpoint::OAuthToken), 2);
        assert_eq!(sandbox.calls(Endpoint::CreateGuest), 0);
        assert_eq!(sandbox.calls(Endpoint::GuestToken), 3);
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn wrong_method_on_a_get_endpoint_names_get_in_allow() {
        let sandbox = start_default().await;
        let url = format!("{}/api/v2/webdeployments/deployments/some-id", sandbox.base_url());
        let response = reqwest::Client::new().post(url).send().await.unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET");
        assert_eq!(sandbox.calls(Endpoint::WebDeployment), 1);
        sandbox.shutdown().await;
    }

    #[test]
    fn path_templates_match_one_non_empty_segment_per_parameter() {
        let template = Endpoint::WebDeploymentConfigurationVersion.path();
        let path = "/api/v2/webdeployments/configurations/c1/versions/2";
        assert_eq!(super::path_params(template, path), Some(vec!["c1", "2"]));
        assert_eq!(
            super::path_params(template, "/api/v2/webdeployments/configurations//versions/2"),
            None
        );
        assert_eq!(
            super::path_params(template, "/api/v2/webdeployments/configurations/c1/versions/2/x"),
            None
        );
        assert_eq!(super::path_params("/oauth/token", "/oauth/token"), Some(vec![]));
        assert_eq!(
            Endpoint::from_path("/api/v2/webdeployments/deployments/d1"),
            Some(Endpoint::WebDeployment)
        );
        assert_eq!(Endpoint::from_path("/api/v2/webdeployments/deployments/"), None);
    }

    #[test]
    fn authorization_scheme_is_matched_case_insensitively() {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "bearer  abc ".parse().unwrap());
        assert_eq!(super::authorization(&headers, "Bearer"), Some("abc"));
        assert_eq!(super::authorization(&headers, "Basic"), None);
        headers.insert("authorization", "Bearer".parse().unwrap());
        assert_eq!(super::authorization(&headers, "Bearer"), None);
    }
}
