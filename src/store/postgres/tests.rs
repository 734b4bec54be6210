//! The conformance suite and the replica races, against a real PostgreSQL.

use std::path::Path;
use std::sync::Arc;

use super::PgStore;
use super::testing;
use crate::config::PostgresConfig;
use crate::store::Store;

fn config(url: String) -> PostgresConfig {
    PostgresConfig { url, password: None, pool_size: 4, lease: std::time::Duration::from_secs(5) }
}

/// The store of the database named after `dir` (the same one again after a restart).
fn open(dir: &Path) -> Arc<dyn Store> {
    let url = testing::shared().database_for(dir);
    Arc::new(PgStore::open_lazy(&config(url)).expect("opens"))
}

mod conformance {
    crate::store::conformance::store_conformance!(super::open, skip_if = super::testing::skip());
}

/// Two replicas: two stores on one database.
fn replicas() -> Option<(Arc<PgStore>, Arc<PgStore>)> {
    if testing::skip() {
        return None;
    }
    let url = testing::shared().fresh_database();
    let a = Arc::new(PgStore::open_lazy(&config(url.clone())).expect("opens"));
    let b = Arc::new(PgStore::open_lazy(&config(url)).expect("opens"));
    Some((a, b))
}

mod replicas {
    use std::sync::Arc;

    use jiff::{SignedDuration, Timestamp};

    use super::replicas;
    use crate::model::{DialectId, Incident, NewIncident};
    use crate::outbox::{Action, Delivery, OutboxItem};
    use crate::store::{AuditEntry, AuditKind, CreateOutcome, Effects, IdempotencyClaim, ListQuery, Store};

    fn report(remote: &str) -> NewIncident {
        crate::model::testing::report("region-h", DialectId::Native, remote)
    }

    fn now() -> Timestamp {
        "2026-11-24T09:00:00Z".parse().expect("an instant")
    }

    fn entry() -> AuditEntry {
        AuditEntry::new(now(), AuditKind::Submitted, "submitted")
    }

    fn to_sds() -> Effects {
        let desk = "sds".parse().expect("a desk");
        Effects { changed: true, deliveries: vec![Delivery { desk, action: Action::Create }], ..Effects::default() }
    }

