//! Rate limits per desk, in both directions.
//!
//! - **Inbound**: every authenticated request of a desk takes a cell from that desk's
//!   bucket ([`RateLimits::check`]); an empty bucket is a 429 with `Retry-After`,
//!   answered by the desk extractor in the caller's dialect. One desk's burst never
//!   touches another desk's allowance.
//! - **Outbound**: the delivery workers wait on the remote desk's bucket before each
//!   delivery ([`RateLimits::until_ready`]), so a backlog drains at a pace the remote
//!   accepts instead of tripping its own limits.
//!
//! Limits come from `[gateway.rate_limit]` (defaults for every desk) and a desk's
//! `rate_limit = { … }` (overrides key by key). Each desk has its own GCRA limiter
//! (governor) rather than one keyed limiter because each may have its own quota.
//! The limiters are generic over governor's clock so tests run them on a fake one.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use rand::Rng;

use crate::config::Config;
use crate::model::DeskId;

// The limits are configuration (`[gateway.rate_limit]`, a desk's `rate_limit`).
pub use crate::config::{RateLimit, RateLimitOverrides};

impl RateLimit {
    fn inbound_quota(&self) -> Quota {
        quota(self.inbound_per_minute, self.inbound_burst)
    }

    fn outbound_quota(&self) -> Quota {
        quota(self.outbound_per_minute, self.outbound_burst)
    }
}

/// `per_minute` cells a minute, `burst` at once. Zeros (refused by the configuration
/// check) are read as 1.
fn quota(per_minute: u32, burst: u32) -> Quota {
    let one = NonZeroU32::MIN;
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(one);
    let burst = NonZeroU32::new(burst).unwrap_or(one);
    Quota::per_minute(per_minute).allow_burst(burst)
}

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Inbound and outbound limiters of every configured desk. A desk not in the
/// configuration is not limited here (it cannot authenticate, nor be delivered to).
pub struct RateLimits<C: Clock = DefaultClock> {
    clock: C,
    inbound: HashMap<DeskId, Limiter<C>>,
    outbound: HashMap<DeskId, Limiter<C>>,
    /// Deliveries started to each desk, ever: the poller reads a change in it as
    /// "deliveries to this desk are under way" and polls it sooner.
    deliveries: HashMap<DeskId, AtomicU64>,
    /// Until when calls to each desk last had to wait for its outbound budget
    /// (real time), for the console's desk health.
    waited: parking_lot::Mutex<HashMap<DeskId, jiff::Timestamp>>,
}

impl RateLimits<DefaultClock> {
    /// Limiters for every desk of `config`, on the real clock.
    pub fn from_config(config: &Config) -> Self {
        Self::with_clock(config, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    /// Limiters for every desk of `config`, on `clock`.
    pub fn with_clock(config: &Config, clock: C) -> Self {
        let limits = config.desks.values().map(|d| (d.id.clone(), config.gateway.rate_limit.with(&d.rate_limit)));
        Self::from_limits(limits, clock)
    }

    /// Limiters for the given desks and limits, on `clock`.
    pub fn from_limits(limits: impl IntoIterator<Item = (DeskId, RateLimit)>, clock: C) -> Self {
        let mut inbound = HashMap::new();
        let mut outbound = HashMap::new();
        let mut deliveries = HashMap::new();
        for (desk, limit) in limits {
            deliveries.insert(desk.clone(), AtomicU64::new(0));
            inbound.insert(desk.clone(), RateLimiter::direct_with_clock(limit.inbound_quota(), clock.clone()));
            outbound.insert(desk, RateLimiter::direct_with_clock(limit.outbound_quota(), clock.clone()));
        }
        Self { clock, inbound, outbound, deliveries, waited: Default::default() }
    }
}

impl<C: Clock> RateLimits<C> {
    /// Take one inbound request of `desk`, or say how long until one would be allowed.
    pub fn check(&self, desk: &DeskId) -> Result<(), Duration> {
        take(&self.clock, self.inbound.get(desk))
    }

    /// Take `n` inbound cells of `desk` at once (a write that adds several notes), or
    /// say how long until they would be allowed; `Err(None)` when `n` exceeds the
    /// desk's burst, so no wait would ever allow it.
    pub fn check_n(&self, desk: &DeskId, n: u32) -> Result<(), Option<Duration>> {
        let (Some(limiter), Some(n)) = (self.inbound.get(desk), NonZeroU32::new(n)) else { return Ok(()) };
        match limiter.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Some(not_until.wait_time_from(self.clock.now()))),
            Err(_) => Err(None),
        }
    }

