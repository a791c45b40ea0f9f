//! Template check (issue 25.3): the OIDC signing key's policy lets nobody but the OIDC function's
//! role sign, nobody but the named key administrators change the policy, and nobody create a grant,
//! whatever wildcard a statement uses (`kms:Create*` includes `CreateGrant`, `kms:Put*`
//! `PutKeyPolicy`, `kms:*` both and `Sign`). KMS key policies cannot be evaluated here, so the
//! check reads every statement of `template.yaml`'s `OidcSigningKey`, both branches of a
//! conditional one, and matches its actions as IAM does (case-insensitive, `*` and `?`).

use serde_json::{Value, json};
use test_kit::template::Template;

/// The actions that let a principal sign, or give itself (or anyone) the right to.
const GUARDED: [&str; 3] = ["kms:Sign", "kms:PutKeyPolicy", "kms:CreateGrant"];

/// Who may be allowed each guarded action: the OIDC function's role signs, the administrators
/// named by the parameter change the policy, nobody creates a grant.
fn intended_principals(action: &str) -> Vec<Value> {
    match action {
        "kms:Sign" => vec![json!({"Fn::GetAtt": ["OidcFunctionRole", "Arn"]})],
        "kms:PutKeyPolicy" => vec![json!({"Fn::Split": [",", {"Ref": "OidcSigningKeyAdministratorArns"}]})],
        _ => vec![],
    }
}

/// IAM's action matching: case-insensitive, `*` any run of characters, `?` one character.
fn action_matches(pattern: &str, action: &str) -> bool {
    fn matches(pattern: &[u8], action: &[u8]) -> bool {
        match (pattern.split_first(), action.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => matches(rest, action) || (!action.is_empty() && matches(pattern, &action[1..])),
            (Some((p, rest)), Some((a, tail))) => (*p == b'?' || p.eq_ignore_ascii_case(a)) && matches(rest, tail),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), action.as_bytes())
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// Whether an `Allow` statement allows `action` (`Action` matching it, or `NotAction` not).
/// (Also read by the OIDC role's check in `code_replays.rs`.)
pub(crate) fn allows(statement: &Value, action: &str) -> bool {
    if statement["Effect"] != "Allow" {
        return false;
    }
    let any = |patterns: &Value| strings(patterns).iter().any(|pattern| action_matches(pattern, action));
    match statement.get("NotAction") {
        Some(not_actions) => !any(not_actions),
        None => any(&statement["Action"]),
    }
}

/// The policy's statements, each branch of an `Fn::If` on its own (`AWS::NoValue` left out).
pub(crate) fn statements(policy: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for statement in policy["Statement"].as_array().expect("a Statement list") {
        match statement.get("Fn::If") {
            Some(branches) => out.extend(
                branches.as_array().expect("Fn::If's three items")[1..]
                    .iter()
                    .filter(|branch| **branch != json!({"Ref": "AWS::NoValue"}))
                    .cloned(),
            ),
            None => out.push(statement.clone()),
        }
    }
    out
}

/// Each statement that allows a guarded action to someone it should not: (sid, action, principal).
fn overreaching_grants(policy: &Value) -> Vec<(String, &'static str, Value)> {
    let mut found = Vec::new();
    for statement in statements(policy) {
        for action in GUARDED {
            let principal = statement["Principal"]
                .get("AWS")
                .unwrap_or(&statement["Principal"])
                .clone();
            if allows(&statement, action) && !intended_principals(action).contains(&principal) {
                let sid = statement["Sid"].as_str().unwrap_or("(no Sid)").to_owned();
                found.push((sid, action, principal));
            }
        }
    }
    found
}

fn signing_key() -> Value {
    Template::load().resource("OidcSigningKey")["Properties"].clone()
}

#[test]
fn no_statement_of_the_signing_key_policy_lets_another_principal_sign_change_the_policy_or_grant() {
    let policy = &signing_key()["KeyPolicy"];
    assert_eq!(overreaching_grants(policy), [], "{policy:#}");
    let signers: Vec<Value> = statements(policy)
        .into_iter()
        .filter(|statement| allows(statement, "kms:Sign"))
        .map(|statement| statement["Principal"]["AWS"].clone())
        .collect();
    assert_eq!(
        signers,
        intended_principals("kms:Sign"),
        "the OIDC function's role signs"
    );
}

#[test]
fn the_signing_key_policy_denies_every_grant_and_every_other_signer_explicitly() {
    let policy = &signing_key()["KeyPolicy"];
    let denies: Vec<Value> = statements(policy)
        .into_iter()
        .filter(|statement| statement["Effect"] == "Deny" && statement["Principal"]["AWS"] == "*")
        .collect();
    let denying = |action: &str| denies.iter().find(|deny| strings(&deny["Action"]).contains(&action));
    let grants = denying("kms:CreateGrant").expect("a Deny of kms:CreateGrant for everyone");
    assert!(grants.get("Condition").is_none(), "no exception: {grants}");
    let sign = denying("kms:Sign").expect("a Deny of kms:Sign for everyone else");
    assert_eq!(
        sign["Condition"],
        json!({"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["OidcFunctionRole", "Arn"]}}})
    );
}

#[test]
fn a_signing_key_policy_nobody_may_change_is_created_only_by_saying_so() {
    let key = signing_key();
    assert_eq!(
        key["BypassPolicyLockoutSafetyCheck"],
        json!({"Fn::If": ["HasSigningKeyAdministrators", false, true]}),
        "KMS's lock-out check stays on while administrators are named"
    );
    let template = Template::load();
    assert_eq!(
        template.json()["Conditions"]["HasSigningKeyAdministrators"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "OidcSigningKeyAdministratorArns"}, ""]}]})
    );
}

#[test]
fn wildcards_that_reach_a_guarded_action_are_caught() {
    // The statement the template had before issue 25: administration by kms:Create* and kms:Put*.
    let before = json!({"Statement": [{
        "Sid": "AccountAdministration", "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
        "Action": ["kms:Create*", "kms:Describe*", "kms:Put*", "kms:Revoke*"], "Resource": "*",
    }]});
    let found: Vec<(String, &str)> = overreaching_grants(&before)
        .into_iter()
        .map(|(sid, action, _)| (sid, action))
        .collect();
    assert_eq!(
        found,
        [
            ("AccountAdministration".to_owned(), "kms:PutKeyPolicy"),
            ("AccountAdministration".to_owned(), "kms:CreateGrant"),
        ]
    );
    for (pattern, action, expected) in [
        ("kms:*", "kms:Sign", true),
        ("KMS:sign", "kms:Sign", true),
        ("kms:S?gn", "kms:Sign", true),
        ("kms:Get*", "kms:Sign", false),
        ("*", "kms:CreateGrant", true),
    ] {
        assert_eq!(action_matches(pattern, action), expected, "{pattern} {action}");
    }
    let not_action = json!({"Effect": "Allow", "NotAction": "kms:Decrypt", "Principal": "*"});
    assert!(allows(&not_action, "kms:Sign"), "NotAction allows everything else");
}
