//! Connection health per desk, in memory per process: when deskgate last reached a
//! desk's tool, the last few failures (time, HTTP status, a short text), and until
//! when the desk asked to be left alone (`429` with `Retry-After`).
//!
//! Fed by [`Watched`], the wrapper `gateway::adapters` puts
//! around every desk's adapter, so deliveries, polls and read-backs are all counted
//! without hooks in their code. The text kept for a failure is built from the status
//! and the operation only — never the remote's message or body, which may carry a
//! ticket's content or a credential echoed back. Times are the real clock, like the
//! rate limiters': connection health is about the wall clock, not a test clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

use async_trait::async_trait;
use deskgate_adapter::{
    Adapter, AdapterError, Attachments, RemoteId, RemoteLink, RemoteNote, RemoteTicket, TicketFields,
};
use jiff::{SignedDuration, Timestamp};

use crate::model::DeskId;

/// How many failures are kept per desk.
pub const RECENT_ERRORS: usize = 10;

/// One failed call to a desk's tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentError {
    pub at: Timestamp,
    /// What was attempted: `create`, `update`, `poll`, …
    pub operation: &'static str,
    /// The HTTP status of the desk's answer, when there was one.
    pub status: Option<u16>,
    /// A short text made from the status alone (no remote content).
    pub text: String,
    pub retriable: bool,
}

/// What is known of one desk's connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    pub last_success: Option<Timestamp>,
    /// Newest first, at most [`RECENT_ERRORS`].
    pub recent_errors: Vec<RecentError>,
    /// The desk asked to be left alone until then (`429`/`503` with `Retry-After`).
    pub retry_after_until: Option<Timestamp>,
    pub calls: u64,
    pub failures: u64,
}

impl Health {
    /// Whether the desk's own `Retry-After` still holds at `now`.
    pub fn limited_at(&self, now: Timestamp) -> bool {
        self.retry_after_until.is_some_and(|t| t > now)
    }
}

#[derive(Default)]
struct Entry {
    last_success: Option<Timestamp>,
    errors: VecDeque<RecentError>,
    retry_after_until: Option<Timestamp>,
    calls: u64,
    failures: u64,
}

/// The health of every desk deskgate calls. Cheap to record into; read by the console.
#[derive(Default)]
pub struct DeskHealth {
    desks: Mutex<HashMap<DeskId, Entry>>,
}

impl DeskHealth {
    fn with_entry(&self, desk: &DeskId, f: impl FnOnce(&mut Entry)) {
        // A poisoned lock only means a panic elsewhere while recording; the counts
        // are still usable.
        let mut desks = self.desks.lock();
        f(desks.entry(desk.clone()).or_default())
    }

    /// A call to `desk` succeeded at `at`.
    pub fn success(&self, desk: &DeskId, at: Timestamp) {
        self.with_entry(desk, |e| {
            e.calls += 1;
            e.last_success = Some(at);
        })
    }

    /// A call to `desk` failed at `at` with `error`.
    pub fn failure(&self, desk: &DeskId, operation: &'static str, error: &AdapterError, at: Timestamp) {
        let status = error.status();
        let recent = RecentError {
            at,
            operation,
            status,
            text: short_text(status, error.is_retriable()),
            retriable: error.is_retriable(),
        };
        let until = error.retry_after().and_then(|d| at.checked_add(SignedDuration::try_from(d).ok()?).ok());
        self.with_entry(desk, |e| {
            e.calls += 1;
            e.failures += 1;
            e.errors.push_front(recent);
            e.errors.truncate(RECENT_ERRORS);
            if let Some(until) = until {
                e.retry_after_until = Some(e.retry_after_until.map_or(until, |t| t.max(until)));
            }
        })
    }

    /// What is known of `desk`; the default when it was never called.
    pub fn of(&self, desk: &DeskId) -> Health {
        let desks = self.desks.lock();
        desks.get(desk).map_or_else(Health::default, |e| Health {
            last_success: e.last_success,
            recent_errors: e.errors.iter().cloned().collect(),
            retry_after_until: e.retry_after_until,
            calls: e.calls,
            failures: e.failures,
        })
    }
}

