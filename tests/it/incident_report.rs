//! The P1/P2 incident report (process steps 12a–13) and journalising on close (17):
//! the supplier that solved the incident writes the report and submits it; the
//! operator quality-checks reports of the configured (non-FMK) suppliers; a named
//! FMK/NSP incident manager — never the author — approves it or returns it, and a
//! returned report's comments reach the author's own ticket. The operations supplier
//! is asked to coordinate a report another supplier writes. A closed incident's
//! report and timeline are journalised once.

use crate::kit;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kit::{Federation, eventually, ref_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const REPORT: &str = r#"report = { incident_managers = ["Mette Holm", "Anders Berg"], quality_check = ["drift", "nsp-app"], operations_supplier = "drift" }"#;

async fn federation(journal: Option<PathBuf>) -> Federation {
    Federation::builder()
        .max_attempts(50)
        .poll_ms(None)
        .open_rate_limits()
        .configure(move |c| {
            c.gateway_toml(REPORT);
            // An application supplier of NSP besides the operations supplier (step 12b).
            let app = kit::Desk::known("nsp-app", "NSP application supplier", "supplier", "native");
            c.desk("nsp-app", app.services(&["NSP"]));
            if let Some(dir) = journal {
                c.gateway("journal", json!({ "kind": "directory", "path": dir.display().to_string() }));
            }
        })
        .start()
        .await
}

/// Region H reports a P2 in ServiceNow; the national desk assigns it to `supplier`,
/// which resolves it: the incident id.
async fn resolved_by(f: &Federation, supplier: &str, title: &str) -> String {
    let service = if supplier == "fmk" { "FMK" } else { "NSP" };
    let fields = [("short_description", title), ("description", "Reported by phone"), ("impact", "2")];
    let body = json!({
        "title": title, "description": "Reported by phone", "service": service,
        "urgency": "medium", "impact": "medium",
    });
    let (id, _) = f.report_ticket(&fields, body).await;
    let (status, body) = f.patch("sds", &id, json!({"priority": "P2", "assignee": supplier})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = f.patch(supplier, &id, json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    id
}

async fn step(f: &Federation, desk: &str, id: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let path = if path.is_empty() {
        format!("/api/v1/incidents/{id}/report")
    } else {
        format!("/api/v1/incidents/{id}/report/{path}")
    };
    f.call(desk, Method::POST, &path, Some(body)).await
}

fn message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_owned()
}

/// `supplier` writes its report as `author` and submits it.
async fn written_and_submitted(f: &Federation, supplier: &str, id: &str, author: &str) {
    let text = json!({"text": "https://docs.example/reports/certificate", "by": author});
    let (status, body) = step(f, supplier, id, "", text).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["report"]["state"], "draft", "{body}");
    let (status, body) = step(f, supplier, id, "submit", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["report"]["state"], "submitted", "{body}");
}

/// The report's steps in the history, in order.
fn report_history(incident: &Value) -> Vec<String> {
    let history = incident["history"].as_array().unwrap();
    history.iter().filter(|h| h["field"] == "report").map(|h| h["to"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_12a_the_national_desk_cannot_write_or_approve_its_own_report() {
    let f = federation(None).await;
    let id = resolved_by(&f, "fmk", "FMK: prescriptions cannot be read").await;

    // The national desk reviews; it never writes the report (then it would approve its own).
    let (status, body) = step(&f, "sds", &id, "", json!({"text": "Root cause", "by": "Mette Holm"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("the supplier that solved the incident writes"), "{body}");
    let (status, body) = f.patch("sds", &id, json!({"report": "Root cause"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(f.incident(&id).await["report"], Value::Null, "a refused report changes nothing");

    // A draft is not reviewed; the supplier never approves its own report.
    let (status, body) = step(&f, "fmk", &id, "", json!({"text": "Root cause: certificate", "by": "Karen Lund"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = step(&f, "sds", &id, "approve", json!({"by": "Mette Holm"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("is draft"), "the refusal names the state: {body}");
    let (status, _) = step(&f, "fmk", &id, "submit", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = step(&f, "fmk", &id, "approve", json!({"by": "Karen Lund"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = f.patch("fmk", &id, json!({"approve_report": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(f.incident(&id).await["report"]["state"], "submitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_12b_the_approver_is_a_named_incident_manager_never_the_author() {
    let f = federation(None).await;
    let id = resolved_by(&f, "fmk", "FMK: the medication card is empty").await;
    written_and_submitted(&f, "fmk", &id, "Mette Holm").await;

    for (by, why) in [("Jens Jensen", "not one"), ("Mette Holm", "wrote this incident report")] {
        let (status, body) = step(&f, "sds", &id, "approve", json!({"by": by})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{by}: {body}");
        assert!(message(&body).contains(why), "{by}: {body}");
    }
    // Approving as a desk, without naming the incident manager, is refused too.
    let (status, body) = f.patch("sds", &id, json!({"approve_report": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = f.patch("sds", &id, json!({"status": "closed"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("it is submitted"), "{body}");

    let (status, body) = step(&f, "sds", &id, "approve", json!({"by": "Anders Berg"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["report"]["state"], "approved");
    assert_eq!(body["report"]["approver"], "Anders Berg");
    assert_eq!(body["report"]["author"], "Mette Holm");
    assert_eq!(report_history(&body), ["draft", "submitted", "approved"]);
    let audited = f.audit().await.iter().any(|e| {
        e["incident"] == id.as_str() && e["reason"].as_str().is_some_and(|r| r.contains("approved by Anders Berg"))
    });
    assert!(audited, "the approval is audited");
    let (status, body) = f.patch("sds", &id, json!({"status": "closed"})).await;
    assert_eq!(status, StatusCode::OK, "an approved report lets a P2 close: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_12b_a_returned_report_reaches_its_authors_ticket_with_the_comments() {
    let f = federation(None).await;
    // FMK's report goes straight to the incident manager; the operations supplier's
    // is returned by the operator in its quality check.
    for (supplier, reviewer) in [("fmk", "Mette Holm"), ("drift", "Ole Operator")] {
        let id = resolved_by(&f, supplier, &format!("{supplier}: the lookups fail")).await;
        written_and_submitted(&f, supplier, &id, "Karen Lund").await;
        let comments = format!("{supplier}: the timeline misses when the certificate expired");
        let (status, body) = step(&f, "sds", &id, "return", json!({"by": reviewer, "comments": comments})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["report"]["state"], "returned");
        assert_eq!(body["report"]["returned"]["comments"], comments.as_str());
        f.settled().await;

        let incident = f.incident(&id).await;
        let copy = ref_of(&incident, supplier).expect("the author's copy").clone();
        let field = if supplier == "fmk" { "display_id" } else { "remote_id" };
        let copy = copy[field].as_str().unwrap().to_owned();
        let reached = match supplier {
            "fmk" => f.fmk.records().iter().any(|r| {
                r.display_id == copy
                    && r.fields.get("cq:Notes_Log").is_some_and(|l| l.contains(&comments) && l.contains(reviewer))
            }),
            _ => f.drift.comments(&copy).iter().any(|c| c.body.contains(&comments) && c.body.contains(reviewer)),
        };
        assert!(reached, "{supplier}'s ticket {copy} has the comments");
        // Reworked and resubmitted: the history tells each step.
        let (status, body) = step(&f, supplier, &id, "", json!({"text": "Reworked", "by": "Karen Lund"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = step(&f, supplier, &id, "submit", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(report_history(&body), ["draft", "submitted", "returned", "returned (rewritten)", "resubmitted"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_13_a_non_fmk_suppliers_report_is_quality_checked_before_approval() {
    let f = federation(None).await;
    let id = resolved_by(&f, "drift", "NSP: the lookups time out").await;
    written_and_submitted(&f, "drift", &id, "Karen Lund").await;

    let (status, body) = step(&f, "sds", &id, "approve", json!({"by": "Mette Holm"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("is submitted") && message(&body).contains("quality-checked"), "{body}");
    let (status, body) = step(&f, "drift", &id, "quality-check", json!({"by": "Karen Lund"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the operator checks: {body}");
    let (status, body) = step(&f, "sds", &id, "quality-check", json!({"by": "Ole Operator"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["report"]["state"], "quality_checked");
    assert_eq!(body["report"]["quality_checked"]["name"], "Ole Operator");
    let (status, body) = step(&f, "sds", &id, "approve", json!({"by": "Mette Holm"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(report_history(&body), ["draft", "submitted", "quality_checked", "approved"]);

    // The FMK supplier's report is not quality-checked: it goes to the incident manager.
    let fmk = resolved_by(&f, "fmk", "FMK: prescriptions cannot be read").await;
    written_and_submitted(&f, "fmk", &fmk, "Per Hansen").await;
    let (status, body) = step(&f, "sds", &fmk, "quality-check", json!({"by": "Ole Operator"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = step(&f, "sds", &fmk, "approve", json!({"by": "Mette Holm"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_13_the_operations_supplier_is_told_to_coordinate_when_another_supplier_solved_it() {
    let f = federation(None).await;
    /// Reported, triaged by the operations supplier first, then solved by `solver`:
    /// the incident id and the operations supplier's Jira issue.
    async fn handed_on(f: &Federation, title: &str, solver: &str) -> (String, String) {
        let fields = [("short_description", title), ("description", "Reported by phone"), ("impact", "2")];
        let body = json!({"title": title, "description": "Reported by phone", "service": "NSP", "urgency": "medium", "impact": "medium"});
        let (id, _) = f.report_ticket(&fields, body).await;
        let (status, _) = f.patch("sds", &id, json!({"priority": "P2", "assignee": "drift"})).await;
        assert_eq!(status, StatusCode::OK);
        f.settled().await;
        let key =
            ref_of(&f.incident(&id).await, "drift").expect("a Jira issue")["remote_id"].as_str().unwrap().to_owned();
        let (status, _) = f.patch("sds", &id, json!({"assignee": solver})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = f.patch(solver, &id, json!({"status": "resolved"})).await;
        assert_eq!(status, StatusCode::OK);
        written_and_submitted(f, solver, &id, "Per Hansen").await;
        f.settled().await;
        (id, key)
    }
    let asked = |id: &str, key: &str| {
        f.drift.comments(key).iter().filter(|c| c.body.contains("coordinate") && c.body.contains(id)).count()
    };

    // Step 12b: the NSP application supplier solved it; the operations supplier coordinates.
    let (id, key) = handed_on(&f, "NSP: the lookups time out", "nsp-app").await;
    assert_eq!(asked(&id, &key), 1, "{:#?}", f.drift.comments(&key));
    assert!(f.drift.comments(&key).iter().any(|c| c.body.contains("NSP application supplier")), "names who solved it");

    // Step 12a: the FMK supplier writes its own report; nobody is asked.
    let (fmk, fmk_key) = handed_on(&f, "FMK: the card cannot be updated", "fmk").await;
    assert_eq!(asked(&fmk, &fmk_key), 0, "{:#?}", f.drift.comments(&fmk_key));

    // When the operations supplier solved it itself, nobody is asked either.
    let own = resolved_by(&f, "drift", "NSP: the service registry is slow").await;
    written_and_submitted(&f, "drift", &own, "Karen Lund").await;
    f.settled().await;
    let own_key = ref_of(&f.incident(&own).await, "drift").unwrap()["remote_id"].as_str().unwrap().to_owned();
    assert_eq!(asked(&own, &own_key), 0);
}

fn journal_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.map(|e| e.unwrap().path()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_17_the_report_and_timeline_are_journalised_once_on_close() {
    let journal = tempfile::tempdir().unwrap();
    let dir = journal.path().join("journal");
    let mut f = federation(Some(dir.clone())).await;
    let id = resolved_by(&f, "fmk", "FMK: prescriptions cannot be read").await;
    written_and_submitted(&f, "fmk", &id, "Per Hansen").await;
    let (status, _) = step(&f, "sds", &id, "approve", json!({"by": "Mette Holm"})).await;
    assert_eq!(status, StatusCode::OK);
    f.settled().await;
    assert!(journal_files(&dir).is_empty(), "nothing is journalised before the close");

    let (status, body) = f.patch("sds", &id, json!({"status": "closed"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file = dir.join(format!("{id}.json"));
    let text =
        eventually(Duration::from_secs(10), "the journal entry", async || std::fs::read_to_string(&file).ok()).await;
    let entry: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(entry["incident"], id.as_str());
    assert_eq!(entry["report"]["approver"], "Mette Holm");
    assert_eq!(entry["report"]["author"], "Per Hansen");
    let timeline = entry["timeline"].as_array().unwrap();
    assert!(timeline.iter().any(|h| h["field"] == "status" && h["to"] == "closed"), "{entry:#}");
    assert!(timeline.iter().any(|h| h["field"] == "report" && h["to"] == "approved"), "{entry:#}");

    // Once: a restart, and the outbox drained, leave the one entry as it was.
    f.restart().await;
    f.settled().await;
    assert_eq!(journal_files(&dir), std::slice::from_ref(&file));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    let journalled = f.outbox().await.iter().any(|o| o["action"]["type"] == "journal");
    assert!(!journalled, "the journal delivery is done");
}
