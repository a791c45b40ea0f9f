//! Request dispatch: path → endpoint, call counting, fault injection, then the real handler.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, header};

use super::state::{Shared, lock};
use super::{guests, oauth, reply};

/// The upstream operations the sandbox emulates, used to count calls and target faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /oauth/token`
    OAuthToken,
    /// `POST /api/v2/externalusers/guests`
    CreateGuest,
    /// `POST /api/v2/externalusers/guests/token`
    GuestToken,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::OAuthToken => "/oauth/token",
            Endpoint::CreateGuest => "/api/v2/externalusers/guests",
            Endpoint::GuestToken => "/api/v2/externalusers/guests/token",
        }
    }

    fn from_path(path: &str) -> Option<Endpoint> {
        [Endpoint::OAuthToken, Endpoint::CreateGuest, Endpoint::GuestToken]
            .into_iter()
            .find(|endpoint| endpoint.path() == path)
    }
}

pub(crate) async fn handle(shared: Shared, req: Request<Bytes>) -> Response<Bytes> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = dispatch(&shared, req).await;
    // Paths carry no credentials here (ids travel in bodies), so they are safe to log.
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
        if req.method() != Method::POST {
            return reply::method_not_allowed();
        }
        state.pop_fault(endpoint)
    };
    // The lock is released before playing the fault: a delayed call must not stall others.
    if let Some(fault) = fault {
        if let Some(response) = fault.play().await {
            return response;
        }
    }
    let mut state = lock(shared);
    match endpoint {
        Endpoint::OAuthToken => oauth::token(&mut state, &req),
        Endpoint::CreateGuest => guests::create(&mut state, &req),
        Endpoint::GuestToken => guests::token(&state, &req),
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
