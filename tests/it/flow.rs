//! The NSP flow end to end, against the simulators: a local desk's report reaches the
//! national desk's ClearQuest, is assigned to a supplier, and every change flows
//! back to whoever needs it, in their own tool, once.

use crate::kit;

use std::time::Duration;

use deskgate::startup::Application;
use deskgate_sim::Fault;
use kit::{Federation, ref_of};
use reqwest::StatusCode;
use serde_json::json;

/// The flow's federation: `max_attempts` per delivery, ClearQuest polled every `poll_ms`.
async fn federation(max_attempts: u64, poll_ms: u64) -> Federation {
    Federation::builder().max_attempts(max_attempts).poll_ms(Some(poll_ms)).start().await
}

/// Region H's operator creates a ticket in ServiceNow and forwards it.
async fn report(f: &Federation, title: &str, service: &str) -> (String, String) {
    let fields =
        [("short_description", title), ("description", "Reported by phone"), ("impact", "1"), ("urgency", "2")];
    let body = json!({
        "title": title, "description": "Reported by phone", "service": service,
        "urgency": "medium", "impact": "high",
    });
    f.report_ticket(&fields, body).await
}

/// An FMK report, delivered: (incident id, sys_id, its ClearQuest record's display id).
async fn at_the_national_desk(f: &Federation) -> (String, String, String) {
    let (id, sys_id) = report(f, "FMK: medication list empty", "FMK").await;
    f.drained().await;
    let national = f.sds.records().remove(0).display_id;
    (id, sys_id, national)
}

