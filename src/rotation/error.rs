//! Why a rotation step failed. Every message names the step's problem and what to do, never a
//! secret; the Lambda error Secrets Manager records carries it, and the failure alarm fires.

use crate::genesys::GenesysError;
use crate::secrets::CredentialError;

/// Why a rotation step failed.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The payload is not a rotation event this function can run.
    #[error("not a Secrets Manager rotation event: {0}")]
    Event(String),
    /// The event names a secret other than the one this function rotates.
    #[error(
        "this function rotates {configured:?} (GENESYS_CREDENTIALS_SECRET_ID), not {requested:?}: check the secret's rotation configuration"
    )]
    OtherSecret {
        /// The secret the event names.
        requested: String,
        /// The secret this function is configured for.
        configured: String,
    },
    /// A version of the credentials secret is not a credential set.
    #[error("the credentials secret cannot be rotated: {0}")]
    Document(#[source] CredentialError),
    /// The set holds one credential: rotating it would leave nothing that works meanwhile.
    #[error(
        "the credential set holds a single credential: rotating it would leave none that works while it changes; add a second OAuth client to the set"
    )]
    OnlyOneCredential,
    /// No credential but the one to rotate gets a token now: rotating it could leave none.
    #[error(
        "Genesys accepts no credential of the set other than {candidate:?}, the one due for rotation: it is not rotated (it may be the last one that works); fix or replace the others first"
    )]
    NoOtherWorks {
        /// The client that would have been rotated.
        candidate: String,
    },
    /// A Genesys call failed (the admin client refused or lacking `oauth:client:edit`, Genesys
    /// unavailable, a malformed answer).
    #[error("{doing}: {source}")]
    Genesys {
        /// What the step was doing.
        doing: &'static str,
        /// What went wrong.
        #[source]
        source: GenesysError,
    },
    /// Genesys refused the pending secret in `testSecret`.
    #[error(
        "Genesys refused the pending secret of OAuth client {client_id:?}: AWSCURRENT is left as it is; see docs/operations.md, \"When a rotation fails\""
    )]
    PendingRefused {
        /// The client whose new secret was refused.
        client_id: String,
    },
    /// A Secrets Manager call failed.
    #[error("Secrets Manager {operation} failed: {problem}")]
    SecretsManager {
        /// The operation (`DescribeSecret`, `GetSecretValue`, …).
        operation: &'static str,
        /// What Secrets Manager said, without any value.
        problem: String,
    },
    /// The secret was regenerated at Genesys but could not be stored.
    #[error(
        "the new secret of OAuth client {client_id:?} was made at Genesys but could not be stored as AWSPENDING ({problem}): Genesys now refuses the client's old secret, the other credentials serve, and the next createSecret (Secrets Manager retries the rotation) regenerates it again"
    )]
    Unstored {
        /// The client whose secret was regenerated.
        client_id: String,
        /// Why the store failed.
        problem: String,
    },
    /// Too little of the invocation was left to regenerate a secret and still store it.
    #[error(
        "too little time was left to regenerate a client secret and store it (nothing was changed): raise the rotation function's timeout; Secrets Manager retries the rotation"
    )]
    TooLittleTime,
    /// The step was asked for a version that is not the pending one.
    #[error("version {token} of the credentials secret is not AWSPENDING: this rotation was taken over or ended")]
    NotPending {
        /// The event's `ClientRequestToken`.
        token: String,
    },
}

impl RotationError {
    /// Turns a Genesys failure into this error, saying what the step was `doing`.
    pub(super) fn genesys(doing: &'static str) -> impl FnOnce(GenesysError) -> Self {
        move |source| Self::Genesys { doing, source }
    }

    /// The Lambda error type Secrets Manager and the logs see.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Event(_) => "InvalidRotationEvent",
            Self::OtherSecret { .. } => "WrongSecret",
            Self::Document(_) | Self::OnlyOneCredential => "CredentialSetNotRotatable",
            Self::NoOtherWorks { .. } => "NoOtherCredentialWorks",
            Self::Genesys { .. } => "GenesysFailed",
            Self::PendingRefused { .. } => "PendingSecretRefused",
            Self::SecretsManager { .. } => "SecretsManagerFailed",
            Self::Unstored { .. } => "NewSecretNotStored",
            Self::TooLittleTime => "TooLittleTime",
            Self::NotPending { .. } => "NotPending",
        }
    }
}
