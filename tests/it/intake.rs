//! How a report is taken in (process step 3): outside staffed hours a report that
//! is not urgent waits for the national desk's next working day, 08:00 — and the
//! national desk's ClearQuest record shows until when, until the deferral ends; a
//! report without a priority is classified from its urgency and impact by the
//! configured matrix (a suggestion the national desk can change), then deferred or
//! escalated by that priority; the reporter of an urgent case is told to also phone
//! the national desk.

use crate::kit;

use deskgate::clock::TestClock;
use deskgate_sim::clearquest::SimRecord;
use jiff::{Timestamp, Zoned};
use kit::{Federation, TestGateway};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A wall-clock time in Copenhagen.
fn local(s: &str) -> Timestamp {
    format!("{s}[Europe/Copenhagen]").parse::<Zoned>().unwrap().timestamp()
}

/// Friday 27 November 2026, 17:00: after the national desk's staffed hours.
const FRIDAY_EVENING: &str = "2026-11-27T17:00";
/// Monday 30 November 2026, 08:00 CET, as ClearQuest is given it.
const MONDAY_0800: &str = "2026-11-30T08:00:00+01:00";
const DEFERRED_FIELD: &str = "cq:Deferred_Until";

async fn federation(clock: &TestClock, deferred_field: bool) -> Federation {
    // Deliveries back off on the gateway's clock: let it run, faster than real time.
    kit::run_clock(clock, 5);
    Federation::builder()
        .no_polling()
        .open_rate_limits()
        .on_clock(clock.clone())
        .configure(move |c| {
            // The shipped ruleset's mail and SMS contacts; nothing is sent in these tests.
            c.gateway("escalation", json!({ "undeliverable": "warn" }));
            if deferred_field {
                c.desk_subkey("sds", "clearquest", "deferred_until_field", "Deferred_Until");
            }
            c.gateway("classification", json!({ "low": { "high": "P2", "medium": "P4", "low": "P4" } }));
        })
        .start()
        .await
}

/// Region H reports `title` from its ServiceNow with `extra` fields (priority, urgency…).
async fn report(f: &Federation, title: &str, extra: Value) -> String {
    let mut body = json!({ "title": title, "description": "Reported by phone", "service": "NSP" });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    f.report_ticket(&[("short_description", title), ("description", "Reported by phone")], body).await.0
}

