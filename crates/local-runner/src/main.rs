//! `cargo run --bin local`: the broker's HTTP API on 127.0.0.1:9100 (`PORT` to change), with an
//! in-memory session store and the embedded Genesys sandbox, needing neither AWS nor Genesys.
//!
//! `GENESYS_UPSTREAM_MODE=genesys-web-messaging` runs the web messaging mode end to end against the
//! sandbox: the OIDC provider, served on the same address, is the sandbox's integration's, with a
//! key made at start. It also serves `POST /auth-codes`, and prints a curl that hands its answer to
//! the sandbox playing the Messenger's Auth plugin, which turns the code into a jwt.
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

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine as _;
use genesys_sandbox::{
    DEFAULT_DEPLOYMENT_ID, DEFAULT_EXTERNAL_SOURCE_ID, DEFAULT_OIDC_CLIENT_ID, DEFAULT_OIDC_CLIENT_SECRET, Endpoint,
    Sandbox, SandboxConfig,
};
use guest_token_broker::app;
use guest_token_broker::broker::Broker;
use guest_token_broker::config::{Config, LogConfig, OidcConfig, WEB_MESSAGING_MODE};
use guest_token_broker::oidc::OidcProvider;
use guest_token_broker::store::{CodeStore, MemoryStore, SessionStore};
use guest_token_broker::telemetry::{self, LogSettings, XRay};
use tokio::net::TcpListener;

/// Not 9000, which `cargo lambda watch` takes by default: both can run side by side.
const DEFAULT_PORT: u16 = 9100;
/// Each request gets what a Lambda invocation with the default 10 s timeout would.
const REQUEST_BUDGET: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogSettings::from_config(&LogConfig::from_env()), true);
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
    let sandbox = if real_genesys {
        None
    } else {
        Some(Sandbox::start(SandboxConfig::default()).await?)
    };
    // Web messaging against the sandbox: the provider on this address is the OIDC provider of
    // the sandbox's default integration, signing with a key made now (or OIDC_LOCAL_SIGNING_KEY).
    let web = (web_messaging && sandbox.is_some())
        .then(|| local_web_messaging(&address))
        .transpose()?;
    let (client_id, client_secret) = SandboxConfig::default().clients.remove(0);
    let sandbox_url = sandbox.as_ref().map(Sandbox::base_url);
    let lookup = |name: &str| match (name, &sandbox_url) {
        ("GENESYS_BASE_URL" | "GENESYS_LOGIN_URL", Some(url)) => Some(url.clone()),
        ("GENESYS_CLIENT_ID", Some(_)) => env(name).or_else(|| Some(client_id.clone())),
        ("GENESYS_CLIENT_SECRET", Some(_)) => env(name).or_else(|| Some(client_secret.clone())),
        _ => env(name).or_else(|| {
            web.as_ref()
                .and_then(|defaults| defaults.iter().find(|(var, _)| *var == name))
                .map(|(_, value)| value.clone())
        }),
    };
    let config = Config::from_lookup(lookup)?;
    let oidc_config = web_messaging.then(|| OidcConfig::from_lookup(lookup)).transpose()?;
    if let (Some(sandbox), Some(url)) = (&sandbox, &sandbox_url) {
        if web.is_some() {
            sandbox.set_oidc_issuer(&address);
        }
        println!("Genesys sandbox on {url}");
    }
    if web_messaging {
        println!("Upstream: Genesys web messaging, the OIDC provider at {address}/.well-known/openid-configuration");
    }
    let aws = if app::needs_aws(&config) || oidc_config.as_ref().is_some_and(app::oidc_needs_aws) {
        Some(app::Aws::load(XRay::default()).await)
    } else {
        None
    };
    let credentials = app::credential_source(&config, aws.as_ref())?;
    let pseudonyms = app::pseudonyms(&config, aws.as_ref())?;
    let upstream = app::upstream(&config, credentials, XRay::default())?;
    // Where the sandbox plays the Messenger: what POST /auth-codes answers goes there as is.
    let messenger = sandbox_url
        .as_ref()
        .filter(|_| web.is_some())
        .map(|url| format!("{url}{}", Endpoint::MessengerAuthCode.path()));
    match (&config.sessions_table, &aws) {
        (Some(table), Some(aws)) => {
            println!("Session store: DynamoDB table {table}");
            let store = app::dynamodb_store(&config, aws);
            let oidc = match &oidc_config {
                Some(oidc) => Some(app::oidc_provider(oidc, store.clone(), Some(aws)).await?),
                None => None,
            };
            let broker = app::broker(&config, store, upstream, pseudonyms);
            serve(broker, oidc, listener, &address, messenger.as_deref()).await?;
        }
        _ => {
            println!("Session store: in memory");
            let store = MemoryStore::new();
            let oidc = match &oidc_config {
                Some(oidc) => Some(app::oidc_provider(oidc, store.clone(), aws.as_ref()).await?),
                None => None,
            };
            let broker = app::broker(&config, store, upstream, pseudonyms);
            serve(broker, oidc, listener, &address, messenger.as_deref()).await?;
        }
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}

/// The web messaging settings `local` fills in against the sandbox (each can still be set).
fn local_web_messaging(address: &str) -> Result<Vec<(&'static str, String)>, Box<dyn Error>> {
    let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| "could not generate a local RSA key")?;
    let generated = AsDer::<Pkcs8V1Der>::as_der(&key).map_err(|_| "the local key has no PKCS#8 form")?;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(generated.as_ref())
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

/// Serves until Ctrl-C, after printing curls that work as pasted: a token, and with `messenger`
/// (the sandbox's Messenger endpoint) a code from `POST /auth-codes` turned into a jwt there.
async fn serve<S: SessionStore + CodeStore>(
    broker: Broker<S>,
    oidc: Option<OidcProvider<S>>,
    listener: TcpListener,
    address: &str,
    messenger: Option<&str>,
) -> Result<(), Box<dyn Error>> {
    let server = loopback::serve(Arc::new(broker), oidc.map(Arc::new), listener, REQUEST_BUDGET);
    println!("Listening on {address}");
    println!(
        "Try:\n  curl -sS -X POST {address}/guest-tokens -H 'content-type: application/json' -d '{{\"crmId\":\"CRM-987654\"}}'"
    );
    if let Some(messenger) = messenger {
        println!("A code for the Messenger, exchanged by the sandbox as the Messenger's Auth plugin would:");
        println!(
            "  curl -sS -X POST {address}/auth-codes -H 'content-type: application/json' -d '{{\"crmId\":\"CRM-987654\"}}' \
             | curl -sS -X POST {messenger} -H 'content-type: application/json' -d @-"
        );
    }
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
