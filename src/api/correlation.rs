//! The correlation id that ties one request together across the caller, API Gateway, this
//! function's logs and its answer: the caller's `x-correlation-id` when it is well formed (bounded
//! length, safe characters), else the gateway's request id. It is echoed in the response's
//! `x-correlation-id` header and logged on the request line.

/// The request and response header.
pub const HEADER: &str = "x-correlation-id";

/// Longest correlation id taken from a caller.
pub const MAX_LEN: usize = 128;

/// The id to use for a request: the caller's when well formed, else the gateway's request id
/// (when that is well formed too), else none.
pub fn choose<'a>(from_caller: Option<&'a str>, gateway_request_id: Option<&'a str>) -> Option<&'a str> {
    from_caller
        .filter(|id| well_formed(id))
        .or(gateway_request_id.filter(|id| well_formed(id)))
}

/// 1 to [`MAX_LEN`] characters, each a letter, a digit or one of `-_.:=+/` (API Gateway's own
/// request ids are base64). Anything else (spaces, quotes, control characters, non-ASCII) could
/// forge or break a log line or a header.
pub fn well_formed(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'=' | b'+' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_caller_id_wins_and_anything_else_falls_back_to_the_gateways() {
        assert_eq!(choose(Some("order-42:retry.1"), Some("gw-1")), Some("order-42:retry.1"));
        for bad in [
            "",
            "has space",
            "quote\"",
            "new\nline",
            "ünïcode",
            &"x".repeat(MAX_LEN + 1),
        ] {
            assert_eq!(choose(Some(bad), Some("gw-1")), Some("gw-1"), "{bad:?}");
        }
        assert_eq!(choose(None, Some("gw-1")), Some("gw-1"));
        assert_eq!(choose(None, Some("Vx9ZkhqBoAMEVWQ=")), Some("Vx9ZkhqBoAMEVWQ="));
        assert_eq!(choose(Some("bad id"), Some("bad gateway id")), None);
        assert_eq!(choose(Some(&"x".repeat(MAX_LEN)), None).map(str::len), Some(MAX_LEN));
    }
}
