//! The credential rotation function through its compiled binary (`secret-rotation`) under the
//! Runtime API harness, as Secrets Manager drives it: a credentials secret in moto, an admin
//! client's secret of its own, the Genesys sandbox with the set's clients and the admin client,
//! and the four steps invoked with one `ClientRequestToken`.

use std::collections::HashMap;
use std::time::Duration;

use genesys_sandbox::{OAUTH_CLIENT_EDIT, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::helpers::pair;
use test_kit::aws::{aws_env, create_secret, secrets, unique};
use test_kit::runtime_harness::{LambdaFunction, Outcome, RuntimeHarness};

/// The function under test.
pub const ROTATION_BINARY: &str = env!("CARGO_BIN_EXE_secret-rotation");
/// The admin client: it may regenerate other clients' secrets.
pub const ADMIN: (&str, &str) = ("rotation-admin", "admin-secret");
/// The template's timeout of the rotation function.
pub const ROTATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The rotation function of one credentials secret.
pub struct Rotation {
    pub function: LambdaFunction,
    pub harness: RuntimeHarness,
    /// The credentials secret being rotated (its name, as the events give it).
    pub secret: String,
}

impl Rotation {
    /// The function rotating `secret` at the sandbox on `genesys_url`, with the admin client's
    /// secret in moto; `env` comes on top (an AWS proxy's endpoints, say).
    pub async fn start(secret: &str, genesys_url: &str, env: &[(&'static str, String)]) -> Self {
        let admin_secret = unique("genesys-admin-client");
        create_secret(
            &admin_secret,
            &json!({"client_id": ADMIN.0, "client_secret": ADMIN.1}).to_string(),
        )
        .await;
        let mut vars = aws_env();
        vars.extend([
            ("GENESYS_CREDENTIALS_SECRET_ID", secret.to_owned()),
            ("GENESYS_ADMIN_CLIENT_SECRET_ID", admin_secret),
            ("GENESYS_BASE_URL", genesys_url.to_owned()),
            ("GENESYS_LOGIN_URL", genesys_url.to_owned()),
        ]);
        vars.extend(env.iter().cloned());
        let harness = RuntimeHarness::start().await;
        let function = LambdaFunction::start(ROTATION_BINARY, &harness, &vars);
        Self {
            function,
            harness,
            secret: secret.to_owned(),
        }
    }

    /// One step as Secrets Manager invokes it (with a `RotationToken`, as newer invocations have).
    pub async fn step(&self, step: &str, token: &str) -> Outcome {
        self.step_within(step, token, ROTATION_TIMEOUT).await
    }

    /// One step, the function given `timeout` for it.
    pub async fn step_within(&self, step: &str, token: &str, timeout: Duration) -> Outcome {
        let event = json!({
            "Step": step,
            "SecretId": self.secret,
            "ClientRequestToken": token,
            "RotationToken": uuid::Uuid::new_v4().to_string(),
        });
        self.harness.invoke_with_timeout(event, timeout).await
    }

    /// The four steps in order, each expected to succeed; what each came to.
    pub async fn rotate(&self, token: &str) -> Vec<String> {
        let mut results = Vec::new();
        for step in STEPS {
            let answer = self.step(step, token).await.response();
            assert_eq!(answer["step"], step, "{answer}");
            results.push(answer["result"].as_str().unwrap_or_default().to_owned());
        }
        results
    }

    /// Each version's staging labels, sorted, as `DescribeSecret` gives them.
    pub async fn stages(&self) -> HashMap<String, Vec<String>> {
        let described = secrets()
            .await
            .describe_secret()
            .secret_id(&self.secret)
            .send()
            .await
            .expect("moto describes the secret");
        let mut stages = described.version_ids_to_stages.unwrap_or_default();
        stages.values_mut().for_each(|labels| labels.sort());
        stages
    }

    /// The document of the version labelled `stage`, or `None`.
    pub async fn document(&self, stage: &str) -> Option<Value> {
        let read = secrets()
            .await
            .get_secret_value()
            .secret_id(&self.secret)
            .version_stage(stage)
            .send()
            .await
            .ok()?;
        serde_json::from_str(read.secret_string()?).ok()
    }
}

/// Secrets Manager's four steps, in its order.
pub const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// A fresh `ClientRequestToken`, as Secrets Manager makes one per rotation.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Adds the admin client, with `oauth:client:edit`, to the sandbox.
pub fn add_admin(sandbox: &Sandbox) {
    sandbox.add_client_with_permissions(ADMIN.0, ADMIN.1, &[OAUTH_CLIENT_EDIT]);
}

/// A credentials secret in moto holding `document`; its name.
pub async fn credentials_secret(document: &Value) -> String {
    let name = unique("genesys-credentials");
    create_secret(&name, &document.to_string()).await;
    name
}

/// The `client_secret` of the client `id` in a credentials document.
pub fn secret_of(document: &Value, id: &str) -> Option<String> {
    document["credentials"]
        .as_array()?
        .iter()
        .find(|entry| entry["client_id"] == id)?["client_secret"]
        .as_str()
        .map(str::to_owned)
}

/// The EMF records among a function's output lines: `(outcome, steps done, steps failed)`.
pub fn rotation_metrics(lines: &[String]) -> Vec<(String, u64, u64)> {
    crate::fleet::metrics_records(lines)
        .iter()
        .map(|record| {
            (
                record["outcome"].as_str().unwrap_or_default().to_owned(),
                record["SecretRotationSteps"].as_u64().unwrap_or_default(),
                record["SecretRotationFailures"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

pub const A: (&str, &str) = ("client-a", "secret-a");
pub const B: (&str, &str) = ("client-b", "secret-b");

/// `[A, B]` with an operator's note; neither rotated yet.
pub fn set_of_two() -> Value {
    json!({
        "credentials": [
            {"client_id": A.0, "client_secret": A.1, "label": "primary"},
            {"client_id": B.0, "client_secret": B.1},
        ],
        "note": "kept by every rotation",
    })
}

pub async fn sandbox_with(clients: &[(&str, &str)]) -> Sandbox {
    let sandbox = Sandbox::start(SandboxConfig {
        clients: clients.iter().map(|(id, secret)| pair(id, secret)).collect(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    add_admin(&sandbox);
    sandbox
}

pub async fn rotation_of(document: &Value, sandbox: &Sandbox) -> Rotation {
    Rotation::start(&credentials_secret(document).await, &sandbox.base_url(), &[]).await
}

#[track_caller]
pub fn error_of(outcome: Outcome) -> (String, String) {
    match outcome {
        Outcome::Error(error) => (error.error_type, error.error_message),
        Outcome::Response(answer) => panic!("expected the step to fail, it answered {answer}"),
    }
}
