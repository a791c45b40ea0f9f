//! The test substrate has the properties the race tests rely on. dynalite is trusted to prove
//! "one guest per customer" only because its conditional writes are atomic; this keeps checking
//! it, so an emulator that stops being atomic (moto's DynamoDB is not) fails here, not silently in
//! a race test that then proves nothing.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;

use test_kit::aws::{create_sessions_table, dynamodb, unique};

const ROUNDS: usize = 100;
const WRITERS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynalite_applies_each_conditional_write_atomically() {
    let table = unique("atomicity");
    create_sessions_table(&table).await;
    // One client per writer, so the writes travel on separate connections and really overlap.
    let mut clients = Vec::new();
    for _ in 0..WRITERS {
        clients.push(dynamodb().await);
    }

    for round in 0..ROUNDS {
        let key = format!("round-{round}");
        let writes = clients.iter().enumerate().map(|(writer, client)| {
            client
                .update_item()
                .table_name(&table)
                .key("crm_id_hash", AttributeValue::S(key.clone()))
                .update_expression("SET #claim = :writer")
                .condition_expression("attribute_not_exists(#claim)")
                .expression_attribute_names("#claim", "guest_claim_until")
                .expression_attribute_values(":writer", AttributeValue::N(writer.to_string()))
                .send()
        });
        let results = join_all(writes).await;
        let winners = results.iter().filter(|result| result.is_ok()).count();
        let refused = results
            .iter()
            .filter(|result| {
                result
                    .as_ref()
                    .err()
                    .and_then(|err| err.as_service_error())
                    .is_some_and(|err| err.is_conditional_check_failed_exception())
            })
            .count();
        assert_eq!(winners, 1, "round {round}: {winners} conditional writes won");
        assert_eq!(
            refused,
            WRITERS - 1,
            "round {round}: every other write is refused by its condition"
        );
    }
}
