//! The Genesys client's calls for the rotation function: whether Genesys accepts a credential,
//! and regenerating an OAuth client's secret (with the client's own credential set holding the
//! admin client, which has `oauth:client:edit`).

use reqwest::Method;
use secrecy::SecretString;

use crate::domain::Deadline;
use crate::secrets::Credential;
use crate::telemetry::Metrics;

use super::super::oauth_clients::{RegeneratedClient, regenerate_secret_path};
use super::super::{Endpoint, GenesysError};
use super::{Auth, Exchange, GenesysClient, malformed};

impl GenesysClient {
    /// Whether Genesys grants `credential` an access token now: `Ok(false)` when it answers
    /// `invalid_client`, an error when it cannot say (unavailable, rate limited past the retries).
    pub async fn accepts_credential(
        &self,
        credential: &Credential,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<bool, GenesysError> {
        self.oauth.accepts(credential, deadline, metrics).await
    }

    /// Gives the OAuth client `client_id` a new secret at Genesys and returns it: the only copy
    /// there will ever be. From this answer on, Genesys refuses the client's old secret.
    pub async fn regenerate_client_secret(
        &self,
        client_id: &str,
        deadline: Deadline,
        metrics: &Metrics,
    ) -> Result<SecretString, GenesysError> {
        let answer: RegeneratedClient = self
            .call_json(
                Exchange::new(
                    Endpoint::RegenerateClientSecret,
                    Method::POST,
                    Auth::AccessToken,
                    None::<&()>,
                ),
                &regenerate_secret_path(client_id),
                deadline,
                metrics,
            )
            .await?;
        answer.into_secret(client_id).map_err(malformed)
    }
}
