//! The one-time codes the guest function issues (authenticated web messaging): random, stored as
//! their hash with what they grant, redeemed by the OIDC provider function when Genesys calls it
//! back. Both use cases mint them here: the token path for its own exchange, the code path for
//! Genesys's clients (the Messenger, the mobile SDK), which exchange them themselves.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::{
    AuthorizationCode, CODE_BYTES, CodeChallenge, CodeGrant, CodeVerifier, CrmIdHash, CustomerProfile, VERIFIER_BYTES,
    later_by,
};
use crate::store::{CodeStore, StoreError};

/// Random bytes in a nonce the broker makes: 128 bits, 22 base64url characters.
const NONCE_BYTES: usize = 16;

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

/// What every code binds: the redirect URI registered in the integration, how long it lives, and
/// whether the broker makes a PKCE verifier where no caller brought a challenge.
#[derive(Debug, Clone)]
pub struct CodeIssuer {
    /// The redirect URI registered in the Genesys integration; a code is only redeemed with it.
    pub redirect_uri: String,
    /// How long a code stays redeemable after it is minted.
    pub lifetime: Duration,
    /// `OIDC_PKCE=S256`: codes without a caller's challenge bind one of a verifier the broker
    /// makes (and the token path sends in its exchange), for integrations that require PKCE.
    pub pkce: bool,
}

/// What a code binds besides its customer: each part checked or echoed at redemption. What a
/// caller of `POST /auth-codes` sends, each part validated, is one too.
#[derive(Debug, Default)]
pub struct CodeBinding {
    /// The S256 challenge the redemption's `code_verifier` must answer.
    pub challenge: Option<CodeChallenge>,
    /// The nonce the id_token echoes.
    pub nonce: Option<String>,
    /// The claims the agent sees.
    pub profile: CustomerProfile,
}

/// A binding made whole by [`CodeIssuer::complete`]: the nonce it binds, and the verifier the
/// broker made when it made the challenge.
pub struct CompletedBinding {
    /// The binding, its nonce set and, with PKCE on, its challenge.
    pub binding: CodeBinding,
    /// The nonce bound: the caller's, or one the broker made.
    pub nonce: String,
    /// The verifier whose challenge the broker bound (PKCE on, no challenge brought).
    pub verifier: Option<CodeVerifier>,
}

fn random<const N: usize>() -> Result<[u8; N], MintError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| MintError::Random)?;
    Ok(bytes)
}

impl CodeIssuer {
    /// `binding` with what its caller left out made by the broker: a fresh nonce where it has
    /// none, and with PKCE on, the challenge of a fresh verifier where it has no challenge.
    pub fn complete(&self, mut binding: CodeBinding) -> Result<CompletedBinding, MintError> {
        let nonce = match binding.nonce.take() {
            Some(nonce) => nonce,
            None => self.nonce()?,
        };
        binding.nonce = Some(nonce.clone());
        let verifier = match binding.challenge {
            Some(_) => None,
            None => self.verifier()?,
        };
        if let Some(verifier) = &verifier {
            binding.challenge = Some(verifier.challenge());
        }
        Ok(CompletedBinding {
            binding,
            nonce,
            verifier,
        })
    }

    /// A fresh nonce, for a code whose caller brought none.
    fn nonce(&self) -> Result<String, MintError> {
        Ok(URL_SAFE_NO_PAD.encode(random::<NONCE_BYTES>()?))
    }

    /// A fresh verifier when PKCE is on (`None` when it is off).
    fn verifier(&self) -> Result<Option<CodeVerifier>, MintError> {
        Ok(match self.pkce {
            true => Some(CodeVerifier::from_random(random::<VERIFIER_BYTES>()?)),
            false => None,
        })
    }

    /// A new code for the customer, stored (as its hash) with what it grants: one write.
    pub async fn mint<C: CodeStore>(
        &self,
        codes: &C,
        subject: &CrmIdHash,
        binding: CodeBinding,
        now: DateTime<Utc>,
    ) -> Result<SecretString, MintError> {
        let code = AuthorizationCode::from_random(random::<CODE_BYTES>()?);
        let grant = CodeGrant {
            redirect_uri: self.redirect_uri.clone(),
            subject: subject.as_str().to_owned(),
            nonce: binding.nonce,
            challenge: binding.challenge,
            profile: binding.profile,
            expires_at: later_by(now, self.lifetime),
        };
        codes.put_code(&code.key(), &grant).await?;
        Ok(code.secret().clone())
    }
}
