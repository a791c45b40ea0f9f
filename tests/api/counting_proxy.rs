//! A forwarding HTTP proxy that records each request's AWS operation (`X-Amz-Target`) and how long
//! the server behind took to answer it: put between the binary and moto, it counts what a request
//! cost in AWS calls (tests) and in AWS time (the benchmark).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use guest_token_broker::http_server::{self, ServerHandle};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Record {
    pub operation: String,
    /// From reading the request to reading the answer behind (read by benches/runtime.rs).
    #[allow(dead_code)]
    pub elapsed: Duration,
}

pub struct CountingProxy {
    server: ServerHandle,
    records: Arc<Mutex<Vec<Record>>>,
}

impl CountingProxy {
    pub async fn start(target: &str) -> Self {
        let records = Arc::new(Mutex::new(Vec::new()));
        let (client, target, recorded) = (
            reqwest::Client::new(),
            target.trim_end_matches('/').to_owned(),
            records.clone(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let server = http_server::spawn(listener, move |request: http::Request<Bytes>| {
            let (client, target, recorded) = (client.clone(), target.clone(), recorded.clone());
            async move {
                let operation = operation(&request);
                let started = Instant::now();
                let response = forward(&client, &target, request).await;
                let record = Record {
                    operation,
                    elapsed: started.elapsed(),
                };
                recorded.lock().unwrap_or_else(PoisonError::into_inner).push(record);
                response
            }
        });
        Self { server, records }
    }

    pub fn url(&self) -> String {
        self.server.base_url()
    }

    /// The operations answered so far, in order (e.g. `DynamoDB_20120810.GetItem`).
    pub fn operations(&self) -> Vec<String> {
        self.lock().iter().map(|record| record.operation.clone()).collect()
    }

    /// The requests answered since the last call, in order.
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn operation(request: &http::Request<Bytes>) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(no target)")
        .to_owned()
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
    response
        .body(answer.bytes().await.unwrap_or_default())
        .expect("a response")
}
