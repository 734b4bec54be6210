//! The plumbing every simulator shares, so that each product module keeps only its
//! dialect: the loopback server with its graceful stop ([`server`]), injected faults
//! and request counters ([`faults`]), the recorder of write requests ([`record`]),
//! the adjustable clock ([`clock`]), the queue of outbound pushes a test can wait on
//! ([`push`]), and small HTTP helpers (Basic credentials, the base URL a request was
//! addressed to, JSON error responses: [`http`]).

pub(crate) mod clock;
pub mod faults;
pub(crate) mod http;
pub(crate) mod push;
pub(crate) mod record;
pub(crate) mod server;

use std::sync::{Mutex, MutexGuard};

/// Lock a simulator's state. A panic while holding the lock can only come from a bug
/// in the simulator; the state stays usable for the test that hit it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
