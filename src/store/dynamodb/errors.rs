//! DynamoDB errors in the store's terms: throttling, outages and expiring role credentials are
//! transient (after the SDK's own retries); a missing table, denied access or a wrong key schema is
//! configuration; any other refusal of a request we built is a bug. The table's name goes into the
//! error (and so the log), never into a response.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::aws_error::{AwsFailure, classify as classify_aws};
use crate::store::StoreError;

pub(super) fn classify<E>(err: SdkError<E, HttpResponse>, table: &str) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let misconfigured = |problem: &str| StoreError::Misconfigured {
        table: table.to_owned(),
        problem: problem.to_owned(),
    };
    if matches!(
        err.code(),
        Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded")
    ) {
        return StoreError::Throttled(Box::new(err));
    }
    match classify_aws(&err) {
        AwsFailure::Transient => StoreError::Unavailable(Box::new(err)),
        AwsFailure::NotFound => misconfigured("it does not exist in this account and region"),
        AwsFailure::AccessDenied => {
            misconfigured("access denied: the role needs GetItem, UpdateItem and DeleteItem on it")
        }
        AwsFailure::CredentialsRefused => misconfigured("the function's AWS credentials were refused"),
        AwsFailure::KeySchema => misconfigured("its partition key must be crm_id_hash (string)"),
        AwsFailure::Decryption | AwsFailure::InvalidRequest | AwsFailure::Rejected => {
            StoreError::Rejected(Box::new(err))
        }
    }
}

/// A conditional write's outcome: `Some` its answer when it was written, `None` when its condition
/// failed (DynamoDB's `ConditionalCheckFailedException`), any other error classified.
pub(super) fn unless_condition_failed<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    table: &str,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(answer) => Ok(Some(answer)),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(None),
        Err(err) => Err(classify(err, table)),
    }
}
