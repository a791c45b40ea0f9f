//! The credential rotation function's Lambda binary: Secrets Manager invokes it with the four
//! rotation steps of the Genesys credential set. Logging, configuration and clients once at init,
//! then the runtime loop.

#![recursion_limit = "256"]

use std::process::ExitCode;
use std::sync::Arc;

use guest_token_broker::config::LogConfig;
use guest_token_broker::telemetry::{self, LogSettings};
use guest_token_broker::{app, lambda};

// One thread, as the other functions: one invocation at a time, a fraction of a vCPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    telemetry::init(LogSettings::from_config(&LogConfig::from_env()), false);
    match app::lambda_secret_rotation().await {
        Ok((config, rotation)) => lambda::serve_events(Arc::new(rotation), config.deadline_margin).await,
        Err(err) => lambda::init_failed(&err).await,
    }
}
