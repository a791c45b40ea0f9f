//! Customer identifiers: the raw CRM id as received (validated, never printed) and its pseudonym,
//! the `crm_id_hash` that keys everything the broker stores or sends upstream.

use std::fmt;

use super::characters::is_format;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};

/// Longest CRM id accepted, in characters.
pub const MAX_CRM_ID_CHARS: usize = 256;
/// The shortest HMAC pseudonym key accepted, in bytes: as long as HMAC-SHA256's output (RFC 2104
/// §3), so the key is never the weaker part.
pub const MIN_HMAC_KEY_BYTES: usize = 32;

/// A CRM customer id that passed validation: 1–256 characters, not blank, no control (Unicode Cc)
/// or format (Cf) characters.
///
/// It is personal data, so `Debug` never shows it and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct CrmId(String);

/// Why a CRM id was rejected; the message tells the caller what to fix without echoing the id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmIdError {
    /// The id is the empty string.
    #[error("crmId must not be empty")]
    Empty,
    /// The id is only whitespace.
    #[error("crmId must not be blank")]
    Blank,
    /// The id has more than `MAX_CRM_ID_CHARS` (256) characters.
    #[error("crmId must be at most {MAX_CRM_ID_CHARS} characters")]
    TooLong,
    /// The id contains a control character (a line break, a tab, DEL…).
    #[error("crmId must not contain control characters")]
    ControlCharacter,
    /// The id contains an invisible format character (Unicode Cf: zero-width space or joiner, a
    /// bidirectional control, a soft hyphen, a byte order mark…): the same customer could then
    /// be sent as two ids that look alike and hash apart.
    #[error(
        "crmId must not contain invisible format characters (zero-width characters, bidirectional \
         controls, soft hyphens, byte order marks)"
    )]
    FormatCharacter,
}

impl CrmId {
    /// Validates a CRM id as received; the error says which rule it breaks.
    pub fn parse(raw: &str) -> Result<Self, CrmIdError> {
        if raw.is_empty() {
            return Err(CrmIdError::Empty);
        }
        if raw.chars().count() > MAX_CRM_ID_CHARS {
            return Err(CrmIdError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(CrmIdError::ControlCharacter);
        }
        if raw.chars().any(is_format) {
            return Err(CrmIdError::FormatCharacter);
        }
        if raw.trim().is_empty() {
            return Err(CrmIdError::Blank);
        }
        Ok(Self(raw.to_owned()))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for CrmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CrmId(<redacted>)")
    }
}

/// The pseudonym of a CRM id: 64 lowercase hex characters.
///
/// Safe to store and to send upstream; logs show only [`CrmIdHash::prefix`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CrmIdHash(String);

impl CrmIdHash {
    /// Accepts a stored hash as it is (e.g. read back from the table).
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The 64 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `n` characters, as used in guest names and log lines.
    pub fn prefix(&self, n: usize) -> &str {
        self.0.get(..n).unwrap_or(&self.0)
    }
}

impl fmt::Debug for CrmIdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CrmIdHash({}…)", self.prefix(8))
    }
}

impl fmt::Display for CrmIdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How CRM ids become pseudonyms.
///
/// Plain SHA-256 is what the Python utility stored, so existing tables keep working. An unkeyed
/// hash of an enumerable id can be reversed by brute force; HMAC-SHA256 with a secret key cannot,
/// at the price of starting new mappings when switched on.
#[derive(Clone, Default)]
pub enum Pseudonymiser {
    /// Unkeyed SHA-256 of the id's UTF-8 bytes, as the Python utility stored it.
    #[default]
    Sha256,
    /// HMAC-SHA256 of the id's UTF-8 bytes under a secret key (from the hash-key secret).
    HmacSha256(SecretSlice<u8>),
}

