//! Who is told what, checked when a delivery runs and when a desk's tool reports:
//! a supplier the incident was taken away from gets neither the incident nor its
//! notes (however long its deliveries waited in the outbox), hears once that its copy
//! is no longer kept in step, and its tool's later reports change nothing.
//!
//! The supplier's Jira calls the gateway back through a relay in this process (the
//! gateway's address is only known once the simulators it calls are running).

use crate::kit;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri};
use deskgate::config::Config;
use deskgate::startup::Application;
use deskgate_sim::Fault;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraSim, JiraSimConfig, JiraWebhookTarget};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const JIRA_HOOK_SECRET: &str = "drift-webhook-secret";
const INTERNAL: &str = "Internal: the caller is the hospital's CIO; keep the supplier out of the loop";

#[derive(Clone, Default)]
struct RelayState {
    target: Arc<OnceLock<String>>,
    /// The gateway's answers, in order.
    answers: Arc<Mutex<Vec<Value>>>,
}

/// Passes the simulator's webhooks on to the gateway once its address is known.
async fn relay(State(s): State<RelayState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> AxumStatus {
    let Some(target) = s.target.get() else { return AxumStatus::SERVICE_UNAVAILABLE };
    let mut req = reqwest::Client::new().request(method, format!("{target}{uri}")).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    let Ok(res) = req.send().await else { return AxumStatus::BAD_GATEWAY };
    let status = AxumStatus::from_u16(res.status().as_u16()).unwrap_or(AxumStatus::BAD_GATEWAY);
    let answer = res.json().await.unwrap_or(Value::Null);
    s.answers.lock().unwrap().push(json!({"status": status.as_u16(), "answer": answer}));
    status
}

struct Federation {
    gateway: String,
    client: reqwest::Client,
    region_h: ServiceNowSim,
    fmk: ClearQuestSim,
    drift: JiraSim,
    relay: RelayState,
    _sds: ClearQuestSim,
    _data: tempfile::TempDir,
}

fn token(desk: &str) -> String {
    let (issuer, secret) = match desk {
        "region-h" => ("idp.regionh", "region-h-test-secret"),
        "sds" => ("idp.sds", "sds-test-secret"),
        "fmk" => ("idp.fmk", "fmk-test-secret"),
        "drift" => ("idp.drift", "drift-test-secret"),
        other => panic!("{other}"),
    };
    kit::hs256(&kit::claims(issuer, desk), secret)
}

impl Federation {
    async fn start() -> Self {
        let relay_state = RelayState::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay_url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(relay).with_state(relay_state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let region_h = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
        let sds = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
        let fmk = ClearQuestSim::spawn(ClearQuestSimConfig { db: "FMK".into(), ..Default::default() }).await.unwrap();
        let drift = JiraSim::spawn(JiraSimConfig {
            webhook: Some(JiraWebhookTarget {
                url: format!("{relay_url}/webhooks/jira/drift"),
                secret: Some(JIRA_HOOK_SECRET.into()),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        let data = tempfile::tempdir().unwrap();
        // Polling off (hourly): every change here goes through the API or a webhook.
        let text = format!(
            r#"
[gateway]
listen = "127.0.0.1:0"
data_dir = "{data}"
delivery = {{ retry_base_ms = 20, retry_max_ms = 100, max_attempts = 1000, concurrency = 8 }}
rate_limit = {{ inbound_per_minute = 600000, inbound_burst = 10000, outbound_per_minute = 600000, outbound_burst = 10000 }}

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
clearquest = {{ repo = "7.0.0", db = "SDS", poll_ms = 3600000 }}

[desks.fmk]
name = "FMK supplier"
role = "supplier"
system = "clearquest"
endpoint = "{fmk}"
services = ["FMK"]
auth = {{ issuer = "idp.fmk", algorithm = "HS256", secret = {{ env = "T_FMK" }} }}
credentials = {{ kind = "basic", username = "deskgate", password = {{ env = "T_CQ_PASSWORD" }} }}
clearquest = {{ repo = "7.0.0", db = "FMK", poll_ms = 3600000 }}

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
        let env = kit::env()
            .with("T_SN_PASSWORD", "integration-password")
            .with("T_CQ_PASSWORD", "deskgate-secret")
            .with("T_JIRA_TOKEN", "jira-personal-access-token")
            .with("T_JIRA_HOOK", JIRA_HOOK_SECRET);
        let config = Config::from_toml(&text, Path::new("."), &env).expect("config");
        let app = Application::build(config).await.expect("gateway starts");
        let gateway = format!("http://{}", app.local_addr());
        tokio::spawn(async move { app.run_until(std::future::pending()).await.unwrap() });
        relay_state.target.set(gateway.clone()).unwrap();
        Federation {
            gateway,
            client: reqwest::Client::new(),
            region_h,
            fmk,
            drift,
            relay: relay_state,
            _sds: sds,
            _data: data,
        }
    }

    async fn call(&self, desk: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.gateway)).bearer_auth(token(desk));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn patch(&self, id: &str, body: Value) {
        let (status, answer) =
            self.call("sds", reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    async fn incident(&self, id: &str) -> Value {
        self.call("sds", reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await.1
    }

    /// Region H forwards a ticket; the national desk notes something internal on it.
    async fn reported_with_internal_note(&self, title: &str) -> String {
        let record =
            self.region_h.create_as_user(&[("short_description", title), ("description", "By phone")]).unwrap();
        let (status, incident) = self
            .call(
                "region-h",
                reqwest::Method::POST,
                "/api/v1/incidents",
                Some(json!({
                    "title": title, "description": "Reported by phone", "service": "NSP",
                    "ticket_id": record["sys_id"], "display_id": record["number"], "urgency": "medium", "impact": "medium",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        let id = incident["id"].as_str().unwrap().to_owned();
        let note = json!({"body": INTERNAL, "visibility": "internal"});
        let (status, body) =
            self.call("sds", reqwest::Method::POST, &format!("/api/v1/incidents/{id}/notes"), Some(note)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        id
    }

    async fn outbox(&self) -> Vec<Value> {
        let (_, outbox) = self.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
        outbox["items"].as_array().cloned().unwrap_or_else(|| vec![Value::Null])
    }

    async fn dead_letters(&self) -> Vec<Value> {
        let (_, dead) = self.call("sds", reqwest::Method::GET, "/api/v1/dead-letters", None).await;
        dead["items"].as_array().cloned().unwrap_or_default()
    }

    /// Bounded wait until the outbox is empty and Jira's webhooks have been answered,
    /// twice in a row (an answered webhook may plan new deliveries).
    async fn settled(&self) {
        let mut quiet = 0;
        for _ in 0..800 {
            self.drift.webhooks_settled().await;
            if self.outbox().await.is_empty() {
                quiet += 1;
                if quiet == 2 {
                    return;
                }
            } else {
                quiet = 0;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the outbox did not drain: {:#?}", self.outbox().await);
    }

    async fn audit(&self) -> Vec<Value> {
        let (_, page) = self.call("sds", reqwest::Method::GET, "/api/v1/audit?limit=1000", None).await;
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

/// Bounded wait for `cond`, polled every 10 ms.
async fn wait_until<F: AsyncFnMut() -> bool>(mut cond: F) -> bool {
    for _ in 0..1_000 {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_reassigned_away_while_its_jira_was_down_gets_nothing_when_it_comes_back() {
    let f = Federation::start().await;
    let id = f.reported_with_internal_note("NSP: lookups time out").await;
    f.settled().await;

    // The operations supplier's Jira is down while the incident is assigned to it.
    f.drift.faults().push((0..100_000).map(|_| Fault::Unavailable));
    f.patch(&id, json!({"assignee": "drift"})).await;
    assert!(wait_until(async || f.drift.faults().pending() < 100_000 - 3).await, "deliveries to drift were tried");
    // The national desk reassigns to the FMK supplier, which gets its copy.
    f.patch(&id, json!({"assignee": "fmk"})).await;
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
    let f = Federation::start().await;
    let id = f.reported_with_internal_note("NSP: lookups time out").await;
    f.patch(&id, json!({"assignee": "drift"})).await;
    f.settled().await;
    let key = f.drift.issues()[0].key.clone();

    f.patch(&id, json!({"assignee": "fmk"})).await;
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
    f.patch(&id, json!({"priority": "P2"})).await;
    f.settled().await;
    assert_eq!(f.drift.comments(&key).len(), before_comments);
    assert_ne!(f.drift.issue(&key).unwrap().priority, "High", "the new priority did not reach drift");

    // People in drift's Jira keep working the old issue: its signed webhooks change nothing.
    let before = f.incident(&id).await;
    let audit_before = f.audit().await.len();
    let answers_before = f.relay.answers.lock().unwrap().len();
    f.drift.comment_as_user(&key, "We restarted the lookup service").unwrap();
    f.drift.transition_as_user(&key, "In Progress").unwrap();
    f.settled().await;
    let answers = f.relay.answers.lock().unwrap()[answers_before..].to_vec();
    assert!(answers.len() >= 2, "Jira sent its webhooks: {answers:#?}");
    for a in &answers {
        // Answered as every webhook is; what became of it shows below.
        assert_eq!((a["status"].as_u64(), a["answer"]["outcome"].as_str()), (Some(200), Some("received")), "{a}");
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
