//! The store's own tests, and the conformance suite run on sled.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::store::{AuditKind, Effects};

/// Everything every store must do, on sled.
mod conformance {
    use super::*;
    crate::store::conformance::store_conformance!(|dir| Arc::new(SledStore::open(dir).expect("sled opens")));
}
use crate::outbox::{Action, DeadLetter, Delivery};

fn report(ticket: &str) -> NewIncident {
    crate::model::testing::report("region-h", crate::model::DialectId::Servicenow, ticket)
}

fn entry(reason: &str) -> AuditEntry {
    AuditEntry::new(Timestamp::UNIX_EPOCH, AuditKind::Submitted, reason).with_desk("region-h")
}

fn claim() -> Option<IdempotencyClaim> {
    Some(IdempotencyClaim { desk: "region-h".parse().unwrap(), key: "k-1".into(), fingerprint: "f".into() })
}

/// `fut` is still waiting after a while: it has not answered.
async fn still_waiting<F: std::future::Future>(fut: F) -> bool {
    tokio::time::timeout(Duration::from_millis(300), fut).await.is_err()
}

/// A submission whose first write is committed but not yet flushed, seen by a
/// second, concurrent request for the same ticket.
async fn first_write_not_yet_durable(store: &Arc<SledStore>) -> tokio::task::JoinHandle<CreateOutcome> {
    store.commit.hold(true);
    let first = tokio::spawn({
        let store = store.clone();
        async move {
            let nothing = |_: &mut Incident| Effects::default();
            store.create_incident(report("t-1"), claim(), entry("first"), Timestamp::now(), &nothing).await.unwrap()
        }
    });
    let origin = ("region-h".parse::<DeskId>().unwrap(), "t-1".parse::<TicketId>().unwrap());
    for _ in 0..200 {
        if store.find_by_ref(&origin.0, &origin.1).await.unwrap().is_some() {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the first submission never reached its transaction");
}

#[tokio::test]
async fn a_replayed_submission_answers_only_once_the_first_write_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let first = first_write_not_yet_durable(&store).await;
    let nothing = |_: &mut Incident| Effects::default();
    // Same idempotency key, and the same desk ticket without a key: both replays.
    for claim in [claim(), None] {
        let replay = store.create_incident(report("t-1"), claim, entry("again"), Timestamp::now(), &nothing);
        assert!(still_waiting(replay).await, "a replay answered before the write it shows was durable");
    }
    store.commit.hold(false);
    assert!(matches!(first.await.unwrap(), CreateOutcome::Created(_)));
    let replay = store.create_incident(report("t-1"), claim(), entry("again"), Timestamp::now(), &nothing);
    assert!(matches!(replay.await.unwrap(), CreateOutcome::Replayed(_)));
}

#[tokio::test]
async fn an_update_that_changes_nothing_answers_only_once_what_it_shows_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let first = first_write_not_yet_durable(&store).await;
    let id = IncidentId::new(Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year(), 1);
    let unchanged = |_: &mut Incident| Ok(Effects::unchanged());
    assert!(still_waiting(store.update_incident(&id, &unchanged, entry("look"))).await);
    store.commit.hold(false);
    first.await.unwrap();
    store.update_incident(&id, &unchanged, entry("look")).await.unwrap();
}

#[tokio::test]
async fn a_dead_letter_replay_and_its_audit_entry_are_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let sds: DeskId = "sds".parse().unwrap();
    let plan = |_: &mut Incident| Effects {
        deliveries: vec![Delivery { desk: sds.clone(), action: Action::Create }],
        ..Effects::default()
    };
    store.create_incident(report("t-2"), None, entry("submitted"), Timestamp::now(), &plan).await.unwrap();
    let item = store.outbox(10).await.unwrap().remove(0);
    let letter = DeadLetter {
        item: item.clone(),
        failed_at: Timestamp::now(),
        error: "400".into(),
        remote_status: Some(400),
        remote_body: None,
    };
    store.dead_letter(letter).await.unwrap();
    let before = store.audit_log(None, 100).await.unwrap().len();
    let audit = |i: &OutboxItem| entry("replayed").with_incident(&i.incident);
    // A replay of a letter that is not there records nothing.
    assert!(matches!(
        store.replay_dead_letter(item.seq + 100, Timestamp::now(), &audit).await,
        Err(StoreError::NoDeadLetter(_))
    ));
    assert_eq!(store.audit_log(None, 100).await.unwrap().len(), before);
    let replayed = store.replay_dead_letter(item.seq, Timestamp::now(), &audit).await.unwrap();
    assert_eq!(replayed.seq, item.seq);
    let log = store.audit_log(None, 100).await.unwrap();
    assert_eq!(log.len(), before + 1);
    let (_, last) = log.last().unwrap();
    assert_eq!((last.reason.as_str(), last.incident.as_deref()), ("replayed", Some(item.incident.as_str())));
    assert!(store.dead_letters(10).await.unwrap().is_empty());
}

