//! Proof Key for Code Exchange (RFC 7636), S256 only: the verifier a client keeps, the challenge
//! stored with a code, and the check the token endpoint makes. `plain` is not offered: it protects
//! nothing once the challenge is seen (RFC 9700 §2.1.1 recommends S256).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Shortest verifier and challenge (RFC 7636 §4.1, §4.2).
pub const PKCE_MIN_CHARS: usize = 43;
/// Longest verifier and challenge.
pub const PKCE_MAX_CHARS: usize = 128;
/// Random bytes in a verifier the broker makes: 256 bits, 43 base64url characters.
pub const VERIFIER_BYTES: usize = 32;

/// The one challenge method accepted, as sent and as discovery names it.
pub const S256: &str = "S256";

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`, 43 to 128 of them.
fn well_formed(value: &str) -> bool {
    (PKCE_MIN_CHARS..=PKCE_MAX_CHARS).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Why a challenge was refused; the message says what to fix without echoing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// Not 43 to 128 unreserved characters.
    #[error("codeChallenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'")]
    MalformedChallenge,
    /// A method other than S256.
    #[error("codeChallengeMethod must be S256")]
    UnsupportedMethod,
}

/// `BASE64URL(SHA256(verifier))`, stored with a code. Not secret: it is what a page may show.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// A challenge as a caller sent it, with its method (`None` means S256, as sent by a caller
    /// that omits the method for the only one there is).
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, PkceError> {
        if method.is_some_and(|method| method != S256) {
            return Err(PkceError::UnsupportedMethod);
        }
        if !well_formed(challenge) {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// A challenge as stored; `None` when it is not well formed (an odd item grants nothing).
    pub fn from_stored(stored: String) -> Option<Self> {
        well_formed(&stored).then_some(Self(stored))
    }

    /// The challenge's characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` (as presented, any text) is the one this challenge was made from,
    /// compared in constant time.
    pub fn verified_by(&self, verifier: &str) -> bool {
        let presented = s256(verifier);
        well_formed(verifier)
            & aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), self.0.as_bytes()).is_ok()
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeChallenge({} chars)", self.0.len())
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier the broker made for a caller that sent no challenge: a secret, handed out once.
pub struct CodeVerifier(SecretString);

impl CodeVerifier {
    /// A verifier from [`VERIFIER_BYTES`] random bytes (the caller's cryptographic random source).
    pub fn from_random(bytes: [u8; VERIFIER_BYTES]) -> Self {
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Its S256 challenge, the only part stored.
    pub fn challenge(&self) -> CodeChallenge {
        CodeChallenge(s256(self.0.expose_secret()))
    }

    /// The verifier itself, for the one answer that carries it.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_appendix_b_verifier_matches_its_challenge() {
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256")).unwrap();
        assert!(challenge.verified_by(VERIFIER));
        let bytes: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191,
            240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let made = CodeVerifier::from_random(bytes);
        assert_eq!(made.secret().expose_secret(), VERIFIER);
        assert_eq!(made.challenge().as_str(), CHALLENGE);
    }

    #[test]
    fn a_wrong_or_malformed_verifier_does_not_verify() {
        let challenge = CodeChallenge::parse(CHALLENGE, None).unwrap();
        for wrong in [
            "",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            CHALLENGE,
            &"a".repeat(129),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX",
        ] {
            assert!(!challenge.verified_by(wrong), "{wrong}");
        }
    }

    #[test]
    fn challenges_must_be_43_to_128_unreserved_characters_and_s256() {
        assert_eq!(
            CodeChallenge::parse(CHALLENGE, Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        for bad in [
            "short",
            &"a".repeat(129),
            &format!("{}+", &CHALLENGE[..43]),
            &format!("{} ", &CHALLENGE[..42]),
        ] {
            assert_eq!(
                CodeChallenge::parse(bad, None),
                Err(PkceError::MalformedChallenge),
                "{bad}"
            );
        }
        assert!(CodeChallenge::parse(&"~".repeat(128), None).is_ok());
        assert!(CodeChallenge::from_stored("x".into()).is_none());
    }
}
