//! The OpenID Connect provider function: HTTP requests go to the provider's handler; it has no
//! schedule (discovery and the JWKS are answered from memory, the client secret is read at init).

use serde_json::Value;

use crate::domain::Deadline;
use crate::oidc::{self, OidcProvider};
use crate::store::CodeStore;
use crate::telemetry::Metrics;
use crate::web::{ApiRequest, ApiResponse};

use super::Function;

impl<C: CodeStore> Function for OidcProvider<C> {
    async fn serve_http(&self, request: ApiRequest<'_>, deadline: Deadline, metrics: &Metrics) -> ApiResponse {
        oidc::handle(self, request, deadline, metrics).await
    }

    async fn scheduled(&self, _deadline: Deadline, _metrics: &Metrics) -> Option<Value> {
        None
    }
}