fn national_record(f: &Federation, id: &str) -> SimRecord {
    let records = f.sds.records();
    records
        .iter()
        .find(|r| r.fields.get("cq:deskgate_Incident").map(String::as_str) == Some(id))
        .cloned()
        .unwrap_or_else(|| panic!("no national record of {id}: {records:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_3_a_deferred_report_is_marked_in_the_national_clearquest_with_the_next_working_day_0800() {
    let clock = TestClock::at(local(FRIDAY_EVENING));
    let f = federation(&clock, true).await;
    let waits = report(&f, "SOSI: a certificate expires next week", json!({ "priority": "P3" })).await;
    let taken = report(&f, "NSP: a report page is slow", json!({ "priority": "P4" })).await;
    f.settled().await;
    for id in [&waits, &taken] {
        assert_eq!(f.incident(id).await["deferred_until"], "2026-11-30T07:00:00Z");
        let record = national_record(&f, id);
        assert_eq!(record.fields.get(DEFERRED_FIELD).map(String::as_str), Some(MONDAY_0800), "{record:#?}");
    }

    // The national desk takes one up at once: its deferral ends, and the record shows it.
    let (status, body) = f.patch("sds", &taken, json!({ "assignee": "drift" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("deferred_until").is_none(), "{body}");
    f.settled().await;
    assert_eq!(national_record(&f, &taken).fields.get(DEFERRED_FIELD), None);
    assert_eq!(national_record(&f, &waits).fields.get(DEFERRED_FIELD).map(String::as_str), Some(MONDAY_0800));

    // Monday 08:00: the other one's deferral ends too.
    clock.set(local("2026-11-30T07:59"));
    f.watch.as_ref().unwrap().step().await.unwrap();
    assert_eq!(f.incident(&waits).await["deferred_until"], "2026-11-30T07:00:00Z", "not before 08:00");
    clock.set(local("2026-11-30T08:00"));
    f.watch.as_ref().unwrap().step().await.unwrap();
    f.settled().await;
    assert!(f.incident(&waits).await.get("deferred_until").is_none());
    let record = national_record(&f, &waits);
    assert_eq!(record.fields.get(DEFERRED_FIELD), None, "{record:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_3_without_a_deferral_field_the_national_record_gets_a_note() {
    let clock = TestClock::at(local(FRIDAY_EVENING));
    let mut f = federation(&clock, false).await;
    let id = report(&f, "SOSI: a certificate expires next week", json!({ "priority": "P3" })).await;
    f.settled().await;
    let log = || national_record(&f, &id).fields.get("cq:Notes_Log").cloned().unwrap_or_default();
    assert!(log().contains(&format!("deferred until {MONDAY_0800}")), "{}", log());

    // Kept across a restart: the deferral is the incident's own.
    f.restart().await;
    clock.set(local("2026-11-30T08:30"));
    f.watch.as_ref().unwrap().step().await.unwrap();
    f.settled().await;
    assert!(f.incident(&id).await.get("deferred_until").is_none());
    let log = national_record(&f, &id).fields.get("cq:Notes_Log").cloned().unwrap_or_default();
    assert!(log.contains("The deferral has ended"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_3_a_report_without_priority_is_classified_and_deferred_when_not_urgent() {
    let clock = TestClock::at(local(FRIDAY_EVENING));
    let f = federation(&clock, true).await;

    // Low urgency, medium impact: P4 by the configured matrix; outside staffed hours, deferred.
    let id = report(&f, "NSP: a report page is slow", json!({ "urgency": "low", "impact": "medium" })).await;
    let incident = f.incident(&id).await;
    assert_eq!((incident["priority"].as_str(), incident["priority_classified"].as_bool()), (Some("P4"), Some(true)));
    assert_eq!(incident["deferred_until"], "2026-11-30T07:00:00Z", "{incident}");
    f.settled().await;
    assert_eq!(national_record(&f, &id).fields.get(DEFERRED_FIELD).map(String::as_str), Some(MONDAY_0800));

    // A suggestion: the national desk sets the priority it decides on.
    let (status, body) = f.patch("sds", &id, json!({ "priority": "P3" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["priority"], "P3");
    assert!(body.get("priority_classified").is_none(), "{body}");

    // Low urgency, high impact: the configured matrix says P2 (ITIL would say P3):
    // urgent, so escalated at once and not deferred.
    let urgent = report(&f, "NSP: lookups fail for one region", json!({ "urgency": "low", "impact": "high" })).await;
    let incident = f.incident(&urgent).await;
    assert_eq!(incident["priority"], "P2", "{incident}");
    assert!(incident.get("deferred_until").is_none(), "{incident}");
    let (_, escalations) = f.call("sds", Method::GET, "/api/v1/escalations", None).await;
    let items = escalations["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["incident"] == urgent.as_str()), "{escalations}");
    assert!(items.iter().all(|e| e["incident"] != id.as_str()), "a P3/P4 is not escalated: {escalations}");

    // Through the ServiceNow-compatible API: impact 2 (medium), urgency 3 (low) → P4.
    let sn = json!({ "short_description": "NSP: slow search", "description": "since noon",
                     "business_service": "NSP", "impact": "2", "urgency": "3" });
    let (status, created) = f.call("region-h", Method::POST, "/api/now/table/incident", Some(sn)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, list) = f.call("sds", Method::GET, "/api/v1/incidents?limit=100", None).await;
    let incident = list["items"].as_array().unwrap().iter().find(|i| i["title"] == "NSP: slow search").cloned();
    let incident = incident.unwrap_or_else(|| panic!("{list}"));
    assert_eq!((incident["priority"].as_str(), incident["priority_classified"].as_bool()), (Some("P4"), Some(true)));
    assert_eq!(incident["deferred_until"], "2026-11-30T07:00:00Z", "{incident}");
}

const PHONE: &str = "+45 33143900";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_3_an_urgent_report_is_told_to_phone_the_national_desk() {
    let f = Federation::builder()
        .no_polling()
        .open_rate_limits()
        .configure(|c| {
            c.desk_key("sds", "urgent_phone", PHONE);
        })
        .start()
        .await;
    // Native API: the answer carries the note, and it reaches Region H's ServiceNow ticket.
    let title = "NSP: no lookups anywhere";
    let record = f.region_h.create_as_user(&[("short_description", title), ("description", "down")]).unwrap();
    let sys_id = record["sys_id"].clone();
    let body = json!({ "title": title, "description": "down", "service": "NSP", "priority": "P1",
                       "ticket_id": sys_id, "display_id": record["number"] });
    let (status, answer) = f.call("region-h", Method::POST, "/api/v1/incidents", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let notes = answer["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n["body"].as_str().unwrap().contains(PHONE) && n["visibility"] == "public"),
        "{answer}"
    );
    f.settled().await;
    let journal = f.region_h.journal(&sys_id);
    assert!(journal.iter().any(|j| j.element == "comments" && j.value.contains(PHONE)), "{journal:#?}");

    // A P3 is not told to phone.
    let (id, sys_id) = f
        .report_ticket(
            &[("short_description", "NSP: slow"), ("description", "slow")],
            json!({ "title": "NSP: slow", "description": "slow", "service": "NSP", "priority": "P3" }),
        )
        .await;
    f.settled().await;
    assert!(f.incident(&id).await["notes"].as_array().unwrap().is_empty());
    assert!(f.region_h.journal(&sys_id).iter().all(|j| !j.value.contains(PHONE)));
}

#[tokio::test]
async fn step_3_an_urgent_report_through_the_servicenow_and_jira_apis_is_told_to_phone() {
    let gw = TestGateway::start_edited(
        |c| {
            c.desk_key("sds", "urgent_phone", PHONE);
        },
        reqwest::Client::new(),
    )
    .await;
    // ServiceNow: impact 1, urgency 1 is a P1; the created record's comments (a
    // journal, shown as its display value) say it.
    let sn = json!({ "short_description": "FMK down", "description": "fails", "business_service": "FMK",
                     "impact": "1", "urgency": "1" });
    let path = "/api/now/table/incident?sysparm_display_value=all";
    let created: Value = gw.send("region-h", Method::POST, path, &sn).await.json().await.unwrap();
    let comments = created["result"]["comments"].to_string();
    assert!(comments.contains(PHONE), "{created:#}");

    // Jira: the created issue's comments say it.
    let issue = json!({"fields": {"project": {"key": "DG"}, "issuetype": {"name": "Incident"},
        "summary": "FMK down", "description": "fails", "components": [{"name": "FMK"}],
        "priority": {"name": "Highest"}, "customfield_10100": "RM-1"}});
    let res = gw.send("region-m", Method::POST, "/rest/api/2/issue", &issue).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    let comments: Value = gw.get("region-m", &format!("/rest/api/2/issue/{key}/comment")).await.json().await.unwrap();
    assert!(comments.to_string().contains(PHONE), "{comments:#}");

    // A bad number is refused at check-config, with its key path.
    let dir = tempfile::tempdir().unwrap();
    let mut c = kit::GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024);
    c.desk_key("sds", "urgent_phone", "call us");
    let problems = c.load(&kit::env()).unwrap_err();
    assert!(problems.iter().any(|p| p.path == "desks.sds.urgent_phone"), "{problems:?}");
}

#[test]
fn step_3_a_bad_classification_is_refused_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = kit::GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024);
    c.gateway("classification", json!({ "low": { "high": "P5", "medium": "P4", "low": "P4" } }));
    let problems = c.load(&kit::env()).unwrap_err();
    assert!(problems.iter().any(|p| p.path == "gateway.classification.low.high"), "{problems:?}");
}
