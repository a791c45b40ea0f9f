//! Integration tests, compiled into one binary. Most drive `lambda::handle_event` in process with
//! the fixture events; the runtime-level ones run the compiled binary under the Runtime API harness.
//! Both talk to real servers on loopback: the Genesys sandbox, dynalite (DynamoDB) and moto
//! (Secrets Manager), from the `test-kit` and `genesys-sandbox` workspace members.

// The broker's request path nests futures deeply; computing their layout needs more than 128.
#![recursion_limit = "256"]

mod deployment;
mod fleet;
mod helpers;
mod rotation_function;
mod web_fleet;

mod api_contract;
mod auth_code_bindings;
mod auth_codes;
mod broker_flow;
mod cached_secret;
mod code_replays;
mod configuration_faults;
mod crm_ids;
mod delete_race;
mod dynamodb_store;
mod fault_suite;
mod hostile_input;
mod hot_path;
mod key_policy;
mod key_rotation;
mod lambda_runtime;
mod local_recipe;
mod log_hygiene;
mod messenger_page;
mod observability;
mod oidc_codes;
mod oidc_flood;
mod oidc_function;
mod oidc_protection;
mod oidc_provider;
mod recording_proxy;
mod refresh_tokens;
mod rotation_budget;
mod rotation_soak;
mod sam_local_checks;
mod secret_rotation;
mod secrets_manager;
mod slot_limit;
mod soak;
mod store_contract;
mod store_faults;
mod substrate;
mod upstream_faults;
mod upstream_status;
mod weak_settings;
mod web_log_hygiene;
mod web_messaging;
mod web_messaging_fleet;
