//! The event Secrets Manager invokes a rotation function with: `{"Step", "SecretId",
//! "ClientRequestToken"}`, plus `RotationToken` on newer invocations (which identifies the
//! requester for rotations through an assumed role or across accounts; this function calls
//! Secrets Manager with its own role, so it is accepted and not used).

use serde_json::Value;

use super::RotationError;

/// One of the four rotation steps, in the order Secrets Manager runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `createSecret`: a new secret at Genesys, stored as the pending version.
    Create,
    /// `setSecret`: nothing left to do at Genesys.
    Set,
    /// `testSecret`: the pending secret gets an access token.
    Test,
    /// `finishSecret`: the pending version becomes current.
    Finish,
}

const STEPS: [(&str, Step); 4] = [
    ("createSecret", Step::Create),
    ("setSecret", Step::Set),
    ("testSecret", Step::Test),
    ("finishSecret", Step::Finish),
];

impl Step {
    /// The step's name as Secrets Manager spells it (also the metrics' `outcome`).
    pub fn name(self) -> &'static str {
        STEPS
            .iter()
            .find(|(_, step)| *step == self)
            .map_or("unknown", |(name, _)| name)
    }
}

/// What one invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    /// The secret being rotated (Secrets Manager sends its ARN).
    pub secret_id: String,
    /// The new version's id, the same through the four steps: what makes each step idempotent.
    pub token: String,
    /// The step to run.
    pub step: Step,
}

impl RotationEvent {
    /// Reads the event; anything else is an [`RotationError::Event`] that says what is wrong (an
    /// unknown step is named, a value that is not a string is not quoted).
    pub fn parse(payload: &Value) -> Result<Self, RotationError> {
        let invalid = |problem: String| RotationError::Event(problem);
        let Value::Object(fields) = payload else {
            return Err(invalid(
                "the payload is not a JSON object (expected a Secrets Manager rotation event)".into(),
            ));
        };
        let text = |name: &str| match fields.get(name) {
            Some(Value::String(value)) if !value.trim().is_empty() => Ok(value.trim()),
            Some(Value::String(_)) => Err(invalid(format!("{name} is empty"))),
            Some(_) => Err(invalid(format!("{name} is not a string"))),
            None => Err(invalid(format!(
                "{name} is missing (expected Step, SecretId and ClientRequestToken)"
            ))),
        };
        let step_name = text("Step")?;
        let step = STEPS
            .iter()
            .find(|(name, _)| *name == step_name)
            .map(|(_, step)| *step)
            .ok_or_else(|| {
                let shown: String = step_name.chars().take(40).collect();
                invalid(format!(
                    "Step {shown:?} is not one of createSecret, setSecret, testSecret, finishSecret"
                ))
            })?;
        let token = text("ClientRequestToken")?;
        // Secrets Manager's tokens are 32 to 64 characters of letters, digits and hyphens; anything
        // else cannot name a version and would only end up in a log line or a request.
        if token.len() > 64 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid(
                "ClientRequestToken is not a version id (letters, digits and hyphens, at most 64)".into(),
            ));
        }
        Ok(Self {
            secret_id: text("SecretId")?.to_owned(),
            token: token.to_owned(),
            step,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_four_steps_are_read_with_or_without_a_rotation_token() {
        for (name, step) in STEPS {
            let event = json!({"Step": name, "SecretId": "arn:s", "ClientRequestToken": "a1-b2", "RotationToken": "r"});
            let parsed = RotationEvent::parse(&event).unwrap();
            assert_eq!(
                (parsed.step, parsed.token.as_str(), parsed.secret_id.as_str()),
                (step, "a1-b2", "arn:s")
            );
            assert_eq!(step.name(), name);
        }
        let without = json!({"Step": "finishSecret", "SecretId": "arn:s", "ClientRequestToken": "t"});
        assert_eq!(RotationEvent::parse(&without).unwrap().step, Step::Finish);
    }

    #[test]
    fn a_malformed_event_says_what_is_wrong() {
        let cases = [
            (json!("createSecret"), "not a JSON object"),
            (json!({"SecretId": "s", "ClientRequestToken": "t"}), "Step is missing"),
            (
                json!({"Step": "rotate", "SecretId": "s", "ClientRequestToken": "t"}),
                "Step \"rotate\" is not one of",
            ),
            (
                json!({"Step": "setSecret", "SecretId": 7, "ClientRequestToken": "t"}),
                "SecretId is not a string",
            ),
            (
                json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": " "}),
                "ClientRequestToken is empty",
            ),
            (
                json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": "a/../b"}),
                "not a version id",
            ),
        ];
        for (event, expected) in cases {
            let message = RotationEvent::parse(&event).unwrap_err().to_string();
            assert!(message.contains(expected), "{event}: {message}");
        }
    }
}
