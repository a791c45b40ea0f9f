//! Which operation a method and path ask for. Paths match with or without one API Gateway stage
//! segment in front (`/prod/guest-tokens`).

use http::Method;

use crate::web::ApiError;
#[cfg(test)]
use crate::web::ErrorKind;

/// An operation of the guest function's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /guest-tokens`: a guest token for a CRM id.
    IssueToken,
    /// `DELETE /guest-sessions`: forget a customer's guest and token.
    ForgetSession,
    /// `POST /auth-codes`: an unredeemed authorization code for Genesys's own clients (web
    /// messaging mode).
    IssueAuthCode,
}

impl Route {
    /// The route as logged: method and path.
    pub fn name(self) -> &'static str {
        match self {
            Self::IssueToken => "POST /guest-tokens",
            Self::ForgetSession => "DELETE /guest-sessions",
            Self::IssueAuthCode => "POST /auth-codes",
        }
    }

    /// The route of a request, with or without a stage segment: an unknown path is a 404, a known
    /// path with another method a 405 with `Allow`.
    pub fn resolve(method: &Method, path: &str) -> Result<Self, ApiError> {
        let (route, allowed, allow) = match resource(path) {
            Some("guest-tokens") => (Self::IssueToken, Method::POST, "POST"),
            Some("guest-sessions") => (Self::ForgetSession, Method::DELETE, "DELETE"),
            Some("auth-codes") => (Self::IssueAuthCode, Method::POST, "POST"),
            _ => return Err(ApiError::not_found()),
        };
        if *method == allowed {
            Ok(route)
        } else {
            Err(ApiError::method_not_allowed(allow))
        }
    }
}

/// The resource segment of `/{resource}` or `/{stage}/{resource}`.
fn resource(path: &str) -> Option<&str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.strip_prefix('/')?.split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some(resource), None, None) => Some(resource),
        (Some(stage), Some(resource), None) if !stage.is_empty() => Some(resource),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_or_without_a_stage_prefix() {
        for path in ["/guest-tokens", "/prod/guest-tokens", "/guest-tokens?x=1"] {
            assert_eq!(
                Route::resolve(&Method::POST, path).unwrap(),
                Route::IssueToken,
                "{path}"
            );
        }
        assert_eq!(
            Route::resolve(&Method::POST, "/prod/auth-codes").unwrap(),
            Route::IssueAuthCode
        );
        for path in ["/guest-sessions", "/$default/guest-sessions"] {
            assert_eq!(
                Route::resolve(&Method::DELETE, path).unwrap(),
                Route::ForgetSession,
                "{path}"
            );
        }
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in [
            "",
            "/",
            "guest-tokens",
            "/a/b/guest-tokens",
            "//guest-tokens",
            "/guest-tokens/",
            "/guest-token",
        ] {
            assert!(
                Route::resolve(&Method::POST, path).is_err_and(|e| e.kind() == ErrorKind::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn a_wrong_method_is_refused_with_the_allowed_one() {
        assert_eq!(
            Route::resolve(&Method::GET, "/guest-tokens").unwrap_err().kind(),
            ErrorKind::MethodNotAllowed { allow: "POST" }
        );
        assert_eq!(
            Route::resolve(&Method::POST, "/guest-sessions").unwrap_err().kind(),
            ErrorKind::MethodNotAllowed { allow: "DELETE" }
        );
    }
}
