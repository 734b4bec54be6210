//! The store conformance suite: what every [`Store`] must do, whatever engine is
//! behind it. A backend runs it with [`store_conformance!`], giving a function that
//! opens its store for a test directory — sled in the directory, a database named
//! after it — and opens the *same* store again when called again after the previous
//! handle was dropped, so the suite also checks what survives a restart.
//!
//! The cases are written against the trait only: nothing here names an engine.

use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{
    AuditEntry, AuditKind, CreateOutcome, DueTimer, Effects, EscalationQuery, IdempotencyClaim, ListQuery, Store,
    StoreError, TimerQuery, Viewer,
};
use crate::escalation::Decision;
use crate::escalation::rules::Contact;
use crate::escalation::{Escalation, IncidentFacts, Priority};
use crate::model::{
    Actor, DeskId, DialectId, Incident, IncidentId, ModelError, NewIncident, Ref, Role, Status, Text, TicketId, Timer,
};
use crate::outbox::{Action, DeadLetter, Delivery, OutboxItem};

/// Opens a backend's store for a test directory (again, after a restart).
pub type Open = fn(&Path) -> Arc<dyn Store>;

/// Runs every case of the suite as a test of its own, against the backend `$open`
/// (an [`Open`]).
macro_rules! store_conformance {
    ($open:expr) => {
        $crate::store::conformance::store_conformance!($open, skip_if = false);
    };
    // A backend that needs a server the machine may lack is skipped when `$skip`.
    ($open:expr, skip_if = $skip:expr) => {
        $crate::store::conformance::store_conformance!(@cases $open, $skip;
            created_incidents_are_found_by_id_and_by_every_ref,
            a_replay_by_key_or_by_ticket_stores_nothing_twice,
            concurrent_submissions_of_one_key_or_ticket_store_one_incident,
            a_refused_change_writes_nothing,
            an_unchanged_incident_is_not_written_or_audited,
            incidents_list_in_id_order_from_a_cursor,
            outbox_items_keep_their_order_per_lane,
            deliveries_complete_reschedule_and_dead_letter,
            escalations_open_and_change_with_what_they_cause,
            the_audit_log_pages_in_order,
            cursors_keep_their_last_value,
            the_same_content_is_stored_once_under_its_hash,
            everything_written_survives_a_restart_and_ids_are_never_reused,
            a_backup_restores_into_an_empty_store_and_only_there,
            listings_filter_by_status_priority_and_service,
            a_desk_lists_only_the_incidents_it_is_party_to_page_by_page,
            escalations_list_by_deadline_and_by_viewer,
            a_format_1_backup_restores_with_its_cross_references_derived,
            listings_order_by_id_created_and_updated_page_by_keyset_and_offset,
            listings_filter_by_statuses_and_updated_range_in_every_order,
            listings_find_one_incident_by_sequence_or_by_a_desks_ticket,
            an_incidents_lanes_and_the_due_lane_heads_follow_every_outbox_change,
            due_escalations_come_in_deadline_order_and_an_incidents_by_incident,
            the_outbox_and_the_dead_letters_page_by_sequence_and_by_desk,
            escalations_page_by_id_after_a_cursor,
            the_watch_reads_due_escalations_with_their_incidents_facts,
            due_timers_come_in_order_page_by_page_and_leave_when_settled,
        );
    };
    (@cases $open:expr, $skip:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if $skip {
                    return;
                }
                let dir = tempfile::tempdir().expect("a temporary directory");
                $crate::store::conformance::$case($open, dir.path()).await;
            }
        )*
    };
}
pub(crate) use store_conformance;

mod pages;
mod queries;
pub use pages::*;
pub use queries::*;

fn desk(id: &str) -> DeskId {
    id.parse().expect("a desk id")
}

fn ticket(id: &str) -> TicketId {
    id.parse().expect("a ticket id")
}

fn report(from: &str, remote: &str) -> NewIncident {
    crate::model::testing::report(from, DialectId::Native, remote)
}

fn ref_of(at: &str, remote: &str) -> Ref {
    Ref::new(desk(at), DialectId::Native, ticket(remote), remote)
}

fn entry(reason: &str) -> AuditEntry {
    AuditEntry::new(Timestamp::UNIX_EPOCH, AuditKind::Updated, reason).with_desk("region-h")
}

fn to(at: &str, action: Action) -> Delivery {
    Delivery { desk: desk(at), action }
}

fn now() -> Timestamp {
    "2026-11-24T09:00:00Z".parse().expect("an instant")
}

