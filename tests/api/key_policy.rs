//! Template check (issue 25.3): the stack's two KMS keys let only their one user use them, only
//! the named key administrators change their policies, and nobody create a grant, whatever
//! wildcard a statement uses (`kms:Create*` includes `CreateGrant`, `kms:Put*` `PutKeyPolicy`,
//! `kms:*` all of them). Whoever can sign with `OidcSigningKey` can mint an id_token for any
//! customer, whoever can decrypt with `RefreshTokenKey` reads every customer's Genesys refresh
//! token. KMS key policies cannot be evaluated here, so the check reads every statement of each
//! key's policy in `template.yaml`, both branches of a conditional one, and matches its actions as
//! IAM does (case-insensitive, `*` and `?`).

use serde_json::{Value, json};
use test_kit::template::{Template, action_matches, allows, statements, strings};

/// A key, the role that alone may use it, and the actions that use it (or reveal what it guards).
struct Key {
    resource: &'static str,
    user: &'static str,
    use_actions: &'static [&'static str],
}

const SIGNING_KEY: Key = Key {
    resource: "OidcSigningKey",
    user: "OidcFunctionRole",
    use_actions: &["kms:Sign"],
};

const REFRESH_TOKEN_KEY: Key = Key {
    resource: "RefreshTokenKey",
    user: "FunctionRole",
    use_actions: &["kms:Decrypt", "kms:ReEncryptFrom"],
};

const KEYS: [Key; 2] = [SIGNING_KEY, REFRESH_TOKEN_KEY];

impl Key {
    fn properties<'t>(&self, template: &'t Template) -> &'t Value {
        &template.resource(self.resource)["Properties"]
    }

    fn user_arn(&self) -> Value {
        json!({"Fn::GetAtt": [self.user, "Arn"]})
    }

    /// The actions that use the key, or give a principal (anyone) the right to.
    fn guarded(&self) -> Vec<&'static str> {
        let mut guarded = self.use_actions.to_vec();
        guarded.extend(["kms:PutKeyPolicy", "kms:CreateGrant"]);
        guarded
    }

    /// Who may be allowed each guarded action: its user uses the key, the administrators named by
    /// the parameter change the policy, nobody creates a grant.
    fn intended_principals(&self, action: &str) -> Vec<Value> {
        match action {
            "kms:PutKeyPolicy" => vec![json!({"Fn::Split": [",", {"Ref": "KmsKeyAdministratorArns"}]})],
            "kms:CreateGrant" => vec![],
            _ => vec![self.user_arn()],
        }
    }
}

/// Each statement that allows a guarded action to someone it should not: (sid, action, principal).
fn overreaching_grants(key: &Key, policy: &Value) -> Vec<(String, &'static str, Value)> {
    let mut found = Vec::new();
    for statement in statements(policy) {
        for action in key.guarded() {
            let principal = statement["Principal"]
                .get("AWS")
                .unwrap_or(&statement["Principal"])
                .clone();
            if allows(&statement, action) && !key.intended_principals(action).contains(&principal) {
                let sid = statement["Sid"].as_str().unwrap_or("(no Sid)").to_owned();
                found.push((sid, action, principal));
            }
        }
    }
    found
}

#[test]
fn no_statement_of_either_key_policy_lets_another_principal_use_the_key_change_the_policy_or_grant() {
    let template = Template::load();
    for key in KEYS {
        let policy = &key.properties(&template)["KeyPolicy"];
        assert_eq!(overreaching_grants(&key, policy), [], "{}: {policy:#}", key.resource);
        assert!(
            statements(policy)
                .iter()
                .any(|statement| allows(statement, key.use_actions[0])
                    && statement["Principal"]["AWS"] == key.user_arn()),
            "{}: its user may {}",
            key.resource,
            key.use_actions[0]
        );
        for action in key.use_actions {
            let users: Vec<Value> = statements(policy)
                .into_iter()
                .filter(|statement| allows(statement, action))
                .map(|statement| statement["Principal"]["AWS"].clone())
                .collect();
            // kms:ReEncryptFrom guards the key too, but its user needs it no more than anyone else.
            assert!(
                users.iter().all(|user| *user == key.user_arn()),
                "{}: who may {action}: {users:?}",
                key.resource
            );
        }
    }
}

#[test]
fn both_key_policies_deny_every_grant_and_every_other_user_explicitly() {
    let template = Template::load();
    for key in KEYS {
        let policy = &key.properties(&template)["KeyPolicy"];
        let denies: Vec<Value> = statements(policy)
            .into_iter()
            .filter(|statement| statement["Effect"] == "Deny" && statement["Principal"]["AWS"] == "*")
            .collect();
        let denying = |action: &str| denies.iter().find(|deny| strings(&deny["Action"]).contains(&action));
        let grants =
            denying("kms:CreateGrant").unwrap_or_else(|| panic!("{}: no Deny of kms:CreateGrant", key.resource));
        assert!(
            grants.get("Condition").is_none(),
            "{}: no exception: {grants}",
            key.resource
        );
        for action in key.use_actions {
            let deny = denying(action).unwrap_or_else(|| panic!("{}: no Deny of {action} for others", key.resource));
            assert_eq!(
                deny["Condition"],
                json!({"ArnNotEquals": {"aws:PrincipalArn": key.user_arn()}}),
                "{}",
                key.resource
            );
        }
    }
}

#[test]
fn a_key_policy_nobody_may_change_is_created_only_by_saying_so() {
    let template = Template::load();
    for key in KEYS {
        assert_eq!(
            key.properties(&template)["BypassPolicyLockoutSafetyCheck"],
            json!({"Fn::If": ["HasKmsKeyAdministrators", false, true]}),
            "{}: KMS's lock-out check stays on while administrators are named",
            key.resource
        );
    }
    assert_eq!(
        template.json()["Conditions"]["HasKmsKeyAdministrators"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyAdministratorArns"}, ""]}]})
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
    let found: Vec<(String, &str)> = overreaching_grants(&SIGNING_KEY, &before)
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
