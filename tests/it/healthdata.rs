//! The healthdata.be Incident Management Process (seed "HD Incident Management
//! Process") as the shipped profile (`deploy/healthdata/gateway.toml`,
//! `[gateway.process]`) runs it: the priority matrix (I03 (2)), working days and
//! closing days (Definitions), hold reasons (I07, I12, I13), auto-close and the
//! reporter's reopen (I08), and reclassification between request and incident
//! (Definition and scope: relation with the Request Management Process).
//!
//! The end-to-end tests run the profile on the test federation: Region H reports
//! from its ServiceNow, the national desk is on ClearQuest, the supplier on Jira.

use std::path::Path;

use deskgate::clock::TestClock;
use deskgate::config::{Config, MapEnv};
use deskgate::model::process::{Impact, Importance};
use jiff::Timestamp;
use jiff::civil::date;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{self, Federation, Fmk, ref_of};

const SHIPPED: &str = include_str!("../../deploy/healthdata/gateway.toml");

/// The shipped healthdata.be configuration, loaded with every secret it references set.
fn shipped() -> Config {
    let env = SHIPPED
        .split("env = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .fold(MapEnv::new(false), |env, name| env.with(name, "a-test-value-of-some-length"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/healthdata");
    Config::from_toml(SHIPPED, &dir, &env).unwrap_or_else(|p| panic!("{p:?}"))
}

/// The shipped `[gateway.process]` table, to run on the test federation.
fn shipped_process() -> toml::Value {
    let table: toml::Table = SHIPPED.parse().unwrap();
    table["gateway"]["process"].clone()
}

async fn federation(clock: Option<TestClock>) -> Federation {
    let mut b = Federation::builder()
        .max_attempts(50)
        .poll_ms(None)
        .open_rate_limits()
        .fmk(Fmk::Native)
        .servicenow_pushes()
        .configure(|c| {
            c.gateway("process", shipped_process());
            c.gateway("escalation", json!({ "check_ms": 50 }));
        });
    if let Some(clock) = clock {
        b = b.clock(clock);
    }
    b.start().await
}

/// Region H reports on `service` with `impact` from its ServiceNow: (incident, sys_id).
async fn reported(f: &Federation, service: &str, impact: &str) -> (Value, String) {
    let title = format!("{service}: registrations fail");
    let fields = [("short_description", title.as_str()), ("description", "Seen by several registrars")];
    let body =
        json!({"title": title, "description": "Seen by several registrars", "service": service, "impact": impact});
    let (id, sys_id) = f.report_ticket(&fields, body).await;
    (f.incident(&id).await, sys_id)
}

