//! Test-only levers on the sandbox's web-messaging side: what each code exchange request carried
//! (so a test can replay the codes a broker minted), and id_tokens altered before the sandbox
//! verifies them (so a test can show that the verification refuses what it must).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// One request received at `POST …/token/oauthcodegrantjwtexchange`, whatever its outcome. It holds
/// the code in clear: test inspection only, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ExchangeRequestRecord {
    /// `oauth.code`, when the body had one.
    pub code: Option<String>,
    /// `oauth.redirectUri`, when the body had one.
    pub redirect_uri: Option<String>,
    /// `oauth.nonce`, when the body had one.
    pub nonce: Option<String>,
    /// `oauth.codeVerifier`, when the body had one (a secret: test inspection only).
    pub code_verifier: Option<String>,
    /// A scripted [`crate::Fault`] answered instead of the exchange: the code was never redeemed.
    pub faulted: bool,
}

// Hand-written so that a failed assertion never prints a code.
impl std::fmt::Debug for ExchangeRequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequestRecord")
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("redirect_uri", &self.redirect_uri)
            .field("nonce", &self.nonce)
            .field("code_verifier", &self.code_verifier.as_ref().map(|_| "<redacted>"))
            .field("faulted", &self.faulted)
            .finish()
    }
}

impl ExchangeRequestRecord {
    pub(crate) fn of(body: &[u8], faulted: bool) -> Self {
        let body: Value = serde_json::from_slice(body).unwrap_or_default();
        let field = |name: &str| body["oauth"][name].as_str().map(str::to_owned);
        Self {
            code: field("code"),
            redirect_uri: field("redirectUri"),
            nonce: field("nonce"),
            code_verifier: field("codeVerifier"),
            faulted,
        }
    }
}

/// How the sandbox alters every id_token it obtains before verifying it (see
/// [`crate::Sandbox::tamper_id_tokens`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenTamper {
    /// One bit of the signature flipped: the verification must answer `BadSignature`.
    Signature,
    /// The claims re-encoded with another `sub`, the signature kept: `BadSignature`.
    Subject,
    /// Verified as if the clock were this far ahead: a token whose `exp` falls before that
    /// instant must be refused as `Expired`.
    ClockAhead(Duration),
}

impl IdTokenTamper {
    /// The token to verify in place of `id_token`.
    pub(crate) fn token(self, id_token: &str) -> String {
        let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();
        match (self, parts.as_mut_slice()) {
            (IdTokenTamper::Signature, [_, _, signature]) => {
                let mut bytes = URL_SAFE_NO_PAD.decode(&*signature).unwrap_or_default();
                if let Some(last) = bytes.last_mut() {
                    *last ^= 1;
                }
                *signature = URL_SAFE_NO_PAD.encode(bytes);
            }
            (IdTokenTamper::Subject, [_, claims, _]) => {
                let mut decoded: Value = URL_SAFE_NO_PAD
                    .decode(&*claims)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .unwrap_or_default();
                decoded["sub"] = "someone-else".into();
                *claims = URL_SAFE_NO_PAD.encode(decoded.to_string());
            }
            _ => {}
        }
        parts.join(".")
    }

    /// How far ahead of the real clock the verification's clock runs.
    pub(crate) fn clock_offset(self) -> i64 {
        match self {
            IdTokenTamper::ClockAhead(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
            _ => 0,
        }
    }
}
