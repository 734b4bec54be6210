//! What one round of the escalation watch reads: the due escalations, with their
//! incidents' facts — never every escalation that waits.

use std::sync::Arc;

use jiff::SignedDuration;

use crate::clock::{Clock, TestClock};
use crate::escalation::{Engine, testkit};
use crate::model::{DialectId, Incident, Priority};
use crate::store::counting::Counting;
use crate::store::{AuditEntry, AuditKind, Effects, Store};

/// A store with one escalation due at the clock's now and `waiting` more that are
/// not due yet; the counts of the calls one round of the watch makes.
async fn one_round(inner: Arc<dyn Store>, joins: bool, waiting: usize) -> (usize, usize) {
    let store = Arc::new(Counting::new(inner, joins));
    let clock = TestClock::at(testkit::local("2026-03-07T03:00"));
    let engine = Engine::new(Arc::new(testkit::shipped().clone()), Arc::new(clock.clone()));
    let open = |n: usize| {
        let store = store.clone();
        let engine = &engine;
        let clock = &clock;
        async move {
            let mut new = crate::model::testing::report("region-h", DialectId::Servicenow, &format!("INC{n}"));
            new.priority = Some(Priority::P1);
            let plan = |i: &mut Incident| Effects {
                changed: true,
                escalations: vec![engine.open(format!("ESC-{n}"), i.id.as_str(), "NSP", Priority::P1)],
                ..Effects::default()
            };
            let entry = AuditEntry::new(clock.now(), AuditKind::Submitted, "test");
            store.create_incident(new, None, entry, clock.now(), &plan).await.expect("stored");
        }
    };
    open(0).await;
    // The others open later: their deadlines are still ahead when the first one's passes.
    clock.advance(SignedDuration::from_hours(2));
    for n in 1..=waiting {
        open(n).await;
    }
    let watch = super::tests::bare_watch(store.clone(), &clock);
    store.reset();
    let moved = watch.step().await.expect("a round");
    assert_eq!(moved.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["ESC-0"], "only the due one moves on");
    let calls = store.calls();
    (store.total(), calls.get("get_incident").copied().unwrap_or(0))
}

async fn reads_do_not_grow_with_waiting(open: impl Fn() -> Arc<dyn Store>, joins: bool) {
    let (few, few_incidents) = one_round(open(), joins, 0).await;
    let (many, many_incidents) = one_round(open(), joins, 30).await;
    assert_eq!(few, many, "a round's store calls grow with escalations that are not due");
    assert_eq!(few_incidents, many_incidents);
    assert!(many_incidents <= 1, "at most the due escalation's incident is read, got {many_incidents}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_round_on_sled_reads_only_what_is_due() {
    let dirs = parking_lot::Mutex::new(Vec::new());
    let open = || {
        let dir = tempfile::tempdir().expect("a directory");
        let store = crate::store::open(&crate::store::StoreConfig::sled(dir.path().to_owned())).expect("opens");
        dirs.lock().push(dir);
        store
    };
    reads_do_not_grow_with_waiting(open, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_round_on_postgres_reads_only_what_is_due_in_one_query() {
    if crate::store::postgres::testing::skip() {
        return;
    }
    let open = || {
        let url = crate::store::postgres::testing::shared().fresh_database();
        let config = crate::config::PostgresConfig {
            url,
            password: None,
            pool_size: 2,
            lease: std::time::Duration::from_secs(5),
        };
        Arc::new(crate::store::PgStore::open_lazy(&config).expect("opens")) as Arc<dyn Store>
    };
    reads_do_not_grow_with_waiting(open, true).await;
}
