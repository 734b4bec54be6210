//! A supplier's Jira as real Jira behaves, against a real gateway: deskgate's own
//! writes coming back through webhooks (the integration user), statuses several
//! transitions away, Service Management internal comments, Data Center comment
//! events without the issue, and the visibility of internal notes written to Jira.

use crate::kit;
use crate::support::reported_and_assigned_to_drift;

use kit::federation::FederationBuilder;
use kit::{Desk, Federation, GatewayConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const HOOK_SECRET: &str = "drift-jira-sync-secret";
/// The simulated Jira's REST user: the account deskgate acts as.
/// deskgate's account at the supplier's Jira (Data Center: a user name).
const INTEGRATION_USER: &str = "deskgate";

fn builder() -> FederationBuilder {
    Federation::builder().max_attempts(50).no_polling().open_rate_limits().jira_webhooks(HOOK_SECRET)
}

fn statuses_in_history(incident: &Value) -> Vec<String> {
    let history = incident["history"].as_array().unwrap();
    history.iter().filter(|h| h["field"] == "status").map(|h| h["to"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_of_an_intermediate_status_of_a_walk_through_the_workflow_is_not_applied() {
    let f = builder().drift_jira("integration_user", INTEGRATION_USER).start().await;
    let (id, _, key) = reported_and_assigned_to_drift(&f, "NSP: lookups time out", &[]).await;
    // The supplier waits for the customer in its Jira.
    f.drift.transition_as_user(&key, "Waiting for customer").unwrap();
    f.settled().await;
    let incident = f.incident_once(&id, std::time::Duration::from_secs(5), |i| i["status"] == "awaiting_info").await;
    assert_eq!(incident["status"], "awaiting_info", "{:#}", incident["history"]);

    // Pending release is two transitions away in Jira: In Progress, then Pending Release.
    let (status, answer) = f.patch("drift", &id, json!({"status": "pending_release"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    f.settled().await;
    f.drift.webhooks_settled().await;
    f.settled().await;

    assert_eq!(f.drift.issue(&key).unwrap().status, "Pending Release");
    let incident = f.incident(&id).await;
    assert_eq!(incident["status"], "pending_release", "{:#}", incident["history"]);
    let statuses = statuses_in_history(&incident);
    assert_eq!(statuses.last().map(String::as_str), Some("pending_release"), "{statuses:?}");
    assert!(!statuses.iter().any(|s| s == "in_progress"), "the In Progress step came back as a change: {statuses:?}");
    // The webhooks of both steps were received and taken as deskgate's own.
    let status_hooks: Vec<_> = f
        .answers("/webhooks/jira/drift", &key)
        .into_iter()
        .filter(|r| r.request["user"]["name"] == INTEGRATION_USER && r.request["changelog"].is_object())
        .collect();
    assert!(status_hooks.len() >= 2, "{status_hooks:#?}");
    assert!(status_hooks.iter().all(|r| r.status == 200), "{status_hooks:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_management_internal_comment_stays_internal() {
    let f = builder().jira_sim(|c| c.service_management = true).start().await;
    let (id, sys_id, key) = reported_and_assigned_to_drift(&f, "NSP: lookups time out", &[]).await;
    f.drift.service_desk_comment_as_user(&key, "Agents only: the DB failed over", false).unwrap();
    f.drift.service_desk_comment_as_user(&key, "We are on it", true).unwrap();
    f.drift.webhooks_settled().await;
    f.settled().await;

    let incident = f.incident(&id).await;
    let notes = incident["notes"].as_array().unwrap();
    let note = |text: &str| notes.iter().find(|n| n["body"].as_str().is_some_and(|b| b.contains(text))).cloned();
    let internal = note("Agents only").expect("the internal comment is on the incident");
    assert_eq!(internal["visibility"], "internal", "{internal:#}");
    assert_eq!(note("We are on it").expect("the public comment too")["visibility"], "public");
    // The reporting local desk is told the public comment only.
    let journal = f.region_h.journal(&sys_id);
    assert!(journal.iter().any(|j| j.value.contains("We are on it")), "{journal:#?}");
    assert!(!journal.iter().any(|j| j.value.contains("Agents only")), "{journal:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_center_comment_event_without_the_issue_is_taken_by_reading_the_issue_back() {
    let f = builder().jira_sim(|c| c.comment_events_without_issue = true).start().await;
    let (id, _, key) = reported_and_assigned_to_drift(&f, "NSP: lookups time out", &[]).await;
    f.drift.comment_as_user(&key, "Restarted the lookup service").unwrap();
    f.drift.webhooks_settled().await;
    f.settled().await;

    let hooks = f.relay.log();
    let created: Vec<_> = hooks.iter().filter(|r| r.request["webhookEvent"] == "comment_created").collect();
    assert_eq!(created.len(), 1, "{hooks:#?}");
    assert!(created[0].request.get("issue").is_none(), "a Data Center payload: {:#}", created[0].request);
    assert_eq!((created[0].status, &created[0].answer), (200, &json!({"outcome": "received"})));
    let incident = f.incident(&id).await;
    let notes = incident["notes"].as_array().unwrap();
    assert_eq!(
        notes.iter().filter(|n| n["body"].as_str().is_some_and(|b| b.contains("Restarted the lookup service"))).count(),
        1,
        "{notes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reread_desk_takes_a_data_center_comment_event_by_the_issue_id_in_the_comment_url() {
    let f = builder()
        .drift_jira("webhook_verify", "reread")
        .drift_jira("integration_user", INTEGRATION_USER)
        .jira_sim(|c| c.comment_events_without_issue = true)
        .start()
        .await;
    let (id, _, key) = reported_and_assigned_to_drift(&f, "NSP: lookups time out", &[]).await;
    f.drift.comment_as_user(&key, "Restarted the lookup service").unwrap();
    f.drift.webhooks_settled().await;
    f.settled().await;
    let incident = f.incident(&id).await;
    let notes = incident["notes"].as_array().unwrap();
    let taken: Vec<_> = notes.iter().filter(|n| n["body"].as_str().is_some_and(|b| b.contains("Restarted"))).collect();
    assert_eq!(taken.len(), 1, "{notes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_event_without_the_issue_or_a_usable_comment_url_is_refused_naming_the_field() {
    let f = builder().start().await;
    let (id, _, key) = reported_and_assigned_to_drift(&f, "NSP: lookups time out", &[]).await;
    let before = f.incident(&id).await;
    let event = json!({
        "timestamp": 1_705_314_600_000i64,
        "webhookEvent": "comment_created",
        "comment": {
            "self": format!("https://jira.drift.example/rest/api/2/issue/{key}/comment/10001"),
            "id": "10001", "body": "Injected", "author": {"name": "mette.drift"},
            "created": "2024-01-15T10:30:00.000+0000",
        },
    });
    let body = serde_json::to_vec(&event).unwrap();
    let res = f
        .client
        .post(f.url("/webhooks/jira/drift"))
        .header("content-type", "application/json")
        .header(deskgate_jira::webhook::SIGNATURE_HEADER, deskgate_jira::webhook::sign(HOOK_SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let answer: Value = res.json().await.unwrap();
    assert!(answer["errorMessages"].is_array() && answer["errors"].is_object(), "Jira's shape: {answer}");
    assert!(answer.to_string().contains("comment.self"), "{answer}");
    assert_eq!(f.incident(&id).await, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_notes_reach_jira_with_the_configured_visibility() {
    let f = builder()
        .drift_jira_value("internal_visibility", json!({"type": "group", "value": "jira-software-users"}))
        .start()
        .await;
    let (id, _, key) = reported_and_assigned_to_drift(&f, "NSP: lookups time out", &[]).await;
    let note = json!({"body": "Internal: the certificate expired", "visibility": "internal"});
    let (status, body) =
        f.call("sds", reqwest::Method::POST, &format!("/api/v1/incidents/{id}/notes"), Some(note)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    f.settled().await;
    let comments = f.drift.comments(&key);
    let comment = comments.iter().find(|c| c.body.contains("the certificate expired")).expect("written to Jira");
    let visibility = comment.visibility.as_ref().expect("restricted");
    assert_eq!((visibility.kind.as_str(), visibility.value.as_str()), ("group", "jira-software-users"));
}

#[test]
fn check_config_names_a_bad_internal_visibility_or_integration_user_by_its_key() {
    let data = tempfile::tempdir().unwrap();
    let load = |jira: Value| {
        let mut c = GatewayConfig::new(&data.path().join("store"));
        c.desk("sds", Desk::known("sds", "National Service Desk", "national", "native"));
        c.desk("drift", Desk::drift_on_jira("http://127.0.0.1:9", jira));
        c.load(&kit::env().with("T_JIRA_TOKEN", "t").with("T_JIRA_HOOK", "s"))
    };
    let base = json!({ "project": "DRIFT", "webhook_secret": { "env": "T_JIRA_HOOK" } });
    let with = |key: &str, v: Value| {
        let mut jira = base.clone();
        jira[key] = v;
        jira
    };
    let problems =
        load(with("internal_visibility", json!({"type": "team", "value": "ops"}))).expect_err("a bad type is refused");
    let problem = problems.iter().find(|p| p.path == "desks.drift.jira.internal_visibility.type").expect("named");
    assert!(problem.message.contains("\"role\" or \"group\""), "{}", problem.message);
    let problems = load(with("internal_visibility", json!({"type": "role", "value": " "}))).expect_err("empty");
    assert!(problems.iter().any(|p| p.path == "desks.drift.jira.internal_visibility.value"), "{problems:?}");
    let problems = load(with("integration_user", json!(""))).expect_err("empty");
    assert!(problems.iter().any(|p| p.path == "desks.drift.jira.integration_user"), "{problems:?}");

    load(with("internal_visibility", json!({"type": "group", "value": "jira-servicedesk-users"})))
        .unwrap_or_else(|p| panic!("{p:?}"));
    load(with("integration_user", json!(INTEGRATION_USER))).unwrap_or_else(|p| panic!("{p:?}"));
}
