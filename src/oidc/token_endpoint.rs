//! `POST /oidc/token`: the authorization-code grant (RFC 6749 §4.1.3) for the Genesys integration.
//!
//! The caller authenticates with the integration's client id and secret, in a Basic
//! `Authorization` header (`client_secret_basic`) or in the form (`client_secret_post`), never
//! both (a form `client_id` beside Basic credentials is accepted when it names the same client, as
//! RFC 6749 §2.3.1 permits; a form `client_secret` beside them is not); the secret is compared in
//! constant time. A client that does not authenticate reaches nothing. The code is then redeemed
//! (marked and read in one atomic store call, so it works once whichever instance redeems it; a
//! code presented again after that is a replay, refused like any invalid code and logged as a
//! replay by its hash's prefix) and
//! must be unexpired and bound to this client and redirect URI; a code bound to a PKCE challenge
//! needs the `code_verifier` that answers it, and a code without one takes no verifier (RFC 9700
//! §2.1.1). The answer is an id_token for the code's subject, with the nonce and the claims the
//! code was bound to. Only `authorization_code` is supported:
//! Genesys renews guest tokens with its own refresh tokens, never by asking this provider again.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde::Serialize;

use crate::domain::CodeKey;
use crate::secrets::CredentialError;
use crate::store::{CodeStore, Redemption, StoreError};
use crate::web::{ApiResponse, OAuthError, json_response};

use super::id_token::{self, Claims};
use super::{OidcProvider, SignerError};

/// The largest form read: a code, a redirect URI and client credentials fit many times over.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// Why a code grants nothing, whatever the reason: the caller learns no more than RFC 6749 says.
pub(super) const INVALID_CODE: &str = "the code is invalid, expired, used or not issued for this redirect URI";

/// Hex characters of a code's key in the replay's log line: enough to match two lines, too few
/// to find the code by.
const LOGGED_KEY_CHARS: usize = 8;

/// What can stop the endpoint: a refusal of the request, or trouble on our side.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The request is refused as RFC 6749 §5.2 says (a 400 or 401 with an OAuth error code); the
    /// caller must fix it.
    #[error("{description}")]
    Refused {
        /// The OAuth error code answered (`invalid_grant`, `invalid_client`, …).
        error: OAuthError,
        /// Why, for the `error_description`; never a value from the request.
        description: &'static str,
    },
    /// A code redeemed before was presented again (a replay): answered `invalid_grant` with
    /// [`INVALID_CODE`], like any code that grants nothing, and counted apart.
    #[error("{INVALID_CODE}")]
    Replayed,
    /// The code store failed (throttled, unreachable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The integration's client could not be read from its secret.
    #[error(transparent)]
    Client(#[from] CredentialError),
    /// The id_token could not be signed.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

fn refused(error: OAuthError, description: &'static str) -> TokenError {
    TokenError::Refused { error, description }
}

/// The request as the API hands it over: the form body and the `Authorization` header.
pub struct TokenRequest<'a> {
    /// The `application/x-www-form-urlencoded` body, as received.
    pub body: &'a [u8],
    /// The `Authorization` header, when there is one.
    pub authorization: Option<&'a str>,
}

/// The form's fields (each at most once); values never reach a log.
#[derive(Default)]
struct Form {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code_verifier: Option<String>,
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Form")
            .field("grant_type", &self.grant_type)
            .field("redirect_uri", &self.redirect_uri)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Form {
    fn parse(body: &[u8]) -> Result<Self, TokenError> {
        if body.len() > MAX_FORM_BYTES {
            return Err(refused(OAuthError::InvalidRequest, "the form is too large"));
        }
        let mut form = Self::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "grant_type" => &mut form.grant_type,
                "code" => &mut form.code,
                "redirect_uri" => &mut form.redirect_uri,
                "client_id" => &mut form.client_id,
                "client_secret" => &mut form.client_secret,
                "code_verifier" => &mut form.code_verifier,
                _ => continue,
            };
            // RFC 6749 §3.2: parameters must not be included more than once.
            if slot.replace(value.into_owned()).is_some() {
                return Err(refused(OAuthError::InvalidRequest, "a parameter is repeated"));
            }
        }
        Ok(form)
    }
}