/// The text shown for a failure: its status and whether it is retried, nothing the
/// remote said.
fn short_text(status: Option<u16>, retriable: bool) -> String {
    let what = match status {
        None => "no answer (connection failed or timed out)".to_string(),
        Some(429) => "429 Too Many Requests".to_string(),
        Some(s) => {
            let reason = http::StatusCode::from_u16(s).ok().and_then(|c| c.canonical_reason()).unwrap_or("");
            format!("{s} {reason}").trim_end().to_string()
        }
    };
    if retriable { format!("{what}; retried") } else { format!("{what}; not retried") }
}

/// A desk's adapter that records every call's outcome in [`DeskHealth`].
pub struct Watched {
    desk: DeskId,
    inner: Arc<dyn Adapter>,
    health: Arc<DeskHealth>,
}

impl Watched {
    pub fn new(desk: DeskId, inner: Arc<dyn Adapter>, health: Arc<DeskHealth>) -> Self {
        Self { desk, inner, health }
    }

    fn note<T>(&self, operation: &'static str, result: Result<T, AdapterError>) -> Result<T, AdapterError> {
        let now = Timestamp::now();
        match &result {
            Ok(_) => self.health.success(&self.desk, now),
            Err(e) => self.health.failure(&self.desk, operation, e, now),
        }
        result
    }
}

#[async_trait]
impl Adapter for Watched {
    async fn create(&self, fields: &TicketFields, correlation: &str) -> Result<RemoteTicket, AdapterError> {
        self.note("create", self.inner.create(fields, correlation).await)
    }
    async fn find_by_correlation(&self, correlation: &str) -> Result<Option<RemoteTicket>, AdapterError> {
        self.note("find", self.inner.find_by_correlation(correlation).await)
    }
    async fn get(&self, id: &RemoteId) -> Result<RemoteTicket, AdapterError> {
        self.note("read", self.inner.get(id).await)
    }
    async fn update(&self, id: &RemoteId, fields: &TicketFields) -> Result<RemoteTicket, AdapterError> {
        self.note("update", self.inner.update(id, fields).await)
    }
    async fn add_note(&self, id: &RemoteId, note: &RemoteNote) -> Result<(), AdapterError> {
        self.note("note", self.inner.add_note(id, note).await)
    }
    async fn link(&self, id: &RemoteId, link: &RemoteLink) -> Result<(), AdapterError> {
        self.note("link", self.inner.link(id, link).await)
    }
    fn attachment_api(&self) -> Option<&dyn Attachments> {
        self.inner.attachment_api()
    }
    async fn find_by_display_id(&self, display_id: &str) -> Result<Option<RemoteTicket>, AdapterError> {
        self.note("find", self.inner.find_by_display_id(display_id).await)
    }
    async fn changed_since(&self, since: Timestamp) -> Result<Vec<RemoteTicket>, AdapterError> {
        self.note("poll", self.inner.changed_since(since).await)
    }
}

