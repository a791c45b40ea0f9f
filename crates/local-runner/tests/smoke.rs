//! The README's first command: the `local` binary on its embedded defaults, driven with the very
//! curl command it prints.

use aws_sdk_dynamodb::types::AttributeValue;
use guest_token_broker::domain::{CrmId, CrmIdHash, Pseudonymiser};
use test_kit::aws::{aws_env, create_secret, create_sessions_table, credentials_document, dynamodb, unique};
use test_kit::processes::{ChildProcess, run_shell};

fn hash_of(crm_id: &str) -> CrmIdHash {
    Pseudonymiser::Sha256.hash(&CrmId::parse(crm_id).unwrap())
}

#[tokio::test]
async fn local_serves_a_token_to_its_printed_curl_and_repeats_it_from_the_store() {
    let mut local = ChildProcess::spawn(env!("CARGO_BIN_EXE_local"), &[("PORT", "0"), ("RUST_LOG", "info")]);
    local.wait_for_line(|line| line.starts_with("Listening on http://127.0.0.1:"));
    let curl = local
        .wait_for_line(|line| line.trim_start().starts_with("curl "))
        .trim()
        .to_owned();

    let first: serde_json::Value = serde_json::from_str(&run_shell(&curl)).expect("JSON from the printed curl");
    let second: serde_json::Value = serde_json::from_str(&run_shell(&curl)).unwrap();

    assert!(first["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(first, second);
    let created = local.wait_for_line(|line| line.contains("outcome=") && line.contains("status=200"));
    assert!(
        created.contains("outcome=\"created\"") || created.contains("outcome=created"),
        "{created}"
    );
    let repeated = local.wait_for_line(|line| line.contains("outcome=") && line.contains("status=200"));
    assert!(repeated.contains("hit"), "the repeat made no upstream call: {repeated}");
}

#[tokio::test]
async fn local_runs_on_dynamodb_and_secrets_manager_when_pointed_at_dynalite_and_moto() {
    let table = unique("sessions");
    create_sessions_table(&table).await;
    let secret = unique("genesys-credentials");
    create_secret(&secret, &credentials_document(&[("sandbox-client", "sandbox-secret")])).await;
    let mut env = aws_env();
    env.extend([
        ("SESSIONS_TABLE", table.clone()),
        ("GENESYS_CREDENTIALS_SECRET_ID", secret),
        ("PORT", "0".into()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let mut local = ChildProcess::spawn(env!("CARGO_BIN_EXE_local"), &env);
    local.wait_for_line(|line| line == format!("Session store: DynamoDB table {table}"));
    local.wait_for_line(|line| line.starts_with("Listening on"));
    let curl = local
        .wait_for_line(|line| line.trim_start().starts_with("curl "))
        .trim()
        .to_owned();
    let reply: serde_json::Value = serde_json::from_str(&run_shell(&curl)).unwrap();

    let item = dynamodb()
        .await
        .get_item()
        .table_name(&table)
        .key(
            "crm_id_hash",
            AttributeValue::S(hash_of("CRM-987654").as_str().to_owned()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the session was stored in DynamoDB");
    assert_eq!(
        item["genesys_guest_id"].as_s().unwrap(),
        reply["guestId"].as_str().unwrap()
    );
}

#[tokio::test]
async fn local_on_a_port_in_use_says_which_and_the_variable_to_change() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    let mut local = ChildProcess::spawn_isolated(env!("CARGO_BIN_EXE_local"), &[("PORT", port.as_str())]);
    let status = local.wait_for_exit();

    assert!(!status.success());
    let said = local.lines().join("\n");
    assert!(said.contains(&format!("port {port} is already in use")), "{said}");
    assert!(said.contains("set PORT"), "{said}");
}

#[tokio::test]
async fn local_in_web_messaging_mode_serves_a_token_through_the_sandbox_which_redeemed_a_code_at_the_broker() {
    let mut local = ChildProcess::spawn(
        env!("CARGO_BIN_EXE_local"),
        &[
            ("PORT", "0"),
            ("RUST_LOG", "info"),
            ("GENESYS_UPSTREAM_MODE", "genesys-web-messaging"),
        ],
    );
    local.wait_for_line(|line| line.starts_with("Upstream: Genesys web messaging"));
    let address = local
        .wait_for_line(|line| line.starts_with("Listening on http://127.0.0.1:"))
        .trim_start_matches("Listening on ")
        .trim()
        .to_owned();
    let curl = local
        .wait_for_line(|line| line.trim_start().starts_with("curl "))
        .trim()
        .to_owned();
    // The second printed curl: a code from POST /auth-codes, which the sandbox, playing the
    // Messenger's Auth plugin, exchanges for a jwt.
    let messenger = local
        .wait_for_line(|line| line.trim_start().starts_with("curl ") && line.contains("/auth-codes"))
        .trim()
        .to_owned();

    let reply: serde_json::Value = serde_json::from_str(&run_shell(&curl)).expect("JSON from the printed curl");

    assert!(reply["token"].as_str().is_some_and(|t| t.starts_with("ey")), "{reply}");
    // The sandbox, as Genesys, read discovery and the JWKS and redeemed the code at the broker
    // while the token request was being served.
    let redeemed = local.wait_for_line(|line| line.contains("POST /oidc/token"));
    assert!(redeemed.contains("status=200"), "{redeemed}");
    let created = local.wait_for_line(|line| line.contains("POST /guest-tokens"));
    assert!(
        created.contains("status=200") && created.contains("created"),
        "{created}"
    );
    let jwks: serde_json::Value =
        serde_json::from_str(&run_shell(&format!("curl -sS {address}/.well-known/jwks.json"))).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    let exchanged: serde_json::Value =
        serde_json::from_str(&run_shell(&messenger)).expect("JSON from the printed Messenger curl");
    assert!(
        exchanged["jwt"].as_str().is_some_and(|t| t.starts_with("ey")),
        "{exchanged}"
    );
    assert!(
        exchanged["refreshToken"].as_str().is_some_and(|t| !t.is_empty()),
        "{exchanged}"
    );
    let issued = local.wait_for_line(|line| line.contains("POST /auth-codes"));
    assert!(issued.contains("status=200"), "{issued}");
}
