//! How much turned-away requests may write to the audit log.
//!
//! Every rejection costs its caller nothing, so the audit log must not grow with
//! them: each source address gets `gateway.limits.rejections_audited_per_window`
//! entries of its own per window (`rejection_window_secs`); beyond that its
//! rejections are only counted, and the count is written as one summary entry when
//! the window ends ("N further rejections from 127.0.0.1 in the last 60 s"). The
//! fields a caller controls are truncated ([`bounded`]) before they are written.
//! At most [`MAX_ADDRESSES`] addresses are tracked; beyond them (many addresses at
//! once) the rest share one window, so the tracking itself stays bounded too.
//! A summary still pending when the gateway stops is lost (it is logged).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Addresses tracked at once.
pub const MAX_ADDRESSES: usize = 4_096;
/// The longest reason an audited rejection keeps (characters).
pub const MAX_REASON: usize = 300;
/// The longest subject an audited rejection keeps (characters).
pub const MAX_SUBJECT: usize = 64;

/// Where the rejections of untracked (or unknown) addresses are counted.
const SHARED: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// What to do with one rejection.
#[derive(Debug)]
pub enum Verdict {
    /// Write it to the audit log.
    Audit,
    /// Only count it: the window's summary will include it.
    Count,
    /// The window's first rejection beyond the limit: count it and write the
    /// summary for `address` with the value of `count` at `window_end`.
    Summarise { address: Option<IpAddr>, count: Arc<AtomicU64>, window_end: Instant },
}

struct Window {
    started: Instant,
    audited: u32,
    suppressed: Arc<AtomicU64>,
}

impl Window {
    fn new(now: Instant) -> Self {
        Self { started: now, audited: 0, suppressed: Arc::new(AtomicU64::new(0)) }
    }
}

/// Rejections per source address and window.
pub struct RejectionLimiter {
    per_window: u32,
    window: Duration,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl RejectionLimiter {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self { per_window, window, windows: Mutex::new(HashMap::new()) }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    pub fn per_window(&self) -> u32 {
        self.per_window
    }

    /// Decide about one rejection of a request from `address` (`None`: unknown).
    pub fn admit(&self, address: Option<IpAddr>) -> Verdict {
        let now = Instant::now();
        let mut windows = self.windows.lock();
        let mut key = address.unwrap_or(SHARED);
        if !windows.contains_key(&key) && windows.len() >= MAX_ADDRESSES {
            windows.retain(|_, w| now.duration_since(w.started) < self.window);
            if windows.len() >= MAX_ADDRESSES {
                key = SHARED;
            }
        }
        let w = windows.entry(key).or_insert_with(|| Window::new(now));
        if now.duration_since(w.started) >= self.window {
            *w = Window::new(now);
        }
        if w.audited < self.per_window {
            w.audited += 1;
            return Verdict::Audit;
        }
        if w.suppressed.fetch_add(1, Ordering::SeqCst) == 0 {
            let address = (key != SHARED).then_some(key);
            Verdict::Summarise { address, count: w.suppressed.clone(), window_end: w.started + self.window }
        } else {
            Verdict::Count
        }
    }
}

/// The summary of a window's rejections that were only counted.
pub fn summary(count: u64, address: Option<IpAddr>, window: Duration) -> String {
    let from = match address {
        Some(a) => format!("from {a}"),
        None => "from addresses not tracked one by one".to_owned(),
    };
    let noun = if count == 1 { "rejection" } else { "rejections" };
    format!("{count} further {noun} {from} in the last {} s (over the number audited one by one)", window.as_secs())
}

/// `text` cut to `max` characters, marked with `…` when cut.
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[tokio::test(start_paused = true)]
    async fn beyond_the_limit_rejections_are_counted_once_per_window_and_address() {
        let l = RejectionLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(matches!(l.admit(ip(1)), Verdict::Audit));
        }
        let Verdict::Summarise { address, count, window_end } = l.admit(ip(1)) else { panic!("first over the limit") };
        assert_eq!(address, ip(1));
        for _ in 0..10 {
            assert!(matches!(l.admit(ip(1)), Verdict::Count));
        }
        assert_eq!(count.load(Ordering::SeqCst), 11);
        assert!(matches!(l.admit(ip(2)), Verdict::Audit), "another address has its own window");
        tokio::time::sleep_until(window_end).await;
        assert!(matches!(l.admit(ip(1)), Verdict::Audit), "a new window");
        assert_eq!(count.load(Ordering::SeqCst), 11, "the old window's count is not touched by the new one");
    }

    #[tokio::test(start_paused = true)]
    async fn the_addresses_tracked_are_bounded() {
        let l = RejectionLimiter::new(1, Duration::from_secs(60));
        for n in 0..MAX_ADDRESSES as u32 + 10 {
            l.admit(Some(IpAddr::from(n.to_be_bytes())));
        }
        assert_eq!(l.windows.lock().len(), MAX_ADDRESSES + 1, "and the one they share beyond");
    }

    #[test]
    fn text_is_bounded_on_a_character_boundary() {
        assert_eq!(bounded("æøå", 2), "æø…");
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(
            summary(45, ip(1), Duration::from_secs(60)).split(" (").next().unwrap(),
            "45 further rejections from 127.0.0.1 in the last 60 s"
        );
    }
}
