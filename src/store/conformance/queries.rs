//! Conformance cases for what listings and the outbox answer from indexes: orders,
//! keyset cursors, offsets, point lookups, counts, lanes, due lane heads and due
//! escalations. Each compares the backend with the same question answered in
//! memory ([`ListQuery::apply`]) or with what the records say.

use super::*;
use crate::store::{ListCursor, ListOrder, OrderBy};

/// Six incidents from two desks, changed at times out of creation order, some assigned.
async fn six(store: &dyn Store) -> Vec<Incident> {
    let plan = |_: &mut Incident| Effects::default();
    let mut made = Vec::new();
    for (n, from) in ["region-h", "region-m", "region-h", "region-m", "region-h", "region-h"].iter().enumerate() {
        let created = store.create_incident(report(from, &format!("q-{n}")), None, entry("submitted"), now(), &plan);
        made.push(created.await.expect("created").incident().id.clone());
    }
    // Changed at minutes 5, 1, 3, 1, 4 and 2 (two at the same instant: ties go by id).
    for (id, minutes) in made.iter().zip([5, 1, 3, 1, 4, 2]) {
        let at = now() + SignedDuration::from_mins(minutes) + SignedDuration::from_micros(250);
        set(store, id, move |i| i.updated_at = at).await;
    }
    set(store, &made[2], |i| i.status = Status::Assigned).await;
    set(store, &made[4], |i| {
        i.status = Status::Assigned;
        i.assignee = Some(desk("fmk-supplier"));
    })
    .await;
    let mut out = Vec::new();
    for id in &made {
        out.push(store.get_incident(id).await.unwrap().expect("stored"));
    }
    out
}

fn orders() -> Vec<ListOrder> {
    [OrderBy::Id, OrderBy::Created, OrderBy::Updated]
        .into_iter()
        .flat_map(|by| [ListOrder::ascending(by), ListOrder::descending(by)])
        .collect()
}

pub async fn listings_order_by_id_created_and_updated_page_by_keyset_and_offset(open: Open, dir: &Path) {
    let store = open(dir);
    let all = six(&*store).await;
    let viewers = [Viewer::Everything, Viewer::PartyTo(desk("region-h")), Viewer::PartyTo(desk("fmk-supplier"))];
    for order in orders() {
        for viewer in &viewers {
            let base = ListQuery { order, viewer: viewer.clone(), ..ListQuery::all(100) };
            let expected = ids(base.apply(all.clone()));
            assert_eq!(ids(store.list_incidents(&base).await.unwrap()), expected, "{order:?} {viewer:?}");
            // Two at a time from the last one's cursor.
            let mut paged = Vec::new();
            let mut cursor = None;
            loop {
                let q = ListQuery { cursor: cursor.clone(), limit: 2, ..base.clone() };
                let page = store.list_incidents(&q).await.unwrap();
                let Some(last) = page.last() else { break };
                cursor = Some(ListCursor::of(last));
                paged.extend(ids(page));
            }
            assert_eq!(paged, expected, "by cursor, {order:?} {viewer:?}");
            for offset in 0..=expected.len() {
                let q = ListQuery { offset, limit: 2, ..base.clone() };
                let want: Vec<_> = expected.iter().skip(offset).take(2).cloned().collect();
                assert_eq!(ids(store.list_incidents(&q).await.unwrap()), want, "offset {offset}, {order:?} {viewer:?}");
            }
            let count = store.count_incidents(&base, 100).await.unwrap();
            assert_eq!(count, expected.len(), "count, {order:?} {viewer:?}");
            assert_eq!(store.count_incidents(&base, 1).await.unwrap(), expected.len().min(1), "a bounded count");
        }
    }
}

pub async fn listings_filter_by_statuses_and_updated_range_in_every_order(open: Open, dir: &Path) {
    let store = open(dir);
    let all = six(&*store).await;
    let minute = |m: i64| now() + SignedDuration::from_mins(m);
    let filters = [
        ListQuery { status_in: Some(vec![Status::Assigned]), ..ListQuery::all(100) },
        ListQuery { status_in: Some(vec![]), ..ListQuery::all(100) },
        ListQuery { status: Some(Status::Assigned), status_in: Some(vec![Status::New]), ..ListQuery::all(100) },
        ListQuery { updated_since: Some(minute(2)), ..ListQuery::all(100) },
        ListQuery { updated_before: Some(minute(3)), ..ListQuery::all(100) },
        // Between two milliseconds: the bounds still hold to the instant.
        ListQuery { updated_since: Some(minute(1) + SignedDuration::from_micros(250)), ..ListQuery::all(100) },
        ListQuery { updated_before: Some(minute(1) + SignedDuration::from_micros(250)), ..ListQuery::all(100) },
        ListQuery { updated_since: Some(minute(2)), updated_before: Some(minute(4)), ..ListQuery::all(100) },
        ListQuery { updated_since: Some(minute(4)), updated_before: Some(minute(2)), ..ListQuery::all(100) },
        ListQuery { status: Some(Status::New), viewer: Viewer::PartyTo(desk("region-h")), ..ListQuery::all(100) },
    ];
    for order in orders() {
        for filter in &filters {
            let q = ListQuery { order, ..filter.clone() };
            let expected = ids(q.apply(all.clone()));
            assert_eq!(ids(store.list_incidents(&q).await.unwrap()), expected, "{q:?}");
            assert_eq!(store.count_incidents(&q, 100).await.unwrap(), expected.len(), "count {q:?}");
            let skipped = ListQuery { offset: 1, ..q.clone() };
            assert_eq!(ids(store.list_incidents(&skipped).await.unwrap()), expected.get(1..).unwrap_or_default());
        }
    }
    let assigned = ids(store.list_incidents(&filters[0]).await.unwrap());
    assert_eq!(assigned, [all[2].id.clone(), all[4].id.clone()]);
}

