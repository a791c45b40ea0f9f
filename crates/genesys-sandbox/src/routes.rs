//! Request dispatch: path → endpoint, call counting, fault injection, then the real handler.

use bytes::Bytes;
use http::{Request, Response};

use super::endpoint::Endpoint;
use super::inspection::ExchangeRequestRecord;
use super::state::{Shared, lock};
use super::{contacts, deployments, guests, oauth, oauth_clients, reply, web_tokens};

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
    // The Messenger's side: what `getAuthCode` resolved becomes the exchange the Auth plugin sends.
    let req = match endpoint {
        Endpoint::MessengerAuthCode => match web_tokens::as_messenger_exchange(req) {
            Ok(exchange) => exchange,
            Err(refused) => return *refused,
        },
        _ => req,
    };
    let exchanges = matches!(
        endpoint,
        Endpoint::WebDeploymentTokenExchange | Endpoint::MessengerAuthCode
    );
    if exchanges {
        let record = ExchangeRequestRecord::of(req.body(), answered.is_some());
        lock(shared).exchange_requests.push(record);
    }
    if let Some(response) = answered {
        return response;
    }
    if exchanges {
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
        Endpoint::WebDeploymentTokenExchange | Endpoint::MessengerAuthCode => reply::not_found(),
        Endpoint::WebDeploymentTokenRefresh => web_tokens::refresh(&mut state, &req),
        Endpoint::WebDeploymentTokenRevoke => web_tokens::revoke(&mut state, &req),
        Endpoint::WebDeployment => deployments::deployment(&state, &req),
        Endpoint::WebDeploymentConfigurationVersion => deployments::configuration_version(&state, &req),
        Endpoint::RegenerateClientSecret => oauth_clients::regenerate_secret(&mut state, &req),
    }
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
}