/// A new incident from `region-h`, planning `deliveries`.
async fn create(store: &dyn Store, remote: &str, deliveries: Vec<Delivery>) -> Incident {
    let plan = move |_: &mut Incident| Effects { changed: true, deliveries: deliveries.clone(), ..Effects::default() };
    match store.create_incident(report("region-h", remote), None, entry("submitted"), now(), &plan).await {
        Ok(CreateOutcome::Created(i)) => i,
        other => panic!("expected a new incident, got {other:?}"),
    }
}

/// A change that adds a note (so the incident changed) and plans `deliveries`.
async fn note(store: &dyn Store, id: &IncidentId, deliveries: Vec<Delivery>) -> Incident {
    let mutate = move |i: &mut Incident| {
        let actor = crate::model::Actor { desk: desk("sds"), role: crate::model::Role::National };
        let body = Text::parse("note", "Vi kigger på det")?;
        i.add_note(&actor, body, crate::model::Visibility::Public, now());
        Ok(Effects { changed: true, deliveries: deliveries.clone(), ..Effects::default() })
    };
    store.update_incident(id, &mutate, entry("note added")).await.expect("the note is stored")
}

async fn outbox(store: &dyn Store) -> Vec<OutboxItem> {
    store.outbox(10_000).await.expect("the outbox reads")
}

/// Moves the newest outbox item to the dead letters.
async fn dead_letter_the_last(store: &dyn Store) {
    let last = outbox(store).await.pop().expect("queued");
    let letter = DeadLetter { item: last, failed_at: now(), error: "x".into(), remote_status: None, remote_body: None };
    store.dead_letter(letter).await.unwrap();
}

async fn audit_reasons(store: &dyn Store) -> Vec<String> {
    store.audit_log(None, 10_000).await.expect("the audit log reads").into_iter().map(|(_, e)| e.reason).collect()
}

fn escalation(id: &str, incident: &IncidentId) -> Escalation {
    let contact = Contact {
        id: "nsp-im".into(),
        name: "NSP Incident Manager".into(),
        role: "incident manager".into(),
        email: "im@nsp.example".into(),
        phone: None,
        channels: Vec::new(),
    };
    let decision = Decision {
        rule: "working-hours".into(),
        ruleset_version: "test".into(),
        service: "FMK".into(),
        priority: Priority::P1,
        contact,
        chain: Vec::new(),
        ack_timeout: SignedDuration::from_mins(15),
        at: now(),
        local: now().to_zoned(jiff::tz::TimeZone::UTC),
        holiday: None,
        reason: "working hours".into(),
    };
    Escalation::open(id, incident.as_str(), decision)
}

pub async fn created_incidents_are_found_by_id_and_by_every_ref(open: Open, dir: &Path) {
    let store = open(dir);
    let i = create(&*store, "t-1", vec![to("sds", Action::Create)]).await;
    assert_eq!(i.status, Status::New);
    assert_eq!(store.get_incident(&i.id).await.unwrap().as_ref(), Some(&i));
    assert_eq!(store.find_by_ref(&desk("region-h"), &ticket("t-1")).await.unwrap(), Some(i.id.clone()));
    assert_eq!(store.find_by_ref(&desk("sds"), &ticket("SDS-1")).await.unwrap(), None);
    // A delivery that gave the national desk its copy records the copy's ref with it.
    let item = outbox(&*store).await.remove(0);
    let add_ref = |i: &mut Incident| {
        i.refs.push(ref_of("sds", "SDS-1"));
        Ok(Effects { changed: true, ..Effects::default() })
    };
    store.complete_delivery(item.seq, &i.id, Some(&add_ref)).await.unwrap();
    assert_eq!(store.find_by_ref(&desk("sds"), &ticket("SDS-1")).await.unwrap(), Some(i.id.clone()));
    assert!(outbox(&*store).await.is_empty());
    assert_eq!(store.get_incident(&"INC-2026-999999".parse().unwrap()).await.unwrap(), None);
}

pub async fn a_replay_by_key_or_by_ticket_stores_nothing_twice(open: Open, dir: &Path) {
    let store = open(dir);
    let claim = |fingerprint: &str| {
        Some(IdempotencyClaim { desk: desk("region-h"), key: "k-1".into(), fingerprint: fingerprint.into() })
    };
    let plan = |_: &mut Incident| Effects { deliveries: vec![to("sds", Action::Create)], ..Effects::default() };
    let first = store.create_incident(report("region-h", "t-1"), claim("f"), entry("submitted"), now(), &plan);
    let CreateOutcome::Created(first) = first.await.unwrap() else { panic!("the first submission creates") };
    let again = store.create_incident(report("region-h", "t-1"), claim("f"), entry("submitted"), now(), &plan);
    assert_eq!(again.await.unwrap(), CreateOutcome::Replayed(first.clone()));
    let other = store.create_incident(report("region-h", "t-2"), claim("g"), entry("submitted"), now(), &plan);
    assert!(matches!(other.await, Err(StoreError::IdempotencyMismatch)));
    let same_ticket = store.create_incident(report("region-h", "t-1"), None, entry("submitted"), now(), &plan);
    assert_eq!(same_ticket.await.unwrap(), CreateOutcome::Replayed(first.clone()));
    assert_eq!(audit_reasons(&*store).await, ["submitted"]);
    assert_eq!(outbox(&*store).await.len(), 1);
    // Another desk's ticket of the same name is another incident.
    let elsewhere = store.create_incident(report("region-m", "t-1"), None, entry("submitted"), now(), &plan);
    assert!(matches!(elsewhere.await.unwrap(), CreateOutcome::Created(i) if i.id != first.id));
}

