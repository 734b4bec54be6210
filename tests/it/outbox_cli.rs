//! `deskgate outbox`, `dead-letters` and `replay` against a running gateway, and the
//! Jira supplier's link field, over the NSP flow against the simulators.

use crate::kit;

use std::time::Duration;

use deskgate_sim::Fault;
use kit::{Federation, Fmk, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Region H (ServiceNow) → national desk (ClearQuest) → operations supplier (Jira,
/// the ClearQuest id in `customfield_10043`). Polling is off: only deliveries run.
async fn federation(max_attempts: u64) -> Federation {
    Federation::builder()
        .max_attempts(max_attempts)
        .delivery("concurrency", 4)
        .no_polling()
        .fmk(Fmk::Absent)
        .jira_custom_field("customfield_10043", "ClearQuest id")
        .drift_jira("link_field", "customfield_10043")
        .start()
        .await
}

/// Region H forwards a ServiceNow ticket; returns the incident id.
async fn report(f: &Federation, title: &str, service: &str) -> String {
    let fields = [("short_description", title), ("description", "Reported by phone"), ("impact", "2")];
    let body = json!({
        "title": title, "description": "Reported by phone", "service": service,
        "urgency": "medium", "impact": "medium",
    });
    f.report_ticket(&fields, body).await.0
}

/// Poll `path` (as the national desk) until its items satisfy `done` (bounded).
async fn items_until(f: &Federation, path: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let what = format!("{path} reaches the expected state");
    eventually(Duration::from_secs(10), &what, async || {
        let (_, page) = f.call("sds", reqwest::Method::GET, path, None).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        done(&items).then_some(items)
    })
    .await
}

#[tokio::test]
async fn the_cli_lists_a_dead_letter_and_the_delivery_waiting_behind_it_and_replays_it() {
    let mut f = federation(1).await;
    f.sds.faults().push([Fault::ServerError]);
    let id = report(&f, "SOSI: token service unavailable", "SOSI").await;
    let dead = items_until(&f, "/api/v1/dead-letters", |items| !items.is_empty()).await;
    let seq = dead[0]["item"]["seq"].as_u64().unwrap();
    assert_eq!(f.sds.count(), 0);

    // A later change to the incident waits in the outbox behind the dead letter.
    assert_eq!(f.note("sds", &id, "Looking into it").await, StatusCode::CREATED);

    let (ok, out, err) = f.cli(&["dead-letters"]).await;
    assert!(ok, "{err}");
    let line = out.lines().find(|l| l.starts_with(&format!("{seq}  "))).unwrap_or_else(|| panic!("{out}"));
    for part in [id.as_str(), "  sds  ", "create ticket", "attempts 1", "remote 500", "gave up after 1 attempt"] {
        assert!(line.contains(part), "{part:?} missing in {line:?}");
    }
    assert_eq!(out.lines().count(), 1, "{out}");

    let (ok, out, err) = f.cli(&["outbox"]).await;
    assert!(ok, "{err}");
    let waiting: Vec<&str> = out.lines().filter(|l| l.contains(&id) && l.contains("  sds  ")).collect();
    assert!(waiting.iter().any(|l| l.contains("note #1") && l.contains("next ")), "{out}");

    // An unknown dead letter is refused, naming it; nothing changes.
    let (ok, _, err) = f.cli(&["replay", "999999"]).await;
    assert!(!ok);
    assert!(err.contains("dead letter 999999 not found"), "{err}");

    let (ok, out, err) = f.cli(&["replay", &seq.to_string()]).await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("dead letter {seq} is back in the outbox")), "{out}");
    assert!(out.contains(&id) && out.contains("create ticket"), "{out}");

    f.drained().await;
    assert_eq!(f.sds.count(), 1, "delivered once after the replay");
    let national = f.sds.records().remove(0);
    assert!(national.fields.get("cq:Notes_Log").is_some_and(|n| n.contains("Looking into it")), "{national:?}");
    let (ok, out, err) = f.cli(&["dead-letters"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "no dead letters");
    let (ok, out, _) = f.cli(&["outbox"]).await;
    assert!(ok);
    assert_eq!(out.trim(), "the outbox is empty");
    f.stop().await;
}

#[tokio::test]
async fn a_jira_supplier_gets_the_national_clearquest_id_in_its_link_field_and_clearquest_the_jira_key() {
    let mut f = federation(5).await;
    let id = report(&f, "NSP: lookups time out", "NSP").await;
    f.drained().await;
    let national = f.sds.records().remove(0);

    let (status, body) = f
        .call("sds", reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(json!({"assignee": "drift"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.drained().await;
    assert!(items_until(&f, "/api/v1/dead-letters", |_| true).await.is_empty());

    assert_eq!(f.drift.count(), 1);
    let issue = f.drift.issues().remove(0);
    assert_eq!(issue.custom.get("customfield_10043"), Some(&json!(national.display_id)), "{issue:#?}");
    assert_eq!(issue.custom.get("customfield_10042"), Some(&json!(id)));
    let global_id = format!("deskgate:{id}:sds");
    assert!(issue.remote_links.iter().any(|l| l["globalId"] == global_id.as_str()), "{:#?}", issue.remote_links);
    let national = f.sds.record(&national.display_id).unwrap();
    assert!(national.fields.get("cq:deskgate_Links").is_some_and(|l| l.contains(&issue.key)), "{national:?}");
    f.stop().await;
}
