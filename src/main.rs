//! The guest function's Lambda binary: logging, configuration and clients once at init, then the
//! runtime loop.

// The runtime's service stack nests deeply; computing its future's layout needs more than 128.
#![recursion_limit = "256"]

use std::process::ExitCode;
use std::sync::Arc;

use guest_token_broker::config::LogConfig;
use guest_token_broker::telemetry::{self, LogSettings};
use guest_token_broker::{app, lambda};

// One thread: a Lambda instance serves one invocation at a time, and a small function gets a
// fraction of a vCPU, so worker threads would only add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    telemetry::init(LogSettings::from_config(&LogConfig::from_env()), false);
    let (config, broker) = match app::lambda_broker().await {
        Ok(built) => built,
        Err(err) => return lambda::init_failed(&err).await,
    };
    if config.prime_at_init {
        lambda::prime(&broker).await;
    }
    lambda::serve(Arc::new(broker), config.deadline_margin).await
}
