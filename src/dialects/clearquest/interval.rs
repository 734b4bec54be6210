//! The adaptive poll interval of one ClearQuest desk: short while the desk is busy,
//! doubling towards the configured maximum while it is idle.
//!
//! A desk is busy when the last poll found something new or when deliveries to it
//! were started since (a record deskgate just wrote is where the desk's people work
//! next). The interval never goes below what the desk's outbound budget allows: a
//! poll is at least one request, and polls may use at most half of the desk's
//! sustained outbound rate, leaving the rest to deliveries.

use std::time::Duration;

/// Share of the desk's sustained outbound rate polling may use, as a divisor.
const POLL_SHARE: u32 = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollInterval {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl PollInterval {
    /// Between `min` and `max`, with `min` raised to what `outbound_per_minute`
    /// allows; starts at the minimum, so the first poll after a start reads soon what
    /// happened while deskgate was down.
    pub fn new(min: Duration, max: Duration, outbound_per_minute: u32) -> Self {
        let budget = Duration::from_secs(60) * POLL_SHARE / outbound_per_minute.max(1);
        let max = max.max(budget);
        let min = min.max(budget).min(max);
        Self { min, max, current: min }
    }

    /// How long to wait before the next poll.
    pub fn current(&self) -> Duration {
        self.current
    }

    /// The shortest wait: how often the idle wait looks whether deliveries began.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// After a poll: back to the minimum when the desk is busy (`changes` found, or
    /// `deliveries` started since the last poll), else twice as long, up to the maximum.
    pub fn next(&mut self, changes: bool, deliveries: bool) -> Duration {
        self.current = if changes || deliveries { self.min } else { (self.current * 2).min(self.max) };
        self.current
    }

    /// Deliveries began while waiting: the wait shortens to the minimum.
    pub fn busy(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn idle_polls_back_off_by_doubling_up_to_the_maximum() {
        let mut i = PollInterval::new(S, 30 * S, 300);
        assert_eq!(i.current(), S, "starts short");
        let waits: Vec<u64> = (0..7).map(|_| i.next(false, false).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn a_change_or_a_delivery_brings_the_interval_back_to_the_minimum() {
        let mut i = PollInterval::new(S, 30 * S, 300);
        for _ in 0..10 {
            i.next(false, false);
        }
        assert_eq!(i.current(), 30 * S);
        assert_eq!(i.next(true, false), S, "a change seen");
        assert_eq!(i.next(false, false), 2 * S);
        assert_eq!(i.next(false, true), S, "deliveries to the desk started");
        i.next(false, false);
        i.busy();
        assert_eq!(i.current(), S, "deliveries began during the wait");
    }

    #[test]
    fn the_desk_s_outbound_budget_bounds_the_minimum() {
        // 30 requests a minute: polls may use half, one every 4 s.
        let mut i = PollInterval::new(S, 30 * S, 30);
        assert_eq!(i.current(), 4 * S);
        assert_eq!(i.next(true, true), 4 * S, "busy, yet within the budget");
        // A budget tighter than the maximum allows stretches the maximum too.
        let i = PollInterval::new(S, 2 * S, 6);
        assert_eq!((i.min(), i.current()), (20 * S, 20 * S));
        // Bounds as given when the budget is wide.
        let i = PollInterval::new(Duration::from_millis(100), S, 6_000);
        assert_eq!(i.current(), Duration::from_millis(100));
    }
}