pub async fn listings_find_one_incident_by_sequence_or_by_a_desks_ticket(open: Open, dir: &Path) {
    let store = open(dir);
    let all = six(&*store).await;
    let third = &all[2];
    let seq = crate::store::sequence_of(&third.id).expect("a sequence");
    let by_seq = ListQuery { sequence: Some(seq), ..ListQuery::all(10) };
    assert_eq!(ids(store.list_incidents(&by_seq).await.unwrap()), std::slice::from_ref(&third.id));
    assert_eq!(store.count_incidents(&by_seq, 10).await.unwrap(), 1);
    let unseen = ListQuery { sequence: Some(seq), viewer: Viewer::PartyTo(desk("region-m")), ..ListQuery::all(10) };
    assert!(store.list_incidents(&unseen).await.unwrap().is_empty(), "visibility holds for a point lookup");
    let wrong_status = ListQuery { status: Some(Status::Closed), ..by_seq.clone() };
    assert!(store.list_incidents(&wrong_status).await.unwrap().is_empty(), "other filters hold too");
    assert!(store.list_incidents(&ListQuery { sequence: Some(0), ..ListQuery::all(10) }).await.unwrap().is_empty());
    let none = ListQuery { sequence: Some(seq + 100), ..ListQuery::all(10) };
    assert!(store.list_incidents(&none).await.unwrap().is_empty());
    let origin = &third.origin;
    let by_ticket = ListQuery { reference: Some((origin.desk.clone(), origin.ticket.clone())), ..ListQuery::all(10) };
    assert_eq!(ids(store.list_incidents(&by_ticket).await.unwrap()), std::slice::from_ref(&third.id));
    let other_desk = ListQuery { reference: Some((desk("region-m"), origin.ticket.clone())), ..ListQuery::all(10) };
    assert!(store.list_incidents(&other_desk).await.unwrap().is_empty(), "a ticket is one desk's");
}

