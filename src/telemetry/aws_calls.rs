//! An AWS SDK interceptor that records every attempt of a DynamoDB or Secrets Manager call as an
//! X-Ray subsegment: service, operation, timing and HTTP status (throttles show as errors or
//! throttles, outages as faults). Only metadata is read, never a request or response body.

use std::time::SystemTime;

use aws_sdk_dynamodb::config::interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use super::xray::{Subsegment, XRay};

/// Registered on each AWS client the function builds.
#[derive(Debug, Clone)]
pub struct AwsCallTracer(XRay);

impl AwsCallTracer {
    /// A tracer recording to `xray`.
    pub fn new(xray: XRay) -> Self {
        Self(xray)
    }
}

#[derive(Debug, Clone, Copy)]
struct AttemptStarted(SystemTime);

impl Storable for AttemptStarted {
    type Storer = StoreReplace<Self>;
}

impl Intercept for AwsCallTracer {
    fn name(&self) -> &'static str {
        "AwsCallTracer"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(AttemptStarted(SystemTime::now()));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(AttemptStarted(started)) = cfg.load::<AttemptStarted>().copied() else {
            return Ok(());
        };
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("AWS".to_owned(), "unknown".to_owned()), |metadata| {
                (metadata.service().replace(' ', ""), metadata.name().to_owned())
            });
        self.0.record(&Subsegment {
            name: service,
            namespace: "aws",
            operation,
            started,
            ended: SystemTime::now(),
            status: context.response().map(|response| response.status().as_u16()),
        });
        Ok(())
    }
}
