//! Who ends a national incident (process steps 15 and 16): only the national desk
//! closes or cancels it; a supplier resolves. A supplier's close or cancel — through
//! the API or in its own Jira — is parked: not applied, audited, and noted internally
//! for the national desk. A cancel reaches the reporter's ticket as a note; the local
//! desk closes its own ticket.

use crate::kit;
use crate::support::reported_and_assigned_to_drift;

use kit::{Federation, Fmk};
use reqwest::StatusCode;
use serde_json::json;

const JIRA_HOOK_SECRET: &str = "drift-webhook-secret";

async fn federation() -> Federation {
    Federation::builder()
        .max_attempts(50)
        .poll_ms(None)
        .open_rate_limits()
        .fmk(Fmk::Native)
        .servicenow_pushes()
        .jira_hook_secret(JIRA_HOOK_SECRET)
        .jira_webhooks(JIRA_HOOK_SECRET)
        .start()
        .await
}

/// The audit entries of kind `rejected` after `from` that name `desk`.
async fn rejections(f: &Federation, from: usize, desk: &str) -> Vec<serde_json::Value> {
    f.audit().await[from..].iter().filter(|e| e["kind"] == "rejected" && e["desk"] == desk).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_15_only_the_national_desk_closes() {
    let f = federation().await;
    let (id, _, _) = reported_and_assigned_to_drift(&f, "NSP: lookups time out", &[("impact", "2")]).await;

    let (status, body) = f.patch("drift", &id, json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "a supplier resolves: {body}");

    for end in ["closed", "cancelled"] {
        let audit_before = f.audit().await.len();
        let (status, body) = f.patch("drift", &id, json!({"status": end})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let message = body["message"].as_str().or(body["error"]["message"].as_str()).unwrap_or_default().to_owned();
        assert!(message.contains("only the national desk"), "{body}");
        let incident = f.incident(&id).await;
        assert_eq!(incident["status"], "resolved", "a supplier's {end} changes nothing");
        // Parked: the national desk is told by an internal note, and it is audited.
        let note = incident["notes"].as_array().unwrap().last().cloned().expect("a note for the national desk");
        assert_eq!(note["visibility"], "internal", "{note}");
        let text = note["body"].as_str().unwrap();
        assert!(text.contains("drift") && text.contains("only the national desk"), "{note}");
        let entries = rejections(&f, audit_before, "drift").await;
        assert_eq!(entries.len(), 1, "{entries:#?}");
        assert!(entries[0]["reason"].as_str().unwrap().contains("only the national desk"), "{:#}", entries[0]);
    }

    let (status, body) = f.patch("sds", &id, json!({"status": "closed"})).await;
    assert_eq!(status, StatusCode::OK, "the national desk closes: {body}");
    assert_eq!(body["status"], "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_15_a_close_in_the_suppliers_jira_is_parked_and_the_national_desk_told() {
    let f = federation().await;
    let (id, sys_id, key) = reported_and_assigned_to_drift(&f, "NSP: slow signing", &[("impact", "2")]).await;
    f.drift.transition_as_user(&key, "In Progress").unwrap();
    f.drift.transition_as_user(&key, "Resolved").unwrap();
    f.settled().await;
    assert_eq!(f.incident(&id).await["status"], "resolved");

    let audit_before = f.audit().await.len();
    f.drift.transition_as_user(&key, "Closed").unwrap();
    f.settled().await;

    let incident = f.incident(&id).await;
    assert_eq!(incident["status"], "resolved", "a P3 closed by the supplier stays resolved");
    let note = incident["notes"].as_array().unwrap().last().cloned().expect("a note for the national desk");
    assert_eq!(note["visibility"], "internal");
    assert!(note["body"].as_str().unwrap().contains("only the national desk closes"), "{note}");
    let entries = rejections(&f, audit_before, "drift").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert!(entries[0]["reason"].as_str().unwrap().contains(&key), "{:#}", entries[0]);
    // The national desk's ClearQuest record hears of it; the reporter's ticket does not.
    let told = |r: &deskgate_sim::clearquest::SimRecord| {
        r.fields.get("cq:Notes_Log").is_some_and(|log| log.contains("only the national desk closes"))
    };
    assert!(f.sds.records().iter().any(told), "{:#?}", f.sds.records());
    assert!(f.region_h.journal(&sys_id).iter().all(|j| !j.value.contains("not applied")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_16_a_cancel_reaches_the_reporters_ticket_as_a_note() {
    let f = federation().await;
    let (id, sys_id, _) =
        reported_and_assigned_to_drift(&f, "NSP: duplicate of a known outage", &[("impact", "2")]).await;
    let state_before = f.region_h.record(&sys_id).unwrap()["state"].clone();

    let (status, body) = f.patch("sds", &id, json!({"status": "cancelled"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;

    let origin = f.region_h.record(&sys_id).unwrap();
    assert_eq!(origin["state"], state_before, "the reporter's ticket is not ended: {origin:?}");
    assert_ne!(origin["state"], "8", "{origin:?}");
    let journal = f.region_h.journal(&sys_id);
    assert!(journal.iter().any(|j| j.value.contains("Cancelled by the National Service Desk")), "{journal:#?}");
}
