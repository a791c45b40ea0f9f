//! The OpenID Connect provider function's Lambda binary (authenticated web messaging): Genesys
//! calls it back during a code exchange, so it runs apart from the guest function whose requests
//! wait for that exchange. Logging, configuration, the signer and the client secret once at init,
//! then the runtime loop.

#![recursion_limit = "256"]

use std::process::ExitCode;
use std::sync::Arc;

use guest_token_broker::config::LogConfig;
use guest_token_broker::telemetry::{self, LogSettings};
use guest_token_broker::{app, lambda};

// One thread, as the guest function: one invocation at a time, a fraction of a vCPU.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    telemetry::init(LogSettings::from_config(&LogConfig::from_env()), false);
    match app::lambda_oidc_provider().await {
        Ok((config, provider)) => lambda::serve(Arc::new(provider), config.deadline_margin).await,
        Err(err) => lambda::init_failed(&err).await,
    }
}
