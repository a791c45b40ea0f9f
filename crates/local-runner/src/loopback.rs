//! The broker's HTTP API served over plain HTTP on a local socket: `local`'s front end, through
//! the same `api::handle` the Lambda events reach.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;

use genesys_sandbox::server::{self as http_server, ServerHandle};
use guest_token_broker::api::{ApiRequest, CORRELATION_HEADER, handle};
use guest_token_broker::broker::Broker;
use guest_token_broker::domain::Deadline;
use guest_token_broker::store::SessionStore;
use guest_token_broker::telemetry::Metrics;

/// Serves `broker` on `listener`; each request gets `budget` as its deadline, like an invocation.
pub fn serve<S: SessionStore>(broker: Arc<Broker<S>>, listener: TcpListener, budget: Duration) -> ServerHandle {
    http_server::spawn(listener, move |request: http::Request<Bytes>| {
        let broker = Arc::clone(&broker);
        async move {
            let (parts, body) = request.into_parts();
            let request = ApiRequest {
                correlation_header: parts
                    .headers
                    .get(CORRELATION_HEADER)
                    .and_then(|value| value.to_str().ok()),
                authorization: parts
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok()),
                ..ApiRequest::new(&parts.method, parts.uri.path(), &body)
            };
            // `local` writes no metrics records: each request counts into a recorder of its own.
            handle(&broker, request, Deadline::after(budget), &Metrics::new()).await
        }
    })
}
