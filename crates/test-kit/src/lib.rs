//! What the broker's tests and benchmarks run against, real servers on loopback: dynalite and moto
//! (the AWS emulators, started once per test process), an AWS proxy that fails chosen operations on
//! purpose, a Lambda Runtime API harness that runs the compiled function binary, a slot-limited
//! pool of its instances that throttles as Lambda does, HTTP fronts that stand in for API Gateway
//! (and AWS WAF's per-source rate rule) before them, `template.yaml` read as CloudFormation reads
//! it, and helpers for child processes. Nothing here is deployed: it is a dev-dependency of the
//! Lambda crate.

pub mod aws;
pub mod aws_proxy;
pub mod emulators;
pub mod function_pool;
pub mod http_front;
pub mod processes;
pub mod runtime_harness;
pub mod template;
pub mod tls_terminator;
pub mod waf;
