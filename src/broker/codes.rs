//! The one-time codes the guest function issues for Genesys's code exchange (authenticated web
//! messaging): random, stored as their hash with what they grant, redeemed by the OIDC provider
//! function when Genesys calls it back.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::{AuthorizationCode, CODE_BYTES, CodeGrant, CrmIdHash, later_by};
use crate::store::{CodeStore, StoreError};

/// Why a code could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The code could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system's random source failed; nothing was stored.
    #[error("the system's random source failed")]
    Random,
}

/// What every code binds: the redirect URI registered in the integration, and how long it lives.
#[derive(Debug, Clone)]
pub struct CodeIssuer {
    /// The redirect URI registered in the Genesys integration; a code is only redeemed with it.
    pub redirect_uri: String,
    /// How long a code stays redeemable after it is minted.
    pub lifetime: Duration,
}

impl CodeIssuer {
    /// A new code for the customer, stored (as its hash) with what it grants.
    pub async fn mint<C: CodeStore>(
        &self,
        codes: &C,
        subject: &CrmIdHash,
        now: DateTime<Utc>,
    ) -> Result<SecretString, MintError> {
        let mut random = [0u8; CODE_BYTES];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| MintError::Random)?;
        let code = AuthorizationCode::from_random(random);
        let grant = CodeGrant {
            redirect_uri: self.redirect_uri.clone(),
            subject: subject.as_str().to_owned(),
            nonce: None,
            expires_at: later_by(now, self.lifetime),
        };
        codes.put_code(&code.key(), &grant).await?;
        Ok(code.secret().clone())
    }
}
