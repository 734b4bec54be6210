//! Time as a dependency: the escalation engine and the outbox's retry schedule ask a
//! [`Clock`] for "now", so tests can run them at any instant without sleeping.

use std::sync::Arc;

use parking_lot::Mutex;

use jiff::{SignedDuration, Timestamp};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The wall clock, shifted so that it started at a chosen instant: time passes
/// normally, but "now" reads as if the process had started at `start`. The demo uses
/// it to play a scenario at any local time (`deskgate demo --at …`).
#[derive(Clone, Copy, Debug)]
pub struct ShiftedClock {
    offset: SignedDuration,
}

impl ShiftedClock {
    pub fn starting_at(start: Timestamp) -> Self {
        Self { offset: start.duration_since(Timestamp::now()) }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::now().saturating_add(self.offset).unwrap_or_else(|_| Timestamp::now())
    }
}

/// A clock that stands still until told to move. Clones share the same time.
#[derive(Clone, Debug)]
pub struct TestClock {
    now: Arc<Mutex<Timestamp>>,
}

impl TestClock {
    pub fn at(now: Timestamp) -> Self {
        Self { now: Arc::new(Mutex::new(now)) }
    }

    pub fn set(&self, to: Timestamp) {
        *self.now.lock() = to;
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock();
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.now.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_reads_from_its_start() {
        let start: Timestamp = "2026-11-29T01:00:00Z".parse().unwrap();
        let clock = ShiftedClock::starting_at(start);
        let read = clock.now();
        assert!(read >= start && read.duration_since(start) < SignedDuration::from_mins(1), "{read}");
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let start: Timestamp = "2026-03-29T00:30:00Z".parse().unwrap();
        let clock = TestClock::at(start);
        let shared = clock.clone();
        assert_eq!(shared.now(), start);
        clock.advance(SignedDuration::from_mins(90));
        assert_eq!(shared.now(), "2026-03-29T02:00:00Z".parse().unwrap());
    }
}
