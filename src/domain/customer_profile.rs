//! What the agent sees of a customer in authenticated web messaging: an optional given name,
//! family name and e-mail, signed into the id_token (`given_name`, `family_name`, `email`) that
//! Genesys reads during the code exchange. Personal data: kept only with the code until it is
//! redeemed or expires, never logged, never shown by `Debug`.

use std::fmt;

use super::characters::is_control_or_format;

/// Longest given or family name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest e-mail address accepted (RFC 5321's path limit less its angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;
const MAX_LOCAL_PART_CHARS: usize = 64;
const MAX_LABEL_CHARS: usize = 63;

/// The optional claims, each validated; `Debug` shows only which are present.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CustomerProfile {
    /// `given_name`.
    pub given_name: Option<String>,
    /// `family_name`.
    pub family_name: Option<String>,
    /// `email`.
    pub email: Option<String>,
}

impl fmt::Debug for CustomerProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("CustomerProfile")
            .field("given_name", &shown(&self.given_name))
            .field("family_name", &shown(&self.family_name))
            .field("email", &shown(&self.email))
            .finish()
    }
}

/// Why a field was refused; the message names the field and the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct ProfileError {
    field: &'static str,
    problem: &'static str,
}

impl CustomerProfile {
    /// Validates a name field (`field` is its name in the request, for the message).
    pub fn name(field: &'static str, raw: &str) -> Result<String, ProfileError> {
        let refuse = |problem| ProfileError { field, problem };
        if raw.trim().is_empty() {
            return Err(refuse("must not be empty or blank"));
        }
        if raw.chars().count() > MAX_NAME_CHARS {
            return Err(refuse("must be at most 128 characters"));
        }
        if raw.chars().any(is_control_or_format) {
            return Err(refuse("must not contain control or format characters"));
        }
        Ok(raw.to_owned())
    }

    /// Validates an e-mail address's shape: the HTML standard's "valid e-mail address" (what a
    /// browser's `type=email` input accepts) with a domain of at least two labels, at most 64
    /// characters before the `@` and 254 in all. Internationalised domains come in their ASCII
    /// (`xn--`) form.
    pub fn email(raw: &str) -> Result<String, ProfileError> {
        let refuse = |problem| ProfileError {
            field: "email",
            problem,
        };
        if raw.len() > MAX_EMAIL_CHARS {
            return Err(refuse("must be at most 254 characters"));
        }
        let (local, domain) = raw
            .split_once('@')
            .ok_or(refuse("must be an e-mail address such as name@example.com"))?;
        let local_ok = (1..=MAX_LOCAL_PART_CHARS).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=MAX_LABEL_CHARS).contains(&label.len())
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if local_ok && domain_ok {
            Ok(raw.to_owned())
        } else {
            Err(refuse("must be an e-mail address such as name@example.com"))
        }
    }

    /// Whether no claim is set.
    pub fn is_empty(&self) -> bool {
        self.given_name.is_none() && self.family_name.is_none() && self.email.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_free_of_control_and_format_characters() {
        assert_eq!(CustomerProfile::name("givenName", "Zoë").unwrap(), "Zoë");
        assert!(CustomerProfile::name("givenName", &"é".repeat(128)).is_ok());
        for bad in [
            "",
            "  ",
            &"x".repeat(129),
            "a\nb",
            "a\u{202E}b",
            "a\u{200B}b",
            "a\u{E0041}",
        ] {
            let err = CustomerProfile::name("familyName", bad).unwrap_err();
            assert!(err.to_string().starts_with("familyName "), "{err}");
        }
    }

    #[test]
    fn e_mail_addresses_must_have_a_plausible_shape() {
        for good in [
            "ada@example.com",
            "a.b+tag@mail.example.co.uk",
            "o'neil@xn--exmple-cua.de",
        ] {
            assert!(CustomerProfile::email(good).is_ok(), "{good}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let too_long = format!("a@{}.com", "b".repeat(260));
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@-example.com",
            "ada@exa_mple.com",
            "a da@example.com",
            "ada@example..com",
            "zoë@example.de",
            "ada@exämple.de",
            "a@b@example.com",
            "ada\u{0}@example.com",
            long_local.as_str(),
            too_long.as_str(),
        ] {
            assert!(CustomerProfile::email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_which_claims_are_set_never_their_values() {
        let profile = CustomerProfile {
            given_name: Some("Ada".into()),
            family_name: None,
            email: Some("ada@example.com".into()),
        };
        let shown = format!("{profile:?}");
        assert!(!shown.contains("Ada") && !shown.contains("example"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
