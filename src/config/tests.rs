//! Reading both functions' configuration: defaults, errors that name the variable, no secret in `Debug`.
use std::collections::HashMap;

use super::*;

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    map.entry("GENESYS_CLIENT_ID".into()).or_insert_with(|| "id".into());
    map.entry("GENESYS_CLIENT_SECRET".into())
        .or_insert_with(|| "secret".into());
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_follow_the_python_utility() {
    let config = load(&[]).unwrap();
    assert_eq!(config.sliding_window, Duration::from_secs(300));
    assert_eq!(config.sessions_table_or_default(), "GenesysGuestSessions");
    let endpoints = hosts(&config);
    assert_eq!(endpoints.api_base.as_str(), "https://api.mypurecloud.com/");
    assert_eq!(endpoints.login_base.as_str(), "https://login.mypurecloud.com/");
    assert_eq!(config.session_retention, Duration::from_secs(30 * 86_400));
    assert!(matches!(config.credentials, CredentialsConfig::Environment(_)));
    assert!(matches!(config.pseudonyms, PseudonymConfig::Sha256));
}

#[test]
fn the_hash_mode_is_explicit_and_hmac_needs_exactly_one_key_source() {
    let config = load(&[
        ("CRM_ID_HASH_MODE", "hmac-sha256"),
        ("CRM_ID_HASH_KEY_SECRET_ID", "key-secret"),
    ])
    .unwrap();
    assert!(matches!(
        config.pseudonyms,
        PseudonymConfig::HmacSha256 { key: HashKeyConfig::SecretsManager { ref secret_id }, .. } if secret_id == "key-secret"
    ));
    let message = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
    assert!(message(&[("CRM_ID_HASH_MODE", "hmac-sha256")]).starts_with("CRM_ID_HASH_KEY_SECRET_ID is required"));
    assert!(message(&[("CRM_ID_HASH_MODE", "md5")]).contains("sha256 or hmac-sha256"));
    assert!(message(&[("CRM_ID_HASH_KEY", "k")]).starts_with("CRM_ID_HASH_MODE must be hmac-sha256"));
    let debug = format!(
        "{:?}",
        load(&[
            ("CRM_ID_HASH_MODE", "hmac-sha256"),
            ("CRM_ID_HASH_KEY", "sk-key-of-at-least-32-bytes-0123")
        ])
        .unwrap()
    );
    assert!(!debug.contains("sk-key-of-at-least"), "{debug}");
}

#[test]
fn region_then_url_overrides_choose_the_hosts() {
    let endpoints = hosts(&load(&[("GENESYS_REGION", "eu-central-1")]).unwrap());
    assert_eq!(endpoints.api_base.host_str(), Some("api.mypurecloud.de"));
    let endpoints = hosts(
        &load(&[
            ("GENESYS_REGION", "eu-central-1"),
            ("GENESYS_BASE_URL", "http://127.0.0.1:9999"),
        ])
        .unwrap(),
    );
    assert_eq!(endpoints.api_base.as_str(), "http://127.0.0.1:9999/");
    assert_eq!(endpoints.login_base.host_str(), Some("login.mypurecloud.de"));
    let endpoints = hosts(&load(&[("GENESYS_LOGIN_URL", "http://127.0.0.1:9998")]).unwrap());
    assert_eq!(endpoints.login_base.as_str(), "http://127.0.0.1:9998/");
    let unknown = load(&[("GENESYS_REGION", "nowhere")]).unwrap();
    let err = crate::app::genesys_endpoints(&unknown.genesys).unwrap_err();
    assert!(err.to_string().contains("ap-southeast-1"), "{err}");
}

/// The hosts the configuration resolves to at init.
fn hosts(config: &Config) -> crate::genesys::GenesysEndpoints {
    crate::app::genesys_endpoints(&config.genesys).unwrap()
}

