//! The sandbox as an OpenID Connect relying party, as Genesys is for an authenticated web
//! deployment: discovery (`{issuer}/.well-known/openid-configuration`), the authorization-code
//! grant at the provider's `token_endpoint` with the integration's client credentials, and
//! verification of the id_token against the provider's JWKS.
//!
//! Every answer from the provider is read with a size bound and parsed fallibly; a failure at any
//! step is an [`ExchangeFailure`] naming the step. Nothing secret (client secret, code, tokens)
//! goes into a failure's text.

mod id_token;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::config::{ClientAuthMethod, OidcIntegration};
use super::inspection::IdTokenTamper;

/// Largest provider answer (discovery, token, JWKS) the sandbox reads.
const MAX_PROVIDER_BODY_BYTES: usize = 256 * 1024;
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a web-deployment token exchange was refused. Recorded for tests to inspect
/// ([`crate::Sandbox::exchange_failures`]); its `Display` is the error message answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeFailure {
    /// The deployment's integration has no issuer yet (see [`crate::Sandbox::set_oidc_issuer`]).
    NoIssuer,
    /// The discovery document could not be fetched or lacks what is needed.
    Discovery(String),
    /// The token endpoint could not be reached, refused the code (e.g. a wrong client secret), or
    /// answered without an id_token.
    TokenEndpoint(String),
    /// The JWKS could not be fetched or parsed.
    Jwks(String),
    /// Not a JWS with JSON header and claims, or a claim of the wrong type.
    MalformedIdToken(String),
    /// The header's `alg` (only RS256 is accepted).
    UnsupportedAlgorithm(String),
    /// No RS256 signing key in the JWKS has the header's `kid` (`None`: no `kid`, and not exactly
    /// one candidate key).
    UnknownKid(Option<String>),
    BadSignature,
    /// The token's `iss`, which differs from the integration's issuer.
    WrongIssuer(String),
    /// `aud` neither is nor contains the integration's client id.
    WrongAudience,
    /// `exp` is not in the future.
    Expired,
    /// No numeric `iat`.
    MissingIssuedAt,
    /// The request's nonce and the token's `nonce` differ (or the token has none).
    NonceMismatch,
    /// No non-empty `sub`: there is no guest identity to remember.
    MissingSubject,
}

impl fmt::Display for ExchangeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeFailure::NoIssuer => f.write_str("the integration has no OpenID Connect issuer configured"),
            ExchangeFailure::Discovery(why) => write!(f, "OpenID Connect discovery failed: {why}"),
            ExchangeFailure::TokenEndpoint(why) => write!(f, "the provider's token endpoint failed: {why}"),
            ExchangeFailure::Jwks(why) => write!(f, "the provider's JWKS is unusable: {why}"),
            ExchangeFailure::MalformedIdToken(why) => write!(f, "id_token is malformed: {why}"),
            ExchangeFailure::UnsupportedAlgorithm(alg) => write!(f, "id_token alg {alg:?} is not RS256"),
            ExchangeFailure::UnknownKid(Some(kid)) => write!(f, "id_token kid {kid:?} is not in the JWKS"),
            ExchangeFailure::UnknownKid(None) => f.write_str("id_token has no kid and the JWKS has no single key"),
            ExchangeFailure::BadSignature => f.write_str("id_token signature does not verify"),
            ExchangeFailure::WrongIssuer(iss) => write!(f, "id_token iss {iss:?} is not the integration's issuer"),
            ExchangeFailure::WrongAudience => f.write_str("id_token aud does not contain the integration's client id"),
            ExchangeFailure::Expired => f.write_str("id_token has expired"),
            ExchangeFailure::MissingIssuedAt => f.write_str("id_token has no iat"),
            ExchangeFailure::NonceMismatch => f.write_str("id_token nonce does not match the request's nonce"),
            ExchangeFailure::MissingSubject => f.write_str("id_token has no sub"),
        }
    }
}

/// What the guest's browser obtained from the provider, as sent in the exchange's `oauth` object.
pub(crate) enum Grant {
    /// Authorization-code flow: the sandbox redeems the code itself.
    Code {
        code: String,
        redirect_uri: String,
        code_verifier: Option<String>,
        nonce: Option<String>,
    },
    /// Implicit/hybrid flow: the browser already holds an id_token; its nonce must match.
    IdToken { id_token: String, nonce: String },
}