impl Pseudonymiser {
    /// The pseudonym of `crm_id`, lowercase hex.
    pub fn hash(&self, crm_id: &CrmId) -> CrmIdHash {
        let digest = match self {
            Self::Sha256 => hex::encode(Sha256::digest(crm_id.as_bytes())),
            Self::HmacSha256(key) => {
                // HMAC accepts keys of any length, so this cannot fail.
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret())
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(crm_id.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
        };
        CrmIdHash(digest)
    }
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sha256 => f.write_str("Sha256"),
            Self::HmacSha256(_) => f.write_str("HmacSha256(<key redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_python_utility_byte_for_byte() {
        // printf 'CRM-987654' | sha256sum (computed outside this crate)
        let hash = Pseudonymiser::Sha256.hash(&CrmId::parse("CRM-987654").unwrap());
        assert_eq!(
            hash.as_str(),
            "54e48adaffd9027bce4eef4ba19ca3b0e30dd91cdc082d25de52df256082c8e4"
        );
    }

    #[test]
    fn sha256_hashes_the_utf8_bytes_of_non_ascii_ids() {
        // printf 'Zoë-日本' | sha256sum
        let hash = Pseudonymiser::Sha256.hash(&CrmId::parse("Zoë-日本").unwrap());
        assert_eq!(
            hash.as_str(),
            "ed37a31566dfe4fce95f10b7f3d21e07a3c36d1c9c8bf2675d246b17cbcccfc1"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let key = SecretSlice::from(b"Jefe".to_vec());
        let hash = Pseudonymiser::HmacSha256(key).hash(&CrmId::parse("what do ya want for nothing?").unwrap());
        assert_eq!(
            hash.as_str(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn valid_ids_are_accepted_up_to_256_characters() {
        assert!(CrmId::parse("a").is_ok());
        assert!(CrmId::parse(&"é".repeat(256)).is_ok());
        assert!(CrmId::parse(" padded ").is_ok());
    }

    #[test]
    fn invalid_ids_are_rejected_with_the_reason() {
        assert_eq!(CrmId::parse(""), Err(CrmIdError::Empty));
        assert_eq!(CrmId::parse("   "), Err(CrmIdError::Blank));
        assert_eq!(CrmId::parse(&"x".repeat(257)), Err(CrmIdError::TooLong));
        assert_eq!(CrmId::parse("a\nb"), Err(CrmIdError::ControlCharacter));
        assert_eq!(CrmId::parse("a\u{7f}"), Err(CrmIdError::ControlCharacter));
        assert_eq!(CrmId::parse("a\u{85}b"), Err(CrmIdError::ControlCharacter));
    }

    #[test]
    fn ids_with_invisible_format_characters_are_refused_so_one_customer_cannot_look_like_two() {
        // Zero-width space, non-joiner, joiner and no-break; the bidi embeddings, overrides and
        // isolates; the left-to-right mark; a soft hyphen; a BOM; an interlinear annotation; a
        // tag character; the Arabic and Syriac format signs.
        for invisible in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{200E}',
            '\u{00AD}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{E0041}',
            '\u{0600}',
            '\u{070F}',
        ] {
            for id in [
                format!("CRM{invisible}1"),
                format!("{invisible}CRM-1"),
                format!("CRM-1{invisible}"),
            ] {
                assert_eq!(CrmId::parse(&id), Err(CrmIdError::FormatCharacter), "{:?}", invisible);
            }
        }
        let message = CrmIdError::FormatCharacter.to_string();
        assert!(
            message.starts_with("crmId must not contain invisible format characters"),
            "{message}"
        );
        // Visible marks and separators of other categories are ids as before.
        for visible in ["CRM\u{00A0}1", "Zoë-日本", "e\u{0301}", "مرحبا-1", "👩"] {
            assert!(CrmId::parse(visible).is_ok(), "{visible:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_raw_id_and_most_of_the_hash() {
        let id = CrmId::parse("CRM-987654").unwrap();
        assert!(!format!("{id:?}").contains("987654"));
        let hash = Pseudonymiser::Sha256.hash(&id);
        assert_eq!(format!("{hash:?}"), "CrmIdHash(54e48ada…)");
    }
}
