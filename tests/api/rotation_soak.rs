//! A rotation while a fleet serves, `scripts/soak`-style: instances of the guest function's binary
//! under the Runtime API harness answer steady traffic (every request a new customer, so every
//! request calls Genesys) while the rotation function's binary runs Secrets Manager's four steps
//! on their credentials secret. `ROTATION_SOAK_INSTANCES` (default 4) sizes the fleet; the figures
//! are printed (`--nocapture` shows them).
//!
//! The rotated client is the one every instance uses (the set's first, due because the second was
//! rotated before): `createSecret` makes Genesys refuse its old secret and revoke its tokens at
//! once, while `AWSCURRENT` still holds the old secret until `finishSecret` and each instance holds
//! its cached set until `CREDENTIALS_CACHE_SECONDS` has passed. The test waits for the re-read by
//! what each instance logs: its first request on the rotated set says that the set changed, which
//! nothing else it reads during the run can make it say.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::deployment::{Deployment, crm_body, http_api_post};
use crate::fleet::{logs_a_token_request, scale_out, status, stop_all};
use crate::helpers::{hash_of, pair};
use crate::rotation_function::{A, B, Rotation, new_token, sandbox_with, secret_of};
use test_kit::aws::rotate_secret;
use test_kit::runtime_harness::{LambdaFunction, RuntimeHarness};

/// How long an instance keeps the set it read: the re-read that picks up the rotation.
const CACHE_SECONDS: u64 = 2;
const REFUSED: &str = "Genesys refused OAuth client (invalid_client)";
const OBTAINED: &str = "obtained a Genesys access token";
/// What an instance logs on its first request with a set whose clients differ from the last one's.
const SET_CHANGED: &str = "the credential set changed; trying its credentials in its own order again";

/// Before the rotation, while it runs, while the instances still hold the old set, after.
const PHASES: [&str; 4] = ["before", "rotating", "until the re-read", "after the re-read"];

struct Traffic<'a> {
    harness: &'a RuntimeHarness,
    phase: AtomicUsize,
    stop: AtomicBool,
    sent: AtomicUsize,
    /// `(phase, crm id, status)` of every answer.
    answers: Mutex<Vec<(usize, String, u64)>>,
}

