//! `template.yaml` as CloudFormation reads it, for the checks of what cannot run here (a WAF web
//! ACL, a KMS key policy) and for the harness that models their effect: the YAML short forms of the
//! intrinsic functions (`!Ref X`, `!Sub`, `!GetAtt A.B`, …) become their JSON forms (`{"Ref": "X"}`,
//! `{"Fn::Sub": …}`, `{"Fn::GetAtt": ["A", "B"]}`), so a check reads one shape whichever form the
//! template uses, and a model reads its settings from the parameters' defaults rather than
//! restating them. Beside it, the checks every alarm shares ([`assert_alarmed`]) and IAM's reading
//! of a policy's statements ([`statements`], [`allows`]).

use serde_json::{Map, Value, json};
use serde_norway::Value as Yaml;

/// The repository's `template.yaml`.
pub const TEMPLATE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template(Value);

impl Template {
    /// The repository's `template.yaml`; panics (failing the test) if it cannot be read or parsed.
    pub fn load() -> Self {
        let text = std::fs::read_to_string(TEMPLATE_PATH).expect("template.yaml is readable");
        Self::parse(&text)
    }

    /// A template from its YAML text.
    pub fn parse(text: &str) -> Self {
        let yaml: Yaml = serde_norway::from_str(text).expect("the template is YAML");
        Self(to_json(yaml))
    }

    /// The whole template, intrinsic functions in their JSON form.
    pub fn json(&self) -> &Value {
        &self.0
    }

    /// The resource `name`'s definition (`Type`, `Properties`, …); panics if there is none.
    #[track_caller]
    pub fn resource(&self, name: &str) -> &Value {
        let resource = &self.0["Resources"][name];
        assert!(resource.is_object(), "template.yaml has no resource {name}");
        resource
    }

    /// The names of the resources of type `kind`, in the template's order.
    pub fn resources_of_type(&self, kind: &str) -> Vec<String> {
        self.0["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, resource)| resource["Type"] == kind)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The parameter `name`'s default, as text (CloudFormation passes every parameter as a string);
    /// panics if the parameter or its default is missing.
    #[track_caller]
    pub fn default_of(&self, name: &str) -> String {
        match &self.0["Parameters"][name]["Default"] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            other => panic!("template.yaml's parameter {name} has no default ({other})"),
        }
    }

    /// The parameter `name`'s default as a number; panics if it is not one.
    #[track_caller]
    pub fn numeric_default(&self, name: &str) -> u64 {
        let text = self.default_of(name);
        text.parse()
            .unwrap_or_else(|_| panic!("template.yaml's parameter {name} defaults to {text}, not a number"))
    }
}

/// The alarm `alarm` watches `namespace`'s `metric`, notifies the alarm topic when there is one,
/// and is on the dashboard.
#[track_caller]
pub fn assert_alarmed(template: &Template, alarm: &str, namespace: &str, metric: &str) {
    let properties = &template.resource(alarm)["Properties"];
    assert_eq!(
        (&properties["Namespace"], &properties["MetricName"]),
        (&json!(namespace), &json!(metric)),
        "{alarm}"
    );
    let topic = json!({"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]});
    assert_eq!(properties["AlarmActions"], topic, "{alarm}");
    let dashboard = template.resource("Dashboard")["Properties"]["DashboardBody"].to_string();
    assert!(
        dashboard.contains(&format!("${{{alarm}.Arn}}")),
        "{alarm} is on the dashboard"
    );
}

// IAM and KMS policies as the template writes them, read as IAM reads them.

/// IAM's action matching: case-insensitive, `*` any run of characters, `?` one character.
pub fn action_matches(pattern: &str, action: &str) -> bool {
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

/// A policy field that is one string or a list of them, as a list.
pub fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// Whether an `Allow` statement allows `action` (`Action` matching it, or `NotAction` not).
pub fn allows(statement: &Value, action: &str) -> bool {
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
pub fn statements(policy: &Value) -> Vec<Value> {
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

/// YAML to the JSON form CloudFormation reads: a tagged value `!Name v` is `{"Fn::Name": v}`
/// (`{"Ref": v}` for `!Ref`, `{"Condition": v}` for `!Condition`), and `!GetAtt A.B` is
/// `{"Fn::GetAtt": ["A", "B"]}`.
fn to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => serde_json::to_value(number).unwrap_or(Value::Null),
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Yaml::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .map(|(key, value)| (key_text(key), to_json(value)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(tagged.value);
            let (key, value) = match (name, value) {
                ("Ref" | "Condition", value) => (name.to_owned(), value),
                ("GetAtt", Value::String(path)) => {
                    let (resource, attribute) = path.split_once('.').unwrap_or((path.as_str(), ""));
                    ("Fn::GetAtt".to_owned(), Value::from(vec![resource, attribute]))
                }
                (_, value) => (format!("Fn::{name}"), value),
            };
            Value::Object(Map::from_iter([(key, value)]))
        }
    }
}

fn key_text(key: Yaml) -> String {
    match key {
        Yaml::String(text) => text,
        other => serde_norway::to_string(&other).unwrap_or_default().trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_read_as_the_json_forms_of_the_intrinsic_functions() {
        let template = Template::parse(
            "Parameters:\n  Limit:\n    Type: Number\n    Default: 1200\n\
             Resources:\n  Thing:\n    Type: AWS::X::Y\n    Properties:\n\
             \x20     A: !Ref Limit\n      B: !GetAtt Role.Arn\n      C: !Sub ${AWS::Region}\n\
             \x20     D: !If [Cond, !Ref X, !Ref AWS::NoValue]\n      E: !Split [\",\", !Ref L]\n",
        );
        let properties = &template.resource("Thing")["Properties"];
        assert_eq!(properties["A"], json!({"Ref": "Limit"}));
        assert_eq!(properties["B"], json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(properties["C"], json!({"Fn::Sub": "${AWS::Region}"}));
        assert_eq!(
            properties["D"],
            json!({"Fn::If": ["Cond", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(properties["E"], json!({"Fn::Split": [",", {"Ref": "L"}]}));
        assert_eq!(template.numeric_default("Limit"), 1200);
        assert_eq!(template.resources_of_type("AWS::X::Y"), ["Thing"]);
    }

    #[test]
    fn the_repository_template_parses() {
        let template = Template::load();
        assert_eq!(template.resource("Function")["Type"], "AWS::Serverless::Function");
    }
}
