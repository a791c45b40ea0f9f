//! DELETE racing token requests: instances of the compiled binary on dynalite, one customer, token
//! requests and deletes sent together round after round; no errors, and no guest created for nothing.

use std::collections::BTreeSet;

use crate::deployment::{Deployment, body_of};
use crate::fleet::{delete, instances_that_served, post, scale_out, status, stored_item};

const CRM_ID: &str = "CRM-delete-race";
const ROUNDS: usize = 10;
const EACH_PER_ROUND: usize = 4;

#[tokio::test(flavor = "multi_thread")]
async fn deletes_racing_token_requests_answer_200_or_204_and_every_guest_created_is_used() {
    let mut deployment = Deployment::start().await;
    let mut others = scale_out(&mut deployment, 3).await;

    let mut answers = Vec::new();
    for _ in 0..ROUNDS {
        let posts = futures::future::join_all((0..EACH_PER_ROUND).map(|_| post(&deployment, CRM_ID)));
        let deletes = futures::future::join_all((0..EACH_PER_ROUND).map(|_| delete(&deployment, CRM_ID)));
        let (posted, deleted) = tokio::join!(posts, deletes);
        assert!(deleted.iter().all(|r| status(r) == 204), "{deleted:?}");
        answers.extend(posted);
    }

    assert!(answers.iter().all(|r| status(r) == 200), "{answers:?}");
    let mut used: BTreeSet<String> = answers
        .iter()
        .map(|r| body_of(r)["guestId"].as_str().expect("a guestId").to_owned())
        .collect();
    if let Some(item) = stored_item(&deployment, CRM_ID).await {
        used.extend(item.get("genesys_guest_id").and_then(|g| g.as_s().ok()).cloned());
    }
    let created: BTreeSet<String> = deployment.sandbox.guests().into_iter().map(|g| g.id).collect();
    assert_eq!(deployment.sandbox.guests().len(), created.len(), "guest ids are unique");
    assert_eq!(created, used, "every guest created was handed out or is stored");
    assert!(created.len() > 1, "the deletes made later requests create new guests");
    let served = instances_that_served(&mut deployment, &mut others);
    assert!(served > 1, "only {served} instance served: no race");
}
