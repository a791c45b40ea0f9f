//! The broker's model: CRM ids and their pseudonyms, stored sessions with their claims and leases,
//! the sliding-window rule, deadlines and clocks, and the one-time codes with what they bind (PKCE
//! challenges, the claims an agent sees). It imports nothing of the rest of the crate (the
//! use case in `broker` ties it to the store and Genesys) and knows nothing of AWS, Lambda or HTTP.

mod characters;
mod clock;
mod crm_id;
mod customer_profile;
mod deadline;
mod oidc_code;
mod pkce;
mod refresh_token;
mod session;

#[cfg(any(test, feature = "test-support"))]
pub use clock::FixedClock;
pub use clock::{Clock, SystemClock, later_by};
pub use crm_id::{CrmId, CrmIdError, CrmIdHash, MIN_HMAC_KEY_BYTES, Pseudonymiser};
pub use customer_profile::{CustomerProfile, ProfileError};
pub use deadline::Deadline;
pub use oidc_code::{AuthorizationCode, CODE_BYTES, CodeGrant, CodeKey};
pub use pkce::{CodeChallenge, CodeVerifier, PkceError, S256, VERIFIER_BYTES};
pub use refresh_token::RefreshToken;
pub use session::{GuestId, GuestToken, Hold, HoldOwner, SessionRecord, TokenFreshness};
