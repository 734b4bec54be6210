//! deskgate adapter for IBM Rational ClearQuest's OSLC CM 2.0 REST API.
//!
//! - [`oslc`]: RDF/XML records, query answers, catalogs and `oslc:Error` bodies, read
//!   with a hardened parser and written with proper escaping.
//! - [`oslc_where`]: the `oslc.where` subset deskgate builds (and the simulator evaluates).
//! - [`discovery`]: from the root catalog to a user database's creation factory and
//!   query capability, cached; [`discovery::describe`] reports what it found.
//! - [`schema`]: a record type's states, actions and required fields, as data.
//! - [`client`]: [`ClearQuestAdapter`], the [`deskgate_adapter::Adapter`] for ClearQuest.
//! - change capture (ClearQuest has no webhooks): [`ClearQuestAdapter::poll`] with the
//!   watermark, overlap and de-duplication of [`deskgate_adapter::poll`].
//!
//! The crate speaks ClearQuest's wire format only; it knows nothing of the gateway's
//! storage, HTTP server or mapping files.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod attachment;
pub mod client;
pub mod discovery;
pub mod oslc;
pub mod oslc_where;
pub mod schema;

pub use client::{ClearQuestAdapter, ClearQuestConfig, ConfigError, MODIFY_ACTION, STOCK_MODIFIED, parse_notes};
pub use deskgate_adapter::poll::{PollOutcome, PollState, SeenVersion};
pub use discovery::{Discovered, DiscoveryReport, ShapeProperty, describe};
pub use schema::{Schema, StateAction, default_state_actions};