/// A data directory written before the indexes existed: opened, it has them built
/// from its records.
#[tokio::test]
async fn a_data_directory_without_indexes_has_them_built_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = SledStore::open(dir.path()).unwrap();
        let plan = |_: &mut Incident| Effects {
            deliveries: vec![Delivery { desk: "sds".parse().unwrap(), action: Action::Create }],
            ..Effects::default()
        };
        let created = store.create_incident(report("t-1"), None, entry("submitted"), Timestamp::UNIX_EPOCH, &plan);
        let id = created.await.unwrap().incident().id.clone();
        for tree in [&store.incident_index, &store.outbox_index, &store.escalation_index] {
            tree.clear().unwrap();
        }
        store.db.flush().unwrap();
        id
    };
    let store = SledStore::open(dir.path()).unwrap();
    let seq = crate::store::sequence_of(&id);
    let by_seq = ListQuery { sequence: seq, ..ListQuery::all(10) };
    assert_eq!(store.list_incidents(&by_seq).await.unwrap().len(), 1);
    let due = store.due_deliveries(Timestamp::UNIX_EPOCH, 10).await.unwrap();
    assert_eq!(due.items.iter().map(|i| &i.incident).collect::<Vec<_>>(), [&id]);
    assert_eq!(store.outbox_for(&id, None).await.unwrap().len(), 1);
}

/// Every entry of the three index trees, in key order.
fn indexes(store: &SledStore) -> Vec<Vec<(sled::IVec, sled::IVec)>> {
    [&store.incident_index, &store.outbox_index, &store.escalation_index]
        .into_iter()
        .map(|tree| tree.iter().map(Result::unwrap).collect())
        .collect()
}

/// A rebuild writes its entries a few at a time (so its memory stays that of one
/// batch): batches of 3, over 12 incidents, give the indexes that the changes wrote
/// as they went.
#[tokio::test]
async fn a_rebuild_in_small_batches_gives_the_indexes_the_changes_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let plan = |_: &mut Incident| Effects {
        deliveries: vec![Delivery { desk: "sds".parse().unwrap(), action: Action::Create }],
        ..Effects::default()
    };
    for n in 0..12 {
        let new = report(&format!("t-{n}"));
        store.create_incident(new, None, entry("submitted"), Timestamp::UNIX_EPOCH, &plan).await.unwrap();
    }
    let written = indexes(&store);
    assert!(written[0].len() > 12 * 3, "several entries an incident, so several batches");
    index::rebuild_in_batches_of(&store, 3).unwrap();
    assert_eq!(indexes(&store), written);
}

/// Creations queued while the writer is held: they are applied in one batch.
async fn in_one_batch<T: Send + 'static>(store: &Arc<SledStore>, creations: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    use std::sync::atomic::Ordering;
    for _ in 0..400 {
        if store.creations.hold.queued.load(Ordering::SeqCst) == creations.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(store.creations.hold.queued.load(Ordering::SeqCst), creations.len(), "all queued");
    store.creations.hold.held.store(false, Ordering::SeqCst);
    let mut answers = Vec::new();
    for c in creations {
        answers.push(c.await.unwrap());
    }
    answers
}

fn submit(
    store: &Arc<SledStore>,
    ticket: &'static str,
    claim: Option<IdempotencyClaim>,
) -> tokio::task::JoinHandle<Result<CreateOutcome, StoreError>> {
    let store = store.clone();
    tokio::spawn(async move {
        let plan = |_: &mut Incident| Effects {
            deliveries: vec![Delivery { desk: "sds".parse().unwrap(), action: Action::Create }],
            ..Effects::default()
        };
        store.create_incident(report(ticket), claim, entry("submitted"), Timestamp::now(), &plan).await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_or_one_ticket_twice_in_one_batch_is_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    store.creations.hold.held.store(true, std::sync::atomic::Ordering::SeqCst);
    let creations = vec![submit(&store, "t-1", claim()), submit(&store, "t-1", claim()), submit(&store, "t-1", None)];
    let answers: Vec<CreateOutcome> = in_one_batch(&store, creations).await.into_iter().map(Result::unwrap).collect();
    let created: Vec<_> = answers.iter().filter(|a| matches!(a, CreateOutcome::Created(_))).collect();
    assert_eq!(created.len(), 1, "{answers:#?}");
    assert!(answers.iter().all(|a| a.incident() == created[0].incident()), "{answers:#?}");
    assert_eq!(store.incident_count(), 1);
    assert_eq!(store.outbox(10).await.unwrap().len(), 1);
    assert_eq!(store.audit_log(None, 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_creation_in_a_batch_leaves_the_others_to_be_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    store.creations.hold.held.store(true, std::sync::atomic::Ordering::SeqCst);
    // One key for two different requests: whichever comes second is refused.
    let other = Some(IdempotencyClaim { fingerprint: "g".into(), ..claim().unwrap() });
    let creations = vec![submit(&store, "t-1", claim()), submit(&store, "t-2", other), submit(&store, "t-3", None)];
    let answers = in_one_batch(&store, creations).await;
    let refused = answers.iter().filter(|a| matches!(a, Err(StoreError::IdempotencyMismatch))).count();
    let created = answers.iter().filter(|a| matches!(a, Ok(CreateOutcome::Created(_)))).count();
    assert_eq!((refused, created), (1, 2), "{answers:#?}");
    assert_eq!(store.incident_count(), 2);
    assert_eq!(store.outbox(10).await.unwrap().len(), 2);
    assert_eq!(store.audit_log(None, 10).await.unwrap().len(), 2);
}