/// The client id and secret the caller presented, by either method.
fn presented_client(form: &Form, authorization: Option<&str>) -> Result<(String, String), TokenError> {
    let basic = authorization.map(parse_basic).transpose()?;
    match (basic, &form.client_id, &form.client_secret) {
        (Some(_), _, Some(_)) => Err(refused(
            OAuthError::InvalidRequest,
            "use one client authentication method, not both",
        )),
        // RFC 6749 §2.3.1 lets a client name itself in the form beside Basic credentials.
        (Some(pair), Some(id), None) if *id == pair.0 => Ok(pair),
        (Some(_), Some(_), None) => Err(refused(
            OAuthError::InvalidRequest,
            "client_id in the form differs from the client in the Authorization header",
        )),
        (Some(pair), None, None) => Ok(pair),
        (None, Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
        _ => Err(refused(OAuthError::InvalidClient, "client authentication is required")),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(header: &str) -> Result<(String, String), TokenError> {
    let invalid = || {
        refused(
            OAuthError::InvalidClient,
            "the Authorization header is not valid Basic credentials",
        )
    };
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(invalid)?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > MAX_FORM_BYTES {
        return Err(invalid());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |part: &str| -> String {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Ok((unescape(id), unescape(secret)))
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    id_token: &'a str,
    scope: &'static str,
}

impl<C: CodeStore> OidcProvider<C> {
    /// Answers one token request. The client is authenticated first, against the cached secret:
    /// a request that fails to authenticate costs no store, KMS or Secrets Manager call.
    pub async fn token(&self, request: TokenRequest<'_>) -> Result<ApiResponse, TokenError> {
        let form = Form::parse(request.body)?;
        let (client_id, client_secret) = presented_client(&form, request.authorization)?;
        let Some(client_id) = self.clients.authenticate(&client_id, &client_secret).await? else {
            return Err(refused(OAuthError::InvalidClient, "client authentication failed"));
        };
        match form.grant_type.as_deref() {
            Some("authorization_code") => {}
            Some(_) => {
                return Err(refused(
                    OAuthError::UnsupportedGrantType,
                    "only authorization_code is supported",
                ));
            }
            None => return Err(refused(OAuthError::InvalidRequest, "grant_type is required")),
        }
        let (Some(code), Some(redirect_uri)) = (&form.code, &form.redirect_uri) else {
            return Err(refused(
                OAuthError::InvalidRequest,
                "code and redirect_uri are required",
            ));
        };
        let invalid_grant = || refused(OAuthError::InvalidGrant, INVALID_CODE);
        // Spent whatever follows: a code presented wrongly is spent (single use, RFC 6749 §4.1.2;
        // a code shown with another redirect URI may have been intercepted, §10.6).
        let now = self.clock.now();
        let key = CodeKey::of(code);
        let grant = match self.codes.redeem_code(&key, now).await? {
            Redemption::Redeemed(grant) => grant,
            Redemption::AlreadyRedeemed => {
                // §4.1.2, §10.5: a code stolen after its use, or a client presenting it twice.
                tracing::warn!(
                    code_key = key.prefix(LOGGED_KEY_CHARS),
                    "a code redeemed before was presented again (a replay); refused"
                );
                return Err(TokenError::Replayed);
            }
            Redemption::Unknown => return Err(invalid_grant()),
        };
        if !grant.valid_at(now) || &grant.redirect_uri != redirect_uri {
            return Err(invalid_grant());
        }
        let pkce_answered = match (&grant.challenge, form.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) => challenge.verified_by(verifier),
            (None, None) => true,
            // A missing verifier, or one for a code issued without a challenge (RFC 9700 §2.1.1).
            _ => false,
        };
        if !pkce_answered {
            return Err(refused(
                OAuthError::InvalidGrant,
                "the code_verifier does not answer the code's challenge, or the code takes none",
            ));
        }
        let mut claims = Claims::new(
            &self.settings.issuer,
            &grant.subject,
            &client_id,
            now,
            self.settings.id_token_lifetime,
        );
        claims.nonce = grant.nonce.as_deref();
        claims.given_name = grant.profile.given_name.as_deref();
        claims.family_name = grant.profile.family_name.as_deref();
        claims.email = grant.profile.email.as_deref();
        let id_token = id_token::sign(&self.signer, &claims).await?;
        // No userinfo endpoint exists: the access token is the id_token's bearer twin, usable nowhere
        // else; Genesys reads the id_token.
        let body = TokenResponse {
            access_token: &id_token,
            token_type: "Bearer",
            expires_in: self.settings.id_token_lifetime.as_secs(),
            id_token: &id_token,
            scope: "openid",
        };
        Ok(json_response(StatusCode::OK, &body))
    }
}

#[cfg(test)]
mod tests;
