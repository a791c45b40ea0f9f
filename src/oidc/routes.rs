//! The OpenID Connect provider's route table: discovery, the JWKS and the token endpoint, at
//! the issuer's root or under one API Gateway stage segment (`/prod/oidc/token`).

use http::Method;

use crate::web::{ApiError, ErrorKind};

/// The discovery document. Like every path the provider serves, it is under the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The JSON Web Key Set.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The token endpoint.
pub const TOKEN_PATH: &str = "/oidc/token";

/// A route the provider serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcRoute {
    /// `GET` [`DISCOVERY_PATH`]: the OpenID Connect discovery document.
    Discovery,
    /// `GET` [`JWKS_PATH`]: the public signing keys.
    Jwks,
    /// `POST` [`TOKEN_PATH`]: the authorization-code grant.
    Token,
}

impl OidcRoute {
    /// The route as logged: method and path.
    pub fn name(self) -> &'static str {
        match self {
            Self::Discovery => "GET /.well-known/openid-configuration",
            Self::Jwks => "GET /.well-known/jwks.json",
            Self::Token => "POST /oidc/token",
        }
    }

    /// The route of a request, at the issuer's root or under one stage segment. An unknown path is
    /// a 404, a known path with another method a 405 with `Allow`.
    pub fn resolve(method: &Method, path: &str) -> Result<Self, ApiError> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let unstaged = path
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .filter(|(stage, _)| !stage.is_empty() && !stage.starts_with('.') && *stage != "oidc")
            .map(|(_, rest)| &path[path.len() - rest.len() - 1..]);
        let found = [Some(path), unstaged]
            .into_iter()
            .flatten()
            .find_map(|candidate| match candidate {
                DISCOVERY_PATH => Some((Self::Discovery, Method::GET, "GET")),
                JWKS_PATH => Some((Self::Jwks, Method::GET, "GET")),
                TOKEN_PATH => Some((Self::Token, Method::POST, "POST")),
                _ => None,
            });
        let Some((route, allowed, allow)) = found else {
            return Err(ApiError::new(
                ErrorKind::NotFound,
                "no such resource: this is the OpenID Connect provider (/.well-known/openid-configuration, \
                 /.well-known/jwks.json, POST /oidc/token)",
            ));
        };
        if *method == allowed {
            Ok(route)
        } else {
            Err(ApiError::method_not_allowed(allow))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_routes_match_at_the_root_or_under_a_stage() {
        for (method, path, route) in [
            (Method::GET, "/.well-known/openid-configuration", OidcRoute::Discovery),
            (Method::GET, "/prod/.well-known/jwks.json", OidcRoute::Jwks),
            (Method::POST, "/oidc/token", OidcRoute::Token),
            (Method::POST, "/prod/oidc/token?x=1", OidcRoute::Token),
        ] {
            assert_eq!(OidcRoute::resolve(&method, path).unwrap(), route, "{path}");
        }
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        assert_eq!(
            OidcRoute::resolve(&Method::GET, "/oidc/token").unwrap_err().kind(),
            ErrorKind::MethodNotAllowed { allow: "POST" }
        );
        for path in [
            "/guest-tokens",
            "/a/b/oidc/token",
            "/oidc/token/",
            "/oidc/oidc/token",
            "",
        ] {
            assert_eq!(
                OidcRoute::resolve(&Method::POST, path).unwrap_err().kind(),
                ErrorKind::NotFound,
                "{path}"
            );
        }
    }
}
