//! The HTTP client for Genesys, built on first use and shared by OAuth and the guest calls.
//!
//! Building it loads the system's root certificates, milliseconds of file reads and parsing that a
//! cold start serving a stored token never needs; on first use it is built once and its connection
//! pool then lives across invocations.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use super::GenesysError;

/// A TCP connect that takes longer than this is treated as a failed attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
pub(crate) struct LazyHttp(Arc<OnceCell<reqwest::Client>>);

impl LazyHttp {
    pub(crate) async fn client(&self) -> Result<&reqwest::Client, GenesysError> {
        self.0
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