impl Traffic<'_> {
    /// One caller: a new customer per request, until told to stop.
    async fn caller(&self) {
        while !self.stop.load(Ordering::SeqCst) {
            let phase = self.phase.load(Ordering::SeqCst);
            let crm = format!("CRM-ROT-{phase}-{:06}", self.sent.fetch_add(1, Ordering::SeqCst));
            let response = self.harness.invoke(http_api_post(&crm_body(&crm))).await.response();
            self.answers.lock().unwrap().push((phase, crm, status(&response)));
        }
    }

    fn answered_in(&self, phase: usize) -> usize {
        self.answers
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, ..)| *p == phase)
            .count()
    }

    /// Waits (a poll with a deadline) until `wanted` holds.
    async fn until(&self, what: &str, mut wanted: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !wanted() {
            assert!(Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What one instance's log shows.
struct Instance {
    /// Credentials Genesys refused it.
    refusals: usize,
    /// The client of each access token it obtained, in order.
    grants: Vec<String>,
    /// Whether it served a request sent after the re-read.
    served_after_reread: bool,
}

fn instances() -> usize {
    std::env::var("ROTATION_SOAK_INSTANCES").map_or(4, |value| {
        value
            .trim()
            .parse::<usize>()
            .unwrap_or_else(|_| panic!("ROTATION_SOAK_INSTANCES must be a whole number, not {value:?}"))
            .max(1)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_under_steady_traffic_fails_no_request_refuses_each_instance_once_at_most_and_reuses_the_rotated_client()
 {
    let instances = instances();
    let sandbox = sandbox_with(&[A, B]).await;
    let url = sandbox.base_url();
    let cache = CACHE_SECONDS.to_string();
    let clients = [pair(A.0, A.1), pair(B.0, B.1)];
    let mut deployment = Deployment::start_on(sandbox, &clients, &url, &[("CREDENTIALS_CACHE_SECONDS", &cache)]).await;
    // B was rotated before: A, the set's first and the one every instance starts with, is due.
    let set = json!({"credentials": [
        {"client_id": A.0, "client_secret": A.1},
        {"client_id": B.0, "client_secret": B.1, "rotated_at": "2025-01-01T00:00:00Z"},
    ]});
    rotate_secret(&deployment.secret, &set.to_string()).await;
    let mut others = scale_out(&mut deployment, instances - 1).await;
    let rotation = Rotation::start(&deployment.secret, &url, &[]).await;
    // The instances' logs are read while the traffic runs on the harness.
    let Deployment {
        harness,
        function,
        sandbox,
        ..
    } = &mut deployment;
    let mut running: Vec<&mut LambdaFunction> = std::iter::once(function).chain(others.iter_mut()).collect();
    let traffic = Traffic {
        harness,
        phase: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        sent: AtomicUsize::new(0),
        answers: Mutex::new(Vec::new()),
    };
    let started = Instant::now();

    let callers = futures::future::join_all((0..instances).map(|_| traffic.caller()));
    let driver = async {
        // Every instance has its token from A (one grant each) before the rotation starts.
        let grants_of_a = || sandbox.oauth_client_ids().iter().filter(|id| *id == A.0).count();
        traffic
            .until("every instance got a token from A, and steady traffic", || {
                grants_of_a() >= instances && traffic.answered_in(0) >= 10 * instances
            })
            .await;
        traffic.phase.store(1, Ordering::SeqCst);
        let results = rotation.rotate(&new_token()).await;
        traffic.phase.store(2, Ordering::SeqCst);
        // The instances re-read the set once their copy is older than the cache's time to live.
        traffic
            .until("every instance served a request on the rotated set", || {
                running
                    .iter_mut()
                    .all(|instance| instance.printed_so_far().iter().any(|line| line.contains(SET_CHANGED)))
            })
            .await;
        traffic.phase.store(3, Ordering::SeqCst);
        traffic
            .until("traffic after the re-read", || traffic.answered_in(3) >= 10 * instances)
            .await;
        traffic.stop.store(true, Ordering::SeqCst);
        results
    };
    let (_, results) = tokio::join!(callers, driver);
    let run = started.elapsed();

    let rotated = sandbox.client_secret(A.0).unwrap();
    let current = rotation.document("AWSCURRENT").await.unwrap();
    let answers = traffic.answers.into_inner().unwrap();
    let logs = stop_all(&mut deployment, &mut others);
    let failed: Vec<_> = answers.iter().filter(|(.., status)| *status != 200).collect();
    let after_reread: HashSet<String> = answers
        .iter()
        .filter(|(phase, ..)| *phase == 3)
        .map(|(_, crm, _)| hash_of(crm).prefix(8).to_owned())
        .collect();
    let fleet: Vec<Instance> = logs
        .iter()
        .map(|lines| Instance {
            refusals: lines.iter().filter(|line| line.contains(REFUSED)).count(),
            grants: lines
                .iter()
                .filter(|line| line.contains(OBTAINED))
                .filter_map(|line| line.split("client_id=").nth(1)?.split_whitespace().next())
                .map(str::to_owned)
                .collect(),
            served_after_reread: lines.iter().any(|line| {
                logs_a_token_request(line) && after_reread.iter().any(|prefix| line.contains(prefix.as_str()))
            }),
        })
        .collect();

    let per_phase: Vec<String> = PHASES
        .iter()
        .enumerate()
        .map(|(phase, name)| format!("{name} {}", answers.iter().filter(|(p, ..)| *p == phase).count()))
        .collect();
    println!(
        "rotation soak: {instances} instances, {:.1} s; steps {results:?}\n\
         requests {} ({}), failed {}\n\
         refused credentials per instance {:?}; access tokens obtained per instance, in order {:?}",
        run.as_secs_f64(),
        answers.len(),
        per_phase.join(", "),
        failed.len(),
        fleet.iter().map(|i| i.refusals).collect::<Vec<_>>(),
        fleet.iter().map(|i| i.grants.clone()).collect::<Vec<_>>(),
    );

    assert_eq!(results, ["stored", "nothing-to-do", "accepted", "current"]);
    assert_eq!(secret_of(&current, A.0), Some(rotated), "A's new secret is current");
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(
        fleet.iter().all(|i| i.refusals <= 1),
        "an instance was refused twice or more"
    );
    assert!(
        fleet.iter().any(|i| i.refusals == 1),
        "no instance met the old secret: the rotation did not happen under traffic"
    );
    let after: Vec<&Instance> = fleet.iter().filter(|i| i.served_after_reread).collect();
    assert!(!after.is_empty(), "no instance served after the re-read");
    // A's tokens from before the rotation were revoked and its old secret is refused, so a last
    // token from A, with requests served since, is one obtained with A's new secret.
    for instance in after {
        assert_eq!(
            instance.grants.last().map(String::as_str),
            Some(A.0),
            "an instance still on another client after the re-read: {:?}",
            instance.grants
        );
    }
}
