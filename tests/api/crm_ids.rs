//! CRM ids at the edge: an id with an invisible format character (Unicode Cf) is refused through
//! the compiled binary before it reaches anything, and every id still accepted hashes exactly as
//! the Python utility hashed it (`hashlib.sha256(id.encode('utf-8')).hexdigest()`, run by Python).

use std::io::Write;
use std::process::{Command, Stdio};

use guest_token_broker::domain::CrmId;
use proptest::prelude::*;

use crate::deployment::{Deployment, body_of};
use crate::fleet::{error_code, post, status};
use crate::helpers::hash_of;
use test_kit::aws::dynamodb;
use test_kit::emulators::python;

#[tokio::test(flavor = "multi_thread")]
async fn an_id_with_an_invisible_format_character_is_a_400_through_the_binary_and_reaches_nothing() {
    let deployment = Deployment::start().await;
    // A zero-width space, a right-to-left override, a byte order mark, a soft hyphen: each id
    // looks like CRM-1 on a screen and would hash to another customer.
    for id in ["CRM\u{200B}-1", "CRM-\u{202E}1", "\u{FEFF}CRM-1", "CRM\u{AD}-1"] {
        let refused = post(&deployment, id).await;
        assert_eq!(status(&refused), 400, "{id:?}: {refused}");
        assert_eq!(error_code(&refused), "invalid_request");
        let message = body_of(&refused)["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains("invisible format characters"), "{message}");
    }
    let items = dynamodb()
        .await
        .scan()
        .table_name(&deployment.table)
        .send()
        .await
        .unwrap();
    assert_eq!(items.count(), 0, "nothing reached the store");
    assert!(deployment.sandbox.guests().is_empty(), "nothing reached Genesys");
    assert_eq!(
        status(&post(&deployment, "CRM-1").await),
        200,
        "the visible id is served"
    );
}

/// Python's SHA-256 of each id's UTF-8 bytes, as the utility stored them: one run of the
/// project's Python (`test_kit::emulators::python`).
fn python_sha256(ids: &[String]) -> Vec<String> {
    let script = "import sys, json, hashlib\n\
                  ids = json.load(sys.stdin)\n\
                  print(json.dumps([hashlib.sha256(i.encode('utf-8')).hexdigest() for i in ids]))";
    let mut python = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test needs it)");
    let input = serde_json::to_vec(ids).unwrap();
    python.stdin.take().unwrap().write_all(&input).unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success(), "python3 failed");
    serde_json::from_slice(&output.stdout).expect("a JSON list of digests")
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        // Anything at all: control and format characters, private use, astral planes.
        any::<String>(),
        // Printable characters of every script (no C category), most of which are accepted.
        "\\PC{1,40}",
        "[ -~]{1,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_accepted_id_hashes_exactly_as_the_python_utility_hashes_it(ids in prop::collection::vec(id(), 1..48)) {
        let accepted: Vec<String> = ids.into_iter().filter(|id| CrmId::parse(id).is_ok()).collect();
        prop_assume!(!accepted.is_empty());
        let ours: Vec<String> = accepted
            .iter()
            .map(|id| hash_of(id).as_str().to_owned())
            .collect();
        prop_assert_eq!(ours, python_sha256(&accepted));
    }
}