    /// Take one outbound delivery to `desk`, or say how long until one would be allowed.
    pub fn check_outbound(&self, desk: &DeskId) -> Result<(), Duration> {
        take(&self.clock, self.outbound.get(desk))
    }

    /// Wait until a delivery to `desk` is allowed, and take it. Waiters on one desk
    /// are spread by a little jitter so they do not all wake at the same instant.
    pub async fn until_ready(&self, desk: &DeskId) {
        if let Some(n) = self.deliveries.get(desk) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        self.until_polled(desk).await
    }

    /// Wait until a request to `desk` that is not a delivery (a poll) is allowed, and
    /// take it: polls and deliveries share the desk's outbound budget.
    pub async fn until_polled(&self, desk: &DeskId) {
        let mut waited = false;
        while let Err(wait) = self.check_outbound(desk) {
            if !waited {
                metrics::counter!("deskgate_rate_limited_total", "desk" => desk.to_string(), "direction" => "outbound")
                    .increment(1);
                tracing::debug!(%desk, wait_ms = wait.as_millis() as u64, "outbound rate limit: waiting");
                waited = true;
                self.note_wait(desk, wait);
            }
            let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..=10));
            tokio::time::sleep(wait + jitter).await;
        }
    }
}

impl<C: Clock> RateLimits<C> {
    /// How many deliveries to `desk` have been started ([`RateLimits::until_ready`]).
    pub fn deliveries_to(&self, desk: &DeskId) -> u64 {
        self.deliveries.get(desk).map_or(0, |n| n.load(Ordering::Relaxed))
    }
}

impl<C: Clock> RateLimits<C> {
    fn note_wait(&self, desk: &DeskId, wait: Duration) {
        let Ok(wait) = jiff::SignedDuration::try_from(wait) else { return };
        let Ok(until) = jiff::Timestamp::now().checked_add(wait) else { return };
        self.waited.lock().insert(desk.clone(), until);
    }

    /// Until when calls to `desk` are held back by its outbound budget, when they
    /// had to wait and that wait has not ended yet.
    pub fn outbound_limited_until(&self, desk: &DeskId) -> Option<jiff::Timestamp> {
        let until = *self.waited.lock().get(desk)?;
        (until > jiff::Timestamp::now()).then_some(until)
    }
}

fn take<C: Clock>(clock: &C, limiter: Option<&Limiter<C>>) -> Result<(), Duration> {
    match limiter {
        Some(l) => l.check().map_err(|not_until| not_until.wait_time_from(clock.now())),
        None => Ok(()),
    }
}

