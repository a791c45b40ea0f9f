//! What one DynamoDB GetItem costs outside the emulator: the broker's call, made with the same SDK from the
//! bench process through the same proxy, timed by the caller minus the proxy's time. That is the
//! SDK's own work (request building, SigV4 signing, response parsing), the loopback hops and the
//! proxy's HTTP handling, all of which the own time per hit includes.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use guest_token_broker::domain::{CrmId, Pseudonymiser};

use crate::stats::Samples;
use test_kit::aws_proxy::AwsProxy;

const WARM_UP: usize = 20;

pub async fn measure(proxy: &AwsProxy, table: &str, calls: usize) -> Samples {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .endpoint_url(proxy.url())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let hash = Pseudonymiser::Sha256.hash(&CrmId::parse(crate::CUSTOMER).expect("a valid id"));
    let get = || {
        client
            .get_item()
            .table_name(table)
            .key("crm_id_hash", AttributeValue::S(hash.as_str().to_owned()))
            .consistent_read(true)
            .send()
    };
    for _ in 0..WARM_UP {
        get().await.expect("dynalite answers");
    }
    proxy.take();
    let mut overheads = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let item = get().await.expect("dynalite answers").item;
        let elapsed = started.elapsed();
        assert!(item.is_some(), "the customer's session is stored");
        let at_proxy: Duration = proxy.take().iter().map(|record| record.elapsed).sum();
        overheads.push(elapsed.saturating_sub(at_proxy));
    }
    Samples::new(overheads)
}
