//! Issue 25.2: a code presented again after its redemption (a replay: a code stolen after its use,
//! RFC 6749 §4.1.2, §10.5) is told from an unknown one. Through the compiled binaries: the replay
//! is refused exactly as an unknown code is, but the OIDC function logs it at WARN by its key's
//! prefix and counts it (`OidcCodeReplays`); the redeemed code's item in dynalite keeps only its
//! mark and its TTL, none of the customer's data; the function never deletes. A DynamoDB answer
//! lost after the redemption was written is no replay. A replay of the jwt path's code revokes
//! nothing (the decision in docs/security.md, "Replayed codes"). And the template check: the OIDC
//! role may only update code items, and a replay alarms.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use guest_token_broker::domain::CodeKey;
use serde_json::{Value, json};
use test_kit::aws_proxy::{AwsFault, FaultRule};
use test_kit::runtime_harness::LambdaFunction;
use test_kit::template::{Template, allows, assert_alarmed, statements};

use crate::auth_code_bindings::{CHALLENGE, VERIFIER};
use crate::auth_codes::{code_body, crm};
use crate::deployment::body_of;
use crate::fleet::{code_item, status};
use crate::oidc_codes::{CLIENT, redeem};
use crate::web_fleet::{REDIRECT_URI, WebFleet, web_calls};

fn names(item: &HashMap<String, AttributeValue>) -> BTreeSet<&str> {
    item.keys().map(String::as_str).collect()
}

/// Stops the OIDC function's instances: their lines, and `OidcCodeReplays` of each metrics record.
fn stop_oidc(fleet: &mut WebFleet) -> (Vec<String>, Vec<u64>) {
    let lines: Vec<String> = fleet.oidc_instances.iter_mut().flat_map(LambdaFunction::stop).collect();
    let counted = crate::fleet::counts_of(&crate::fleet::metrics_records(&lines), "OidcCodeReplays");
    (lines, counted)
}

