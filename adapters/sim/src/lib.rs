//! Simulators of the remote desk systems deskgate speaks to.
//!
//! Each simulator is a real HTTP server on loopback that speaks its dialect the way
//! the real product does — status codes, error bodies, workflow rules, ETags, 429s —
//! so the gateway's adapters and inbound APIs are tested against something that can
//! disagree with them. Faults are injected through [`faults::Faults`], shared by all
//! three: programmatically in tests, or over HTTP at `POST /_sim/faults`. The plumbing
//! the three share (server, faults, recorder, clock, pushes) lives in `core`; each
//! product module keeps only its dialect.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod core;

pub mod clearquest;
pub mod idp;
pub mod jira;
pub mod loopback;
pub mod servicenow;
pub mod sms;
pub mod smtp;

pub use self::core::faults;

pub use faults::{Fault, Faults};