/// Submissions in flight together (a store may apply them in one batch): those with
/// one idempotency key or one desk ticket are one incident, created once.
pub async fn concurrent_submissions_of_one_key_or_ticket_store_one_incident(open: Open, dir: &Path) {
    let store = open(dir);
    let claim = |key: &str| Some(IdempotencyClaim { desk: desk("region-h"), key: key.into(), fingerprint: "f".into() });
    let plan = |_: &mut Incident| Effects { deliveries: vec![to("sds", Action::Create)], ..Effects::default() };
    let submit = |remote: &str, claim| {
        store.create_incident(report("region-h", remote), claim, entry("submitted"), now(), &plan)
    };
    let (a, b, c, d) = tokio::join!(
        submit("t-1", claim("k-1")),
        submit("t-1", claim("k-1")),
        submit("t-1", None),
        submit("t-2", claim("k-2")),
    );
    let same = [a.unwrap(), b.unwrap(), c.unwrap()];
    let created: Vec<_> = same.iter().filter(|o| matches!(o, CreateOutcome::Created(_))).collect();
    assert_eq!(created.len(), 1, "one of them creates: {same:#?}");
    assert!(same.iter().all(|o| o.incident() == created[0].incident()), "the others replay it: {same:#?}");
    let CreateOutcome::Created(other) = d.unwrap() else { panic!("another key and ticket is another incident") };
    assert_ne!(other.id, created[0].incident().id);
    assert_eq!(audit_reasons(&*store).await, ["submitted", "submitted"]);
    assert_eq!(outbox(&*store).await.len(), 2);
    let found = store.find_by_ref(&desk("region-h"), &ticket("t-1")).await.unwrap();
    assert_eq!(found.as_ref(), Some(&created[0].incident().id));
}

pub async fn a_refused_change_writes_nothing(open: Open, dir: &Path) {
    let store = open(dir);
    let i = create(&*store, "t-1", Vec::new()).await;
    let refuse = |i: &mut Incident| {
        i.status = Status::Closed;
        i.refs.push(ref_of("drift", "DRIFT-1"));
        Err(ModelError::Conflict("not now".into()))
    };
    let refused = store.update_incident(&i.id, &refuse, entry("refused")).await;
    assert!(matches!(refused, Err(StoreError::Model(ModelError::Conflict(_)))), "{refused:?}");
    assert_eq!(store.get_incident(&i.id).await.unwrap(), Some(i.clone()));
    assert_eq!(store.find_by_ref(&desk("drift"), &ticket("DRIFT-1")).await.unwrap(), None);
    assert_eq!(audit_reasons(&*store).await, ["submitted"]);
    assert!(outbox(&*store).await.is_empty());
    let missing = store.update_incident(&"INC-2026-999999".parse().unwrap(), &refuse, entry("x")).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}

pub async fn an_unchanged_incident_is_not_written_or_audited(open: Open, dir: &Path) {
    let store = open(dir);
    let i = create(&*store, "t-1", Vec::new()).await;
    let nothing = |_: &mut Incident| Ok(Effects::unchanged());
    let after = store.update_incident(&i.id, &nothing, entry("looked")).await.unwrap();
    assert_eq!(after, i);
    assert_eq!(audit_reasons(&*store).await, ["submitted"]);
}

pub async fn incidents_list_in_id_order_from_a_cursor(open: Open, dir: &Path) {
    let store = open(dir);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&*store, &format!("t-{n}"), Vec::new()).await.id);
    }
    let listed: Vec<_> = store.list_incidents(&ListQuery::all(100)).await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(listed, ids);
    let query = ListQuery { after: Some(ids[1].clone()), ..ListQuery::all(2) };
    let page: Vec<_> = store.list_incidents(&query).await.unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(page, ids[2..4]);
    assert!(store.list_incidents(&ListQuery::all(0)).await.unwrap().is_empty(), "a limit of 0 lists nothing");
}

