//! Conformance cases for the operators' listings a page at a time (outbox, dead
//! letters, escalations) and for the escalation watch's read: each page is what the
//! whole listing holds after the cursor, and the pages together are the listing.

use super::*;
use crate::escalation::IncidentFacts;

/// Every page of `page(after, limit)`, following the cursor `key` gives.
async fn all_pages<T, K: Clone, F: std::future::Future<Output = Vec<T>>>(
    page: impl Fn(Option<K>, usize) -> F,
    key: impl Fn(&T) -> K,
    limit: usize,
) -> Vec<T> {
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let items = page(after.clone(), limit).await;
        assert!(items.len() <= limit, "a page holds at most its limit");
        let full = items.len() == limit;
        after = items.last().map(&key);
        out.extend(items);
        if !full {
            return out;
        }
    }
}

pub async fn the_outbox_and_the_dead_letters_page_by_sequence_and_by_desk(open: Open, dir: &Path) {
    let store = open(dir);
    for n in 0..4 {
        let i = create(&*store, &format!("p-{n}"), vec![to("sds", Action::Create), to("fmk", Action::Create)]).await;
        note(&*store, &i.id, vec![to("sds", Action::Create)]).await;
    }
    let whole = outbox(&*store).await;
    assert_eq!(whole.len(), 12);
    let paged = |desk: Option<DeskId>| {
        let store = store.clone();
        async move {
            let page = |after: Option<u64>, limit| {
                let (store, desk) = (store.clone(), desk.clone());
                async move { store.outbox_page(after, desk.as_ref(), limit).await.expect("a page") }
            };
            all_pages(page, |i: &OutboxItem| i.seq, 5).await
        }
    };
    assert_eq!(paged(None).await, whole, "pages of 5 make up the whole outbox, in order");
    let sds: Vec<OutboxItem> = whole.iter().filter(|i| i.desk.as_str() == "sds").cloned().collect();
    assert_eq!(paged(Some(desk("sds"))).await, sds, "a desk's pages hold its lanes only");
    let after_last = store.outbox_page(whole.last().map(|i| i.seq), None, 10).await.unwrap();
    assert!(after_last.is_empty());

    // Three dead letters (the newest item each time), paged two at a time.
    for _ in 0..3 {
        dead_letter_the_last(&*store).await;
    }
    let dead = store.dead_letters(100).await.unwrap();
    assert_eq!(dead.len(), 3);
    let page = |after: Option<u64>, limit| {
        let store = store.clone();
        async move { store.dead_letters_page(after, None, limit).await.expect("a page") }
    };
    assert_eq!(all_pages(page, |d: &DeadLetter| d.item.seq, 2).await, dead);
    let fmk = store.dead_letters_page(None, Some(&desk("fmk")), 10).await.unwrap();
    assert_eq!(fmk, dead.iter().filter(|d| d.item.desk.as_str() == "fmk").cloned().collect::<Vec<_>>());
}

pub async fn escalations_page_by_id_after_a_cursor(open: Open, dir: &Path) {
    let store = open(dir);
    for n in 0..5 {
        let plan = |i: &mut Incident| Effects {
            changed: true,
            escalations: vec![escalation(&format!("{}/1", i.id), &i.id), escalation(&format!("{}/2", i.id), &i.id)],
            ..Effects::default()
        };
        store.create_incident(report("region-h", &format!("e-{n}")), None, entry("s"), now(), &plan).await.unwrap();
    }
    let whole = store.escalations(&EscalationQuery::all(100)).await.unwrap();
    assert_eq!(whole.len(), 10);
    let page = |after: Option<String>, limit| {
        let store = store.clone();
        async move { store.escalations(&EscalationQuery { after, ..EscalationQuery::all(limit) }).await.unwrap() }
    };
    assert_eq!(all_pages(page, |e: &Escalation| e.id.clone(), 3).await, whole);
    let regional = EscalationQuery {
        after: Some(whole[3].id.clone()),
        viewer: Viewer::PartyTo(desk("region-h")),
        ..EscalationQuery::all(100)
    };
    assert_eq!(store.escalations(&regional).await.unwrap(), whole[4..], "a cursor with a viewer");
}

pub async fn the_watch_reads_due_escalations_with_their_incidents_facts(open: Open, dir: &Path) {
    let store = open(dir);
    let mut incidents = Vec::new();
    for n in 0..3 {
        let plan = |i: &mut Incident| Effects {
            changed: true,
            escalations: vec![escalation(&format!("{}/1", i.id), &i.id)],
            ..Effects::default()
        };
        let created = store.create_incident(report("region-h", &format!("w-{n}")), None, entry("s"), now(), &plan);
        incidents.push(created.await.unwrap().incident().clone());
    }
    // The second one is resolved since: the watch sees that with the escalation.
    set(&*store, &incidents[1].id, |i| i.status = Status::Resolved).await;
    let resolved = store.get_incident(&incidents[1].id).await.unwrap().expect("stored");
    assert!(store.due_for_watch(now(), 10).await.unwrap().is_empty(), "nothing is due before the deadline");
    let due = store.due_for_watch(now() + SignedDuration::from_mins(15), 10).await.unwrap();
    let ids: Vec<&str> = due.iter().map(|d| d.escalation.incident_id.as_str()).collect();
    assert_eq!(ids, incidents.iter().map(|i| i.id.as_str()).collect::<Vec<_>>());
    assert_eq!(due[0].incident, Some(IncidentFacts::of(&incidents[0])));
    assert_eq!(due[1].incident, Some(IncidentFacts::of(&resolved)));
    assert!(due[1].incident.as_ref().and_then(IncidentFacts::end_reason).is_some_and(|r| r.contains("resolved")));
    assert_eq!(store.due_for_watch(now() + SignedDuration::from_mins(15), 1).await.unwrap().len(), 1, "a limit");
}
