//! `cargo run --bin local`: the broker's HTTP API on 127.0.0.1:9100 (`PORT` to change), with an
//! in-memory session store and the embedded Genesys sandbox, needing neither AWS nor Genesys.
//!
//! `GENESYS_UPSTREAM_MODE=genesys-web-messaging` runs the web messaging mode end to end against the
//! sandbox: the broker is the OIDC provider of the sandbox's integration, with a key made at start.
//!
//! `SESSIONS_TABLE` / `GENESYS_CREDENTIALS_SECRET_ID` switch to DynamoDB / Secrets Manager (with
//! the `AWS_ENDPOINT_URL*` variables for dynalite and moto); `GENESYS_REGION` or `GENESYS_BASE_URL` plus credentials switch to
//! a real Genesys org.

// The broker's request path nests futures deeply; computing their layout needs more than 128.
#![recursion_limit = "256"]

use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

mod loopback;

use base64::Engine as _;
use genesys_sandbox::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Sandbox,
    SandboxConfig,
};
use guest_token_broker::app;
use guest_token_broker::broker::Broker;
use guest_token_broker::config::{Config, WEB_MESSAGING_MODE};
use guest_token_broker::oidc::Signer;
use guest_token_broker::store::{MemoryStore, SessionStore};
use guest_token_broker::telemetry::{self, LogSettings, XRay};
use tokio::net::TcpListener;

/// Not 9000, which `cargo lambda watch` takes by default: both can run side by side.
const DEFAULT_PORT: u16 = 9100;
/// Each request gets what a Lambda invocation with the default 10 s timeout would.
const REQUEST_BUDGET: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogSettings::from_lookup(|name| std::env::var(name).ok()), true);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let port = match env("PORT") {
        Some(port) => port.parse().map_err(|_| "PORT must be a port number")?,
        None => DEFAULT_PORT,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|err| {
        if err.kind() == std::io::ErrorKind::AddrInUse {
            format!("port {port} is already in use (by cargo lambda watch?): set PORT to another one, e.g. PORT=9101")
        } else {
            format!("cannot listen on 127.0.0.1:{port}: {err}")
        }
    })?;
    let address = format!("http://{}", listener.local_addr()?);
    let real_genesys = env("GENESYS_REGION").is_some() || env("GENESYS_BASE_URL").is_some();
    let web_messaging = env("GENESYS_UPSTREAM_MODE").as_deref() == Some(WEB_MESSAGING_MODE);
    let (config, sandbox) = if real_genesys {
        (Config::from_env()?, None)
    } else {
        let sandbox = Sandbox::start(SandboxConfig::default()).await?;
        let (client_id, client_secret) = SandboxConfig::default().clients.remove(0);
        let base_url = sandbox.base_url();
        // Web messaging against the sandbox: the broker on this address is the OIDC provider of
        // the sandbox's default integration, signing with a key made now (or OIDC_LOCAL_SIGNING_KEY).
        let web = web_messaging.then(|| local_web_messaging(&address)).transpose()?;
        if web.is_some() {
            sandbox.set_oidc_issuer(&address);
        }
        let config = Config::from_lookup(|name| match name {
            "GENESYS_BASE_URL" | "GENESYS_LOGIN_URL" => Some(base_url.clone()),
            "GENESYS_CLIENT_ID" => env(name).or_else(|| Some(client_id.clone())),
            "GENESYS_CLIENT_SECRET" => env(name).or_else(|| Some(client_secret.clone())),
            _ => env(name).or_else(|| {
                web.as_ref()
                    .and_then(|defaults| defaults.iter().find(|(var, _)| *var == name))
                    .map(|(_, value)| value.clone())
            }),
        })?;
        println!("Genesys sandbox on {base_url}");
        (config, Some(sandbox))
    };
    if web_messaging {
        println!(
            "Upstream: Genesys web messaging, the broker as OIDC provider at {address}/.well-known/openid-configuration"
        );
    }
    let aws = if app::needs_aws(&config) {
        Some(app::Aws::load(XRay::default()).await)
    } else {
        None
    };
    let credentials = app::credential_source(&config, aws.as_ref())?;
    let pseudonyms = app::pseudonyms(&config, aws.as_ref())?;
    let upstream = app::upstream(&config, credentials, XRay::default(), aws.as_ref()).await?;
    match (&config.sessions_table, &aws) {
        (Some(table), Some(aws)) => {
            println!("Session store: DynamoDB table {table}");
            serve(
                app::broker(&config, app::dynamodb_store(&config, aws), upstream, pseudonyms),
                listener,
                &address,
            )
            .await?;
        }
        _ => {
            println!("Session store: in memory");
            serve(
                app::broker(&config, MemoryStore::new(), upstream, pseudonyms),
                listener,
                &address,
            )
            .await?;
        }
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}

/// The web messaging settings `local` fills in against the sandbox (each can still be set).
fn local_web_messaging(address: &str) -> Result<Vec<(&'static str, String)>, Box<dyn Error>> {
    let generated = Signer::generate_local()?
        .local_pkcs8_der()
        .ok_or("the local key has no PKCS#8 form")?;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(generated)
    );
    Ok(vec![
        ("GENESYS_DEPLOYMENT_ID", DEFAULT_DEPLOYMENT_ID.to_owned()),
        ("GENESYS_EXTERNAL_SOURCE_ID", DEFAULT_EXTERNAL_SOURCE_ID.to_owned()),
        ("OIDC_ISSUER", address.to_owned()),
        ("OIDC_REDIRECT_URI", format!("{address}/oidc/callback")),
        ("OIDC_CLIENT_ID", DEFAULT_OIDC_CLIENT_ID.to_owned()),
        ("OIDC_CLIENT_SECRET", DEFAULT_OIDC_CLIENT_SECRET.to_owned()),
        ("OIDC_LOCAL_SIGNING_KEY", pem),
    ])
}

async fn serve<S: SessionStore>(broker: Broker<S>, listener: TcpListener, address: &str) -> Result<(), Box<dyn Error>> {
    let server = loopback::serve(Arc::new(broker), listener, REQUEST_BUDGET);
    println!("Listening on {address}");
    println!(
        "Try:\n  curl -sS -X POST {address}/guest-tokens -H 'content-type: application/json' -d '{{\"crmId\":\"CRM-987654\"}}'"
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
