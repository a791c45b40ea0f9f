//! The scheduled warm-up: load the credential set (and with it the pseudonymisation key), make sure
//! an OAuth access token is cached, and open the DynamoDB connection with one cheap read. It creates
//! no guest and no guest token, and a failing step is reported and logged, never fatal.

use serde::Serialize;
use serde_json::Value;

use crate::domain::{Broker, Deadline};
use crate::store::SessionStore;

#[derive(Debug, Clone, Serialize)]
pub struct WarmUpReport {
    pub warmed: bool,
    pub credentials: String,
    #[serde(rename = "accessToken")]
    pub access_token: String,
    pub store: String,
}

impl WarmUpReport {
    pub fn into_json(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn step<E: std::fmt::Display>(name: &str, result: Result<(), E>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(err) => {
            tracing::warn!(step = name, error = %err, "warm-up step failed");
            format!("failed: {err}")
        }
    }
}

pub async fn warm_up<S: SessionStore>(broker: &Broker<S>, deadline: Deadline) -> WarmUpReport {
    let genesys = broker.genesys();
    let (credentials, access_token, store) = tokio::join!(
        broker.pseudonymise_key_loaded(),
        genesys.ensure_access_token(deadline),
        broker.store().ping(),
    );
    let report = WarmUpReport {
        warmed: credentials.is_ok() && access_token.is_ok() && store.is_ok(),
        credentials: step("credentials", credentials),
        access_token: step("access token", access_token),
        store: step("store", store),
    };
    tracing::info!(route = "warm-up", warmed = report.warmed, "request");
    report
}
