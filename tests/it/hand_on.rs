//! Handing an incident on between suppliers (process steps 5b and 6): the operations
//! supplier hands an application issue to the application supplier, which becomes
//! the assignee and gets its copy while the operations supplier's copy is told it is
//! no longer kept in step; the application supplier involves a component supplier,
//! which gets a copy but is not the assignee. The national desk is told by a note in
//! its ClearQuest. Only suppliers configured to hand on (to whom) may.

use crate::kit;

use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use kit::{Desk, Federation, ref_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const JIRA_HOOK_SECRET: &str = "drift-webhook-secret";

/// The federation with the operations supplier allowed to hand on to the FMK
/// application supplier, which may involve the SOSI component supplier (on its own
/// ClearQuest, `sosi`).
async fn federation(sosi: &ClearQuestSim) -> Federation {
    let sosi_url = sosi.base_url().to_owned();
    Federation::builder()
        .no_polling()
        .jira_hook_secret(JIRA_HOOK_SECRET)
        .jira_webhooks(JIRA_HOOK_SECRET)
        // The Jira users that stand for the other suppliers.
        .drift_jira_value("hand_on_assignees", json!({ "fmk-queue": "fmk", "sosi-queue": "sosi" }))
        .open_rate_limits()
        .configure(move |c| {
            c.desk_key("drift", "hand_on", json!({ "to": ["fmk"] }));
            c.desk_key("fmk", "hand_on", json!({ "involve": ["sosi"] }));
            c.desk(
                "sosi",
                Desk::known("sosi", "SOSI component supplier", "supplier", "clearquest")
                    .endpoint(&sosi_url)
                    .services(&["SOSI"])
                    .basic_credentials("deskgate", "T_CQ_PASSWORD")
                    .set(
                        "clearquest",
                        json!({ "repo": "7.0.0", "db": "SOSI", "poll_ms": 3_600_000, "poll_min_ms": 3_600_000 }),
                    ),
            );
        })
        .start()
        .await
}

async fn sosi_sim() -> ClearQuestSim {
    ClearQuestSim::spawn(ClearQuestSimConfig { db: "SOSI".into(), ..Default::default() }).await.unwrap()
}

/// Region H reports an FMK problem; the national desk assigns it to the operations
/// supplier: (incident id, the operations supplier's Jira key).
async fn at_operations(f: &Federation, title: &str) -> (String, String) {
    let body = json!({ "title": title, "description": "Prescriptions fail", "service": "FMK", "priority": "P3" });
    let (id, _) = f.report_ticket(&[("short_description", title), ("description", "Prescriptions fail")], body).await;
    let (status, body) = f.patch("sds", &id, json!({ "assignee": "drift" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    let key = ref_of(&f.incident(&id).await, "drift").expect("a Jira issue")["remote_id"].as_str().unwrap().to_owned();
    (id, key)
}

async fn hand_on(f: &Federation, desk: &str, id: &str, body: Value) -> (StatusCode, Value) {
    f.call(desk, Method::POST, &format!("/api/v1/incidents/{id}/hand-on"), Some(body)).await
}

fn national_log(f: &Federation, id: &str) -> String {
    f.sds
        .records()
        .into_iter()
        .find(|r| r.fields.get("cq:deskgate_Incident").map(String::as_str) == Some(id))
        .and_then(|r| r.fields.get("cq:Notes_Log").cloned())
        .unwrap_or_default()
}

fn copy_in(sim: &ClearQuestSim, id: &str) -> bool {
    sim.records().iter().any(|r| r.fields.get("cq:deskgate_Incident").map(String::as_str) == Some(id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_5b_the_operations_supplier_hands_an_application_issue_to_the_application_supplier() {
    let sosi = sosi_sim().await;
    let f = federation(&sosi).await;
    let (id, key) = at_operations(&f, "FMK: prescriptions cannot be renewed").await;
    assert!(!copy_in(&f.fmk, &id), "FMK has no copy yet");

    let (status, body) =
        hand_on(&f, "drift", &id, json!({ "to": "fmk", "reason": "an application error in FMK" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assignee"], "fmk", "{body}");
    f.settled().await;

    // The application supplier's ClearQuest has its copy; the operations supplier's
    // Jira issue is told it is no longer kept in step; the national desk is told.
    assert!(copy_in(&f.fmk, &id), "{:#?}", f.fmk.records());
    let comments = f.drift.comments(&key);
    assert!(comments.iter().any(|c| c.body.contains("was handed on to another supplier")), "{comments:#?}");
    let log = national_log(&f, &id);
    assert!(log.contains("handed the incident on to FMK supplier") && log.contains("application error"), "{log}");
    let incident = f.incident(&id).await;
    assert!(ref_of(&incident, "fmk").is_some(), "{incident}");
    // The operations supplier is no longer a party.
    let (status, _) = f.incident_as("drift", &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The application supplier works it now.
    let (status, body) = f.patch("fmk", &id, json!({ "status": "in_progress" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_5b_assigning_the_issue_in_the_suppliers_jira_to_the_application_supplier_hands_it_on() {
    let sosi = sosi_sim().await;
    let f = federation(&sosi).await;
    let (id, key) = at_operations(&f, "FMK: dosage cards are empty").await;
    f.drift.edit_as_user(&key, json!({ "assignee": { "name": "fmk-queue" } })).unwrap();
    f.settled().await;
    let incident = f.incident(&id).await;
    assert_eq!(incident["assignee"], "fmk", "{incident}");
    assert!(copy_in(&f.fmk, &id), "{:#?}", f.fmk.records());
    assert!(national_log(&f, &id).contains("handed the incident on to FMK supplier"), "{}", national_log(&f, &id));
    assert!(f.drift.comments(&key).iter().any(|c| c.body.contains("was handed on to another supplier")));

    // To a supplier its configuration does not name: parked, the national desk told.
    let (id, key) = at_operations(&f, "FMK: the print service hangs").await;
    f.drift.edit_as_user(&key, json!({ "assignee": { "name": "sosi-queue" } })).unwrap();
    f.settled().await;
    let incident = f.incident(&id).await;
    assert_eq!(incident["assignee"], "drift", "{incident}");
    let note = incident["notes"].as_array().unwrap().last().cloned().expect("a note for the national desk");
    assert_eq!(note["visibility"], "internal", "{note}");
    assert!(note["body"].as_str().unwrap().contains("may not hand incidents on to sosi"), "{note}");
    assert!(!copy_in(&sosi, &id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_6_the_application_supplier_involves_a_component_supplier() {
    let sosi = sosi_sim().await;
    let f = federation(&sosi).await;
    let (id, _) = at_operations(&f, "FMK: signing fails").await;
    let (status, body) = hand_on(&f, "drift", &id, json!({ "to": "fmk" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;

    let (status, body) = hand_on(&f, "fmk", &id, json!({ "involve": ["sosi"], "reason": "SOSI token errors" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["assignee"].as_str(), &body["involved"]), (Some("fmk"), &json!(["sosi"])), "{body}");
    f.settled().await;

    // The component supplier has a copy and sees the incident, without being assignee.
    assert!(copy_in(&sosi, &id), "{:#?}", sosi.records());
    assert!(national_log(&f, &id).contains("involved SOSI component supplier"), "{}", national_log(&f, &id));
    let (status, seen) = f.incident_as("sosi", &id).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let (status, body) = f.patch("sosi", &id, json!({ "status": "resolved" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the assignee resolves: {body}");
    // Its copy follows: a note from the application supplier reaches it.
    assert_eq!(f.note("fmk", &id, "SOSI: please check the token service").await, StatusCode::CREATED);
    f.settled().await;
    let sosi_log = sosi.records().into_iter().find_map(|r| r.fields.get("cq:Notes_Log").cloned()).unwrap_or_default();
    assert!(sosi_log.contains("please check the token service"), "{sosi_log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_5b_only_configured_suppliers_hand_on_and_only_to_whom_they_may() {
    let sosi = sosi_sim().await;
    let f = federation(&sosi).await;
    let (id, _) = at_operations(&f, "FMK: lists are empty").await;
    let before = f.incident(&id).await;
    let refused = [
        ("drift", json!({ "to": "sosi" }), StatusCode::FORBIDDEN, "to"),
        ("drift", json!({ "involve": ["sosi"] }), StatusCode::FORBIDDEN, "involve"),
        ("fmk", json!({ "to": "drift" }), StatusCode::FORBIDDEN, "to"),
        ("region-h", json!({ "to": "fmk" }), StatusCode::FORBIDDEN, "supplier"),
        ("drift", json!({ "to": "no-such-desk" }), StatusCode::FORBIDDEN, "to"),
        ("drift", json!({}), StatusCode::BAD_REQUEST, "to"),
        ("drift", json!({ "to": "Not A Desk" }), StatusCode::BAD_REQUEST, "to"),
    ];
    for (desk, body, want, names) in refused {
        let (status, answer) = hand_on(&f, desk, &id, body.clone()).await;
        assert_eq!(status, want, "{desk} {body}: {answer}");
        assert!(answer.to_string().contains(names), "{desk} {body}: {answer}");
    }
    // The application supplier may involve, but not while another supplier is assigned.
    let (status, answer) = hand_on(&f, "fmk", &id, json!({ "involve": ["sosi"] })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "fmk is no party yet: {answer}");
    f.settled().await;
    let after = f.incident(&id).await;
    assert_eq!((&after["assignee"], &after["version"]), (&before["assignee"], &before["version"]), "nothing changed");
    assert!(!copy_in(&f.fmk, &id) && !copy_in(&sosi, &id));
}

#[test]
fn step_5b_hand_on_configuration_is_checked_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = kit::GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024);
    c.desk_key("drift", "hand_on", json!({ "to": ["region-h", "drift"] }));
    c.desk_key("region-m", "hand_on", json!({ "involve": ["fmk"] }));
    let problems = c.load(&kit::env()).unwrap_err();
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    for want in ["desks.drift.hand_on.to[0]", "desks.drift.hand_on.to[1]", "desks.region-m.hand_on.involve"] {
        assert!(paths.contains(&want), "{want}: {problems:?}");
    }
}
