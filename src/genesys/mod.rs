//! The Genesys Cloud client: OAuth client-credentials with rotation across a credential set, the two
//! guest endpoints of the owner's contract, the public endpoints of authenticated web messaging
//! (`web_messaging`), the OAuth client secret regeneration the rotation function uses
//! (`oauth_clients`), and bounded retries inside a request deadline.

mod client;
mod error;
mod guests;
mod http;
mod oauth;
mod oauth_clients;
mod regions;
mod retry;
mod web_messaging;

pub use client::{CodeExchange, ExchangeCode, ExchangeStep, GenesysClient};
pub use error::{Endpoint, GenesysError};
pub use guests::NewGuest;
pub use regions::{GenesysEndpoints, REGIONS, UnknownRegion};
pub use retry::RetryPolicy;
