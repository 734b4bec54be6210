//! Keeping every desk's copy in step: the durable outbox and its delivery.
//!
//! A change to an incident plans its deliveries ([`plan`]) in the same store
//! transaction that records the change, so an accepted change can never lose the
//! deliveries it caused. Workers deliver them lane by lane — one lane per
//! (incident, desk), in order — with retries, backoff and dead letters.

pub mod deliver;
pub mod inbound;
pub mod outbox;
pub mod plan;
pub mod poll;
pub mod registry;
