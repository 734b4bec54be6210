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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leadership_is_held_by_one_replica_and_taken_over_when_it_goes() {
        let Some((a, b)) = replicas() else { return };
        let (mut la, lb) = (a.leadership(), b.leadership());
        tokio::time::timeout(std::time::Duration::from_secs(10), la.acquired()).await.expect("a leads");
        tokio::time::sleep(super::super::leader::RETRY * 2).await;
        assert!(la.is_leader() && !lb.is_leader(), "one leader at a time");
        drop(a);
        let mut lb = lb;
        let within = super::super::leader::RETRY * 3;
        tokio::time::timeout(within, lb.acquired()).await.expect("b takes over within the retry time");
        assert!(!la.is_leader());
    }
}
