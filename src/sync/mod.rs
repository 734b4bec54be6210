//! Keeping every desk's copy in step: the durable outbox and its delivery.
//!
//! A change to an incident plans its deliveries ([`crate::gateway::plan`]) in the same store
//! transaction that records the change, so an accepted change can never lose the
//! deliveries it caused. Workers deliver them lane by lane — one lane per
//! (incident, desk), in order — with retries, backoff and dead letters.

mod deferral;
pub mod deliver;
mod support;

// Polling is the ClearQuest dialect's change capture; the adapter registry is the gateway's.
pub use crate::dialects::clearquest::poll;
pub use crate::gateway::adapters as registry;

// Planning and inbound reading are use cases (the gateway's); the records are domain.
pub use crate::gateway::{inbound, plan};
pub use crate::outbox;
