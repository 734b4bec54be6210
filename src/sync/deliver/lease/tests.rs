//! Leases renewed and lost, against a real PostgreSQL shared by two stores.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Notify;

use super::super::Dispatcher;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, MapEnv, PostgresConfig};
use crate::model::{DialectId, Incident};
use crate::outbox::{Action, Delivery, OutboxItem};
use crate::store::postgres::testing;
use crate::store::{AuditEntry, AuditKind, Effects, PgStore, Store};

const LEASE: Duration = Duration::from_millis(300);

/// A dispatcher on one store and a second store (another replica) on the same
/// database, with one delivery waiting; `None` when PostgreSQL tests are skipped.
async fn replicas() -> Option<(Dispatcher, Arc<dyn Store>, OutboxItem)> {
    if testing::skip() {
        return None;
    }
    let text = r#"
        [gateway]
        listen = "127.0.0.1:0"
        [desks.region-h]
        name = "Region H"
        role = "local"
        system = "native"
        [desks.sds]
        name = "SDS"
        role = "national"
        system = "native"
    "#;
    let config = Arc::new(Config::from_toml(text, Path::new("."), &MapEnv::new(false)).unwrap());
    let url = testing::shared().fresh_database();
    let open = || -> Arc<dyn Store> {
        let pg = PostgresConfig { url: url.clone(), password: None, pool_size: 2, lease: LEASE };
        Arc::new(PgStore::open_lazy(&pg).unwrap())
    };
    let (a, b) = (open(), open());
    let plan = |_: &mut Incident| Effects {
        changed: true,
        deliveries: vec![Delivery { desk: "sds".parse().unwrap(), action: Action::Create }],
        ..Effects::default()
    };
    let report = crate::model::testing::report("region-h", DialectId::Native, "t-1");
    let entry = AuditEntry::new(Timestamp::now(), AuditKind::Submitted, "submitted");
    a.create_incident(report, None, entry, Timestamp::now(), &plan).await.unwrap();
    let item = a.outbox(1).await.unwrap().remove(0);
    let mappings = Arc::new(crate::dialects::mappings(&config).unwrap());
    let adapters = Arc::new(crate::dialects::adapters(&config).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut dispatcher = Dispatcher::new(config, a, adapters, mappings, clock, Arc::new(Notify::new()));
    dispatcher.lease = LEASE;
    Some((dispatcher, b, item))
}

fn lease_until() -> (Timestamp, Timestamp) {
    let now = Timestamp::now();
    (now, now + SignedDuration::try_from(LEASE).unwrap())
}

/// [`replicas`], the delivery leased by the dispatcher's replica; also when its lease
/// ends.
async fn leased() -> Option<(Dispatcher, Arc<dyn Store>, OutboxItem, Timestamp)> {
    let (a, b, item) = replicas().await?;
    let (now, until) = lease_until();
    assert!(a.store.lease_delivery(item.seq, &a.holder, now, until).await.unwrap().is_some());
    Some((a, b, item, until))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_longer_than_its_lease_keeps_the_lane_from_other_replicas() {
    let Some((a, b, item, until)) = leased().await else { return };
    let done = AtomicBool::new(false);
    // A remote that takes four leases' time to answer.
    let slow = async {
        tokio::time::sleep(LEASE * 4).await;
        done.store(true, Ordering::SeqCst);
    };
    let other_replica = async {
        while !done.load(Ordering::SeqCst) {
            let (now, until) = lease_until();
            let taken = b.lease_delivery(item.seq, "replica-b", now, until).await.unwrap();
            assert!(taken.is_none(), "another replica took a lane still being delivered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::join!(a.while_leased(item.seq, until, slow), other_replica);
    assert!(done.load(Ordering::SeqCst), "the delivery ran to its end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_lease_is_lost_is_abandoned_before_it_records_anything() {
    let Some((a, b, item, until)) = leased().await else { return };
    let recorded = AtomicBool::new(false);
    let slow = async {
        tokio::time::sleep(LEASE * 10).await;
        recorded.store(true, Ordering::SeqCst);
    };
    // The other replica ends this one's lease (as at its shutdown) and takes the lane.
    let take_over = async {
        tokio::time::sleep(LEASE / 6).await;
        assert_eq!(b.release_leases(&a.holder).await.unwrap(), 1);
        let (now, until) = lease_until();
        assert!(b.lease_delivery(item.seq, "replica-b", now, until).await.unwrap().is_some());
    };
    let started = std::time::Instant::now();
    tokio::join!(a.while_leased(item.seq, until, slow), take_over);
    assert!(!recorded.load(Ordering::SeqCst), "a delivery that lost its lane went on to record its outcome");
    assert!(started.elapsed() < LEASE * 3, "abandoned at the first renewal, not after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_granted_too_late_to_keep_is_not_started_on() {
    let Some((a, _b, item)) = replicas().await else { return };
    // The answer granting it arrived when little of the lease was left.
    let now = Timestamp::now();
    let until = now + SignedDuration::try_from(LEASE / 10).unwrap();
    assert!(a.store.lease_delivery(item.seq, &a.holder, now, until).await.unwrap().is_some());
    let started = AtomicBool::new(false);
    a.while_leased(item.seq, until, async { started.store(true, Ordering::SeqCst) }).await;
    assert!(!started.load(Ordering::SeqCst), "a delivery ran on a lease about to run out");
}
