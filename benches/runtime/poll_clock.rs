//! A stand-in Runtime API for timing init: it notes when the first bytes of the function's first
//! request arrive and checks that they are a `GET /runtime/invocation/next`. It never answers; the
//! bench kills the function once it has polled.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

const NEXT: &[u8] = b"GET /2018-06-01/runtime/invocation/next";

pub struct PollClock {
    listener: TcpListener,
    /// Held open until the clock is dropped, so the function waits instead of failing.
    connection: Option<TcpStream>,
}

impl PollClock {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        Self {
            listener,
            connection: None,
        }
    }

    pub fn runtime_api(&self) -> String {
        self.listener.local_addr().expect("a bound address").to_string()
    }

    /// When the first poll arrived; an error if the first request was something else or none
    /// came within `deadline`.
    pub async fn first_poll(mut self, deadline: Duration) -> Result<Instant, String> {
        let wait = async {
            let (mut stream, _) = self.listener.accept().await.map_err(|err| err.to_string())?;
            let mut head = vec![0u8; 256];
            let read = stream.read(&mut head).await.map_err(|err| err.to_string())?;
            let arrived = Instant::now();
            head.truncate(read);
            if !head.starts_with(NEXT) {
                return Err(format!(
                    "the first request was not a poll: {}",
                    String::from_utf8_lossy(&head)
                ));
            }
            self.connection = Some(stream);
            Ok(arrived)
        };
        tokio::time::timeout(deadline, wait)
            .await
            .unwrap_or_else(|_| Err(format!("no poll within {deadline:?}")))
    }
}
