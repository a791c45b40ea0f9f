//! The `Authorization` header: the credentials after a given scheme (`Bearer`, `Basic`).

use http::{HeaderMap, header};

/// The value after a case-insensitive `scheme ` prefix of the Authorization header.
pub(crate) fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (given, rest) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| rest.trim())
        .filter(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_scheme_is_matched_case_insensitively() {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "bearer  abc ".parse().unwrap());
        assert_eq!(authorization(&headers, "Bearer"), Some("abc"));
        assert_eq!(authorization(&headers, "Basic"), None);
        headers.insert("authorization", "Bearer".parse().unwrap());
        assert_eq!(authorization(&headers, "Bearer"), None);
    }
}
