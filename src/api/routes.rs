//! Which operation a method and path ask for. Paths match with or without one API Gateway stage
//! segment in front (`/prod/guest-tokens`).

use http::Method;

use super::ApiError;
#[cfg(test)]
use super::ErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    IssueToken,
    ForgetSession,
    /// Web messaging mode: the OpenID Connect provider's public routes.
    OidcDiscovery,
    OidcJwks,
    OidcToken,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Self::IssueToken => "POST /guest-tokens",
            Self::ForgetSession => "DELETE /guest-sessions",
            Self::OidcDiscovery => "GET /.well-known/openid-configuration",
            Self::OidcJwks => "GET /.well-known/jwks.json",
            Self::OidcToken => "POST /oidc/token",
        }
    }

    /// As [`Route::resolve`], and with `oidc` the provider's routes too (web messaging mode).
    pub fn resolve_with(method: &Method, path: &str, oidc: bool) -> Result<Self, ApiError> {
        let found = if oidc { oidc_route(path) } else { None };
        let Some((route, allowed, allow)) = found else {
            return Self::resolve(method, path);
        };
        if *method == allowed {
            Ok(route)
        } else {
            Err(ApiError::method_not_allowed(allow))
        }
    }

    pub fn resolve(method: &Method, path: &str) -> Result<Self, ApiError> {
        let (route, allowed, allow) = match resource(path) {
            Some("guest-tokens") => (Self::IssueToken, Method::POST, "POST"),
            Some("guest-sessions") => (Self::ForgetSession, Method::DELETE, "DELETE"),
            _ => return Err(ApiError::not_found()),
        };
        if *method == allowed {
            Ok(route)
        } else {
            Err(ApiError::method_not_allowed(allow))
        }
    }
}

/// An OIDC route at `path` or under one stage segment (`/prod/oidc/token`).
fn oidc_route(path: &str) -> Option<(Route, Method, &'static str)> {
    use crate::oidc::{DISCOVERY_PATH, JWKS_PATH, TOKEN_PATH};
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let unstaged = path
        .strip_prefix('/')
        .and_then(|rest| rest.split_once('/'))
        .filter(|(stage, _)| !stage.is_empty() && !stage.starts_with('.') && *stage != "oidc")
        .map(|(_, rest)| &path[path.len() - rest.len() - 1..]);
    [Some(path), unstaged]
        .into_iter()
        .flatten()
        .find_map(|candidate| match candidate {
            DISCOVERY_PATH => Some((Route::OidcDiscovery, Method::GET, "GET")),
            JWKS_PATH => Some((Route::OidcJwks, Method::GET, "GET")),
            TOKEN_PATH => Some((Route::OidcToken, Method::POST, "POST")),
            _ => None,
        })
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
    fn oidc_routes_exist_only_in_web_messaging_mode() {
        for (method, path, route) in [
            (Method::GET, "/.well-known/openid-configuration", Route::OidcDiscovery),
            (Method::GET, "/prod/.well-known/jwks.json", Route::OidcJwks),
            (Method::POST, "/oidc/token", Route::OidcToken),
            (Method::POST, "/prod/oidc/token", Route::OidcToken),
        ] {
            assert_eq!(Route::resolve_with(&method, path, true).unwrap(), route, "{path}");
            assert!(Route::resolve_with(&method, path, false).is_err(), "{path}");
        }
        assert_eq!(
            Route::resolve_with(&Method::GET, "/oidc/token", true)
                .unwrap_err()
                .kind(),
            ErrorKind::MethodNotAllowed { allow: "POST" }
        );
        assert_eq!(
            Route::resolve_with(&Method::POST, "/guest-tokens", true).unwrap(),
            Route::IssueToken
        );
        for path in ["/a/b/oidc/token", "/oidc/token/", "/oidc/oidc/token"] {
            assert!(Route::resolve_with(&Method::POST, path, true).is_err(), "{path}");
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
