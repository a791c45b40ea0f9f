//! One classification of AWS service errors, shared by the DynamoDB, Secrets Manager and KMS
//! adapters: what an operator must fix, what a retry later may cure, and what is a bug of ours.
//! Each adapter turns the class into its own error with its own wording. KMS's own codes for an
//! unusable key are read once here too, for the two adapters of KMS keys.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

/// What an AWS error means for the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsFailure {
    /// Throttling, a 5xx, a timeout, a dropped connection, or the function's role credentials
    /// expiring between refreshes (`ExpiredTokenException`): the SDK retried, a later request may
    /// succeed.
    Transient,
    /// The resource (table, secret) does not exist in this account and region.
    NotFound,
    /// The function's role may not do this.
    AccessDenied,
    /// The function's AWS credentials themselves were refused (not merely expired).
    CredentialsRefused,
    /// A DynamoDB key that does not match the table's key schema: the table was made wrong.
    KeySchema,
    /// A secret that cannot be decrypted with its KMS key.
    Decryption,
    /// Secrets Manager refused the request as made (a secret scheduled for deletion, say).
    InvalidRequest,
    /// Any other refusal of a request we built: a bug, reported as an internal error.
    Rejected,
}

/// What KMS's own error codes say is wrong with a key (it answers `NotFoundException` where other
/// services say `ResourceNotFoundException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KmsKeyProblem {
    /// No such key in this account and region.
    Missing,
    /// Disabled, or pending deletion.
    Disabled,
    /// A key of another usage (signing where encryption is asked, or the reverse).
    WrongUsage,
}

/// The key problem a KMS error names, if it names one; read before [`classify`].
pub(crate) fn kms_key_problem(err: &impl ProvideErrorMetadata) -> Option<KmsKeyProblem> {
    match err.code()? {
        "NotFoundException" => Some(KmsKeyProblem::Missing),
        "DisabledException" | "KMSInvalidStateException" => Some(KmsKeyProblem::Disabled),
        "InvalidKeyUsageException" => Some(KmsKeyProblem::WrongUsage),
        _ => None,
    }
}

pub(crate) fn classify(err: &impl ProvideErrorMetadata) -> AwsFailure {
    let message = err.message().unwrap_or_default();
    match err.code() {
        None => AwsFailure::Transient,
        Some(code) => classify_code(code, message),
    }
}

fn classify_code(code: &str, message: &str) -> AwsFailure {
    match code {
        "ResourceNotFoundException" => AwsFailure::NotFound,
        "AccessDeniedException" => AwsFailure::AccessDenied,
        "UnrecognizedClientException" | "InvalidSignatureException" | "MissingAuthenticationTokenException" => {
            AwsFailure::CredentialsRefused
        }
        "ValidationException" if message.contains("key element does not match the schema") => AwsFailure::KeySchema,
        "ValidationException" | "SerializationException" => AwsFailure::Rejected,
        "DecryptionFailure" => AwsFailure::Decryption,
        "InvalidRequestException" | "InvalidParameterException" => AwsFailure::InvalidRequest,
        // ExpiredTokenException, throttling, InternalServerError, ServiceUnavailable, …
        _ => AwsFailure::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_credentials_are_transient_and_only_a_key_mismatch_is_the_tables_fault() {
        assert_eq!(
            classify_code(
                "ExpiredTokenException",
                "The security token included in the request is expired"
            ),
            AwsFailure::Transient
        );
        assert_eq!(
            classify_code("ThrottlingException", "Rate exceeded"),
            AwsFailure::Transient
        );
        assert_eq!(
            classify_code("ProvisionedThroughputExceededException", ""),
            AwsFailure::Transient
        );
        assert_eq!(
            classify_code(
                "ValidationException",
                "The provided key element does not match the schema"
            ),
            AwsFailure::KeySchema
        );
        assert_eq!(
            classify_code("ValidationException", "One or more parameter values were invalid: x"),
            AwsFailure::Rejected
        );
        assert_eq!(
            classify_code("UnrecognizedClientException", ""),
            AwsFailure::CredentialsRefused
        );
        assert_eq!(classify_code("ResourceNotFoundException", ""), AwsFailure::NotFound);
    }
}