pub async fn outbox_items_keep_their_order_per_lane(open: Open, dir: &Path) {
    let store = open(dir);
    let a = create(&*store, "t-a", vec![to("sds", Action::Create)]).await;
    let b = create(&*store, "t-b", vec![to("sds", Action::Create)]).await;
    note(&*store, &a.id, vec![to("sds", Action::Note { index: 0 }), to("region-h", Action::Note { index: 0 })]).await;
    note(&*store, &b.id, vec![to("sds", Action::Note { index: 0 })]).await;
    note(&*store, &a.id, vec![to("sds", Action::Note { index: 1 })]).await;
    let items = outbox(&*store).await;
    assert!(items.windows(2).all(|w| w[0].seq < w[1].seq), "in sequence order: {items:#?}");
    let lane = |incident: &IncidentId, at: &str| -> Vec<Action> {
        items.iter().filter(|i| &i.incident == incident && i.desk.as_str() == at).map(|i| i.action.clone()).collect()
    };
    assert_eq!(lane(&a.id, "sds"), [Action::Create, Action::Note { index: 0 }, Action::Note { index: 1 }]);
    assert_eq!(lane(&b.id, "sds"), [Action::Create, Action::Note { index: 0 }]);
    assert_eq!(lane(&a.id, "region-h"), [Action::Note { index: 0 }]);
    let first = &items[0];
    assert_eq!(store.outbox_item(first.seq).await.unwrap().as_ref(), Some(first));
    assert_eq!(store.outbox(2).await.unwrap().len(), 2, "the limit holds");
}

