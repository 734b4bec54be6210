//! Waiting for something the gateway does in the background, bounded, instead of
//! hand-written polling loops.

use std::time::{Duration, Instant};

use deskgate::clock::TestClock;

/// How often a condition is looked at again.
pub const PROBE_EVERY: Duration = Duration::from_millis(25);

/// `probe` until it gives `Some`, for at most `within`; `None` when it never did.
pub async fn poll_until<T>(within: Duration, probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    poll_every(within, PROBE_EVERY, probe).await
}

/// `probe` until it gives `Some`, for at most `within`; fails the test naming `what`
/// otherwise.
pub async fn eventually<T>(within: Duration, what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    match poll_until(within, probe).await {
        Some(v) => v,
        None => panic!("not within {within:?}: {what}"),
    }
}

/// Whether `cond` came true within ten seconds, looked at every 10 ms (for
/// conditions the test then asserts on itself).
pub async fn wait_until(mut cond: impl AsyncFnMut() -> bool) -> bool {
    poll_every(Duration::from_secs(10), Duration::from_millis(10), async || cond().await.then_some(())).await.is_some()
}

/// Whether `cond` came true within `polls` looks, 10 ms apart (for waits counted in
/// polls rather than time, where each look may itself take a while).
pub async fn wait_polls(mut cond: impl AsyncFnMut() -> bool, polls: usize) -> bool {
    for _ in 0..polls {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Move `clock` on `speed` times as fast as the wall clock, in 10 ms steps, for the
/// rest of the test: for what runs on the gateway's own schedule (delivery back-off)
/// while the test jumps the clock over days.
pub fn run_clock(clock: &TestClock, speed: i64) {
    let ticking = clock.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticking.advance(jiff::SignedDuration::from_millis(10 * speed));
        }
    });
}

async fn poll_every<T>(within: Duration, every: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}
