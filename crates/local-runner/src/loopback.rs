//! The functions' HTTP handlers served over plain HTTP on a local socket: `local`'s front end.
//! The guest API gets every request, except, in web messaging mode, the OpenID Connect provider's
//! routes, which go to the provider (on Lambda they are two functions behind two APIs).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;

use genesys_sandbox::server::{self as http_server, ServerHandle};
use guest_token_broker::api::CORRELATION_HEADER;
use guest_token_broker::broker::Broker;
use guest_token_broker::domain::Deadline;
use guest_token_broker::lambda::Function;
use guest_token_broker::oidc::{OidcProvider, OidcRoute};
use guest_token_broker::store::{CodeStore, SessionStore};
use guest_token_broker::telemetry::Metrics;
use guest_token_broker::web::{ApiRequest, ErrorKind};

/// Serves `broker` (and `oidc`'s routes, when given) on `listener`; each request gets `budget`
/// as its deadline, like an invocation.
pub fn serve<S: SessionStore + CodeStore>(
    broker: Arc<Broker<S>>,
    oidc: Option<Arc<OidcProvider<S>>>,
    listener: TcpListener,
    budget: Duration,
) -> ServerHandle {
    http_server::spawn(listener, move |request: http::Request<Bytes>| {
        let (broker, oidc) = (Arc::clone(&broker), oidc.clone());
        async move {
            let (parts, body) = request.into_parts();
            let header = |name| parts.headers.get(name).and_then(|value| value.to_str().ok());
            let request = ApiRequest {
                correlation_header: header(CORRELATION_HEADER),
                authorization: header(http::header::AUTHORIZATION.as_str()),
                ..ApiRequest::new(&parts.method, parts.uri.path(), &body)
            };
            // `local` writes no metrics records: each request counts into a recorder of its own.
            let (deadline, metrics) = (Deadline::after(budget), Metrics::new());
            let provider_route = OidcRoute::resolve(&parts.method, parts.uri.path())
                .map_or_else(|err| err.kind() != ErrorKind::NotFound, |_| true);
            match oidc.filter(|_| provider_route) {
                Some(oidc) => oidc.serve_http(request, deadline, &metrics).await,
                None => broker.serve_http(request, deadline, &metrics).await,
            }
        }
    })
}