pub async fn deliveries_complete_reschedule_and_dead_letter(open: Open, dir: &Path) {
    let store = open(dir);
    let i = create(&*store, "t-1", vec![to("sds", Action::Create), to("drift", Action::Create)]).await;
    let [first, second] = <[OutboxItem; 2]>::try_from(outbox(&*store).await).expect("two deliveries");
    let later = OutboxItem {
        attempts: 1,
        not_before: now() + SignedDuration::from_secs(30),
        last_error: Some("503".into()),
        ..first.clone()
    };
    store.reschedule_delivery(&later).await.unwrap();
    assert_eq!(store.outbox_item(first.seq).await.unwrap(), Some(later.clone()));
    let letter = DeadLetter {
        item: second.clone(),
        failed_at: now(),
        error: "400: no such project".into(),
        remote_status: Some(400),
        remote_body: Some("{\"errorMessages\":[\"no such project\"]}".into()),
    };
    store.dead_letter(letter.clone()).await.unwrap();
    assert_eq!(store.outbox_item(second.seq).await.unwrap(), None);
    assert_eq!(store.dead_letters(10).await.unwrap(), [letter]);
    let audit = |item: &OutboxItem| entry("replayed").with_incident(&item.incident);
    let replayed = store.replay_dead_letter(second.seq, now(), &audit).await.unwrap();
    assert_eq!((replayed.seq, replayed.attempts, replayed.not_before), (second.seq, 0, now()));
    assert!(store.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(audit_reasons(&*store).await.last().map(String::as_str), Some("replayed"));
    let again = store.replay_dead_letter(second.seq, now(), &audit).await;
    assert!(matches!(again, Err(StoreError::NoDeadLetter(_))));
    store.complete_delivery(first.seq, &i.id, None).await.unwrap();
    assert_eq!(outbox(&*store).await.iter().map(|i| i.seq).collect::<Vec<_>>(), [second.seq]);
}

pub async fn escalations_open_and_change_with_what_they_cause(open: Open, dir: &Path) {
    let store = open(dir);
    let plan = |i: &mut Incident| Effects {
        changed: true,
        deliveries: vec![to("sds", Action::Create)],
        escalations: vec![escalation(&format!("{}/1", i.id), &i.id)],
    };
    let created = store.create_incident(report("region-h", "t-1"), None, entry("submitted"), now(), &plan).await;
    let i = created.unwrap().incident().clone();
    let id = format!("{}/1", i.id);
    let opened = store.escalation(&id).await.unwrap().expect("opened with the incident");
    assert!(opened.state.is_waiting());
    assert_eq!(store.escalations(&EscalationQuery::all(10)).await.unwrap().len(), 1);
    // A refused change leaves it as it was, with nothing queued or audited.
    let refuse = |_: &mut Escalation, _: Option<&IncidentFacts>| Err(ModelError::Conflict("no".into()));
    assert!(store.update_escalation(&id, now(), &refuse, Some(entry("refused"))).await.is_err());
    assert_eq!(store.escalation(&id).await.unwrap(), Some(opened));
    assert_eq!(outbox(&*store).await.len(), 1);
    let ack = |e: &mut Escalation, _: Option<&IncidentFacts>| {
        e.acknowledge("sds", now()).map_err(|err| ModelError::Conflict(err.to_string()))?;
        Ok(vec![to("sds", Action::Note { index: 0 })])
    };
    let acked = store.update_escalation(&id, now(), &ack, Some(entry("acknowledged"))).await.unwrap();
    assert_eq!(acked.acknowledged.as_ref().map(|a| a.by.as_str()), Some("sds"));
    assert_eq!(store.escalation(&id).await.unwrap(), Some(acked));
    assert_eq!(outbox(&*store).await.len(), 2, "what the change caused is queued with it");
    let log = store.audit_log(None, 100).await.unwrap();
    let (_, last) = log.last().unwrap();
    assert_eq!((last.reason.as_str(), last.incident.as_deref()), ("acknowledged", Some(i.id.as_str())));
    // The change sees its incident's facts as its own transaction reads them.
    let seen = parking_lot::Mutex::new(None);
    let look = |_: &mut Escalation, facts: Option<&IncidentFacts>| {
        *seen.lock() = Some(facts.cloned());
        Ok(Vec::new())
    };
    store.update_escalation(&id, now(), &look, None).await.unwrap();
    assert_eq!(seen.into_inner(), Some(Some(IncidentFacts::of(&i))), "the change is given its incident");
    let none = store.update_escalation("INC-2026-999999/1", now(), &ack, None).await;
    assert!(matches!(none, Err(StoreError::NoEscalation(_))));
}

pub async fn the_audit_log_pages_in_order(open: Open, dir: &Path) {
    let store = open(dir);
    for n in 0..7 {
        store.audit(entry(&format!("entry {n}"))).await.unwrap();
    }
    let first = store.audit_log(None, 3).await.unwrap();
    let reasons = |page: &[(u64, AuditEntry)]| page.iter().map(|(_, e)| e.reason.clone()).collect::<Vec<_>>();
    assert_eq!(reasons(&first), ["entry 0", "entry 1", "entry 2"]);
    let next = store.audit_log(Some(first[2].0), 3).await.unwrap();
    assert_eq!(reasons(&next), ["entry 3", "entry 4", "entry 5"]);
    let rest = store.audit_log(Some(next[2].0), 3).await.unwrap();
    assert_eq!(reasons(&rest), ["entry 6"]);
}

pub async fn cursors_keep_their_last_value(open: Open, dir: &Path) {
    let store = open(dir);
    assert_eq!(store.cursor("poll/sds").await.unwrap(), None);
    store.set_cursor("poll/sds", "one").await.unwrap();
    store.set_cursor("poll/sds", "two").await.unwrap();
    store.set_cursor("poll/fmk", "other").await.unwrap();
    assert_eq!(store.cursor("poll/sds").await.unwrap().as_deref(), Some("two"));
    assert_eq!(store.cursor("poll/fmk").await.unwrap().as_deref(), Some("other"));
}

pub async fn the_same_content_is_stored_once_under_its_hash(open: Open, dir: &Path) {
    let sha = {
        let store = open(dir);
        let screenshot = bytes::Bytes::from_static(b"\x89PNG screenshot");
        let (sha, new) = store.put_content(screenshot.clone()).await.unwrap();
        assert!(new);
        // sha256 of the bytes above, computed independently.
        assert_eq!(sha, "92a6d2d21afb65ec51221be17265503541045285bc62f8200276ee8398773627");
        assert_eq!(store.put_content(screenshot.clone()).await.unwrap(), (sha.clone(), false));
        store.put_content(bytes::Bytes::from_static(b"another file")).await.unwrap();
        assert_eq!(store.content_count().await.unwrap(), 2);
        sha
    };
    let store = open(dir);
    assert_eq!(store.content(&sha).await.unwrap().as_deref(), Some(&b"\x89PNG screenshot"[..]));
    assert_eq!(store.content(&"0".repeat(64)).await.unwrap(), None);
}

pub async fn everything_written_survives_a_restart_and_ids_are_never_reused(open: Open, dir: &Path) {
    let (i, items, audit, letters) = {
        let store = open(dir);
        let i = create(&*store, "t-1", vec![to("sds", Action::Create), to("drift", Action::Create)]).await;
        note(&*store, &i.id, vec![to("sds", Action::Note { index: 0 })]).await;
        dead_letter_the_last(&*store).await;
        store.set_cursor("poll/sds", "watermark").await.unwrap();
        let i = store.get_incident(&i.id).await.unwrap().expect("stored");
        (i, outbox(&*store).await, store.audit_log(None, 100).await.unwrap(), store.dead_letters(10).await.unwrap())
    };
    let store = open(dir);
    assert!(store.is_ready().await);
    assert_eq!(store.get_incident(&i.id).await.unwrap(), Some(i.clone()));
    assert_eq!(store.find_by_ref(&desk("region-h"), &ticket("t-1")).await.unwrap(), Some(i.id.clone()));
    assert_eq!(outbox(&*store).await, items);
    assert_eq!(store.dead_letters(10).await.unwrap(), letters);
    assert_eq!(store.audit_log(None, 100).await.unwrap(), audit);
    assert_eq!(store.cursor("poll/sds").await.unwrap().as_deref(), Some("watermark"));
    // New writes take new numbers.
    let next = create(&*store, "t-2", vec![to("sds", Action::Create)]).await;
    assert!(next.id.as_str() > i.id.as_str(), "{} after {}", next.id, i.id);
    let newest = outbox(&*store).await.pop().expect("queued");
    assert!(items.iter().chain(letters.iter().map(|l| &l.item)).all(|old| old.seq < newest.seq));
    let log = store.audit_log(None, 100).await.unwrap();
    assert!(log.last().unwrap().0 > audit.last().unwrap().0);
}

pub async fn a_backup_restores_into_an_empty_store_and_only_there(open: Open, dir: &Path) {
    let (from, into) = (dir.join("from"), dir.join("into"));
    let source = open(&from);
    let plan = |i: &mut Incident| Effects {
        changed: true,
        deliveries: vec![to("sds", Action::Create), to("drift", Action::Create)],
        escalations: vec![escalation(&format!("{}/1", i.id), &i.id)],
    };
    let created = source.create_incident(report("region-h", "t-1"), None, entry("submitted"), now(), &plan).await;
    let i = created.unwrap().incident().clone();
    dead_letter_the_last(&*source).await;
    source.set_cursor("poll/sds", "watermark").await.unwrap();
    let (sha, _) = source.put_content(bytes::Bytes::from_static(b"a screenshot")).await.unwrap();
    let mut backup = Vec::new();
    source.export(&mut backup).await.unwrap();

    let target = open(&into);
    target.import(&mut backup.as_slice(), false).await.unwrap();
    assert_eq!(target.get_incident(&i.id).await.unwrap(), source.get_incident(&i.id).await.unwrap());
    assert_eq!(target.find_by_ref(&desk("region-h"), &ticket("t-1")).await.unwrap(), Some(i.id.clone()));
    assert_eq!(outbox(&*target).await, outbox(&*source).await);
    assert_eq!(target.dead_letters(10).await.unwrap(), source.dead_letters(10).await.unwrap());
    assert_eq!(target.audit_log(None, 100).await.unwrap(), source.audit_log(None, 100).await.unwrap());
    let id = format!("{}/1", i.id);
    assert_eq!(target.escalation(&id).await.unwrap(), source.escalation(&id).await.unwrap());
    assert_eq!(target.cursor("poll/sds").await.unwrap().as_deref(), Some("watermark"));
    assert_eq!(target.content(&sha).await.unwrap().as_deref(), Some(&b"a screenshot"[..]));
    // New numbers in the restored store never reuse a restored one.
    let restored: Vec<u64> = outbox(&*target)
        .await
        .iter()
        .chain(target.dead_letters(10).await.unwrap().iter().map(|l| &l.item))
        .map(|i| i.seq)
        .collect();
    let next = create(&*target, "t-2", vec![to("sds", Action::Create)]).await;
    assert!(next.id.as_str() > i.id.as_str());
    let new_item = outbox(&*target).await.into_iter().find(|item| item.incident == next.id).expect("queued");
    assert!(restored.iter().all(|&seq| seq < new_item.seq), "{} after {restored:?}", new_item.seq);
    // A store that holds something is not overwritten by accident.
    let refused = target.import(&mut backup.as_slice(), false).await;
    assert!(matches!(refused, Err(StoreError::Restore(_))), "{refused:?}");
    target.import(&mut backup.as_slice(), true).await.unwrap();
    assert_eq!(target.get_incident(&next.id).await.unwrap(), None, "--force replaces the contents");
    assert_eq!(target.get_incident(&i.id).await.unwrap(), source.get_incident(&i.id).await.unwrap());
}

fn national(id: &str) -> Actor {
    Actor { desk: desk(id), role: Role::National }
}

fn ids(incidents: Vec<Incident>) -> Vec<IncidentId> {
    incidents.into_iter().map(|i| i.id).collect()
}

/// A change that sets what the national desk may set, unconditionally (the
/// model's rules are not what is tested here).
async fn set(store: &dyn Store, id: &IncidentId, change: impl Fn(&mut Incident) + Send + Sync) {
    let mutate = move |i: &mut Incident| {
        change(i);
        Ok(Effects { changed: true, ..Effects::default() })
    };
    store.update_incident(id, &mutate, entry("set")).await.expect("the change is stored");
}

pub async fn listings_filter_by_status_priority_and_service(open: Open, dir: &Path) {
    let store = open(dir);
    let mut all = Vec::new();
    for n in 0..4 {
        all.push(create(&*store, &format!("t-{n}"), Vec::new()).await.id);
    }
    set(&*store, &all[1], |i| i.priority = Some(crate::model::Priority::P1)).await;
    set(&*store, &all[2], |i| i.status = Status::Assigned).await;
    set(&*store, &all[3], |i| {
        i.priority = Some(crate::model::Priority::P1);
        i.service = "NSP".parse().expect("a service");
    })
    .await;
    let list = |q: ListQuery| {
        let store = store.clone();
        async move { ids(store.list_incidents(&q).await.expect("the list reads")) }
    };
    let p1 = ListQuery { priority: Some(crate::model::Priority::P1), ..ListQuery::all(100) };
    assert_eq!(list(p1.clone()).await, [all[1].clone(), all[3].clone()]);
    let assigned = ListQuery { status: Some(Status::Assigned), ..ListQuery::all(100) };
    assert_eq!(list(assigned).await, [all[2].clone()]);
    let fmk_p1 = ListQuery { service: Some("FMK".parse().expect("a service")), ..p1.clone() };
    assert_eq!(list(fmk_p1).await, [all[1].clone()], "filters combine");
    // The cursor and the limit count matching incidents only.
    assert_eq!(list(ListQuery { limit: 1, ..p1.clone() }).await, [all[1].clone()]);
    assert_eq!(list(ListQuery { after: Some(all[1].clone()), ..p1 }).await, [all[3].clone()]);
    let none = ListQuery { status: Some(Status::Closed), ..ListQuery::all(100) };
    assert!(list(none).await.is_empty());
}

pub async fn a_desk_lists_only_the_incidents_it_is_party_to_page_by_page(open: Open, dir: &Path) {
    let store = open(dir);
    let plan = |_: &mut Incident| Effects::default();
    let mut made = Vec::new();
    for (n, from) in ["region-h", "region-m", "region-h", "region-m", "region-h"].iter().enumerate() {
        let created = store.create_incident(report(from, &format!("t-{n}")), None, entry("submitted"), now(), &plan);
        made.push(created.await.expect("created").incident().clone());
    }
    // region-m's second report is assigned to a supplier.
    set(&*store, &made[3].id, |i| i.assignee = Some(desk("fmk-supplier"))).await;
    let made: Vec<Incident> = {
        let mut out = Vec::new();
        for i in &made {
            out.push(store.get_incident(&i.id).await.unwrap().expect("stored"));
        }
        out
    };
    let actors = [
        Actor { desk: desk("region-h"), role: Role::Local },
        Actor { desk: desk("region-m"), role: Role::Local },
        Actor { desk: desk("fmk-supplier"), role: Role::Supplier },
        Actor { desk: desk("elsewhere"), role: Role::Local },
        national("sds"),
    ];
    for actor in &actors {
        // What the model says this desk sees, listed two at a time by the store.
        let expected: Vec<IncidentId> = made.iter().filter(|i| i.is_visible_to(actor)).map(|i| i.id.clone()).collect();
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let q = ListQuery { viewer: Viewer::of(actor), after: after.clone(), ..ListQuery::all(2) };
            let page = ids(store.list_incidents(&q).await.unwrap());
            assert!(page.len() <= 2);
            let Some(last) = page.last().cloned() else { break };
            paged.extend(page);
            after = Some(last);
        }
        assert_eq!(paged, expected, "{} ({:?})", actor.desk, actor.role);
    }
    let supplier = ListQuery { viewer: Viewer::PartyTo(desk("fmk-supplier")), ..ListQuery::all(100) };
    assert_eq!(ids(store.list_incidents(&supplier).await.unwrap()), [made[3].id.clone()]);
    let national = ListQuery { viewer: Viewer::of(&national("sds")), ..ListQuery::all(100) };
    assert_eq!(store.list_incidents(&national).await.unwrap().len(), made.len());
}

