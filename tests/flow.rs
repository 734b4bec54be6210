//! The NSP flow end to end, against the simulators: a local desk's report reaches the
//! national desk's ClearQuest, is assigned to a supplier, and every change flows
//! back to whoever needs it, in their own tool, once.

mod common;

use std::path::Path;
use std::time::Duration;

use deskgate::config::{Config, MapEnv};
use deskgate::startup::Application;
use deskgate_sim::Fault;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Federation {
    gateway: String,
    client: reqwest::Client,
    region_h: ServiceNowSim,
    sds: ClearQuestSim,
    fmk: ClearQuestSim,
    drift: JiraSim,
    _data: tempfile::TempDir,
    /// The gateway's configuration, to start it again on the same store.
    config: Config,
    poller: Option<std::sync::Arc<deskgate::sync::poll::Poller>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

fn token(issuer: &str, desk: &str, secret: &str) -> String {
    common::hs256(&common::claims(issuer, desk), secret)
}

impl Federation {
    async fn start(max_attempts: u32) -> Self {
        Self::start_polling(max_attempts, 100).await
    }

    async fn start_polling(max_attempts: u32, poll_ms: u64) -> Self {
        let region_h = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
        let sds = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
        let fmk = ClearQuestSim::spawn(ClearQuestSimConfig { db: "FMK".into(), ..Default::default() }).await.unwrap();
        let drift = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let text = format!(
            r#"
[gateway]
listen = "127.0.0.1:0"
data_dir = "{data}"
delivery = {{ retry_base_ms = 20, retry_max_ms = 200, max_attempts = {max_attempts}, concurrency = 8 }}

[desks.region-h]
name = "Region Hovedstaden Service Desk"
role = "local"
system = "servicenow"
endpoint = "{sn}"
auth = {{ issuer = "idp.regionh", algorithm = "HS256", secret = {{ env = "T_REGION_H" }} }}
credentials = {{ kind = "basic", username = "deskgate.integration", password = {{ env = "T_SN_PASSWORD" }} }}

[desks.sds]
name = "National Service Desk"
role = "national"
system = "clearquest"
endpoint = "{sds}"
auth = {{ issuer = "idp.sds", algorithm = "HS256", secret = {{ env = "T_SDS" }} }}
credentials = {{ kind = "basic", username = "deskgate", password = {{ env = "T_CQ_PASSWORD" }} }}
clearquest = {{ repo = "7.0.0", db = "SDS", poll_ms = {poll_ms} }}

[desks.fmk]
name = "FMK supplier"
role = "supplier"
system = "clearquest"
endpoint = "{fmk}"
services = ["FMK"]
auth = {{ issuer = "idp.fmk", algorithm = "HS256", secret = {{ env = "T_FMK" }} }}
credentials = {{ kind = "basic", username = "deskgate", password = {{ env = "T_CQ_PASSWORD" }} }}
clearquest = {{ repo = "7.0.0", db = "FMK", poll_ms = {poll_ms} }}

[desks.drift]
name = "Operations supplier"
role = "supplier"
system = "jira"
endpoint = "{jira}"
services = ["*"]
auth = {{ issuer = "idp.drift", algorithm = "HS256", secret = {{ env = "T_DRIFT" }} }}
credentials = {{ kind = "bearer", token = {{ env = "T_JIRA_TOKEN" }} }}
jira = {{ project = "DRIFT", correlation_field = "customfield_10042", webhook_secret = {{ env = "T_JIRA_HOOK" }} }}
"#,
            data = data.path().display(),
            sn = region_h.base_url(),
            sds = sds.base_url(),
            fmk = fmk.base_url(),
            jira = drift.base_url(),
        );
        let env = common::env()
            .with("T_SN_PASSWORD", "integration-password")
            .with("T_CQ_PASSWORD", "deskgate-secret")
            .with("T_JIRA_TOKEN", "jira-personal-access-token")
            .with("T_JIRA_HOOK", "drift-webhook-test-secret");
        let config = Config::from_toml(&text, Path::new("."), &env).expect("flow config");
        let app = Application::build(config.clone()).await.expect("gateway starts");
        let gateway = format!("http://{}", app.local_addr());
        let poller = Some(app.poller());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
        });
        let _ = MapEnv::new(false);
        Federation {
            gateway,
            client: reqwest::Client::new(),
            region_h,
            sds,
            fmk,
            drift,
            _data: data,
            config,
            poller,
            stop: Some(stop),
            server: Some(server),
        }
    }

    fn token(&self, desk: &str) -> String {
        match desk {
            "region-h" => token("idp.regionh", "region-h", "region-h-test-secret"),
            "sds" => token("idp.sds", "sds", "sds-test-secret"),
            "fmk" => token("idp.fmk", "fmk", "fmk-test-secret"),
            "drift" => token("idp.drift", "drift", "drift-test-secret"),
            other => panic!("{other}"),
        }
    }

    async fn call(&self, desk: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.gateway)).bearer_auth(self.token(desk));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Region H's operator creates a ticket in ServiceNow and forwards it.
    async fn report(&self, title: &str, service: &str) -> (String, String) {
        let record = self
            .region_h
            .create_as_user(&[
                ("short_description", title),
                ("description", "Reported by phone"),
                ("impact", "1"),
                ("urgency", "2"),
            ])
            .unwrap();
        let sys_id = record["sys_id"].clone();
        let (status, incident) = self
            .call(
                "region-h",
                reqwest::Method::POST,
                "/api/v1/incidents",
                Some(json!({
                    "title": title, "description": "Reported by phone", "service": service,
                    "ticket_id": sys_id, "display_id": record["number"], "urgency": "medium", "impact": "high",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        (incident["id"].as_str().unwrap().to_owned(), sys_id)
    }

    async fn incident(&self, id: &str) -> Value {
        self.call("sds", reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await.1
    }

    /// Wait until the outbox is empty (bounded; fails the test if it never drains).
    async fn drained(&self) {
        for _ in 0..400 {
            let (_, outbox) = self.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
            if outbox["items"].as_array().is_some_and(Vec::is_empty) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let (_, outbox) = self.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
        panic!("the outbox did not drain: {outbox:#}");
    }

    async fn dead_letters(&self) -> Vec<Value> {
        for _ in 0..400 {
            let (_, dead) = self.call("sds", reqwest::Method::GET, "/api/v1/dead-letters", None).await;
            let items = dead["items"].as_array().cloned().unwrap_or_default();
            if !items.is_empty() {
                return items;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Vec::new()
    }

    async fn stop(&mut self) {
        self.poller = None;
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }
}

fn ref_of<'a>(incident: &'a Value, desk: &str) -> Option<&'a Value> {
    incident["refs"].as_array()?.iter().find(|r| r["desk"] == desk)
}

#[tokio::test]
async fn a_reported_incident_reaches_the_national_desk_is_assigned_and_its_resolution_flows_back() {
    let mut f = Federation::start(5).await;
    let (id, sys_id) = f.report("FMK: prescriptions cannot be read", "FMK").await;

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
    assert!(f.dead_letters_now().await.is_empty());
    f.stop().await;
}

impl Federation {
    async fn dead_letters_now(&self) -> Vec<Value> {
        let (_, dead) = self.call("sds", reqwest::Method::GET, "/api/v1/dead-letters", None).await;
        dead["items"].as_array().cloned().unwrap_or_default()
    }
}

#[tokio::test]
async fn a_supplier_that_fails_then_recovers_gets_the_incident_once() {
    // Polling off (hourly): the injected faults are for the deliveries.
    let mut f = Federation::start_polling(8, 3_600_000).await;
    f.sds.faults().push([Fault::ServerError, Fault::RateLimited { retry_after_secs: 1 }, Fault::Unavailable]);
    let (id, _) = f.report("NSP: lookups time out", "NSP").await;
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
    assert!(f.dead_letters_now().await.is_empty());
    f.stop().await;
}

#[tokio::test]
async fn exhausted_retries_become_a_dead_letter_that_holds_its_lane_until_replayed() {
    let mut f = Federation::start_polling(2, 3_600_000).await;
    f.sds.faults().push([Fault::ServerError, Fault::ServerError]);
    let (id, _) = f.report("SOSI: token service unavailable", "SOSI").await;
    let dead = f.dead_letters().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["remote_status"], 500);
    assert!(dead[0]["error"].as_str().unwrap().contains("gave up after 2 attempts"));
    assert_eq!(f.sds.count(), 0);

    // A later change to the same incident waits behind the dead letter.
    let (status, _) = f
        .call(
            "sds",
            reqwest::Method::POST,
            &format!("/api/v1/incidents/{id}/notes"),
            Some(json!({"body": "Looking into it", "visibility": "public"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Only the national desk replays.
    let seq = dead[0]["item"]["seq"].as_u64().unwrap();
    let (status, _) = f.call("fmk", reqwest::Method::POST, &format!("/api/v1/dead-letters/{seq}/replay"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = f.call("sds", reqwest::Method::POST, &format!("/api/v1/dead-letters/{seq}/replay"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    f.drained().await;
    assert_eq!(f.sds.count(), 1);
    assert!(f.dead_letters_now().await.is_empty());
    assert!(ref_of(&f.incident(&id).await, "sds").is_some());
    f.stop().await;
}

#[tokio::test]
async fn triage_in_the_national_clearquest_is_picked_up_and_assigns_the_supplier_by_service() {
    let mut f = Federation::start(5).await;
    let (id, sys_id) = f.report("FMK: medication list empty", "FMK").await;
    f.drained().await;
    let national = f.sds.records().remove(0).display_id;

    // The national desk works in ClearQuest: P1, assigned, and a note for the reporter.
    f.sds.action_as_user(&national, "Assign", [("cq:Priority", "1-Critical")]).unwrap();
    f.sds.add_note_as_user(&national, "sds.agent", "Escalated to the FMK Incident Manager").unwrap();
    let mut incident = Value::Null;
    for _ in 0..200 {
        incident = f.incident(&id).await;
        if incident["assignee"] == "fmk" && incident["notes"].as_array().is_some_and(|n| !n.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
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
    let mut f = Federation::start_polling(5, 3_600_000).await;
    let (id, _) = f.report("FMK: medication list empty", "FMK").await;
    f.drained().await;
    let national = f.sds.records().remove(0).display_id;
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
    let mut f = Federation::start(5).await;
    let (id, sys_id) = f.report("FMK: medication list empty", "FMK").await;
    f.drained().await;
    let national = f.sds.records().remove(0).display_id;

    // A note typed into ClearQuest with a CPR number, and a triage in the same record.
    f.sds.add_note_as_user(&national, "sds.agent", "Borger 010203\u{2013}1047 ringer igen").unwrap();
    f.sds.action_as_user(&national, "Assign", [("cq:Priority", "1-Critical")]).unwrap();
    let mut incident = Value::Null;
    for _ in 0..200 {
        incident = f.incident(&id).await;
        if incident["assignee"] == "fmk" && incident["notes"].as_array().is_some_and(|n| !n.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
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