/// The DynamoDB operations the proxy forwarded since the last look.
fn dynamodb_operations(fleet: &WebFleet) -> Vec<String> {
    let forwarded = fleet.proxy.operations();
    fleet.proxy.take();
    forwarded
        .into_iter()
        .filter(|operation| operation.starts_with("DynamoDB_"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_code_is_refused_like_an_unknown_one_but_logged_by_its_key_prefix_and_counted() {
    let mut fleet = WebFleet::start(1).await;
    let body = json!({
        "crmId": "CRM-REPLAY-1", "codeChallenge": CHALLENGE, "codeChallengeMethod": "S256",
        "givenName": "Ada", "familyName": "Lovelace", "email": "ada@example.com",
    });
    let answer = code_body(&fleet.auth_code(&body).await, false);
    let code = answer["authCode"].as_str().unwrap().to_owned();
    let minted = code_item(&fleet.table, &CodeKey::of(&code)).await;
    for bound in [
        "given_name",
        "family_name",
        "email",
        "code_challenge",
        "nonce",
        "subject",
    ] {
        assert!(minted.contains_key(bound), "{bound} is stored with the code");
    }
    fleet.proxy.take();

    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let granted = fleet.oidc_token(&form, Some(CLIENT)).await;
    assert_eq!(granted.status, 200, "{granted:?}");
    let redeemed = code_item(&fleet.table, &CodeKey::of(&code)).await;
    assert_eq!(
        names(&redeemed),
        BTreeSet::from(["crm_id_hash", "redeemed_at", "redeemed_by", "ttl"]),
        "only the mark and the TTL are left: no claims, challenge, nonce or subject"
    );
    assert_eq!(redeemed["ttl"], minted["ttl"], "the TTL is unchanged");
    assert!(redeemed["redeemed_at"].as_n().is_ok(), "{redeemed:?}");

    let replayed = fleet.oidc_token(&form, Some(CLIENT)).await;
    let unknown = redeem(&fleet, "a-code-nobody-issued", REDIRECT_URI, CLIENT, false).await;
    assert_eq!(
        (replayed.status, replayed.error()),
        (400, "invalid_grant"),
        "{replayed:?}"
    );
    assert_eq!(
        (replayed.status, &replayed.body),
        (unknown.status, &unknown.body),
        "the caller cannot tell a replay from an unknown code"
    );
    replayed.assert_never_cached();
    assert_eq!(
        dynamodb_operations(&fleet),
        ["DynamoDB_20120810.UpdateItem"; 3],
        "one UpdateItem per redemption, whatever it finds; no DeleteItem, no read"
    );

    let (lines, counted) = stop_oidc(&mut fleet);
    assert_eq!(counted, [0, 0, 1], "the replay alone is counted: {lines:#?}");
    let key = CodeKey::of(&code);
    let (prefix, longer) = (&key.as_str()[..8], &key.as_str()[..9]);
    let warnings: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("WARN") && line.contains("replay"))
        .collect();
    assert_eq!(warnings.len(), 1, "{lines:#?}");
    assert!(warnings[0].contains(prefix), "{}", warnings[0]);
    for line in &lines {
        assert!(!line.contains(&code), "the code is never logged: {line}");
        assert!(!line.contains(longer), "no more of its key than the prefix: {line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redemption_whose_dynamodb_answer_was_lost_is_a_503_not_a_replay_and_spends_the_code() {
    let mut fleet = WebFleet::start(1).await;
    let code = code_body(&fleet.auth_code(&crm("CRM-REPLAY-2")).await, false)["authCode"]
        .as_str()
        .unwrap()
        .to_owned();
    fleet.proxy.take();
    // DynamoDB marks the code, its answer never arrives, and the SDK tries the same call again.
    fleet
        .proxy
        .fail(FaultRule::new("UpdateItem", 1, AwsFault::AnswerLost).when_body_contains("redeemed_at"));
    let lost = redeem(&fleet, &code, REDIRECT_URI, CLIENT, false).await;
    assert_eq!(lost.status, 503, "{lost:?}");
    assert_eq!(
        dynamodb_operations(&fleet),
        ["DynamoDB_20120810.UpdateItem"; 2],
        "the SDK's retry found the mark its own first try left"
    );
    let again = redeem(&fleet, &code, REDIRECT_URI, CLIENT, false).await;
    assert_eq!(
        (again.status, again.error()),
        (400, "invalid_grant"),
        "spent all the same"
    );

    let (lines, counted) = stop_oidc(&mut fleet);
    assert_eq!(
        counted,
        [0, 1],
        "the lost answer is no replay; presenting the spent code again is: {lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_of_the_jwt_paths_code_revokes_nothing_and_the_customer_keeps_the_session() {
    let mut fleet = WebFleet::start(1).await;
    let first = fleet.post("CRM-REPLAY-3").await;
    assert_eq!(status(&first), 200, "{first}");
    let jwt = fleet.stored_token("CRM-REPLAY-3").await.expect("the jwt is stored");
    let sent = fleet.sandbox.exchange_requests().pop().unwrap();
    // Genesys redeemed the broker's code first; the same code presented again is a replay.
    let code = sent.code.expect("the broker's code");
    let replayed = redeem(&fleet, &code, REDIRECT_URI, CLIENT, false).await;
    assert_eq!((replayed.status, replayed.error()), (400, "invalid_grant"));

    assert_eq!(web_calls(&fleet.sandbox).3, 0, "no revocation");
    let sessions = fleet.sandbox.web_sessions();
    assert!(
        sessions.len() == 1 && !sessions[0].revoked,
        "the customer's session stays open: {sessions:?}"
    );
    let again = fleet.post("CRM-REPLAY-3").await;
    assert_eq!(
        body_of(&again)["token"],
        jwt.as_str(),
        "the stored jwt is served as before"
    );
    let (lines, counted) = stop_oidc(&mut fleet);
    assert_eq!(
        (counted.iter().sum::<u64>(), counted.last()),
        (1, Some(&1)),
        "one record counts the replay, Genesys's own calls none: {lines:#?}"
    );
}

/// Every statement of the OIDC function's role: its own policies and the role policies naming it.
fn oidc_role_statements(template: &Template) -> Vec<Value> {
    let role = &template.resource("OidcFunctionRole")["Properties"];
    assert!(role.get("ManagedPolicyArns").is_none(), "no managed policy adds to it");
    let mut documents: Vec<Value> = role["Policies"]
        .as_array()
        .expect("inline policies")
        .iter()
        .map(|policy| policy["PolicyDocument"].clone())
        .collect();
    for kind in ["AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"] {
        for name in template.resources_of_type(kind) {
            let properties = &template.resource(&name)["Properties"];
            let role = json!({"Ref": "OidcFunctionRole"});
            let names_it = properties["RoleName"] == role
                || properties["Roles"]
                    .as_array()
                    .is_some_and(|roles| roles.contains(&role));
            if names_it {
                documents.push(properties["PolicyDocument"].clone());
            }
        }
    }
    documents.iter().flat_map(statements).collect()
}

#[test]
fn the_oidc_role_may_only_update_code_items_and_a_replay_alarms_the_alarm_topic() {
    let template = Template::load();
    let statements = oidc_role_statements(&template);
    let actions = [
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchGetItem",
        "BatchWriteItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    ];
    for action in actions {
        let action = format!("dynamodb:{action}");
        let allowing: Vec<&str> = statements
            .iter()
            .filter(|statement| allows(statement, &action))
            .map(|statement| statement["Sid"].as_str().unwrap_or("(no Sid)"))
            .collect();
        let expected: &[&str] = if action == "dynamodb:UpdateItem" {
            &["RedeemCodes"]
        } else {
            &[]
        };
        assert_eq!(allowing, expected, "{action}");
    }
    let redeem = statements
        .iter()
        .find(|statement| statement["Sid"] == "RedeemCodes")
        .unwrap();
    assert_eq!(redeem["Resource"], json!({"Fn::GetAtt": ["SessionsTable", "Arn"]}));
    assert_eq!(
        redeem["Condition"],
        json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["oidc-code#*"]}}),
        "code items only, never a session"
    );

    assert_alarmed(&template, "OidcCodeReplaysAlarm", "GuestTokenBroker", "OidcCodeReplays");
    let alarm = template.resource("OidcCodeReplaysAlarm");
    assert_eq!(alarm["Condition"], "WebMessaging");
    let properties = &alarm["Properties"];
    assert_eq!(
        properties["Dimensions"],
        json!([{"Name": "service", "Value": "guest-token-broker"}])
    );
    assert_eq!(
        (
            &properties["Statistic"],
            &properties["Period"],
            &properties["Threshold"],
            &properties["ComparisonOperator"]
        ),
        (&json!("Sum"), &json!(300), &json!(0), &json!("GreaterThanThreshold")),
        "any replay in 5 minutes"
    );
    let dashboard = template.resource("Dashboard")["Properties"]["DashboardBody"].to_string();
    assert!(
        dashboard.contains(r#"\"OidcCodeReplays\""#),
        "the metric is on the dashboard"
    );
}
