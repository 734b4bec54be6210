//! deskgate adapter for ServiceNow: the Table API dialect.
//!
//! - [`wire`]: records, envelopes, dates, `sys_id`, numbers and the priority formula;
//!   pure data shared with the simulator and the gateway's inbound ServiceNow API.
//! - [`query`]: encoded queries (`sysparm_query`) — a bounded parser, an evaluator and
//!   ordering, shared the same way.
//! - [`client`]: [`ServiceNowAdapter`], the outbound [`deskgate_adapter::Adapter`] that
//!   speaks to one ServiceNow instance (Basic or OAuth).
//!
//! This crate knows nothing of the gateway's storage, HTTP server or mapping files.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod attachment;
pub mod client;
pub mod query;
pub mod wire;

pub use client::{Auth, ConfigError, ServiceNowAdapter, ServiceNowConfig};
pub use query::{EncodedQuery, QueryError};
pub use wire::{Record, SysId};
