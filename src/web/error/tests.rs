//! The error-to-response mapping: statuses, codes, messages and what never reaches a caller.

use super::*;

fn body(response: &ApiResponse) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[test]
fn every_error_has_the_envelope_and_the_no_store_and_no_cache_headers() {
    let errors = [
        ApiError::invalid_request("crmId is required"),
        ApiError::not_found(),
        ApiError::method_not_allowed("POST"),
        ApiError::payload_too_large(),
        ApiError::new(ErrorKind::UpstreamRejected, "x"),
        unavailable("x", Some(Duration::from_millis(1500))),
        ApiError::new(ErrorKind::Configuration, "x"),
        ApiError::internal(),
    ];
    let expected = [
        (400, "invalid_request"),
        (404, "not_found"),
        (405, "method_not_allowed"),
        (413, "payload_too_large"),
        (502, "upstream_rejected"),
        (503, "upstream_unavailable"),
        (500, "configuration_error"),
        (500, "internal_error"),
    ];
    for (err, (status, code)) in errors.into_iter().zip(expected) {
        let response = err.into_response();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(body(&response)["error"]["code"], code);
        assert!(body(&response)["error"]["message"].is_string());
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::PRAGMA], "no-cache");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}

#[test]
fn method_not_allowed_names_the_allowed_method_and_503_says_when_to_retry() {
    let response = ApiError::method_not_allowed("DELETE").into_response();
    assert_eq!(response.headers()[header::ALLOW], "DELETE");
    let response = unavailable("x", Some(Duration::from_millis(1500))).into_response();
    assert_eq!(response.headers()[header::RETRY_AFTER], "2");
}

#[test]
fn a_missing_table_is_a_configuration_error_whose_name_only_the_log_shows() {
    let err: ApiError = StoreError::Misconfigured {
        table: "GenesysGuestSessions".into(),
        problem: "it does not exist".into(),
    }
    .into();
    assert_eq!(err.code(), "configuration_error");
    assert!(!err.to_string().contains("GenesysGuestSessions"));
    let body = String::from_utf8(err.into_response().body().to_vec()).unwrap();
    assert!(!body.contains("GenesysGuestSessions"), "{body}");
}

#[test]
fn an_unreadable_secret_is_a_configuration_error_whose_name_only_the_log_shows() {
    let err: ApiError = GenesysError::Credentials(CredentialError::Inaccessible {
        secret_id: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys".into(),
        problem: "access denied".into(),
    })
    .into();
    assert_eq!(err.code(), "configuration_error");
    let body = String::from_utf8(err.into_response().body().to_vec()).unwrap();
    assert!(!body.contains("arn:aws"), "{body}");
}

#[test]
fn a_missing_scope_is_upstream_rejected_and_says_so() {
    let err: ApiError = GenesysError::Forbidden {
        endpoint: crate::genesys::Endpoint::CreateGuest,
    }
    .into();
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    assert!(err.to_string().contains("scope or permission"));
}

#[test]
fn a_genesys_failure_answers_a_fixed_message_and_keeps_what_genesys_said_for_the_log() {
    use crate::genesys::Endpoint;
    let failures = [
        GenesysError::Rejected {
            endpoint: Endpoint::GuestToken,
            status: 418,
        },
        GenesysError::Malformed {
            endpoint: Endpoint::CreateGuest,
            problem: "the body is not the JSON the contract specifies",
        },
        GenesysError::Unavailable {
            endpoint: Endpoint::TokenExchange,
            reason: "HTTP 503 from upstream-host.example".into(),
            retry_after: None,
        },
        GenesysError::Indeterminate {
            endpoint: Endpoint::CreateGuest,
            reason: "HTTP 500 from upstream-host.example".into(),
        },
    ];
    for failure in failures {
        let upstream_text = failure.to_string();
        let err = ApiError::from(failure);
        let logged = err.source().map(ToString::to_string).unwrap_or_default();
        assert_eq!(logged, upstream_text, "the cause keeps what Genesys said");
        let body = String::from_utf8(err.into_response().body().to_vec()).unwrap();
        for upstream in ["418", "JSON the contract", "upstream-host", "HTTP 5"] {
            assert!(!body.contains(upstream), "{body}");
        }
    }
}