/// Reported (a SILVER service, medium impact: P04) and assigned to the supplier:
/// (incident id, sys_id, the supplier's Jira key).
async fn assigned(f: &Federation) -> (String, String, String) {
    let (incident, sys_id) = reported(f, "HEALTHSTAT", "medium").await;
    let id = incident["id"].as_str().unwrap().to_owned();
    let (status, body) = f.patch("sds", &id, json!({"assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    let incident = f.incident(&id).await;
    let key = ref_of(&incident, "drift").expect("a Jira issue")["remote_id"].as_str().unwrap().to_owned();
    (id, sys_id, key)
}

/// The supplier resolves `id`; settled.
async fn resolved_by_the_supplier(f: &Federation, id: &str) {
    let (status, body) = f.patch("drift", id, json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
}

/// On a running clock from Friday 30 October 2026 09:00, an incident assigned to the
/// supplier and resolved by it: (the clock, the federation, incident id, sys_id, Jira key).
async fn resolved_on_friday() -> (TestClock, Federation, String, String, String) {
    let clock = running_clock("2026-10-30T09:00:00Z");
    let f = federation(Some(clock.clone())).await;
    let (id, sys_id, key) = assigned(&f).await;
    resolved_by_the_supplier(&f, &id).await;
    (clock, f, id, sys_id, key)
}

/// A test clock that runs ten times faster than the wall clock from `start`: the
/// outbox's retry schedule reads it, so it must move; the test sets it to jump days.
fn running_clock(start: &str) -> TestClock {
    let clock = TestClock::at(at(start));
    kit::run_clock(&clock, 10);
    clock
}

fn message(body: &Value) -> String {
    body["message"].as_str().or(body["error"]["message"].as_str()).unwrap_or_default().to_owned()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn healthdata_priority_every_cell_of_the_matrix_is_the_seeds() {
    // I03 (2): "The priority is calculated as follows" — the seed's table.
    let table = [
        (Importance::Gold, [("high", "P01"), ("medium", "P02"), ("low", "P08"), ("none", "P40")]),
        (Importance::Silver, [("high", "P02"), ("medium", "P04"), ("low", "P16"), ("none", "P40")]),
        (Importance::Bronze, [("high", "P04"), ("medium", "P08"), ("low", "P40"), ("none", "P40")]),
    ];
    let config = shipped();
    let profile = config.gateway.process.as_ref().expect("the shipped profile");
    let service_of = |importance: Importance| {
        profile.priority.services.iter().find(|(_, i)| **i == importance).map(|(s, _)| s.clone()).unwrap()
    };
    for (importance, row) in table {
        for (impact, want) in row {
            let c = profile.priority.classify(&service_of(importance), Impact::parse(impact).unwrap()).unwrap();
            assert_eq!(c.name, want, "{importance:?} × {impact}");
        }
    }
    // Only P01 and P02 escalate to a person (canonical P1, P2).
    let major: Vec<_> =
        profile.priority.canonical.iter().filter(|(_, p)| p.is_major()).map(|(n, _)| n.as_str()).collect();
    assert_eq!(major, ["P01", "P02"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthdata_priority_a_gold_service_with_high_impact_is_p01() {
    let f = federation(None).await;
    let (gold_high, _) = reported(&f, "HD4DP", "high").await;
    assert_eq!(gold_high["process"]["importance"], "gold", "{gold_high:#}");
    assert_eq!(gold_high["process"]["priority"], "P01", "{gold_high:#}");
    assert_eq!(gold_high["priority"], "P1", "P01 escalates as P1");
    let (silver_medium, _) = reported(&f, "HEALTHSTAT", "medium").await;
    assert_eq!(silver_medium["process"]["priority"], "P04", "{silver_medium:#}");
    assert_eq!(silver_medium["priority"], "P3");
    // The reporter's copy is told the priority the matrix gave.
    f.settled().await;
    let id = silver_medium["id"].as_str().unwrap();
    let (status, seen) = f.incident_as("region-h", id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["process"]["priority"], "P04", "the reporter sees the profile's priority: {seen:#}");

    // "When the situation changes over time, Impact and Priority will be adapted."
    let (status, body) = f.patch("sds", id, json!({"priority": "P2"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["process"]["priority"], "P02", "the name follows the national desk's priority: {body:#}");
    let (_, body) = f.patch("sds", id, json!({"priority": "P4"})).await;
    assert!(body["process"]["priority"].is_null(), "P08, P16 and P40 are all P4: no stale name: {body:#}");
}

#[test]
fn healthdata_working_hours_the_belgian_closing_days_are_not_working_days() {
    // Definitions: "Closing days of the Service Desk Center: 1 January, Easter Monday,
    // 1 May, Ascension day, White Monday, 21 July, 15 August, 1 November, 2 November,
    // 11 November, 25 December, 26 December." Working days: all weekdays except those.
    let config = shipped();
    let cal = &config.gateway.process.as_ref().unwrap().calendar;
    for year in [2026, 2027] {
        let easter = deskgate::model::process::easter_sunday(year).unwrap();
        let moving = [1, 39, 50].map(|d| easter.checked_add(jiff::Span::new().days(d)).unwrap());
        let fixed = [(1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 2), (11, 11), (12, 25), (12, 26)]
            .map(|(m, d)| date(year, m, d));
        for day in moving.into_iter().chain(fixed) {
            assert!(cal.closing_day(day).is_some(), "{day} is a closing day");
            assert!(!cal.is_working_day(day), "{day}");
        }
    }
    for day in [date(2026, 11, 3), date(2026, 12, 24), date(2026, 12, 28), date(2027, 1, 4)] {
        assert!(cal.is_working_day(day), "{day} is an ordinary weekday");
    }
    assert!(!cal.is_working_day(date(2026, 12, 5)), "Saturdays are not working days");
    // Working hours 8:00-16:30 Brussels: five working days from Friday 30 October 2026
    // 10:00 skip Monday 2 November (All Souls' Day): Tuesday 3 … Monday 9 November.
    assert_eq!(cal.add_working_days(at("2026-10-30T09:00:00Z"), 5), at("2026-11-09T09:00:00Z"));
    // A resolution after 16:30 counts from the end of the working day.
    assert_eq!(cal.add_working_days(at("2026-10-30T17:00:00Z"), 5), at("2026-11-09T15:30:00Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthdata_awaiting_problem_is_distinct_from_awaiting_change() {
    // I13: no change required but not solved: "On hold", "Awaiting problem". I12: a
    // change is required: "On hold", "Awaiting change".
    let f = federation(None).await;
    let (id, sys_id, key) = assigned(&f).await;

    // (who, the reference, status, hold reason, Region H's state and hold reason, Jira's
    // status, whether Region H's journal is checked for the hold)
    let steps = [
        ("sds", "problem", "HDPRB-7", "on_hold", "awaiting_problem", ("3", "3"), "Pending", true),
        ("drift", "rfc", "HDCHG-8", "pending_release", "awaiting_change", ("3", "5"), "Pending Release", false),
    ];
    for (desk, kind, rfc, status, hold_reason, (state, origin_hold), jira_status, journalled) in steps {
        let (code, body) = f.patch(desk, &id, json!({"rfc": {"kind": kind, "key": rfc}})).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body["status"], status, "{body:#}");
        assert_eq!(body["process"]["hold_reason"], hold_reason, "{body:#}");
        f.settled().await;
        let origin = f.region_h.record(&sys_id).unwrap();
        assert_eq!(
            (origin["state"].as_str(), origin["hold_reason"].as_str()),
            (state, origin_hold),
            "{hold_reason}: {origin:?}"
        );
        assert_eq!(f.drift.issue(&key).unwrap().status, jira_status);
        if journalled {
            // "On hold, awaiting problem HDPRB-7"
            let entry = format!("On hold, {} {rfc}", hold_reason.replace('_', " "));
            let journal = f.region_h.journal(&sys_id);
            assert!(journal.iter().any(|j| j.value.contains(&entry)), "{journal:#?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthdata_auto_close_five_working_days_after_resolution() {
    // I08: "After 5 working days, the ticket will be automatically set to the status
    // 'closed'." Friday 30 October 2026 10:00 Brussels; Monday 2 November is closed.
    let clock = running_clock("2026-10-30T09:00:00Z");
    let mut f = federation(Some(clock.clone())).await;
    let (id, sys_id, key) = assigned(&f).await;
    let (status, body) = f.patch("drift", &id, json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Resolved a moment after 10:00 on Friday: closes at that time on Monday 9 November.
    let closes = body["process"]["auto_close_at"].as_str().map(at).expect("an auto-close instant");
    assert!(closes >= at("2026-11-09T09:00:00Z") && closes < at("2026-11-09T09:05:00Z"), "{body:#}");
    f.settled().await;

    clock.set(at("2026-11-09T08:58:00Z"));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(f.incident(&id).await["status"], "resolved", "not before the fifth working day");

    // Restart-safe: the instant is in the incident.
    f.restart().await;
    clock.set(closes);
    kit::eventually(std::time::Duration::from_secs(10), "the auto-close", async || {
        (f.incident(&id).await["status"] == "closed").then_some(())
    })
    .await;
    f.settled().await;
    let incident = f.incident(&id).await;
    let closed = incident["history"].as_array().unwrap().iter().rev().find(|h| h["to"] == "closed").cloned().unwrap();
    assert_eq!(closed["actor"], "sds", "closed by the national desk: {closed}");
    assert_eq!(f.drift.issue(&key).unwrap().status, "Closed", "the supplier's copy closes");
    let journal = f.region_h.journal(&sys_id);
    assert!(journal.iter().any(|j| j.value.contains("Closed nationally")), "the reporter is told: {journal:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthdata_the_reporter_reopens_within_the_window_and_every_copy_follows() {
    // I08: "the end-user has 5 working days left to re-open the ticket."
    let (clock, f, id, sys_id, key) = resolved_on_friday().await;
    assert_eq!(f.region_h.record(&sys_id).unwrap()["state"], "6");

    // In the reporter's own ServiceNow: the record back to In Progress, pushed.
    clock.set(at("2026-11-06T09:00:00Z"));
    f.region_h.update_as_user(&sys_id, &[("state", "2")]).unwrap();
    kit::eventually(std::time::Duration::from_secs(10), "the reopen from ServiceNow", async || {
        (f.incident(&id).await["status"] == "in_progress").then_some(())
    })
    .await;
    f.settled().await;
    let incident = f.incident(&id).await;
    assert!(incident["process"]["auto_close_at"].is_null(), "the window ends with the reopen: {incident:#}");
    assert_eq!(f.drift.issue(&key).unwrap().status, "In Progress", "the supplier's copy reopens");

    // Resolved again, and reopened through the native API by the reporter.
    resolved_by_the_supplier(&f, &id).await;
    let (status, body) = f.patch("region-h", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    assert_eq!(f.drift.issue(&key).unwrap().status, "In Progress");
    assert_eq!(f.region_h.record(&sys_id).unwrap()["state"], "2");
    // A reporter may only reopen: nothing else.
    let (status, body) = f.patch("region-h", &id, json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthdata_after_close_a_new_ticket_is_needed() {
    // I08: "The end-user will not be able to re-open the ticket, and has to create a
    // new incident ticket."
    let (clock, f, id, sys_id, _) = resolved_on_friday().await;
    clock.set(at("2026-11-10T09:00:00Z"));
    kit::eventually(std::time::Duration::from_secs(10), "the auto-close", async || {
        (f.incident(&id).await["status"] == "closed").then_some(())
    })
    .await;
    f.settled().await;

    let (status, body) = f.patch("region-h", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("a new ticket is needed"), "{body}");
    assert_eq!(f.incident(&id).await["status"], "closed", "the refusal changes nothing");

    // From the reporter's ServiceNow: not applied, and the national desk is told why.
    f.region_h.update_as_user(&sys_id, &[("state", "2")]).unwrap();
    f.settled().await;
    let incident = f.incident(&id).await;
    assert_eq!(incident["status"], "closed");
    let notes = incident["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n["body"].as_str().unwrap().contains("a new ticket is needed")), "{notes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthdata_a_request_that_is_an_incident_is_reclassified() {
    // "Requests that are entered in the system, but are in fact Incidents, are
    // transferred from Request to Incident" (and I02 the reverse).
    let f = federation(None).await;
    let (id, sys_id, key) = assigned(&f).await;
    let (status, body) = f.patch("drift", &id, json!({"kind": "service_request"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the national desk reclassifies: {body}");

    let (status, body) = f.patch("sds", &id, json!({"kind": "service_request"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "service_request");
    let (status, body) = f.patch("sds", &id, json!({"kind": "incident"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "incident");
    f.settled().await;

    let kinds: Vec<_> = body["history"].as_array().unwrap().iter().filter(|h| h["field"] == "kind").collect();
    assert_eq!(kinds.len(), 2, "{kinds:#?}");
    let audit = f.audit().await;
    assert!(
        audit.iter().any(|e| e["desk"] == "sds" && e["reason"].as_str().unwrap_or_default().contains("kind")),
        "{audit:#?}"
    );
    // Every copy is told: the reporter's ServiceNow and the supplier's Jira.
    let journal = f.region_h.journal(&sys_id);
    assert!(journal.iter().any(|j| j.value.contains("is an incident, not a service request")), "{journal:#?}");
    let comments = f.drift.issue(&key).unwrap().comments;
    assert!(comments.iter().any(|c| c.body.contains("is a service request, not an incident")), "{comments:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthdata_a_request_is_reclassified_through_the_national_servicenow_record() {
    // The national desk on ServiceNow: the record's `u_type` is the kind, and the
    // record shows the profile's priority beside ServiceNow's.
    use kit::{TestGateway, request as call};
    use reqwest::Method;
    let gw = TestGateway::start_edited(
        |c| {
            crate::servicenow_api::servicenow_federation(c);
            c.gateway("process", shipped_process());
        },
        reqwest::Client::new(),
    )
    .await;
    let body = json!({
        "short_description": "HEALTHSTAT: dashboards are empty", "description": "Seen by a group of users",
        "business_service": "HEALTHSTAT", "impact": "2", "urgency": "2", "correlation_id": "hd-1",
    });
    let created = call(&gw, Method::POST, "region-h", "/api/now/table/incident", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let record = &created.body["result"];
    assert_eq!((record["u_type"].as_str(), record["u_process_priority"].as_str()), (Some("incident"), Some("P04")));
    let path = format!("/api/now/table/incident/{}", record["sys_id"].as_str().unwrap());

    let refused = call(&gw, Method::PATCH, "sds", &path, Some(json!({"u_type": "request"}))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.body["status"], "failure");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("u_type"), "{}", refused.body);
    let moved = call(&gw, Method::PATCH, "sds", &path, Some(json!({"u_type": "service_request"}))).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["result"]["u_type"], "service_request");
    let id = record["u_deskgate_incident"].as_str().unwrap();
    let incident: Value = gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap();
    assert_eq!(incident["kind"], "service_request");
    let notes = incident["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n["body"].as_str().unwrap().contains("is a service request")), "{notes:#?}");

    // Resolved through the record with a comment: the auto-close window starts too.
    let resolve =
        json!({"state": "6", "close_code": "Solution provided", "close_notes": "Restarted", "comments": "Fixed"});
    let resolved = call(&gw, Method::PATCH, "sds", &path, Some(resolve)).await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
    let incident: Value = gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap();
    assert_eq!(incident["status"], "resolved");
    assert!(incident["process"]["auto_close_at"].is_string(), "{incident:#}");
}