#[test]
fn bad_values_name_the_variable() {
    let message = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
    assert!(message(&[("SLIDING_WINDOW_SECONDS", "five")]).starts_with("SLIDING_WINDOW_SECONDS"));
    assert!(message(&[("SESSION_RETENTION_DAYS", "0")]).contains("greater than zero"));
    assert!(message(&[("GENESYS_BASE_URL", "api.mypurecloud.com")]).starts_with("GENESYS_BASE_URL"));
    assert!(message(&[("PRIME_AT_INIT", "maybe")]).contains("true or false"));
}

#[test]
fn priming_defaults_to_on_below_256_mb_and_follows_the_variable_when_set() {
    let primes = |vars: &[(&str, &str)]| load(vars).unwrap().prime_at_init;
    let memory = |mb| ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mb);
    assert!(primes(&[memory("128")]));
    assert!(primes(&[memory("255")]));
    assert!(!primes(&[memory("256")]));
    assert!(!primes(&[memory("1769")]));
    assert!(!primes(&[memory("10240")]));
    // Unknown or unreadable: the small function's choice.
    assert!(primes(&[]));
    assert!(primes(&[memory("lots")]));
    assert!(!primes(&[memory("128"), ("PRIME_AT_INIT", "false")]));
    assert!(primes(&[memory("3008"), ("PRIME_AT_INIT", "true")]));
}

const WEB_MESSAGING: [(&str, &str); 4] = [
    ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging"),
    ("GENESYS_DEPLOYMENT_ID", "dep-1"),
    ("GENESYS_EXTERNAL_SOURCE_ID", "src-1"),
    ("OIDC_REDIRECT_URI", "https://broker.example.com/callback"),
];

#[test]
fn the_owner_contract_is_the_default_and_refuses_web_messaging_settings() {
    assert!(matches!(load(&[]).unwrap().upstream, UpstreamConfig::OwnerContract));
    let message = load(&[("REFRESH_TOKEN_KMS_KEY_ID", "alias/refresh")])
        .unwrap_err()
        .to_string();
    assert!(message.contains("when REFRESH_TOKEN_KMS_KEY_ID is set"), "{message}");
    let message = load(&[("GENESYS_DEPLOYMENT_ID", "dep-1")]).unwrap_err().to_string();
    assert!(
        message.starts_with("GENESYS_UPSTREAM_MODE must be genesys-web-messaging when GENESYS_DEPLOYMENT_ID"),
        "{message}"
    );
    assert!(
        load(&[("GENESYS_UPSTREAM_MODE", "guests")])
            .unwrap_err()
            .to_string()
            .contains("owner-contract or genesys-web-messaging")
    );
}

#[test]
fn web_messaging_mode_reads_its_settings_with_named_defaults() {
    let UpstreamConfig::WebMessaging(mode) = load(&WEB_MESSAGING).unwrap().upstream else {
        panic!("web messaging expected")
    };
    assert_eq!(mode.deployment_id, "dep-1");
    assert_eq!(mode.redirect_uri.as_str(), "https://broker.example.com/callback");
    assert_eq!(mode.code_lifetime, web_messaging::DEFAULT_CODE_LIFETIME);
}

#[test]
fn web_messaging_mode_names_what_is_missing_or_wrong() {
    let without = |var: &str| {
        let vars: Vec<_> = WEB_MESSAGING.iter().copied().filter(|(k, _)| *k != var).collect();
        load(&vars).unwrap_err().to_string()
    };
    for var in [
        "GENESYS_DEPLOYMENT_ID",
        "GENESYS_EXTERNAL_SOURCE_ID",
        "OIDC_REDIRECT_URI",
    ] {
        assert!(without(var).starts_with(var), "{var}: {}", without(var));
    }
    let with = |extra: (&'static str, &'static str)| {
        let mut vars = WEB_MESSAGING.to_vec();
        vars.retain(|(k, _)| *k != extra.0);
        vars.push(extra);
        load(&vars).unwrap_err().to_string()
    };
    assert!(with(("OIDC_REDIRECT_URI", "broker.example.com")).starts_with("OIDC_REDIRECT_URI"));
    assert!(with(("OIDC_CODE_TTL_SECONDS", "0")).starts_with("OIDC_CODE_TTL_SECONDS"));
}

