//! Guest-token broker: issues Genesys Cloud web-messaging guest tokens per CRM customer.
//!
//! The crate is laid out by architecture:
//! - [`domain`]: the model (CRM ids and pseudonyms, sessions, the sliding window, deadlines),
//!   importing nothing of the rest and free of AWS and HTTP types;
//! - [`broker`]: the use case (pseudonymise, find or create the guest, sliding-window refresh,
//!   coordination across instances), on the model, the store port and the Genesys client;
//! - [`store`]: the session-store port with its DynamoDB adapter and an in-memory fake;
//! - [`secrets`]: the secrets and where they come from (the Genesys OAuth client credentials, the
//!   CRM id hash key, the OIDC client, the rotation's admin client), behind one cached-secret type;
//! - [`genesys`]: the Genesys Cloud client (OAuth, the guest endpoints, client secret
//!   regeneration, retries);
//! - [`web`]: HTTP below both functions' routes (request, response, the one error mapping);
//! - [`api`]: the guest function's HTTP API, one handler shared by Lambda and the local server;
//! - [`oidc`]: the OpenID Connect provider Genesys trusts in authenticated web messaging mode,
//!   a Lambda function of its own (`oidc-provider`);
//! - [`rotation`]: Secrets Manager's four rotation steps for the credential set, a Lambda function
//!   of its own (`secret-rotation`);
//! - [`lambda`]: the Lambda entry point of the functions (event dispatch, warm-up);
//!
//! It holds only what is deployed. The Genesys sandbox, the `local` runner and the test kit are
//! workspace members beside it (`crates/`), and it depends on none of them.

// The request path's futures nest deeply (the API handler, the broker, the Genesys client's
// retries); computing their layout needs more than the default 128.
#![recursion_limit = "256"]
#![warn(missing_docs)]

pub mod api;
pub mod app;
mod aws_error;
pub mod broker;
pub mod config;
pub mod domain;
pub mod genesys;
pub mod lambda;
pub mod oidc;
pub mod rotation;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod web;
