//! The Genesys Cloud client: OAuth client-credentials with rotation across a credential set, the two
//! guest endpoints of the owner's contract, and bounded retries inside a request deadline.

mod client;
mod error;
mod guests;
mod http;
mod oauth;
mod regions;
mod retry;

pub use client::GenesysClient;
pub use error::{Endpoint, GenesysError};
pub use guests::NewGuest;
pub use regions::{DEFAULT_REGION, GenesysEndpoints, REGIONS, UnknownRegion};
pub use retry::RetryPolicy;