const PROVIDER: [(&str, &str); 3] = [
    ("OIDC_ISSUER", "https://broker.example.com/prod"),
    ("OIDC_CLIENT_SECRET_ID", "oidc-client"),
    ("OIDC_SIGNING_KEY_ID", "alias/oidc"),
];

fn provider(vars: &[(&str, &str)]) -> Result<OidcConfig, ConfigError> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    OidcConfig::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn the_provider_reads_its_settings_with_named_defaults() {
    let mut vars = PROVIDER.to_vec();
    vars.push(("OIDC_PREVIOUS_SIGNING_KEY_IDS", "old-1, ,old-2"));
    vars.push(("OIDC_NEXT_SIGNING_KEY_IDS", " new-1 "));
    let config = provider(&vars).unwrap();
    assert_eq!(config.issuer.as_str(), "https://broker.example.com/prod");
    assert_eq!(config.id_token_lifetime, oidc::DEFAULT_ID_TOKEN_LIFETIME);
    assert_eq!(config.sessions_table, DEFAULT_SESSIONS_TABLE);
    assert!(
        matches!(config.signing_key, SigningKeyConfig::Kms { ref previous, ref next, .. } if previous == &["old-1", "old-2"] && next == &["new-1"])
    );
    assert!(
        matches!(config.client, OidcClientConfig::SecretsManager { ref secret_id, .. } if secret_id == "oidc-client")
    );
}

#[test]
fn the_client_secret_is_cached_at_least_the_minimum_whatever_the_cache_setting() {
    for (setting, expected) in [("0", oidc::MIN_OIDC_CLIENT_CACHE), ("600", Duration::from_secs(600))] {
        let mut vars = PROVIDER.to_vec();
        vars.push(("CREDENTIALS_CACHE_SECONDS", setting));
        let config = provider(&vars).unwrap();
        assert!(
            matches!(config.client, OidcClientConfig::SecretsManager { cache_ttl, .. } if cache_ttl == expected),
            "{setting}"
        );
    }
}

#[test]
fn the_provider_names_what_is_missing_or_wrong_and_debug_shows_no_secret() {
    let without = |var: &str| {
        let vars: Vec<_> = PROVIDER.iter().copied().filter(|(k, _)| *k != var).collect();
        provider(&vars).unwrap_err().to_string()
    };
    for var in ["OIDC_ISSUER", "OIDC_CLIENT_SECRET_ID", "OIDC_SIGNING_KEY_ID"] {
        assert!(without(var).starts_with(var), "{var}: {}", without(var));
    }
    let with = |extra: (&'static str, &'static str)| {
        let mut vars = PROVIDER.to_vec();
        vars.retain(|(k, _)| *k != extra.0);
        vars.push(extra);
        provider(&vars).unwrap_err().to_string()
    };
    assert!(with(("OIDC_ISSUER", "broker.example.com")).starts_with("OIDC_ISSUER"));
    assert!(with(("OIDC_LOCAL_SIGNING_KEY", "pem-secret")).starts_with("OIDC_LOCAL_SIGNING_KEY"));
    assert!(with(("OIDC_ID_TOKEN_TTL_SECONDS", "0")).starts_with("OIDC_ID_TOKEN_TTL_SECONDS"));
    assert!(
        with(("OIDC_NEXT_SIGNING_KEY_IDS", "new-1,alias/oidc")).starts_with("OIDC_NEXT_SIGNING_KEY_IDS must not list"),
        "the signing key is not its own successor"
    );
    let local = [
        ("OIDC_ISSUER", "https://broker.example.com"),
        ("OIDC_LOCAL_SIGNING_KEY", "pem-secret"),
        ("OIDC_CLIENT_ID", "c"),
        ("OIDC_CLIENT_SECRET", "client-secret-of-32-characters-or-more"),
    ];
    let debug = format!("{:?}", provider(&local).unwrap());
    assert!(
        !debug.contains("pem-secret") && !debug.contains("client-secret"),
        "{debug}"
    );
}

