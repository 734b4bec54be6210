//! Who is told what, checked when a delivery runs and when a desk's tool reports:
//! a supplier the incident was taken away from gets neither the incident nor its
//! notes (however long its deliveries waited in the outbox), hears once that its copy
//! is no longer kept in step, and its tool's later reports change nothing.
//!
//! The supplier's Jira calls the gateway back through a relay in this process (the
//! gateway's address is only known once the simulators it calls are running).

use crate::kit;

use deskgate_sim::Fault;
use kit::{Federation, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const JIRA_HOOK_SECRET: &str = "drift-webhook-secret";
const INTERNAL: &str = "Internal: the caller is the hospital's CIO; keep the supplier out of the loop";

/// The federation the supplier is taken away in: nothing polled (every change comes
/// through the API or a webhook), deliveries retried for as long as a test runs.
async fn federation() -> Federation {
    Federation::builder()
        .delivery("retry_max_ms", 100)
        .max_attempts(1000)
        .no_polling()
        .open_rate_limits()
        .jira_webhooks(JIRA_HOOK_SECRET)
        .start()
        .await
}

/// The national desk changes the incident.
async fn patch(f: &Federation, id: &str, body: Value) {
    let (status, answer) = f.patch("sds", id, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// Region H forwards a ticket; the national desk notes something internal on it.
async fn reported_with_internal_note(f: &Federation, title: &str) -> String {
    let fields = [("short_description", title), ("description", "By phone")];
    let body = json!({
        "title": title, "description": "Reported by phone", "service": "NSP",
        "urgency": "medium", "impact": "medium",
    });
    let (id, _) = f.report_ticket(&fields, body).await;
    let note = json!({"body": INTERNAL, "visibility": "internal"});
    let (status, body) =
        f.call("sds", reqwest::Method::POST, &format!("/api/v1/incidents/{id}/notes"), Some(note)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_reassigned_away_while_its_jira_was_down_gets_nothing_when_it_comes_back() {
    let f = federation().await;
    let id = reported_with_internal_note(&f, "NSP: lookups time out").await;
    f.settled().await;

    // The operations supplier's Jira is down while the incident is assigned to it.
    f.drift.faults().push((0..100_000).map(|_| Fault::Unavailable));
    patch(&f, &id, json!({"assignee": "drift"})).await;
    assert!(wait_until(async || f.drift.faults().pending() < 100_000 - 3).await, "deliveries to drift were tried");
    // The national desk reassigns to the FMK supplier, which gets its copy.
    patch(&f, &id, json!({"assignee": "fmk"})).await;
    assert!(wait_until(async || f.fmk.count() == 1).await, "the new supplier got its copy");

    // Drift's Jira comes back: what was queued for it is not delivered.
    f.drift.faults().clear();
    f.settled().await;
    assert_eq!(f.drift.count(), 0, "no issue at the supplier it was taken from: {:#?}", f.drift.issues());
    assert!(f.dead_letters().await.is_empty(), "{:#?}", f.dead_letters().await);
    let (status, _) = f.call("drift", reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let fmk_notes = f.fmk.records()[0].fields.get("cq:Notes_Log").cloned().unwrap_or_default();
    assert!(fmk_notes.contains(INTERNAL), "the assigned supplier does get the internal note: {fmk_notes}");

    // Each delivery that was dropped says why in the audit log.
    let audit = f.audit().await;
    let dropped: Vec<_> =
        audit.iter().filter(|e| e["reason"].as_str().is_some_and(|r| r.starts_with("delivery dropped"))).collect();
    let to_drift = dropped.iter().filter(|e| e["desk"] == "drift").count();
    assert!(to_drift >= 2, "the create and the note to drift were dropped: {dropped:#?}");
    assert!(dropped.iter().all(|e| e["incident"] == id.as_str()), "{dropped:#?}");
    let because = |e: &&&Value| e["reason"].as_str().is_some_and(|r| r.contains("drift is no longer party"));
    assert!(dropped.iter().filter(because).count() >= 3, "create, note and link dropped: {dropped:#?}");
    assert!(
        dropped.iter().any(|e| e["desk"] == "sds" && e["reason"].as_str().is_some_and(|r| r.contains("link"))),
        "the national ticket is not linked to a copy that never came: {dropped:#?}"
    );
    assert!(dropped.iter().all(|e| !e["reason"].as_str().unwrap().contains("CIO")), "no note text in the audit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_reassigned_away_is_told_once_and_its_jira_changes_nothing_afterwards() {
    let f = federation().await;
    let id = reported_with_internal_note(&f, "NSP: lookups time out").await;
    patch(&f, &id, json!({"assignee": "drift"})).await;
    f.settled().await;
    let key = f.drift.issues()[0].key.clone();

    patch(&f, &id, json!({"assignee": "fmk"})).await;
    f.settled().await;
    assert_eq!(f.fmk.count(), 1);
    // One last note on drift's copy, with nothing of the incident but its id.
    let comments = f.drift.comments(&key);
    let told: Vec<_> = comments.iter().filter(|c| c.body.contains("no longer kept in step")).collect();
    assert_eq!(told.len(), 1, "{comments:#?}");
    assert!(told[0].body.starts_with(&format!("{id} was reassigned by the national desk")), "{}", told[0].body);
    assert!(!told[0].body.contains("lookups") && !told[0].body.contains("FMK"), "{}", told[0].body);

    // A later change at the national desk does not reach drift.
    let before_comments = f.drift.comments(&key).len();
    let note = json!({"body": "Second internal remark", "visibility": "internal"});
    let (status, _) = f.call("sds", reqwest::Method::POST, &format!("/api/v1/incidents/{id}/notes"), Some(note)).await;
    assert_eq!(status, StatusCode::CREATED);
    patch(&f, &id, json!({"priority": "P2"})).await;
    f.settled().await;
    assert_eq!(f.drift.comments(&key).len(), before_comments);
    assert_ne!(f.drift.issue(&key).unwrap().priority, "High", "the new priority did not reach drift");

    // People in drift's Jira keep working the old issue: its signed webhooks change nothing.
    let before = f.incident(&id).await;
    let audit_before = f.audit().await.len();
    let answers_before = f.relay.log().len();
    f.drift.comment_as_user(&key, "We restarted the lookup service").unwrap();
    f.drift.transition_as_user(&key, "In Progress").unwrap();
    f.settled().await;
    let answers = f.relay.log()[answers_before..].to_vec();
    assert!(answers.len() >= 2, "Jira sent its webhooks: {answers:#?}");
    for a in &answers {
        // Answered as every webhook is; what became of it shows below.
        assert_eq!((Some(u64::from(a.status)), a.answer["outcome"].as_str()), (Some(200), Some("received")), "{a:?}");
    }
    let after = f.incident(&id).await;
    assert_eq!(after["notes"], before["notes"], "no note from drift");
    assert_eq!(after["status"], before["status"]);
    assert_eq!(after["history"], before["history"]);
    assert!(f.outbox().await.is_empty());
    let audit = f.audit().await;
    let ignored: Vec<_> = audit[audit_before..]
        .iter()
        .filter(|e| e["desk"] == "drift" && e["reason"].as_str().is_some_and(|r| r.contains("no longer party")))
        .collect();
    assert!(!ignored.is_empty(), "{:#?}", &audit[audit_before..]);
}