/// Whole seconds for `Retry-After`: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::sync::Arc;

    fn desk(id: &str) -> DeskId {
        id.parse().unwrap()
    }

    fn limits(clock: FakeRelativeClock) -> RateLimits<FakeRelativeClock> {
        let tight = RateLimit { inbound_per_minute: 60, inbound_burst: 3, outbound_per_minute: 30, outbound_burst: 1 };
        RateLimits::from_limits([(desk("a"), tight), (desk("b"), tight)], clock)
    }

    #[test]
    fn a_burst_beyond_the_limit_is_refused_with_the_wait_and_other_desks_are_unaffected() {
        let clock = FakeRelativeClock::default();
        let l = limits(clock.clone());
        for n in 0..3 {
            assert_eq!(l.check(&desk("a")), Ok(()), "request {n} of the burst");
        }
        let wait = l.check(&desk("a")).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1), "60/min replenishes one a second");
        assert_eq!(l.check(&desk("b")), Ok(()), "b has its own bucket");
        clock.advance(Duration::from_millis(999));
        assert!(l.check(&desk("a")).is_err());
        clock.advance(Duration::from_millis(1));
        assert_eq!(l.check(&desk("a")), Ok(()));
        assert_eq!(l.check(&desk("unknown")), Ok(()), "desks outside the configuration are not limited here");
    }

    #[test]
    fn a_write_takes_a_cell_per_note_it_adds() {
        let clock = FakeRelativeClock::default();
        let l = limits(clock.clone());
        assert_eq!(l.check_n(&desk("a"), 2), Ok(()));
        assert_eq!(l.check_n(&desk("a"), 2), Err(Some(Duration::from_secs(1))), "one cell left of three");
        assert_eq!(l.check(&desk("a")), Ok(()));
        assert_eq!(l.check_n(&desk("a"), 4), Err(None), "more than the burst is never allowed");
        assert_eq!(l.check_n(&desk("a"), 0), Ok(()));
        assert_eq!(l.check_n(&desk("unknown"), 100), Ok(()));
    }

    #[test]
    fn outbound_calls_are_spaced_by_the_quota() {
        let clock = FakeRelativeClock::default();
        let l = limits(clock.clone());
        let mut allowed = 0;
        // Two virtual minutes in steps of 100 ms: 30/min with a burst of one.
        for _ in 0..1200 {
            if l.check_outbound(&desk("a")).is_ok() {
                allowed += 1;
            }
            clock.advance(Duration::from_millis(100));
        }
        assert_eq!(allowed, 60, "30 a minute for two minutes");
        assert_eq!(l.check_outbound(&desk("b")), Ok(()), "inbound and other desks untouched");
        assert_eq!(l.check(&desk("a")), Ok(()));
    }

    /// A governor clock that reads tokio's (paused) clock, so `until_ready`'s sleeps
    /// advance the same time the limiter reads.
    #[derive(Clone)]
    struct TokioClock(tokio::time::Instant);

    impl Clock for TokioClock {
        type Instant = Duration;
        fn now(&self) -> Duration {
            tokio::time::Instant::now() - self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn until_ready_waits_out_the_spacing() {
        let start = tokio::time::Instant::now();
        let limit = RateLimit { inbound_per_minute: 1, inbound_burst: 1, outbound_per_minute: 60, outbound_burst: 2 };
        let l = RateLimits::from_limits([(desk("a"), limit)], TokioClock(start));
        let mut at = Vec::new();
        for _ in 0..5 {
            l.until_ready(&desk("a")).await;
            at.push(tokio::time::Instant::now() - start);
        }
        assert_eq!(at[0], Duration::ZERO);
        assert_eq!(at[1], Duration::ZERO, "the burst of two goes at once");
        assert_eq!(l.deliveries_to(&desk("a")), 5, "each delivery is counted");
        // A poll waits its turn in the same budget but is not a delivery.
        l.until_polled(&desk("a")).await;
        assert!(tokio::time::Instant::now() - start >= Duration::from_secs(4), "the poll took the next cell");
        assert_eq!(l.deliveries_to(&desk("a")), 5);
        // After the burst, the n-th delivery is due n seconds in (GCRA keeps the
        // schedule: a late one does not push the next ones later).
        for (n, t) in at.iter().enumerate().skip(2) {
            let due = Duration::from_secs(n as u64 - 1);
            assert!(*t >= due, "60/min spaces deliveries a second apart: {at:?}");
            assert!(*t <= due + Duration::from_millis(20), "and not much more (jitter only): {at:?}");
        }
    }

    #[tokio::test]
    async fn a_wait_for_the_outbound_budget_is_shown_while_it_lasts() {
        let limit = RateLimit { inbound_per_minute: 1, inbound_burst: 1, outbound_per_minute: 1, outbound_burst: 1 };
        let l = Arc::new(RateLimits::from_limits([(desk("a"), limit)], DefaultClock::default()));
        l.until_polled(&desk("a")).await;
        assert_eq!(l.outbound_limited_until(&desk("a")), None, "the first call did not wait");
        let waiting = tokio::spawn({
            let l = l.clone();
            async move { l.until_polled(&desk("a")).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let until = l.outbound_limited_until(&desk("a"));
        waiting.abort();
        let left = until.map(|u| u.duration_since(jiff::Timestamp::now()).as_secs());
        assert!(left.is_some_and(|s| (50..=60).contains(&s)), "one a minute: the next in about a minute: {left:?}");
        assert_eq!(l.outbound_limited_until(&desk("b")), None);
    }

    #[test]
    fn overrides_replace_key_by_key_and_zero_is_a_problem() {
        let o = RateLimitOverrides { inbound_burst: Some(5), ..Default::default() };
        let r = RateLimit::default().with(&o);
        assert_eq!(r.inbound_burst, 5);
        assert_eq!(r.inbound_per_minute, RateLimit::default().inbound_per_minute);
        let mut problems = Vec::new();
        RateLimitOverrides { outbound_per_minute: Some(0), ..Default::default() }
            .check("desks.x.rate_limit", &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "desks.x.rate_limit.outbound_per_minute");
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2500)), 3);
    }
}
