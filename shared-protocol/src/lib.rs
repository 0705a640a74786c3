//! The wire protocol between taskwire's server and its browsers.
//!
//! One enum per direction ([`ClientMsg`], [`ServerMsg`]) is the only definition of a
//! message; frames are `{"v":1,"type":…,"data":…}` plus `seq` on every frame that comes
//! from the event log and on snapshots. [`reducer`] applies server messages to client
//! state and is what the browser runs.

pub mod api;
pub mod codes;
pub mod domain;
pub mod frame;
pub mod listing;
pub mod messages;
pub mod reducer;
#[cfg(any(test, feature = "schema"))]
pub mod schema;

pub use codes::{close_code, ApiErrorBody, ApiErrorCode, ApiErrorEnvelope};
pub use domain::*;
pub use frame::{ClientFrame, DecodeError, LoggedEvent, ServerFrame, PROTOCOL_VERSION};
pub use listing::{DashboardQuery, Match, Sort, SortKey, PAGE_SIZE};
pub use messages::*;
