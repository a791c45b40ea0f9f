//! `cargo run --bin genesys-sandbox`: the Genesys sandbox on its own, for running the Lambda binary
//! locally (`cargo lambda watch`) against it. Prints the variables that point the function at it,
//! then serves until Ctrl-C.
//!
//! `GENESYS_SANDBOX_PORT` sets the port (default 9200; 0 for any free one).

use std::net::SocketAddr;
use std::process::ExitCode;

use genesys_sandbox::{Sandbox, SandboxConfig};

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
    let config = SandboxConfig::default();
    let (client_id, client_secret) = config.clients[0].clone();
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
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
    ExitCode::SUCCESS
}
