//! The sample event every measurement sends (for the bench's customer, or another), what its answer
//! must be (a 200; the same from both functions), and the trivial invocations that time the round
//! trip every invocation costs.

use std::time::Instant;

use serde_json::{Value, json};
use test_kit::runtime_harness::{Outcome, RuntimeHarness};

use super::Subject;
use crate::stats::Samples;
use crate::{CUSTOMER, SAMPLE_EVENT, TRIVIAL_INVOCATIONS};

/// The round trip of an invocation answered without I/O: an empty JSON object, which both
/// functions answer with an invocation error.
pub(crate) async fn time_trivial_invocations(harness: &RuntimeHarness, subject: Subject) -> Samples {
    let mut timed = Vec::with_capacity(TRIVIAL_INVOCATIONS);
    for _ in 0..TRIVIAL_INVOCATIONS {
        let started = Instant::now();
        let outcome = harness.invoke(json!({})).await;
        timed.push(started.elapsed());
        assert!(
            matches!(outcome, Outcome::Error(_)),
            "{subject:?} rejects an empty object"
        );
    }
    Samples::new(timed)
}

#[track_caller]
pub(crate) fn expect_hit(subject: Subject, outcome: &Outcome, lines: &[String]) {
    let ok = matches!(outcome, Outcome::Response(response) if response["statusCode"] == 200);
    assert!(
        ok,
        "{subject:?} answered {outcome:?}; it printed:\n{}",
        lines.join("\n")
    );
}

pub(crate) fn sample_event() -> Value {
    with_crm_id(&read_event(SAMPLE_EVENT), CUSTOMER)
}

/// The event stored at `path` (a sample event file), read once by whoever keeps it.
pub(crate) fn read_event(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
    serde_json::from_str(&text).expect("the sample event is JSON")
}

pub(crate) fn with_crm_id(event: &Value, crm_id: &str) -> Value {
    let mut event = event.clone();
    event["body"] = json!({ "crmId": crm_id }).to_string().into();
    event
}

/// What both functions must agree on: status, headers and the parsed body.
pub(crate) fn comparable(response: &Value) -> Value {
    let body: Value = response["body"]
        .as_str()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    // The correlation id is the broker's own addition (for operators), not part of the job.
    let mut headers = response["headers"].clone();
    if let Some(headers) = headers.as_object_mut() {
        headers.remove("x-correlation-id");
    }
    json!({
        "statusCode": response["statusCode"],
        "headers": headers,
        "body": body,
    })
}
