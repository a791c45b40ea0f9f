//! `cargo run --bin genesys-sandbox`: the Genesys sandbox on its own, for running the Lambda binary
//! locally (`cargo lambda watch`) against it. Prints the variables that point the function at it,
//! then serves until Ctrl-C.
//!
//! `GENESYS_SANDBOX_PORT` sets the port (default 9200; 0 for any free one).
//!
//! The web-messaging emulation (external contacts, web deployment tokens) reads:
//! `GENESYS_SANDBOX_OIDC_ISSUER` (the OIDC provider's issuer, i.e. the broker's URL; unset, every
//! exchange fails until one is known), `GENESYS_SANDBOX_OIDC_CLIENT_ID`,
//! `GENESYS_SANDBOX_OIDC_CLIENT_SECRET`, `GENESYS_SANDBOX_OIDC_AUTH_METHOD` (`client_secret_basic`
//! or `client_secret_post`), `GENESYS_SANDBOX_DEPLOYMENT_ID`, `GENESYS_SANDBOX_EXTERNAL_SOURCE_ID`,
//! `GENESYS_SANDBOX_WEB_JWT_TTL_SECS` and `GENESYS_SANDBOX_REFRESH_TOKEN_TTL_SECS`.

use std::net::SocketAddr;
use std::process::ExitCode;

use genesys_sandbox::{DEFAULT_OIDC_CLIENT_SECRET, Sandbox, SandboxConfig};

const DEFAULT_PORT: u16 = 9200;

#[tokio::main]
async fn main() -> ExitCode {
    let port = match std::env::var("GENESYS_SANDBOX_PORT") {
        Ok(port) => match port.parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("genesys-sandbox: GENESYS_SANDBOX_PORT must be a port number");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => DEFAULT_PORT,
    };
    let config = match SandboxConfig::default().with_web_messaging_env(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("genesys-sandbox: {message}");
            return ExitCode::FAILURE;
        }
    };
    let (client_id, client_secret) = config.clients[0].clone();
    let web = config.web_messaging.clone();
    let sandbox = match Sandbox::start_on(SocketAddr::from(([127, 0, 0, 1], port)), config).await {
        Ok(sandbox) => sandbox,
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("genesys-sandbox: port {port} is already in use: set GENESYS_SANDBOX_PORT to another one");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("genesys-sandbox: cannot listen on 127.0.0.1:{port}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let url = sandbox.base_url();
    println!("Genesys sandbox on {url}");
    println!("Point the function at it with:");
    println!("export GENESYS_BASE_URL={url} GENESYS_LOGIN_URL={url}");
    println!("export GENESYS_CLIENT_ID={client_id} GENESYS_CLIENT_SECRET={client_secret}");
    print_web_messaging(&web);
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
    ExitCode::SUCCESS
}

/// What the broker needs for the "genesys-web-messaging" mode. The OIDC client secret is only
/// printed while it is the well-known default, never when it came from the environment.
fn print_web_messaging(web: &genesys_sandbox::WebMessagingConfig) {
    if let Some(deployment) = web.deployments.first() {
        println!("Web messaging deployment id: {}", deployment.id);
    }
    if let Some(source) = web.external_source_ids.first() {
        println!("External source id: {source}");
    }
    if let Some(integration) = web.integrations.first() {
        let secret = if integration.client_secret == DEFAULT_OIDC_CLIENT_SECRET {
            DEFAULT_OIDC_CLIENT_SECRET
        } else {
            "(as set in GENESYS_SANDBOX_OIDC_CLIENT_SECRET)"
        };
        println!(
            "OIDC client the sandbox presents: id {} secret {secret}",
            integration.client_id
        );
        match &integration.issuer {
            Some(issuer) => println!("OIDC issuer: {issuer}"),
            None => println!("OIDC issuer: not set (GENESYS_SANDBOX_OIDC_ISSUER); exchanges fail until it is"),
        }
    }
}