#[test]
fn a_secret_id_selects_secrets_manager() {
    let config = load(&[
        ("GENESYS_CREDENTIALS_SECRET_ID", "arn:aws:secretsmanager:x"),
        ("CREDENTIALS_CACHE_SECONDS", "60"),
    ])
    .unwrap();
    assert!(matches!(
        config.credentials,
        CredentialsConfig::SecretsManager { ref secret_id, cache_ttl } if secret_id == "arn:aws:secretsmanager:x" && cache_ttl == Duration::from_secs(60)
    ));
}

#[test]
fn weak_or_overflowing_guest_settings_are_refused_naming_the_variable_and_the_bound() {
    let message = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
    let days = |value: &str| load(&[("SESSION_RETENTION_DAYS", value)]).map(|config| config.session_retention);
    assert_eq!(days("3650").unwrap(), Duration::from_secs(3650 * 86_400));
    // 86 400 × this overflows a u64 of seconds.
    for value in ["3651", "300000000000000"] {
        assert_eq!(
            message(&[("SESSION_RETENTION_DAYS", value)]),
            "SESSION_RETENTION_DAYS must be at most 3650 days"
        );
    }
    let hmac = |key: &'static str| [("CRM_ID_HASH_MODE", "hmac-sha256"), ("CRM_ID_HASH_KEY", key)];
    assert!(load(&hmac("0123456789abcdef0123456789abcdef")).is_ok(), "32 bytes");
    assert_eq!(
        message(&hmac("0123456789abcdef0123456789abcde")),
        "CRM_ID_HASH_KEY must be at least 32 bytes (a random key as long as HMAC-SHA256's output)"
    );
    let code_ttl = |value: &'static str| {
        let mut vars = WEB_MESSAGING.to_vec();
        vars.push(("OIDC_CODE_TTL_SECONDS", value));
        load(&vars)
    };
    assert!(code_ttl("600").is_ok());
    // 10^13 s passes chrono's TimeDelta but not the calendar: it panicked at every mint.
    for value in ["601", "10000000000000"] {
        assert_eq!(
            code_ttl(value).unwrap_err().to_string(),
            "OIDC_CODE_TTL_SECONDS must be at most 600 seconds"
        );
    }
}

#[test]
fn weak_provider_settings_are_refused_naming_the_variable_and_the_bound() {
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = PROVIDER.to_vec();
        vars.extend_from_slice(extra);
        provider(&vars)
    };
    assert!(with(&[("OIDC_ID_TOKEN_TTL_SECONDS", "3600")]).is_ok());
    assert_eq!(
        with(&[("OIDC_ID_TOKEN_TTL_SECONDS", "3601")]).unwrap_err().to_string(),
        "OIDC_ID_TOKEN_TTL_SECONDS must be at most 3600 seconds"
    );
    let local = |secret: &'static str| {
        provider(&[
            ("OIDC_ISSUER", "https://broker.example.com"),
            ("OIDC_LOCAL_SIGNING_KEY", "pem"),
            ("OIDC_CLIENT_ID", "c"),
            ("OIDC_CLIENT_SECRET", secret),
        ])
    };
    assert!(local("0123456789abcdef0123456789abcdef").is_ok(), "32 characters");
    // 31 characters, 32 bytes: characters count.
    assert_eq!(
        local("é123456789abcdef0123456789abcde").unwrap_err().to_string(),
        "OIDC_CLIENT_SECRET must be at least 32 characters"
    );
}