pub async fn an_incidents_lanes_and_the_due_lane_heads_follow_every_outbox_change(open: Open, dir: &Path) {
    let store = open(dir);
    let a = create(&*store, "l-a", vec![to("sds", Action::Create), to("drift", Action::Create)]).await;
    let b = create(&*store, "l-b", vec![to("sds", Action::Create)]).await;
    note(&*store, &a.id, vec![to("sds", Action::Note { index: 0 })]).await;
    let items = outbox(&*store).await;
    let seqs = |items: &[OutboxItem]| items.iter().map(|i| i.seq).collect::<Vec<_>>();
    let of = |incident: &IncidentId, at: Option<&str>| -> Vec<u64> {
        seqs(
            &items
                .iter()
                .filter(|i| &i.incident == incident && at.is_none_or(|d| i.desk.as_str() == d))
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(seqs(&store.outbox_for(&a.id, None).await.unwrap()), of(&a.id, None));
    assert_eq!(seqs(&store.outbox_for(&a.id, Some(&desk("sds"))).await.unwrap()), of(&a.id, Some("sds")));
    assert_eq!(seqs(&store.outbox_for(&b.id, Some(&desk("drift"))).await.unwrap()), Vec::<u64>::new());
    // One head per lane: a/sds's first item, a/drift, b/sds.
    let heads = |due: &crate::store::DueDeliveries| {
        let mut s = seqs(&due.items);
        s.sort_unstable();
        s
    };
    let sorted = |mut s: Vec<u64>| {
        s.sort_unstable();
        s
    };
    let a_sds = of(&a.id, Some("sds"));
    let a_drift = of(&a.id, Some("drift"))[0];
    let b_sds = of(&b.id, Some("sds"))[0];
    let due = store.due_deliveries(now(), 100).await.unwrap();
    assert_eq!(heads(&due), sorted(vec![a_sds[0], a_drift, b_sds]));
    assert_eq!(due.next_due, None);
    assert_eq!(store.due_deliveries(now(), 1).await.unwrap().items.len(), 1, "the limit holds");
    // Rescheduled: not due now, and when it will be.
    let first = store.outbox_item(a_sds[0]).await.unwrap().expect("waiting");
    let later = OutboxItem { not_before: now() + SignedDuration::from_secs(30), attempts: 1, ..first.clone() };
    store.reschedule_delivery(&later).await.unwrap();
    let due = store.due_deliveries(now(), 100).await.unwrap();
    assert_eq!((heads(&due), due.next_due), (sorted(vec![a_drift, b_sds]), Some(later.not_before)));
    assert_eq!(
        heads(&store.due_deliveries(later.not_before, 100).await.unwrap()),
        sorted(vec![a_sds[0], a_drift, b_sds])
    );
    // Completed: the lane's next item is its head.
    store.complete_delivery(a_sds[0], &a.id, None).await.unwrap();
    assert_eq!(heads(&store.due_deliveries(now(), 100).await.unwrap()), sorted(vec![a_drift, a_sds[1], b_sds]));
    // Dead-lettered: the lane is held, whatever else waits in it.
    note(&*store, &b.id, vec![to("sds", Action::Note { index: 0 })]).await;
    let held = store.outbox_item(b_sds).await.unwrap().expect("waiting");
    let letter = DeadLetter { item: held, failed_at: now(), error: "x".into(), remote_status: None, remote_body: None };
    store.dead_letter(letter).await.unwrap();
    assert_eq!(heads(&store.due_deliveries(now(), 100).await.unwrap()), sorted(vec![a_drift, a_sds[1]]));
    assert_eq!(store.outbox_for(&b.id, None).await.unwrap().len(), 1, "the note still waits");
    // Replayed: back at the head of its lane, due.
    let audit = |item: &OutboxItem| entry("replayed").with_incident(&item.incident);
    store.replay_dead_letter(b_sds, now(), &audit).await.unwrap();
    assert_eq!(heads(&store.due_deliveries(now(), 100).await.unwrap()), sorted(vec![a_drift, a_sds[1], b_sds]));
    assert_eq!(seqs(&store.outbox_for(&b.id, None).await.unwrap())[0], b_sds);
}

pub async fn due_escalations_come_in_deadline_order_and_an_incidents_by_incident(open: Open, dir: &Path) {
    let store = open(dir);
    let mut opened = Vec::new();
    for (n, minutes) in [10i64, 0, 5].into_iter().enumerate() {
        let plan = move |i: &mut Incident| {
            let mut e = escalation(&format!("{}/1", i.id), &i.id);
            e.deadline = e.deadline.map(|d| d + SignedDuration::from_mins(minutes));
            Effects { changed: true, escalations: vec![e], ..Effects::default() }
        };
        let created =
            store.create_incident(report("region-h", &format!("e-{n}")), None, entry("submitted"), now(), &plan);
        let incident = created.await.unwrap().incident().clone();
        opened.push((incident.id.clone(), format!("{}/1", incident.id)));
    }
    let due = |at: Timestamp, limit: usize| {
        let store = store.clone();
        async move { store.due_escalations(at, limit).await.unwrap().into_iter().map(|e| e.id).collect::<Vec<_>>() }
    };
    let at = |m: i64| now() + SignedDuration::from_mins(15 + m);
    assert!(due(now(), 10).await.is_empty());
    assert_eq!(due(at(0), 10).await, [opened[1].1.clone()]);
    assert_eq!(due(at(10), 10).await, [opened[1].1.clone(), opened[2].1.clone(), opened[0].1.clone()]);
    assert_eq!(due(at(10), 2).await.len(), 2, "the limit holds");
    let ack = |e: &mut Escalation, _: Option<&IncidentFacts>| {
        e.acknowledge("sds", now()).map_err(|err| ModelError::Conflict(err.to_string()))?;
        Ok(Vec::new())
    };
    store.update_escalation(&opened[1].1, now(), &ack, None).await.unwrap();
    assert_eq!(due(at(10), 10).await, [opened[2].1.clone(), opened[0].1.clone()], "acknowledged is not due");
    let of = store.escalations_of(&opened[1].0).await.unwrap();
    assert_eq!(of.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), [opened[1].1.clone()]);
    assert!(store.escalations_of(&"INC-2026-999999".parse().unwrap()).await.unwrap().is_empty());
}

/// What the watch does by itself (a deferral's end, process step 3; an auto-close;
/// an analysis reminder) is asked of the store by timer: only the due ones, earliest
/// first, page by page.
pub async fn due_timers_come_in_order_page_by_page_and_leave_when_settled(open: Open, dir: &Path) {
    let store = open(dir);
    let mut ids = Vec::new();
    for (n, minutes) in [Some(20i64), Some(5), None, Some(10), Some(10)].into_iter().enumerate() {
        let plan = move |i: &mut Incident| {
            i.deferred_until = minutes.map(|m| now() + SignedDuration::from_mins(m));
            Effects { changed: true, ..Effects::default() }
        };
        let created =
            store.create_incident(report("region-h", &format!("d-{n}")), None, entry("submitted"), now(), &plan);
        ids.push(created.await.unwrap().incident().id.clone());
    }
    let at = |m: i64| now() + SignedDuration::from_mins(m);
    let due = |timer: Timer, by: Timestamp| {
        let store = store.clone();
        async move {
            let mut all: Vec<DueTimer> = Vec::new();
            loop {
                let page = store.due_timers(&TimerQuery { timer, by, after: all.last(), limit: 2 }).await.unwrap();
                assert!(page.len() <= 2, "the limit holds");
                let last = page.len() < 2;
                all.extend(page);
                if last {
                    return all.into_iter().map(|d| d.incident).collect::<Vec<_>>();
                }
            }
        }
    };
    assert!(due(Timer::Deferral, now()).await.is_empty(), "nothing is due before its time");
    assert_eq!(due(Timer::Deferral, at(5)).await, [ids[1].clone()], "due at its instant");
    let order = [ids[1].clone(), ids[3].clone(), ids[4].clone(), ids[0].clone()];
    assert_eq!(due(Timer::Deferral, at(60)).await, order, "earliest first, ties by id, over pages");
    let first = store.due_timers(&TimerQuery { timer: Timer::Deferral, by: at(60), after: None, limit: 10 }).await;
    let first = first.unwrap();
    assert_eq!(first[0].at, at(5), "each with the instant it is due");
    assert!(due(Timer::AutoClose, at(60)).await.is_empty(), "another timer's index is apart");
    // Taken up: the deferral ends with the change. Moved later: due later.
    let take_up = |i: &mut Incident| {
        i.status = Status::InProgress;
        i.deferred_until = None;
        Ok(Effects { changed: true, ..Effects::default() })
    };
    store.update_incident(&ids[1], &take_up, entry("taken up")).await.unwrap();
    let later = |i: &mut Incident| {
        i.deferred_until = Some(at(90));
        Ok(Effects { changed: true, ..Effects::default() })
    };
    store.update_incident(&ids[3], &later, entry("moved")).await.unwrap();
    assert_eq!(due(Timer::Deferral, at(60)).await, [ids[4].clone(), ids[0].clone()]);
    // Resolved with an auto-close instant, and an analysis owed: their own timers.
    let resolve = |i: &mut Incident| {
        i.status = Status::Resolved;
        i.deferred_until = None;
        i.process = Some(crate::model::ProcessState {
            profile: "healthdata".into(),
            importance: None,
            priority: None,
            hold_reason: None,
            auto_close_at: Some(at(30)),
            reporter_reopens: false,
        });
        i.rca = Some(crate::model::Rca {
            due: at(45),
            requested: false,
            delivered_at: None,
            delivered_by: None,
            reminded_at: None,
        });
        Ok(Effects { changed: true, ..Effects::default() })
    };
    store.update_incident(&ids[4], &resolve, entry("resolved")).await.unwrap();
    assert_eq!(due(Timer::Deferral, at(60)).await, [ids[0].clone()]);
    assert_eq!(due(Timer::AutoClose, at(60)).await, [ids[4].clone()]);
    assert_eq!(due(Timer::RcaDue, at(60)).await, [ids[4].clone()]);
    assert!(due(Timer::RcaDue, at(40)).await.is_empty());
    drop(store);
    let store = open(dir);
    let due = |timer: Timer, by: Timestamp| {
        let store = store.clone();
        async move {
            let query = TimerQuery { timer, by, after: None, limit: 10 };
            store.due_timers(&query).await.unwrap().into_iter().map(|d| d.incident).collect::<Vec<_>>()
        }
    };
    assert_eq!(due(Timer::Deferral, at(90)).await, [ids[0].clone(), ids[3].clone()], "after a restart");
    assert_eq!(due(Timer::AutoClose, at(60)).await, [ids[4].clone()], "after a restart");
    // Reminded: the analysis no longer waits for a reminder; closed: no auto-close.
    let settle = |i: &mut Incident| {
        i.status = Status::Closed;
        if let Some(rca) = i.rca.as_mut() {
            rca.reminded_at = Some(now());
        }
        Ok(Effects { changed: true, ..Effects::default() })
    };
    store.update_incident(&ids[4], &settle, entry("closed")).await.unwrap();
    assert!(due(Timer::AutoClose, at(60)).await.is_empty());
    assert!(due(Timer::RcaDue, at(60)).await.is_empty());
}