pub async fn escalations_list_by_deadline_and_by_viewer(open: Open, dir: &Path) {
    let store = open(dir);
    let mut opened = Vec::new();
    for (n, from) in ["region-h", "region-m"].iter().enumerate() {
        let plan = |i: &mut Incident| Effects {
            changed: true,
            escalations: vec![escalation(&format!("{}/1", i.id), &i.id)],
            ..Effects::default()
        };
        let created = store.create_incident(report(from, &format!("t-{n}")), None, entry("submitted"), now(), &plan);
        opened.push(format!("{}/1", created.await.unwrap().incident().id));
    }
    let listed = |q: EscalationQuery| {
        let store = store.clone();
        async move { store.escalations(&q).await.unwrap().into_iter().map(|e| e.id).collect::<Vec<_>>() }
    };
    assert_eq!(listed(EscalationQuery::all(10)).await, opened);
    assert_eq!(listed(EscalationQuery::all(1)).await, opened[..1]);
    let regional = EscalationQuery { viewer: Viewer::PartyTo(desk("region-m")), ..EscalationQuery::all(10) };
    assert_eq!(listed(regional).await, opened[1..]);
    let stranger = EscalationQuery { viewer: Viewer::PartyTo(desk("elsewhere")), ..EscalationQuery::all(10) };
    assert!(listed(stranger).await.is_empty());
    // Due: waiting, with the deadline (15 minutes after opening) passed.
    let due = |at: Timestamp| EscalationQuery { due_by: Some(at), ..EscalationQuery::all(10) };
    assert!(listed(due(now())).await.is_empty());
    assert_eq!(listed(due(now() + SignedDuration::from_mins(15))).await, opened);
    let ack = |e: &mut Escalation, _: Option<&IncidentFacts>| {
        e.acknowledge("sds", now()).map_err(|err| ModelError::Conflict(err.to_string()))?;
        Ok(Vec::new())
    };
    store.update_escalation(&opened[0], now(), &ack, None).await.unwrap();
    assert_eq!(listed(due(now() + SignedDuration::from_hours(1))).await, opened[1..], "acknowledged is not due");
}

