//! A forwarding HTTP proxy that records each request's AWS operation (`X-Amz-Target`) before
//! passing it on: put between the binary and moto, it counts what a request cost in AWS calls.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use guest_token_broker::http_server::{self, ServerHandle};
use tokio::net::TcpListener;

pub struct CountingProxy {
    server: ServerHandle,
    seen: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    pub async fn start(target: &str) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (client, target, recorded) = (
            reqwest::Client::new(),
            target.trim_end_matches('/').to_owned(),
            seen.clone(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = http_server::spawn(listener, move |request: http::Request<Bytes>| {
            let (client, target, recorded) = (client.clone(), target.clone(), recorded.clone());
            async move {
                let operation = request
                    .headers()
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(no target)")
                    .to_owned();
                recorded.lock().unwrap_or_else(PoisonError::into_inner).push(operation);
                forward(&client, &target, request).await
            }
        });
        Self { server, seen }
    }

    pub fn url(&self) -> String {
        self.server.base_url()
    }

    /// The operations seen so far, in order (e.g. `DynamoDB_20120810.GetItem`).
    pub fn operations(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn clear(&self) {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

async fn forward(client: &reqwest::Client, target: &str, request: http::Request<Bytes>) -> http::Response<Bytes> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = client.request(parts.method, format!("{target}{path}")).body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.expect("the proxied server answers");
    let mut response = http::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != http::header::TRANSFER_ENCODING && name != http::header::CONTENT_LENGTH {
            response = response.header(name, value);
        }
    }
    response.body(answer.bytes().await.unwrap_or_default()).unwrap()
}
