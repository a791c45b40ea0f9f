//! The Lambda binary: logging, configuration and clients once at init, then the runtime loop.

// The runtime's service stack nests deeply; computing its future's layout needs more than 128.
#![recursion_limit = "256"]

use std::sync::Arc;

use guest_token_broker::config::Config;
use guest_token_broker::telemetry::{self, LogSettings};
use guest_token_broker::{app, lambda};

// One thread: a Lambda instance serves one invocation at a time, and a small function gets a
// fraction of a vCPU, so worker threads would only add start-up work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogSettings::from_lookup(|name| std::env::var(name).ok()), false);
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return Err(init_failed("Runtime.ConfigurationError", &err).await),
    };
    let aws = app::aws_sdk_config().await;
    let store = app::dynamodb_store(&config, &aws);
    let broker = match app::credential_source(&config, Some(&aws)).and_then(|creds| app::broker(&config, store, creds))
    {
        Ok(broker) => broker,
        Err(err) => return Err(init_failed("Runtime.InitError", &err).await),
    };
    lambda::run(Arc::new(broker), config.deadline_margin).await
}

async fn init_failed(error_type: &str, err: &dyn std::error::Error) -> lambda_runtime::Error {
    let message = format!("invalid configuration: {err}");
    tracing::error!(error = %message, "initialisation failed");
    lambda::report_init_error(error_type, &message).await;
    message.into()
}