/// Authenticates the grant with the integration's provider; the verified `sub` on success.
/// `tamper` (a test lever) alters the id_token or the clock before verification. `on_token_call`
/// runs before each request to the token endpoint, to count them.
pub(crate) async fn authenticate(
    http: &reqwest::Client,
    integration: &OidcIntegration,
    grant: &Grant,
    tamper: Option<IdTokenTamper>,
    on_token_call: impl FnOnce(),
) -> Result<String, ExchangeFailure> {
    let issuer = integration.issuer.as_deref().ok_or(ExchangeFailure::NoIssuer)?;
    let discovery = discover(http, issuer).await?;
    let (id_token, nonce) = match grant {
        Grant::Code {
            code,
            redirect_uri,
            code_verifier,
            nonce,
        } => {
            on_token_call();
            let form = CodeRedemption {
                code,
                redirect_uri,
                code_verifier: code_verifier.as_deref(),
            };
            let id_token = redeem_code(http, &discovery.token_endpoint, integration, &form).await?;
            (id_token, nonce.as_deref())
        }
        Grant::IdToken { id_token, nonce } => (id_token.clone(), Some(nonce.as_str())),
    };
    let jwks = get_json(http, &discovery.jwks_uri)
        .await
        .map_err(ExchangeFailure::Jwks)?;
    let expect = id_token::Expectations {
        issuer,
        client_id: &integration.client_id,
        nonce,
        now: unix_now().saturating_add(tamper.map_or(0, IdTokenTamper::clock_offset)),
    };
    let id_token = match tamper {
        Some(tamper) => tamper.token(&id_token),
        None => id_token,
    };
    id_token::verify(&id_token, &jwks, &expect)
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

/// The client a sandbox uses to call providers; built on first use (it loads the TLS roots) and
/// kept per sandbox, because pooled connections belong to the runtime that opened them.
pub(crate) fn new_http_client() -> Result<reqwest::Client, ExchangeFailure> {
    reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| ExchangeFailure::Discovery("cannot build an HTTP client".to_owned()))
}

struct Discovery {
    token_endpoint: String,
    jwks_uri: String,
}

async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery, ExchangeFailure> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let document = get_json(http, &url).await.map_err(ExchangeFailure::Discovery)?;
    let field = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ExchangeFailure::Discovery(format!("{name} is missing")))
    };
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if field("issuer")? != issuer {
        return Err(ExchangeFailure::Discovery(
            "issuer differs from the configured issuer".to_owned(),
        ));
    }
    Ok(Discovery {
        token_endpoint: field("token_endpoint")?,
        jwks_uri: field("jwks_uri")?,
    })
}

struct CodeRedemption<'a> {
    code: &'a str,
    redirect_uri: &'a str,
    code_verifier: Option<&'a str>,
}

async fn redeem_code(
    http: &reqwest::Client,
    token_endpoint: &str,
    integration: &OidcIntegration,
    form: &CodeRedemption<'_>,
) -> Result<String, ExchangeFailure> {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", form.code),
        ("redirect_uri", form.redirect_uri),
    ];
    if let Some(verifier) = form.code_verifier {
        fields.push(("code_verifier", verifier));
    }
    let mut request = http.post(token_endpoint).header("accept", "application/json");
    match integration.auth_method {
        ClientAuthMethod::ClientSecretBasic => {
            request = request.header("authorization", basic_authorization(integration));
        }
        ClientAuthMethod::ClientSecretPost => {
            fields.push(("client_id", &integration.client_id));
            fields.push(("client_secret", &integration.client_secret));
        }
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let response = request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|err| ExchangeFailure::TokenEndpoint(describe(&err)))?;
    let status = response.status();
    let answer = read_json(response).await;
    if !status.is_success() {
        // The OAuth error code names the refusal and is never secret; its description might echo input.
        let error = answer
            .ok()
            .and_then(|body| body.get("error")?.as_str().map(str::to_owned));
        return Err(ExchangeFailure::TokenEndpoint(match error {
            Some(error) => format!("status {} ({error})", status.as_u16()),
            None => format!("status {}", status.as_u16()),
        }));
    }
    let answer = answer.map_err(ExchangeFailure::TokenEndpoint)?;
    let token_type = answer.get("token_type").and_then(Value::as_str);
    if !token_type.is_some_and(|kind| kind.eq_ignore_ascii_case("bearer")) {
        return Err(ExchangeFailure::TokenEndpoint("token_type is not Bearer".to_owned()));
    }
    answer
        .get("id_token")
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ExchangeFailure::TokenEndpoint("the answer has no id_token".to_owned()))
}

/// RFC 6749 §2.3.1: both parts are form-urlencoded before the usual Basic encoding.
fn basic_authorization(integration: &OidcIntegration) -> String {
    let encode = |part: &str| url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
    let pair = format!(
        "{}:{}",
        encode(&integration.client_id),
        encode(&integration.client_secret)
    );
    format!("Basic {}", STANDARD.encode(pair))
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|err| describe(&err))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("status {}", status.as_u16()));
    }
    read_json(response).await
}

/// The body as a JSON object, refusing anything over `MAX_PROVIDER_BODY_BYTES`.
async fn read_json(mut response: reqwest::Response) -> Result<Value, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| describe(&err))? {
        if body.len().saturating_add(chunk.len()) > MAX_PROVIDER_BODY_BYTES {
            return Err("the answer is too large".to_owned());
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice(&body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err("the answer is not a JSON object".to_owned()),
    }
}

/// A transport error's kind, without its URL (which might carry a code in a query).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "unreadable answer"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests;