    /// Both replicas submit the same thing at once, many times over: one incident each.
    async fn race(a: Arc<dyn Store>, b: Arc<dyn Store>, claim: impl Fn(usize) -> Option<IdempotencyClaim>) {
        for n in 0..20 {
            let (ca, cb) = (claim(n), claim(n));
            let ticket = format!("t-{n}");
            let plan = |_: &mut Incident| to_sds();
            let (ra, rb) = tokio::join!(
                a.create_incident(report(&ticket), ca, entry(), now(), &plan),
                b.create_incident(report(&ticket), cb, entry(), now(), &plan),
            );
            let (ra, rb) = (ra.expect("replica a"), rb.expect("replica b"));
            assert_eq!(ra.incident().id, rb.incident().id, "{ticket}: one incident");
            let created = [&ra, &rb].iter().filter(|o| matches!(o, CreateOutcome::Created(_))).count();
            assert_eq!(created, 1, "{ticket}: created once, replayed once: {ra:?} {rb:?}");
        }
        assert_eq!(a.list_incidents(&ListQuery::all(100)).await.unwrap().len(), 20);
        assert_eq!(b.outbox(100).await.unwrap().len(), 20, "one delivery per incident");
        let submitted = a.audit_log(None, 100).await.unwrap();
        assert_eq!(submitted.len(), 20, "one audit entry per incident");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_replicas_racing_the_same_desk_ticket_store_one_incident() {
        let Some((a, b)) = replicas() else { return };
        race(a, b, |_| None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_replicas_racing_the_same_idempotency_key_store_one_incident() {
        let Some((a, b)) = replicas() else { return };
        let claim = |n: usize| {
            Some(IdempotencyClaim { desk: "region-h".parse().unwrap(), key: format!("k-{n}"), fingerprint: "f".into() })
        };
        race(a, b, claim).await;
    }

    #[tokio::test]
    async fn only_a_lane_head_is_leased_by_one_replica_until_done_or_expired() {
        let Some((a, b)) = replicas() else { return };
        let plan = |_: &mut Incident| to_sds();
        let created = a.create_incident(report("t-1"), None, entry(), now(), &plan).await.unwrap();
        let id = created.incident().id.clone();
        let again = |i: &mut Incident| {
            i.updated_at = now();
            Ok(to_sds())
        };
        a.update_incident(&id, &again, entry()).await.unwrap();
        let [first, second] = <[OutboxItem; 2]>::try_from(a.outbox(10).await.unwrap()).expect("two in the lane");
        let until = now() + SignedDuration::from_secs(30);
        assert_eq!(b.lease_delivery(second.seq, "b", now(), until).await.unwrap(), None, "not the head");
        assert_eq!(a.lease_delivery(first.seq, "a", now(), until).await.unwrap(), Some(first.clone()));
        assert_eq!(b.lease_delivery(first.seq, "b", now(), until).await.unwrap(), None, "a holds it");
        // A dead replica's lease runs out; then the other takes the item.
        let later = until + SignedDuration::from_secs(1);
        let taken = b.lease_delivery(first.seq, "b", later, later + SignedDuration::from_secs(30)).await.unwrap();
        assert_eq!(taken, Some(first.clone()));
        assert_eq!(a.lease_delivery(second.seq, "a", later, until).await.unwrap(), None, "the head is still there");
        b.complete_delivery(first.seq, &id, None).await.unwrap();
        assert_eq!(a.lease_delivery(second.seq, "a", later, until).await.unwrap(), Some(second.clone()));
        // A rescheduled item is not due before its time, and its lease ended.
        let retry = OutboxItem { attempts: 1, not_before: later + SignedDuration::from_secs(60), ..second.clone() };
        a.reschedule_delivery(&retry).await.unwrap();
        assert_eq!(b.lease_delivery(second.seq, "b", later, until).await.unwrap(), None, "not due yet");
        let due = later + SignedDuration::from_secs(61);
        assert_eq!(b.lease_delivery(second.seq, "b", due, due).await.unwrap(), Some(retry));
    }

    #[tokio::test]
    async fn a_renewed_lease_keeps_the_lane_and_a_released_one_is_taken_at_once() {
        let Some((a, b)) = replicas() else { return };
        let plan = |_: &mut Incident| to_sds();
        a.create_incident(report("t-1"), None, entry(), now(), &plan).await.unwrap();
        let [item] = <[OutboxItem; 1]>::try_from(a.outbox(10).await.unwrap()).expect("one delivery");
        let until = now() + SignedDuration::from_secs(30);
        assert_eq!(a.lease_delivery(item.seq, "a", now(), until).await.unwrap(), Some(item.clone()));
        // Renewed before it ran out: past the first `until` the lane is still a's.
        let renewed = until + SignedDuration::from_secs(30);
        assert!(a.renew_lease(item.seq, "a", renewed).await.unwrap());
        let later = until + SignedDuration::from_secs(1);
        assert_eq!(b.lease_delivery(item.seq, "b", later, renewed).await.unwrap(), None, "a renewed it");
        assert!(!b.renew_lease(item.seq, "b", renewed).await.unwrap(), "b never held it");
        // A replica shutting down lets go at once, long before its lease would end.
        assert_eq!(a.release_leases("a").await.unwrap(), 1);
        assert_eq!(b.lease_delivery(item.seq, "b", later, renewed).await.unwrap(), Some(item.clone()));
        assert!(!a.renew_lease(item.seq, "a", renewed).await.unwrap(), "b holds it now");
        assert_eq!(a.release_leases("a").await.unwrap(), 0, "b's lease is not a's to end");
        assert_eq!(a.lease_delivery(item.seq, "a", later, renewed).await.unwrap(), None, "b holds it");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leadership_is_held_by_one_replica_and_taken_over_when_it_goes() {
        let Some((a, b)) = replicas() else { return };
        let mut la = a.leadership();
        tokio::time::timeout(std::time::Duration::from_secs(10), la.acquired()).await.expect("a leads");
        let lb = b.leadership();
        tokio::time::sleep(super::super::leader::RETRY * 2).await;
        assert!(la.is_leader() && !lb.is_leader(), "one leader at a time");
        drop(a);
        let mut lb = lb;
        let within = super::super::leader::RETRY * 3;
        tokio::time::timeout(within, lb.acquired()).await.expect("b takes over within the retry time");
        assert!(!la.is_leader());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_whose_session_the_database_ends_stops_at_once_and_leads_again_on_a_fresh_connection() {
        use super::super::leader::{RETRY, silence};
        let Some((a, _b)) = replicas() else { return };
        let mut la = a.leadership();
        tokio::time::timeout(std::time::Duration::from_secs(10), la.acquired()).await.expect("a leads");
        let pool = a.pool().await.unwrap();
        // Every session carries the bounds on a silent replica (the tests' lease is 5 s).
        let show =
            async |name: &str| -> String { sqlx::query_scalar(&format!("SHOW {name}")).fetch_one(pool).await.unwrap() };
        assert_eq!(show("idle_in_transaction_session_timeout").await, "5s");
        assert_eq!(show("tcp_user_timeout").await, "2500", "milliseconds");
        let holder = async || -> Option<i32> {
            sqlx::query_scalar(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .fetch_optional(pool)
            .await
            .unwrap()
        };
        let first = holder().await.expect("the lock is held");
        // The database ends the lock's session, as it ends a silent one.
        sqlx::query("SELECT pg_terminate_backend($1)").bind(first).execute(pool).await.unwrap();
        let bound = silence(std::time::Duration::from_secs(5));
        tokio::time::timeout(bound, la.lost()).await.expect("stops leading within the bound");
        tokio::time::timeout(bound + RETRY * 2, la.acquired()).await.expect("leads again");
        let second = holder().await.expect("the lock is held again");
        assert_ne!(first, second, "through a fresh connection");
    }
}

/// The indexed listings answer what [`ListQuery::apply`] (the reference) answers.
mod listings {
    use jiff::{SignedDuration, Timestamp};

    use crate::model::{DialectId, Incident, Priority, Status};
    use crate::outbox::{Action, Delivery};
    use crate::store::{AuditEntry, AuditKind, Effects, ListCursor, ListOrder, ListQuery, OrderBy, Viewer};

    /// A store on a fresh database; `None` when PostgreSQL tests are skipped.
    fn store() -> Option<std::sync::Arc<dyn crate::store::Store>> {
        (!super::testing::skip()).then(|| super::open(tempfile::tempdir().unwrap().path()))
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_795_000_000 + secs).expect("an instant") + SignedDuration::from_nanos(secs * 7 + 1)
    }

    #[tokio::test]
    async fn every_order_filter_cursor_and_offset_matches_the_reference() {
        let Some(store) = store() else { return };
        let entry = || AuditEntry::new(at(0), AuditKind::Submitted, "submitted");
        let mut all = Vec::new();
        for n in 0..12i64 {
            let from = if n % 3 == 0 { "region-m" } else { "region-h" };
            let new = crate::model::testing::report(from, DialectId::Native, &format!("t-{n}"));
            let plan = |_: &mut Incident| Effects::default();
            let id = store.create_incident(new, None, entry(), at(n), &plan).await.unwrap().incident().id.clone();
            let change = move |i: &mut Incident| {
                // Updated out of creation order, some at the same instant.
                i.updated_at = at(100 + (n * 5) % 7);
                i.status = [Status::New, Status::Assigned, Status::Resolved][(n % 3) as usize];
                i.priority = (n % 2 == 0).then_some(Priority::P2);
                if n % 4 == 1 {
                    i.assignee = Some("fmk-supplier".parse().unwrap());
                }
                Ok(Effects { changed: true, ..Effects::default() })
            };
            all.push(store.update_incident(&id, &change, entry()).await.unwrap());
        }
        let mut queries = Vec::new();
        for by in [OrderBy::Id, OrderBy::Created, OrderBy::Updated] {
            for descending in [false, true] {
                let order = ListOrder { by, descending };
                let base = ListQuery { order, ..ListQuery::all(5) };
                queries.push(base.clone());
                queries.push(ListQuery { offset: 3, ..base.clone() });
                queries.push(ListQuery { cursor: Some(ListCursor::of(&all[4])), ..base.clone() });
                queries.push(ListQuery { after: Some(all[6].id.clone()), ..base.clone() });
                queries.push(ListQuery { status_in: Some(vec![Status::New, Status::Resolved]), ..base.clone() });
                queries.push(ListQuery { viewer: Viewer::PartyTo("fmk-supplier".parse().unwrap()), ..base.clone() });
                queries.push(ListQuery { updated_since: Some(at(102)), updated_before: Some(at(105)), ..base.clone() });
                queries.push(ListQuery { priority: Some(Priority::P2), status: Some(Status::New), ..base.clone() });
            }
        }
        queries.push(ListQuery { sequence: Some(5), ..ListQuery::all(10) });
        let origin = &all[7].refs[0];
        queries
            .push(ListQuery { reference: Some((origin.desk.clone(), origin.remote_id.clone())), ..ListQuery::all(10) });
        for q in &queries {
            let ids = |v: Vec<Incident>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
            let expected = ids(q.apply(all.clone()));
            assert_eq!(ids(store.list_incidents(q).await.unwrap()), expected, "{q:?}");
            let matching = all.iter().filter(|i| q.matches(i)).count().min(100);
            assert_eq!(store.count_incidents(q, 100).await.unwrap(), matching, "{q:?}");
        }
    }

    #[tokio::test]
    async fn due_lane_heads_and_due_escalations_come_from_the_indexes() {
        let Some(store) = store() else { return };
        let entry = || AuditEntry::new(at(0), AuditKind::Submitted, "submitted");
        let to = |desk: &str| Delivery { desk: desk.parse().unwrap(), action: Action::Create };
        let plan =
            |_: &mut Incident| Effects { deliveries: vec![to("sds"), to("sds"), to("drift")], ..Effects::default() };
        let new = crate::model::testing::report("region-h", DialectId::Native, "t-1");
        let i = store.create_incident(new, None, entry(), at(0), &plan).await.unwrap().incident().clone();
        let items = store.outbox(10).await.unwrap();
        let later = crate::outbox::OutboxItem { not_before: at(60), ..items[2].clone() };
        store.reschedule_delivery(&later).await.unwrap();
        let due = store.due_deliveries(at(1), 10).await.unwrap();
        assert_eq!(due.items, [items[0].clone()], "one head per lane, the drift lane not yet due");
        assert_eq!(due.next_due, Some(at(60)));
        let sds = "sds".parse().unwrap();
        assert_eq!(store.outbox_for(&i.id, Some(&sds)).await.unwrap(), items[..2]);
        assert_eq!(store.outbox_for(&i.id, None).await.unwrap().len(), 3);
        assert!(store.due_escalations(at(1_000_000), 10).await.unwrap().is_empty());
        assert!(store.escalations_of(&i.id).await.unwrap().is_empty());
    }
}

/// A database migrated before the timer columns (migration 0003) gets them filled
/// from the stored bodies: what waited for the escalation watch before the upgrade
/// is due after it, by the same rules the gateway writes them with.
#[tokio::test]
async fn the_timer_migration_fills_the_columns_from_bodies_stored_before_it() {
    use crate::model::{DialectId, IncidentId, ProcessState, Rca, Status, Timer};
    use crate::store::{TimerQuery, postgres::nanos};
    if testing::skip() {
        return;
    }
    let url = testing::shared().fresh_database();
    let pool = sqlx::PgPool::connect(&url).await.expect("connects");
    // The schema as it was: migrations 0001 and 0002 only, byte for byte.
    let old = tempfile::tempdir().expect("a directory");
    for name in ["0001_store.sql", "0002_desk_pages.sql"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres").join(name);
        std::fs::copy(from, old.path().join(name)).expect("copied");
    }
    sqlx::migrate::Migrator::new(old.path()).await.expect("reads").run(&pool).await.expect("migrates");
    let at: jiff::Timestamp = "2026-11-30T07:00:00Z".parse().expect("an instant");
    let mut deferred = crate::model::testing::incident("region-h", DialectId::Native, "t-1");
    deferred.deferred_until = Some(at);
    let mut resolved = crate::model::testing::incident("region-h", DialectId::Native, "t-2");
    resolved.id = IncidentId::new(2026, 2);
    resolved.status = Status::Resolved;
    resolved.process = Some(ProcessState {
        profile: "healthdata".into(),
        importance: None,
        priority: None,
        hold_reason: None,
        auto_close_at: Some(at),
        reporter_reopens: false,
    });
    resolved.rca = Some(Rca { due: at, requested: false, delivered_at: None, delivered_by: None, reminded_at: None });
    for (seq, i) in [(1i64, &deferred), (2, &resolved)] {
        sqlx::query(
            "INSERT INTO incidents (id, seq, body, status, service, created_at, updated_at, updated_ns, updated_ms,
               origin_desk, parties)
             VALUES ($1, $2, $3::jsonb, $4, 'FMK', now(), now(), 0, 0, 'region-h', ARRAY['region-h'])",
        )
        .bind(i.id.as_str())
        .bind(seq)
        .bind(serde_json::to_string(i).expect("encodes"))
        .bind(i.status.as_str())
        .execute(&pool)
        .await
        .expect("stored as before");
    }
    // The store starts: it applies 0003.
    let store = PgStore::open_lazy(&config(url)).expect("opens");
    let due = |timer: Timer| {
        let store = &store;
        async move {
            let query = TimerQuery { timer, by: at, after: None, limit: 10 };
            let due = store.due_timers(&query).await.expect("reads");
            due.into_iter().map(|d| (d.incident.to_string(), nanos(d.at))).collect::<Vec<_>>()
        }
    };
    let deferred_id = (deferred.id.to_string(), nanos(at));
    let resolved_id = (resolved.id.to_string(), nanos(at));
    assert_eq!(due(Timer::Deferral).await, [deferred_id]);
    assert_eq!(due(Timer::AutoClose).await, std::slice::from_ref(&resolved_id));
    assert_eq!(due(Timer::RcaDue).await, [resolved_id]);
}
