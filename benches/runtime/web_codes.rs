//! The web-messaging section's `POST /auth-codes` figures: a code for Genesys's own clients (the
//! Messenger, the mobile SDK), which makes no exchange, so the guest function runs alone. Each
//! run is a fresh instance under the same conditions as the first tokens' pairs: its first
//! invocation is the cold figure, for a new customer (the contact is made: enrich, then the code)
//! or for a known one (one read, one code write: what every Messenger re-authentication costs);
//! then `warm` new customers, each asking once more as a known one.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use test_kit::runtime_harness::Outcome;

use crate::web_world::{Function, GUEST_BINARY, Running, UpstreamMode, WebWorld};

/// The REST API's `POST /auth-codes` sample event (read once, into [`WebWorld`]'s `code_event`).
pub(crate) const CODE_SAMPLE_EVENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/events/rest-api-post-auth-codes.json");

/// Whose code a fresh instance is first asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstCode {
    /// A new customer: the contact is made first.
    NewCustomer,
    /// A customer whose contact is stored (by an earlier run).
    KnownCustomer,
}

/// One fresh instance's codes: the first (cold), then warm ones for new and known customers.
pub struct CodeRun {
    pub first: FirstCode,
    pub cold: Duration,
    pub warm_new: Vec<Duration>,
    pub warm_known: Vec<Duration>,
    pub throttled_periods: u64,
}

impl WebWorld {
    /// The sample `POST /auth-codes` event for `crm_id` (its body base64, as the REST API sends it).
    fn code_event(&self, crm_id: &str) -> Value {
        let mut event = self.code_event.clone();
        event["body"] = BASE64.encode(json!({ "crmId": crm_id }).to_string()).into();
        event
    }

    /// A fresh guest function in web messaging mode: a code for `first` (a known customer is one
    /// an earlier run made), then `warm` new customers, each asking twice.
    pub async fn code_run(&self, first: FirstCode, warm: usize, known: &mut Option<String>) -> CodeRun {
        let guest = Function::start(&self.conditions).await;
        let mut guest = guest
            .spawn(GUEST_BINARY, &self.guest_env(UpstreamMode::WebMessaging))
            .await;
        let customer = match (first, known.clone()) {
            (FirstCode::KnownCustomer, Some(customer)) => customer,
            (FirstCode::KnownCustomer, None) => panic!("a known customer's run needs a new customer's run first"),
            (FirstCode::NewCustomer, _) => format!("CRM-auth-code-{}", self.new_customer()),
        };
        let cold = code(&mut guest, self.code_event(&customer)).await;
        let (mut warm_new, mut warm_known) = (Vec::with_capacity(warm), Vec::with_capacity(warm));
        for _ in 0..warm {
            let customer = format!("CRM-auth-code-{}", self.new_customer());
            warm_new.push(code(&mut guest, self.code_event(&customer)).await);
            warm_known.push(code(&mut guest, self.code_event(&customer)).await);
            *known = Some(customer);
        }
        CodeRun {
            first,
            cold,
            warm_new,
            warm_known,
            throttled_periods: guest.stop(&self.conditions),
        }
    }
}

/// One code (`event` asks for it): the invocation, from handing the event out to the answer.
async fn code(guest: &mut Running, event: Value) -> Duration {
    let outcome = guest.harness.invoke(event).await;
    let answered = Instant::now();
    let handed_out = guest.harness.last_handed_out().expect("the invocation was handed out");
    if !matches!(&outcome, Outcome::Response(response) if response["statusCode"] == 200) {
        panic!(
            "POST /auth-codes came to {outcome:?}; the function printed:\n{}",
            guest.process.lines().join("\n")
        );
    }
    answered - handed_out
}