#[tokio::test]
async fn a_reported_incident_reaches_the_national_desk_is_assigned_and_its_resolution_flows_back() {
    let mut f = federation(5, 100).await;
    let (id, sys_id) = report(&f, "FMK: prescriptions cannot be read", "FMK").await;

    // Forwarded to the national desk's ClearQuest, cross-referenced.
    f.drained().await;
    assert_eq!(f.sds.count(), 1);
    let national = f.sds.records().remove(0);
    assert_eq!(national.fields.get("cq:Headline").map(String::as_str), Some("FMK: prescriptions cannot be read"));
    assert_eq!(national.fields.get("cq:deskgate_Incident").map(String::as_str), Some(id.as_str()));
    let incident = f.incident(&id).await;
    assert_eq!(ref_of(&incident, "sds").unwrap()["display_id"], national.display_id.as_str());

    // Triage: P2, assigned to the FMK supplier → its own ClearQuest record, linked both ways.
    let (status, _) = f
        .call(
            "sds",
            reqwest::Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Some(json!({"priority": "P2", "assignee": "fmk"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    assert_eq!(f.fmk.count(), 1, "one record at the supplier");
    let supplier = f.fmk.records().remove(0);
    assert_eq!(supplier.fields.get("cq:Priority").map(String::as_str), Some("2-Major"));
    let national = f.sds.record(&national.display_id).unwrap();
    assert!(national.fields.get("cq:deskgate_Links").is_some_and(|l| l.contains(&supplier.display_id)), "{national:?}");
    assert!(supplier.fields.get("cq:deskgate_Links").is_some_and(|l| l.contains(&national.display_id)), "{supplier:?}");
    assert_eq!(f.drift.count(), 0, "FMK incidents do not reach the operations supplier");
    // The origin hears of the new priority in its own vocabulary.
    let origin = f.region_h.record(&sys_id).unwrap();
    assert_eq!((origin["impact"].as_str(), origin["urgency"].as_str()), ("1", "2"));

    // The supplier resolves with notes → national desk and origin are told, each in its dialect.
    let (status, _) = f
        .call(
            "fmk",
            reqwest::Method::POST,
            &format!("/api/v1/incidents/{id}/notes"),
            Some(json!({"body": "Expired certificate on the FMK gateway renewed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = f
        .call("fmk", reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(json!({"status": "resolved"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.drained().await;
    assert_eq!(f.sds.record(&national.display_id).unwrap().state, "Resolved");
    let origin = f.region_h.record(&sys_id).unwrap();
    assert_eq!(origin["state"], "6", "resolved at the origin");
    assert!(origin["close_notes"].contains("Expired certificate"), "{origin:?}");
    assert!(f.region_h.journal(&sys_id).iter().any(|j| j.value.contains("Expired certificate")));

    // Nothing was created twice anywhere.
    assert_eq!((f.sds.count(), f.fmk.count(), f.region_h.count()), (1, 1, 1));
    f.stop_with_no_dead_letters().await;
}

#[tokio::test]
async fn a_supplier_that_fails_then_recovers_gets_the_incident_once() {
    // Polling off (hourly): the injected faults are for the deliveries.
    let mut f = federation(8, 3_600_000).await;
    f.sds.faults().push([Fault::ServerError, Fault::RateLimited { retry_after_secs: 1 }, Fault::Unavailable]);
    let (id, _) = report(&f, "NSP: lookups time out", "NSP").await;
    f.drained().await;
    assert_eq!(f.sds.count(), 1, "created once despite three failures");
    assert_eq!(f.sds.faults().pending(), 0);
    assert!(ref_of(&f.incident(&id).await, "sds").is_some());

    // Assigned to the operations supplier (Jira) under a 429 storm.
    f.drift.faults().push((0..4).map(|_| Fault::RateLimited { retry_after_secs: 0 }));
    let (status, _) = f
        .call("sds", reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(json!({"assignee": "drift"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    assert_eq!(f.drift.count(), 1);
    f.stop_with_no_dead_letters().await;
}

#[tokio::test]
async fn exhausted_retries_become_a_dead_letter_that_holds_its_lane_until_replayed() {
    let mut f = federation(2, 3_600_000).await;
    f.sds.faults().push([Fault::ServerError, Fault::ServerError]);
    let (id, _) = report(&f, "SOSI: token service unavailable", "SOSI").await;
    let dead = f.dead_letters_eventually().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["remote_status"], 500);
    assert!(dead[0]["error"].as_str().unwrap().contains("gave up after 2 attempts"));
    assert_eq!(f.sds.count(), 0);

    // A later change to the same incident waits behind the dead letter.
    assert_eq!(f.note("sds", &id, "Looking into it").await, StatusCode::CREATED);

    // Only the national desk replays.
    let seq = dead[0]["item"]["seq"].as_u64().unwrap();
    let (status, _) = f.call("fmk", reqwest::Method::POST, &format!("/api/v1/dead-letters/{seq}/replay"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = f.call("sds", reqwest::Method::POST, &format!("/api/v1/dead-letters/{seq}/replay"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    f.drained().await;
    assert_eq!(f.sds.count(), 1);
    assert!(f.dead_letters().await.is_empty());
    assert!(ref_of(&f.incident(&id).await, "sds").is_some());
    f.stop().await;
}

#[tokio::test]
async fn triage_in_the_national_clearquest_is_picked_up_and_assigns_the_supplier_by_service() {
    let mut f = federation(5, 100).await;
    let (id, sys_id, national) = at_the_national_desk(&f).await;

    // The national desk works in ClearQuest: P1, assigned, and a note for the reporter.
    f.sds.action_as_user(&national, "Assign", [("cq:Priority", "1-Critical")]).unwrap();
    f.sds.add_note_as_user(&national, "sds.agent", "Escalated to the FMK Incident Manager").unwrap();
    let incident = f
        .incident_once(&id, Duration::from_secs(5), |i| {
            i["assignee"] == "fmk" && i["notes"].as_array().is_some_and(|n| !n.is_empty())
        })
        .await;
    assert_eq!(incident["priority"], "P1", "{incident:#}");
    assert_eq!(incident["status"], "assigned");
    assert_eq!(incident["assignee"], "fmk", "FMK incidents go to the FMK supplier");
    f.drained().await;
    assert_eq!(f.fmk.count(), 1);
    assert_eq!(f.fmk.records()[0].fields.get("cq:Priority").map(String::as_str), Some("1-Critical"));
    // The reporter sees the new priority in ServiceNow; the national desk's ClearQuest
    // note is internal: it reaches the supplier, not the reporter.
    let origin = f.region_h.record(&sys_id).unwrap();
    assert_eq!((origin["impact"].as_str(), origin["urgency"].as_str()), ("1", "1"));
    assert!(!f.region_h.journal(&sys_id).iter().any(|j| j.value.contains("Escalated to the FMK Incident Manager")));
    let supplier_notes = f.fmk.records()[0].fields.get("cq:Notes_Log").cloned().unwrap_or_default();
    assert!(supplier_notes.contains("Escalated to the FMK Incident Manager"), "{supplier_notes}");

    // Polling again finds nothing new: no second note, no second record.
    tokio::time::sleep(Duration::from_millis(300)).await;
    f.drained().await;
    let notes = f.incident(&id).await["notes"].as_array().unwrap().len();
    assert_eq!(notes, 1, "the polled journal is not re-added");
    assert_eq!(f.fmk.count(), 1);
    f.stop().await;
}

#[tokio::test]
async fn a_restart_does_not_read_a_polled_change_as_new_again() {
    // Polling by hand (hourly otherwise), so each poll is this test's.
    let mut f = federation(5, 3_600_000).await;
    let (id, _, national) = at_the_national_desk(&f).await;
    f.sds.action_as_user(&national, "Assign", [("cq:Priority", "2-Major")]).unwrap();
    f.sds.add_note_as_user(&national, "sds.agent", "Looking into it with FMK").unwrap();
    let sds: deskgate::model::DeskId = "sds".parse().unwrap();
    let first = f.poller.as_ref().unwrap().poll(&sds).await.unwrap();
    assert_eq!(first.applied, 1, "{first:?}");
    assert_eq!(f.incident(&id).await["priority"], "P2");
    // The assignment links the supplier's record into the national one: a version of
    // deskgate's own making, read (and known as an echo) by the next poll.
    f.drained().await;
    let echo = f.poller.as_ref().unwrap().poll(&sds).await.unwrap();
    assert_eq!((echo.applied, echo.parked), (0, 0), "{echo:?}");

    // Stopped and started again on the same store: the next poll re-reads the record
    // (it is inside the overlap) and knows it for what was already applied.
    f.stop().await;
    let again = Application::build(f.config.clone()).await.expect("gateway starts again");
    let after_restart = again.poller().poll(&sds).await.unwrap();
    assert!(after_restart.seen >= 1, "the overlap re-reads the record: {after_restart:?}");
    assert_eq!(after_restart.repeats, after_restart.seen, "{after_restart:?}");
    assert_eq!((after_restart.applied, after_restart.parked), (0, 0));
    let audit = again.gateway().audit_entries(None, 1000).await.unwrap();
    let from_sds = audit.iter().filter(|(_, e)| e.reason.starts_with("change from sds ticket")).count();
    assert_eq!(from_sds, 1, "one change from the national desk, applied once: {audit:#?}");
}

#[tokio::test]
async fn a_polled_clearquest_note_with_patient_data_is_not_applied_but_the_triage_is() {
    let mut f = federation(5, 100).await;
    let (id, sys_id, national) = at_the_national_desk(&f).await;

    // A note typed into ClearQuest with a CPR number, and a triage in the same record.
    f.sds.add_note_as_user(&national, "sds.agent", "Borger 010203\u{2013}1047 ringer igen").unwrap();
    f.sds.action_as_user(&national, "Assign", [("cq:Priority", "1-Critical")]).unwrap();
    let incident = f
        .incident_once(&id, Duration::from_secs(5), |i| {
            i["assignee"] == "fmk" && i["notes"].as_array().is_some_and(|n| !n.is_empty())
        })
        .await;
    assert_eq!(incident["assignee"], "fmk", "the rest of the report is applied: {incident:#}");
    assert_eq!(incident["priority"], "P1");
    let notes = incident["notes"].as_array().unwrap();
    assert!(notes.iter().all(|n| !n["body"].as_str().unwrap().contains("ringer igen")), "{notes:?}");
    assert!(
        notes.iter().any(|n| n["visibility"] == "internal"
            && n["body"].as_str().unwrap().contains("note contains a Danish CPR number")),
        "the national desk is told: {notes:?}"
    );
    assert!(!incident.to_string().contains("010203"));
    f.drained().await;
    // Neither the supplier nor the reporter hears the number.
    let supplier_notes = f.fmk.records()[0].fields.get("cq:Notes_Log").cloned().unwrap_or_default();
    assert!(!supplier_notes.contains("010203"), "{supplier_notes}");
    assert!(!f.region_h.journal(&sys_id).iter().any(|j| j.value.contains("010203")));
    f.stop().await;
}

#[tokio::test]
async fn a_triage_in_the_national_clearquest_reaches_the_supplier_long_before_the_idle_poll_interval() {
    // The shipped idle interval (30 s) with a short minimum: the delivery to the
    // national desk, and the changes it brings, keep that desk's polls short.
    let mut f = Federation::builder().max_attempts(5).poll_ms(Some(30_000)).poll_min_ms(200).start().await;
    let (id, _, national) = at_the_national_desk(&f).await;
    let triaged = std::time::Instant::now();
    f.sds.action_as_user(&national, "Assign", [("cq:Priority", "1-Critical")]).unwrap();
    kit::eventually(Duration::from_secs(20), "the supplier's record", async || (f.fmk.count() == 1).then_some(()))
        .await;
    let lag = triaged.elapsed();
    assert!(lag < Duration::from_secs(10), "triage to supplier took {lag:?}, poll_ms is 30 s");
    assert_eq!(f.incident(&id).await["assignee"], "fmk");
    f.stop().await;
}
