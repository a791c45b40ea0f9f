//! The broker's domain core: customer pseudonyms, stored sessions, the sliding-window rule and the
//! request path that ties them together. Nothing here knows about AWS, Lambda or HTTP.

mod broker;
mod clock;
mod coordination;
mod crm_id;
mod deadline;
mod session;

pub use broker::{Broker, BrokerError, DEFAULT_SLIDING_WINDOW, IssuedToken, Outcome, WarmUpReport};
pub use clock::{Clock, FixedClock, SystemClock};
pub use crm_id::{CrmId, CrmIdError, CrmIdHash, Pseudonymiser};
pub use deadline::Deadline;
pub use session::{GuestId, GuestToken, Hold, HoldOwner, SessionRecord, TokenFreshness};