/// Written by the store before the typed format (sled trees and base64 keys).
const V1_BACKUP: &str = include_str!("../../tests/fixtures/backup/v1.jsonl");

pub async fn a_format_1_backup_restores_with_its_cross_references_derived(open: Open, dir: &Path) {
    let store = open(dir);
    let summary = store.import(&mut V1_BACKUP.as_bytes(), false).await.unwrap();
    assert_eq!(summary.records, 10);
    let first: IncidentId = "INC-2026-000001".parse().unwrap();
    let second: IncidentId = "INC-2026-000002".parse().unwrap();
    let i = store.get_incident(&first).await.unwrap().expect("restored");
    assert_eq!(i.refs.iter().map(|r| r.desk.as_str()).collect::<Vec<_>>(), ["region-h", "sds"]);
    assert_eq!(i.notes.len(), 1);
    for (at, remote, id) in [("region-h", "t-1", &first), ("sds", "SDS-1", &first), ("region-m", "m-7", &second)] {
        assert_eq!(store.find_by_ref(&desk(at), &ticket(remote)).await.unwrap().as_ref(), Some(id), "{at} {remote}");
    }
    let items = outbox(&*store).await;
    assert_eq!(items.iter().map(|i| (i.seq, i.desk.as_str())).collect::<Vec<_>>(), [(3, "sds")]);
    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(
        letters.iter().map(|l| (l.item.seq, l.error.as_str())).collect::<Vec<_>>(),
        [(1, "400: no such project")]
    );
    assert_eq!(audit_reasons(&*store).await, ["submitted", "note added", "submitted"]);
    assert!(store.escalation("INC-2026-000001/1").await.unwrap().expect("restored").state.is_waiting());
    assert_eq!(store.cursor("poll/sds").await.unwrap().as_deref(), Some("watermark-1"));
    // The idempotency key still names its incident: a replay stores nothing.
    let claim = IdempotencyClaim { desk: desk("region-h"), key: "k-1".into(), fingerprint: "f-1".into() };
    let plan = |_: &mut Incident| Effects::default();
    let again = store.create_incident(report("region-h", "t-9"), Some(claim), entry("submitted"), now(), &plan).await;
    assert!(matches!(again.unwrap(), CreateOutcome::Replayed(r) if r.id == first));
    // Numbering continues past the restored incidents and sequence numbers.
    // (A number the replay took may stay unused: numbers only grow.)
    let next = create(&*store, "t-10", vec![to("sds", Action::Create)]).await;
    assert!(next.id > second, "{} after {second}", next.id);
    assert!(outbox(&*store).await.iter().all(|item| item.incident != next.id || item.seq > 5));
    // A format-2 backup of the converted store restores to the same contents.
    let mut v2 = Vec::new();
    store.export(&mut v2).await.unwrap();
    assert!(String::from_utf8_lossy(&v2).starts_with("{\"deskgate_backup\":2,"));
    let copy = open(&dir.join("copy"));
    copy.import(&mut v2.as_slice(), false).await.unwrap();
    assert_eq!(copy.get_incident(&first).await.unwrap(), Some(i));
    assert_eq!(copy.find_by_ref(&desk("sds"), &ticket("SDS-1")).await.unwrap(), Some(first));
    assert_eq!(outbox(&*copy).await, outbox(&*store).await);
    assert_eq!(copy.audit_log(None, 100).await.unwrap(), store.audit_log(None, 100).await.unwrap());
}
