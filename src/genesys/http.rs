//! The HTTP client for Genesys, built on first use and shared by OAuth and the guest calls.
//!
//! Building it loads the system's root certificates, milliseconds of file reads and parsing that a
//! cold start serving a stored token never needs; on first use it is built once and its connection
//! pool then lives across invocations.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::GenesysError;
use crate::telemetry::XRay;

/// The largest upstream body read: every answer of the contract is a few hundred bytes, and a
/// larger one (garbage, an error page, an attack) is refused without being held in memory whole.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why an upstream body could not be read as the JSON expected.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// The body did not arrive in time (or the connection broke while it did).
    Interrupted,
    /// Larger than [`MAX_BODY_BYTES`].
    TooLarge,
    /// Not the JSON expected.
    Invalid,
}

/// Reads at most [`MAX_BODY_BYTES`] of `response` and parses them as `T`.
pub(crate) async fn read_json<T: DeserializeOwned>(mut response: reqwest::Response) -> Result<T, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| BodyError::Interrupted)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|_| BodyError::Invalid)
}

/// A TCP connect that takes longer than this is treated as a failed attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The client, built on first use, and the tracer its calls are recorded with.
#[derive(Clone, Default)]
pub(crate) struct LazyHttp {
    client: Arc<OnceCell<reqwest::Client>>,
    xray: XRay,
}

impl LazyHttp {
    pub(crate) fn traced(xray: XRay) -> Self {
        Self {
            client: Arc::default(),
            xray,
        }
    }

    pub(crate) fn xray(&self) -> &XRay {
        &self.xray
    }

    pub(crate) async fn client(&self) -> Result<&reqwest::Client, GenesysError> {
        self.client
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .user_agent(concat!("guest-token-broker/", env!("CARGO_PKG_VERSION")))
                    .build()
            })
            .await
            .map_err(|err| GenesysError::Client(err.to_string()))
    }
}
