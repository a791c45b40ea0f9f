//! Classification of DynamoDB errors: throttling and outages are transient (after the SDK's own
//! retries); a missing table, denied access or a wrong key schema is configuration.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::store::StoreError;

pub(super) fn classify<E>(err: SdkError<E, HttpResponse>, table: &str) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let misconfigured = |problem: &str| StoreError::Misconfigured {
        table: table.to_owned(),
        problem: problem.to_owned(),
    };
    match err.code() {
        Some("ResourceNotFoundException") => misconfigured("it does not exist in this account and region"),
        Some("AccessDeniedException") => {
            misconfigured("access denied: the role needs GetItem, UpdateItem and DeleteItem on it")
        }
        Some("UnrecognizedClientException" | "InvalidSignatureException" | "ExpiredTokenException") => {
            misconfigured("the function's AWS credentials were refused")
        }
        Some("ValidationException") => {
            misconfigured("DynamoDB rejected the request: its partition key must be crm_id_hash (string)")
        }
        _ => StoreError::Unavailable(Box::new(err)),
    }
}
