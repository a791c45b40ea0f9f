//! A tiny OpenID Connect provider for the sandbox's tests: discovery, JWKS and an
//! authorization-code token endpoint, signing RS256 id_tokens with a key made by aws-lc-rs.
//! Each code is bound to the id_token it will redeem for, which a test shapes (claims, kid,
//! algorithm, a broken signature) to exercise one verification check at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::ClientAuthMethod;
use crate::oidc::unix_now;
use crate::server::{self, ServerHandle};

pub(crate) const KID: &str = "test-key-1";
pub(crate) const REDIRECT_URI: &str = "https://app.example/callback";
pub(crate) const SUBJECT: &str = "guest-42";

/// How the id_token for a code (or handed to a test) is made.
#[derive(Clone)]
pub(crate) struct TokenSpec {
    pub(crate) claims: Map<String, Value>,
    pub(crate) kid: Option<String>,
    pub(crate) alg: &'static str,
    pub(crate) break_signature: bool,
}

struct ProviderState {
    client_id: String,
    client_secret: String,
    codes: HashMap<String, TokenSpec>,
    auth_methods_seen: Vec<ClientAuthMethod>,
}

pub(crate) struct TestProvider {
    server: ServerHandle,
    state: Arc<Mutex<ProviderState>>,
}

/// RSA key generation is slow in a debug build: one key serves every test in the binary.
fn key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate(KeySize::Rsa2048).unwrap())
}

impl TestProvider {
    pub(crate) async fn start(client_id: &str, client_secret: &str) -> TestProvider {
        let state = Arc::new(Mutex::new(ProviderState {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            codes: HashMap::new(),
            auth_methods_seen: Vec::new(),
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}");
        let handler_state = state.clone();
        let server = server::spawn(listener, move |req| {
            let response = handle(&handler_state, &issuer, &req);
            async move { response }
        });
        TestProvider { server, state }
    }

    pub(crate) fn issuer(&self) -> String {
        self.server.base_url()
    }

    /// An id_token spec that passes every check, for `sub` [`SUBJECT`].
    pub(crate) fn valid_spec(&self) -> TokenSpec {
        let client_id = self.state.lock().unwrap().client_id.clone();
        let now = unix_now();
        let Value::Object(claims) = json!({
            "iss": self.issuer(),
            "sub": SUBJECT,
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
        }) else {
            unreachable!()
        };
        TokenSpec {
            claims,
            kid: Some(KID.to_owned()),
            alg: "RS256",
            break_signature: false,
        }
    }

    /// A fresh single-use code that redeems for an id_token made from `spec`.
    pub(crate) fn code_for(&self, spec: TokenSpec) -> String {
        let code = uuid::Uuid::new_v4().to_string();
        self.state.lock().unwrap().codes.insert(code.clone(), spec);
        code
    }

    pub(crate) fn auth_methods_seen(&self) -> Vec<ClientAuthMethod> {
        self.state.lock().unwrap().auth_methods_seen.clone()
    }

    pub(crate) async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

pub(crate) fn sign(spec: &TokenSpec) -> String {
    let mut header = json!({"alg": spec.alg, "typ": "JWT"});
    if let Some(kid) = &spec.kid {
        header["kid"] = kid.as_str().into();
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(spec.claims.clone()).to_string())
    );
    let key = key();
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    if spec.break_signature {
        signature[10] ^= 0x01;
    }
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn handle(state: &Mutex<ProviderState>, issuer: &str, req: &Request<Bytes>) -> Response<Bytes> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/.well-known/openid-configuration") => json_response(
            StatusCode::OK,
            &json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "id_token_signing_alg_values_supported": ["RS256"],
            }),
        ),
        (&Method::GET, "/jwks") => json_response(StatusCode::OK, &jwks()),
        (&Method::POST, "/token") => token(&mut state.lock().unwrap(), req),
        _ => json_response(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
    }
}

fn token(state: &mut ProviderState, req: &Request<Bytes>) -> Response<Bytes> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(req.body()).into_owned().collect();
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| String::from_utf8(STANDARD.decode(encoded).ok()?).ok());
    let (method, id, secret) = match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some(pair), None, None) => {
            let (id, secret) = pair.split_once(':').unwrap_or_default();
            let decode = |part: &str| {
                url::form_urlencoded::parse(format!("x={part}").as_bytes())
                    .next()
                    .unwrap()
                    .1
                    .into_owned()
            };
            (ClientAuthMethod::ClientSecretBasic, decode(id), decode(secret))
        }
        (None, Some(id), Some(secret)) => (ClientAuthMethod::ClientSecretPost, id.clone(), secret.clone()),
        _ => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
    };
    state.auth_methods_seen.push(method);
    if id != state.client_id || secret != state.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || form.get("redirect_uri").map(String::as_str) != Some(REDIRECT_URI)
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let Some(spec) = form.get("code").and_then(|code| state.codes.remove(code)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": "provider-access-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": sign(&spec),
        }),
    )
}

fn jwks() -> Value {
    let (n, e) = rsa_public_components(key().public_key().as_ref());
    json!({"keys": [{
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": KID,
        "n": URL_SAFE_NO_PAD.encode(n),
        "e": URL_SAFE_NO_PAD.encode(e),
    }]})
}

/// `(n, e)` from a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
/// (RFC 8017), the form aws-lc-rs gives the public key in.
fn rsa_public_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn element(input: &[u8], tag: u8) -> (&[u8], &[u8]) {
        assert_eq!(input[0], tag);
        let (len, header) = match input[1] {
            short if short < 0x80 => (usize::from(short), 2),
            long => {
                let count = usize::from(long & 0x7f);
                let len = input[2..2 + count]
                    .iter()
                    .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
                (len, 2 + count)
            }
        };
        (&input[header..header + len], &input[header + len..])
    }
    let (sequence, _) = element(der, 0x30);
    let (n, rest) = element(sequence, 0x02);
    let (e, _) = element(rest, 0x02);
    let strip = |int: &[u8]| int.iter().skip_while(|b| **b == 0).copied().collect::<Vec<u8>>();
    (strip(n), strip(e))
}

fn oauth_error(status: StatusCode, error: &str) -> Response<Bytes> {
    json_response(status, &json!({"error": error}))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static("application/json"));
    response
}
