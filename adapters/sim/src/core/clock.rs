//! A simulator's clock: the wall clock moved forward by what a test asked for, so
//! that tests can let tokens expire or make later changes look later without
//! sleeping.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

#[derive(Default)]
pub(crate) struct SimClock {
    offset: Mutex<SignedDuration>,
    /// The last instant [`SimClock::tick`] handed out, in ms.
    last_ms: AtomicI64,
}

impl SimClock {
    /// The wall clock plus every advance so far.
    pub(crate) fn now(&self) -> Timestamp {
        let offset = *super::lock(&self.offset);
        Timestamp::now().checked_add(offset).unwrap_or_else(|_| Timestamp::now())
    }

    /// [`SimClock::now`] to the millisecond, but always later than the instant
    /// handed out before, so that successive changes can be ordered by time.
    pub(crate) fn tick(&self) -> Timestamp {
        let wall = self.now();
        let wall_ms = wall.as_millisecond();
        let previous = self
            .last_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(wall_ms.max(last + 1)))
            .unwrap_or(wall_ms);
        Timestamp::from_millisecond(wall_ms.max(previous + 1)).unwrap_or(wall)
    }

    /// [`SimClock::now`] truncated to the second, for products that keep no finer stamps.
    pub(crate) fn now_seconds(&self) -> Timestamp {
        Timestamp::from_second(self.now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Move the clock forward. Nothing sleeps.
    pub(crate) fn advance(&self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        let mut offset = super::lock(&self.offset);
        *offset = offset.saturating_add(by);
    }
}