/// The store cursor holding a polled desk's poll state (its watermark): written by
/// the poller, read by the console.
pub fn poll_cursor(desk: &DeskId) -> String {
    format!("poll/{desk}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn desk() -> DeskId {
        "supplier-a".parse().unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn successes_and_failures_are_kept_per_desk() {
        let health = DeskHealth::default();
        let d = desk();
        assert_eq!(health.of(&d), Health::default());
        health.success(&d, at("2026-03-02T10:00:00Z"));
        let e = AdapterError::from_status(503, "down", Some("secret body".into()), None);
        health.failure(&d, "update", &e, at("2026-03-02T10:01:00Z"));
        let h = health.of(&d);
        assert_eq!(h.last_success, Some(at("2026-03-02T10:00:00Z")));
        assert_eq!((h.calls, h.failures), (2, 1));
        assert_eq!(h.recent_errors.len(), 1);
        let r = &h.recent_errors[0];
        assert_eq!((r.operation, r.status, r.retriable), ("update", Some(503), true));
        assert_eq!(r.text, "503 Service Unavailable; retried");
        // Nothing the remote said is kept.
        assert!(!r.text.contains("down") && !r.text.contains("secret"));
        let other: DeskId = "supplier-b".parse().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(health.of(&other), Health::default());
    }

    #[test]
    fn only_the_newest_errors_are_kept_newest_first() {
        let health = DeskHealth::default();
        let d = desk();
        let base = at("2026-03-02T10:00:00Z");
        for i in 0..(RECENT_ERRORS as i64 + 5) {
            let e = AdapterError::from_status(400 + (i as u16 % 5), "x", None, None);
            health.failure(&d, "create", &e, base + SignedDuration::from_secs(i));
        }
        let h = health.of(&d);
        assert_eq!(h.recent_errors.len(), RECENT_ERRORS);
        assert_eq!(h.recent_errors[0].at, base + SignedDuration::from_secs(RECENT_ERRORS as i64 + 4));
        assert!(h.recent_errors.windows(2).all(|w| w[0].at > w[1].at));
        assert_eq!(h.failures, RECENT_ERRORS as u64 + 5);
    }

    #[test]
    fn retry_after_sets_the_limit_and_a_later_shorter_one_does_not_shorten_it() {
        let health = DeskHealth::default();
        let d = desk();
        let t0 = at("2026-03-02T10:00:00Z");
        let e = AdapterError::from_status(429, "slow down", None, Some(Duration::from_secs(120)));
        health.failure(&d, "poll", &e, t0);
        let h = health.of(&d);
        assert_eq!(h.retry_after_until, Some(t0 + SignedDuration::from_secs(120)));
        assert!(h.limited_at(t0 + SignedDuration::from_secs(60)));
        assert!(!h.limited_at(t0 + SignedDuration::from_secs(121)));
        assert_eq!(h.recent_errors[0].text, "429 Too Many Requests; retried");
        let short = AdapterError::from_status(429, "x", None, Some(Duration::from_secs(5)));
        health.failure(&d, "poll", &short, t0 + SignedDuration::from_secs(1));
        assert_eq!(health.of(&d).retry_after_until, Some(t0 + SignedDuration::from_secs(120)));
    }

    /// Notes go through; polls are answered 429 with a `Retry-After` of a minute.
    struct Remote;

    #[async_trait]
    impl Adapter for Remote {
        async fn create(&self, _: &TicketFields, _: &str) -> Result<RemoteTicket, AdapterError> {
            Err(AdapterError::permanent("unused"))
        }
        async fn find_by_correlation(&self, _: &str) -> Result<Option<RemoteTicket>, AdapterError> {
            Ok(None)
        }
        async fn get(&self, _: &RemoteId) -> Result<RemoteTicket, AdapterError> {
            Err(AdapterError::from_status(404, "no such ticket", None, None))
        }
        async fn update(&self, _: &RemoteId, _: &TicketFields) -> Result<RemoteTicket, AdapterError> {
            Err(AdapterError::permanent("unused"))
        }
        async fn add_note(&self, _: &RemoteId, _: &RemoteNote) -> Result<(), AdapterError> {
            Ok(())
        }
        async fn link(&self, _: &RemoteId, _: &RemoteLink) -> Result<(), AdapterError> {
            Ok(())
        }
        async fn changed_since(&self, _: Timestamp) -> Result<Vec<RemoteTicket>, AdapterError> {
            Err(AdapterError::from_status(429, "slow down", None, Some(Duration::from_secs(60))))
        }
    }

    #[tokio::test]
    async fn a_watched_adapter_records_every_call_of_its_desk() {
        let health = Arc::new(DeskHealth::default());
        let a = Watched::new(desk(), Arc::new(Remote), health.clone());
        let note = RemoteNote { body: "x".into(), public: false, author: None, at: None };
        let before = Timestamp::now();
        assert!(a.add_note(&RemoteId("1".into()), &note).await.is_ok());
        assert!(a.changed_since(Timestamp::UNIX_EPOCH).await.is_err());
        assert!(a.get(&RemoteId("1".into())).await.is_err());
        let h = health.of(&desk());
        assert_eq!((h.calls, h.failures), (3, 2));
        assert!(h.last_success.is_some_and(|t| t >= before));
        let ops: Vec<_> = h.recent_errors.iter().map(|e| (e.operation, e.status)).collect();
        assert_eq!(ops, [("read", Some(404)), ("poll", Some(429))]);
        assert_eq!(h.recent_errors[0].text, "404 Not Found; not retried");
        assert!(h.limited_at(Timestamp::now()), "the desk asked for a minute: {h:?}");
    }

    #[test]
    fn a_failure_without_an_answer_says_so() {
        let health = DeskHealth::default();
        let d = desk();
        health.failure(&d, "create", &AdapterError::retriable("connect to https://u:pw@host"), Timestamp::UNIX_EPOCH);
        let r = &health.of(&d).recent_errors[0];
        assert_eq!(r.status, None);
        assert_eq!(r.text, "no answer (connection failed or timed out); retried");
    }
}
