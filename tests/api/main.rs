//! Integration tests, compiled into one binary. They talk HTTP on loopback to real servers: the
//! broker's own API server, the Genesys sandbox, dynalite (DynamoDB), moto (Secrets Manager) and a Lambda
//! Runtime API harness running the compiled binary.

mod aws;
mod aws_proxy;
mod deployment;
mod emulators;
mod fleet;
mod helpers;
mod processes;
mod runtime_harness;

mod api_contract;
mod broker_flow;
mod configuration_faults;
mod delete_race;
mod dynamodb_store;
mod fault_suite;
mod hostile_input;
mod hot_path;
mod lambda_runtime;
mod local_smoke;
mod observability;
mod openapi_conformance;
mod secrets_manager;
mod soak;
mod store_contract;
mod store_faults;
mod substrate;
mod upstream_faults;
mod upstream_status;
