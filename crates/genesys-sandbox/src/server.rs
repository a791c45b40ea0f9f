//! A tiny HTTP/1.1 server that hands fully-buffered requests to an async handler.
//!
//! It exists so the `local` binary and the Genesys sandbox share one small, well-tested
//! piece of hyper plumbing instead of each growing their own.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Largest request body handed to the handler; anything bigger is answered 413 unseen.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How much of an oversized body is read and thrown away before giving up on the connection.
const DRAIN_LIMIT_BYTES: usize = 8 * MAX_BODY_BYTES;

/// In-flight requests get this long to finish once shutdown starts. Bounded so that a
/// handler that never answers (e.g. a sandbox "hang" fault) cannot stall shutdown forever.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Backoff after a failed `accept`, so resource exhaustion (EMFILE) does not become a hot loop.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// The address of the client at the other end of a request's connection, in the request's
/// extensions: what a front keyed on the caller's IP (AWS WAF's rate rule) reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A running server. Dropping it stops the server in the background; `shutdown` also waits.
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL clients should use; a wildcard bind is reported as loopback because
    /// `http://0.0.0.0:PORT` is not a usable destination everywhere.
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}")
    }

    /// Stops accepting, lets in-flight requests finish (bounded), closes every connection.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        // Nothing else observes the accept loop, so a panic there would otherwise vanish.
        if self.task.await.is_err_and(|err| err.is_panic()) {
            tracing::error!("http server task panicked");
        }
    }
}

/// Serves `listener` until the returned handle is shut down or dropped.
pub fn spawn<H, Fut>(listener: TcpListener, handler: H) -> ServerHandle
where
    H: Fn(Request<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Bytes>> + Send + 'static,
{
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (shutdown, stop) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, handler, stop));
    ServerHandle { addr, shutdown, task }
}

async fn accept_loop<H, Fut>(listener: TcpListener, handler: H, mut stop: watch::Receiver<bool>)
where
    H: Fn(Request<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Bytes>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, handler.clone(), stop.clone()));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

async fn serve_connection<H, Fut>(stream: TcpStream, peer: SocketAddr, handler: H, mut stop: watch::Receiver<bool>)
where
    H: Fn(Request<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Bytes>> + Send + 'static,
{
    let service = service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(PeerAddr(peer));
        serve_request(handler.clone(), req)
    });
    let mut builder = http1::Builder::new();
    // The timer lets hyper enforce its header-read timeout against slow clients.
    builder.timer(TokioTimer::new()).keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => log_connection_end(result),
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            log_connection_end(conn.await);
        }
    }
}

/// Resolves once shutdown is requested, or once the handle is dropped: with no sender left
/// nobody could ask for shutdown any more, so that counts as a request too.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The returned guard is not `Send`; it must not live across the caller's awaits.
    let _ = stop.wait_for(|stopped| *stopped).await;
}

fn log_connection_end(result: Result<(), hyper::Error>) {
    if let Err(err) = result {
        tracing::debug!(error = %err, "connection ended with error");
    }
}

async fn serve_request<H, Fut>(handler: H, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible>
where
    H: Fn(Request<Bytes>) -> Fut,
    Fut: Future<Output = Response<Bytes>>,
{
    let (parts, body) = req.into_parts();
    if declared_length(&parts.headers).is_some_and(|len| len > DRAIN_LIMIT_BYTES as u64) {
        return Ok(too_large());
    }
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(status) if status == StatusCode::PAYLOAD_TOO_LARGE => return Ok(too_large()),
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "unreadable request body")),
    };
    let response = handler(Request::from_parts(parts, body)).await;
    Ok(response.map(Full::new))
}

/// Reads the whole body; an oversized one is still read (and discarded) up to
/// `DRAIN_LIMIT_BYTES`, because closing a socket with unread input makes the kernel send a
/// reset that can destroy the 413 before the client reads it.
async fn read_body(mut body: Incoming) -> Result<Bytes, StatusCode> {
    let mut kept = Vec::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StatusCode::BAD_REQUEST)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry nothing the handler is offered
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT_BYTES {
            break;
        }
        if seen <= MAX_BODY_BYTES {
            kept.extend_from_slice(&data);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    Ok(Bytes::from(kept))
}

fn too_large() -> Response<Full<Bytes>> {
    plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
}

fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn plain(status: StatusCode, message: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> ServerHandle {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        spawn(
            listener,
            |req: Request<Bytes>| async move { Response::new(req.into_body()) },
        )
    }

    #[tokio::test]
    async fn body_is_collected_and_handed_to_the_handler() {
        let server = echo_server().await;
        let response = reqwest::Client::new()
            .post(format!("{}/echo", server.base_url()))
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "hello");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_handler_sees_the_address_the_client_connected_from() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = spawn(listener, |req: Request<Bytes>| async move {
            let peer = req.extensions().get::<PeerAddr>().map(|peer| peer.0.ip().to_string());
            Response::new(Bytes::from(peer.unwrap_or_default()))
        });
        let from = std::net::IpAddr::from([127, 0, 0, 2]);
        let client = reqwest::Client::builder().local_address(from).build().unwrap();
        let answer = client.get(server.base_url()).send().await.unwrap();
        assert_eq!(answer.text().await.unwrap(), "127.0.0.2");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn body_over_the_limit_is_refused_with_413() {
        let server = echo_server().await;
        let response = reqwest::Client::new()
            .post(server.base_url())
            .body(vec![b'x'; MAX_BODY_BYTES + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn huge_declared_length_is_refused_without_reading_or_calling_the_handler() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = spawn(listener, move |_req: Request<Bytes>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Response::new(Bytes::new()) }
        });
        let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
        let head = "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000000\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut status_line = [0u8; 12];
        stream.read_exact(&mut status_line).await.unwrap();
        assert_eq!(&status_line, b"HTTP/1.1 413");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn body_at_the_limit_is_accepted() {
        let server = echo_server().await;
        let response = reqwest::Client::new()
            .post(server.base_url())
            .body(vec![b'x'; MAX_BODY_BYTES])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().len(), MAX_BODY_BYTES);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn keep_alive_connection_serves_several_requests() {
        let server = echo_server().await;
        let client = reqwest::Client::new();
        for body in ["one", "two", "three"] {
            let response = client.post(server.base_url()).body(body).send().await;
            assert_eq!(response.unwrap().text().await.unwrap(), body);
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_stops_accepting_connections() {
        let server = echo_server().await;
        let addr = server.local_addr();
        let client = reqwest::Client::new();
        let before = client.post(server.base_url()).body("x").send().await;
        assert_eq!(before.unwrap().status(), 200);
        server.shutdown().await;
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn dropping_the_handle_without_shutdown_does_not_panic() {
        let server = echo_server().await;
        drop(server);
    }

    #[tokio::test]
    async fn wildcard_bind_reports_a_loopback_base_url() {
        let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let server = spawn(listener, |_req: Request<Bytes>| async { Response::new(Bytes::new()) });
        let port = server.local_addr().port();
        assert_eq!(server.base_url(), format!("http://127.0.0.1:{port}"));
        server.shutdown().await;
    }
}
