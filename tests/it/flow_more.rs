//! More of the NSP flow end to end, against the simulators: an incident that waits on
//! an RFC/problem in SDS-Jira (step 11), and incidents a supplier detects in its own
//! Jira (steps 18a/b).

use crate::kit;

use std::path::Path;
use std::time::Duration;

use deskgate::config::Config;
use deskgate::startup::Application;
use deskgate_jira::wire::ApiVersion;
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
    drift: JiraSim,
    _data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

const JIRA_HOOK_SECRET: &str = "drift-webhook-test-secret";

fn token(issuer: &str, desk: &str, secret: &str) -> String {
    kit::hs256(&kit::claims(issuer, desk), secret)
}

impl Federation {
    async fn start() -> Self {
        let region_h = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
        let sds = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
        let mut jira = JiraSimConfig::default();
        jira.custom_fields.push(("customfield_10050".to_owned(), "NSP service".to_owned()));
        let drift = JiraSim::spawn(jira).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let text = format!(
            r#"
[gateway]
listen = "127.0.0.1:0"
data_dir = "{data}"
delivery = {{ retry_base_ms = 20, retry_max_ms = 200, max_attempts = 5, concurrency = 8 }}

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
clearquest = {{ repo = "7.0.0", db = "SDS", poll_ms = 100 }}

[desks.drift]
name = "Operations supplier"
role = "supplier"
system = "jira"
endpoint = "{jira}"
services = ["NSP", "*"]
auth = {{ issuer = "idp.drift", algorithm = "HS256", secret = {{ env = "T_DRIFT" }} }}
credentials = {{ kind = "bearer", token = {{ env = "T_JIRA_TOKEN" }} }}
jira = {{ project = "DRIFT", correlation_field = "customfield_10042", service_field = "customfield_10050", affects_users_label = "brugerpåvirkende", webhook_secret = {{ env = "T_JIRA_HOOK" }} }}
"#,
            data = data.path().display(),
            sn = region_h.base_url(),
            sds = sds.base_url(),
            jira = drift.base_url(),
        );
        let env = kit::env()
            .with("T_SN_PASSWORD", "integration-password")
            .with("T_CQ_PASSWORD", "deskgate-secret")
            .with("T_JIRA_TOKEN", "jira-personal-access-token")
            .with("T_JIRA_HOOK", JIRA_HOOK_SECRET);
        let config = Config::from_toml(&text, Path::new("."), &env).expect("flow config");
        let app = Application::build(config).await.expect("gateway starts");
        let gateway = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
        });
        Federation {
            gateway,
            client: reqwest::Client::new(),
            region_h,
            sds,
            drift,
            _data: data,
            stop: Some(stop),
            server: Some(server),
        }
    }

    fn token(&self, desk: &str) -> String {
        match desk {
            "region-h" => token("idp.regionh", "region-h", "region-h-test-secret"),
            "sds" => token("idp.sds", "sds", "sds-test-secret"),
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

    async fn patch(&self, desk: &str, id: &str, body: Value) -> (StatusCode, Value) {
        self.call(desk, reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(body)).await
    }

    /// Region H's operator creates a ticket in ServiceNow and forwards it.
    async fn report(&self, title: &str, service: &str) -> (String, String) {
        let record = self
            .region_h
            .create_as_user(&[("short_description", title), ("description", "Reported by phone")])
            .unwrap();
        let sys_id = record["sys_id"].clone();
        let (status, incident) = self
            .call(
                "region-h",
                reqwest::Method::POST,
                "/api/v1/incidents",
                Some(json!({
                    "title": title, "description": "Reported by phone", "service": service,
                    "ticket_id": sys_id, "display_id": record["number"], "priority": "P3",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        (incident["id"].as_str().unwrap().to_owned(), sys_id)
    }

    async fn incident(&self, desk: &str, id: &str) -> (StatusCode, Value) {
        self.call(desk, reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await
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
        let (_, dead) = self.call("sds", reqwest::Method::GET, "/api/v1/dead-letters", None).await;
        dead["items"].as_array().cloned().unwrap_or_default()
    }

    /// The operations supplier's own staff create an issue in Jira; Jira tells deskgate:
    /// (issue key, incident id).
    async fn detected_in_jira(&self, summary: &str, labels: &[&str]) -> (String, String) {
        let key = self
            .drift
            .create_as_user(json!({
                "summary": summary,
                "description": "Seen in our monitoring",
                "labels": labels,
                "customfield_10050": "SOSI",
            }))
            .unwrap();
        let issue = self.drift.issue_json(&key, ApiVersion::V2).unwrap();
        let event =
            json!({"webhookEvent": "jira:issue_created", "issue_event_type_name": "issue_created", "issue": issue});
        let answer = self.webhook(&event).await;
        assert_eq!(answer["outcome"], "received", "{answer}");
        // The answer says nothing of what became of it: the incident is found by its ref.
        let (status, found) = self.call("sds", reqwest::Method::GET, &format!("/api/v1/refs/drift/{key}"), None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        (key, found["incident"].as_str().unwrap().to_owned())
    }

    /// A webhook from the supplier's Jira, signed with the desk's secret.
    async fn webhook(&self, event: &Value) -> Value {
        let body = serde_json::to_vec(event).unwrap();
        let res = self
            .client
            .post(format!("{}/webhooks/jira/drift", self.gateway))
            .header("content-type", "application/json")
            .header(
                deskgate_jira::webhook::SIGNATURE_HEADER,
                deskgate_jira::webhook::sign(JIRA_HOOK_SECRET.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    async fn audit(&self) -> Vec<Value> {
        let (_, audit) = self.call("sds", reqwest::Method::GET, "/api/v1/audit?limit=1000", None).await;
        audit["items"].as_array().cloned().unwrap_or_default()
    }

    async fn stop(&mut self) {
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
async fn linking_an_rfc_makes_the_incident_pending_release_everywhere_and_tells_the_reporter() {
    let mut f = Federation::start().await;
    let (id, sys_id) = f.report("NSP: lookups time out after the upgrade", "NSP").await;
    f.drained().await;
    let (status, _) = f.patch("sds", &id, json!({"assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    let (status, _) = f.patch("drift", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;

    // Only the national desk and the assigned supplier link; the key must be a Jira key.
    let rfc = json!({"rfc": {"key": "SDSJIRA-123", "url": "https://sds-jira.example/browse/SDSJIRA-123"}});
    let (status, _) = f.patch("region-h", &id, rfc.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = f.patch("drift", &id, json!({"rfc": {"key": "not a key", "kind": "rfc"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(f.incident("sds", &id).await.1["status"], "in_progress", "a refused link changes nothing");

    // The supplier links the RFC it raised in SDS-Jira.
    let (status, body) = f.patch("drift", &id, rfc.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending_release");
    f.drained().await;

    // The national ClearQuest record and the supplier's Jira issue show it as pending release.
    let (_, incident) = f.incident("sds", &id).await;
    let national = ref_of(&incident, "sds").unwrap()["display_id"].as_str().unwrap().to_owned();
    let record = f.sds.record(&national).unwrap();
    assert_eq!(record.state, "Postponed", "{record:?}");
    assert_eq!(record.get("cq:HoldReason"), Some("Pending release"), "{record:?}");
    let issue_key = ref_of(&incident, "drift").unwrap()["display_id"].as_str().unwrap().to_owned();
    assert_eq!(f.drift.issue(&issue_key).unwrap().status, "Pending Release");

    // The reporter is told in ServiceNow, naming the RFC.
    let journal = f.region_h.journal(&sys_id);
    assert!(
        journal.iter().any(|j| j.value.contains("Awaiting release of SDSJIRA-123")),
        "{:?}",
        journal.iter().map(|j| &j.value).collect::<Vec<_>>()
    );

    // The incident view shows the link, and the history records who linked it.
    for desk in ["sds", "drift", "region-h"] {
        let (status, view) = f.incident(desk, &id).await;
        assert_eq!(status, StatusCode::OK);
        let links = view["external_links"].as_array().unwrap();
        assert_eq!(links.len(), 1, "{desk}: {view:#}");
        assert_eq!(links[0]["key"], "SDSJIRA-123");
        assert_eq!(links[0]["kind"], "rfc");
        assert_eq!(links[0]["url"], "https://sds-jira.example/browse/SDSJIRA-123");
        assert_eq!(links[0]["linked_by"], "drift");
    }
    let history = incident["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["field"] == "rfc" && h["to"] == "SDSJIRA-123" && h["actor"] == "drift"));
    assert!(history.iter().any(|h| h["field"] == "status" && h["to"] == "pending_release"));

    // Linking the same RFC again is no news: no second note anywhere.
    let (status, _) = f.patch("drift", &id, rfc).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    let notes = f.incident("sds", &id).await.1["notes"].as_array().unwrap().len();
    assert_eq!(notes, 1);
    let told = f.region_h.journal(&sys_id).iter().filter(|j| j.value.contains("SDSJIRA-123")).count();
    assert_eq!(told, 1);
    assert!(f.dead_letters().await.is_empty());
    f.stop().await;
}

#[tokio::test]
async fn an_incident_a_supplier_detects_that_affects_users_gets_one_linked_national_record() {
    let mut f = Federation::start().await;
    let (key, id) = f.detected_in_jira("SOSI STS rejects renewals", &["monitoring", "brugerpåvirkende"]).await;
    f.drained().await;

    // The supplier is origin and assignee; the service comes from the issue's field.
    let (status, incident) = f.incident("sds", &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(incident["origin"]["desk"], "drift");
    assert_eq!(incident["origin"]["ticket"], key.as_str());
    assert_eq!(incident["assignee"], "drift");
    assert_eq!(incident["kind"], "incident");
    assert_eq!(incident["service"], "SOSI");
    assert_eq!(incident["status"], "assigned");

    // One ClearQuest record for the national desk, linked to the Jira issue both ways.
    assert_eq!(f.sds.count(), 1);
    let record = f.sds.records().remove(0);
    assert_eq!(record.get("cq:Headline"), Some("SOSI STS rejects renewals"));
    assert!(record.get("cq:deskgate_Links").is_some_and(|l| l.contains(&key)), "{record:?}");
    assert_eq!(ref_of(&incident, "sds").unwrap()["display_id"], record.display_id.as_str());
    let links = f.drift.remote_links(&key);
    assert!(links.iter().any(|l| l.to_string().contains(&record.display_id)), "{links:?}");
    assert_eq!(f.drift.count(), 1, "deskgate creates no second issue in the supplier's Jira");

    // Jira sending the event again is a replay: no second incident, no second record.
    let issue = f.drift.issue_json(&key, ApiVersion::V2).unwrap();
    let event = json!({"webhookEvent": "jira:issue_created", "issue": issue});
    let again = f.webhook(&event).await;
    assert_eq!(again["outcome"], "received", "{again}");
    f.drained().await;
    assert_eq!(f.sds.count(), 1);
    let (_, page) = f.call("sds", reqwest::Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(f.dead_letters().await.is_empty());
    f.stop().await;
}

#[tokio::test]
async fn an_incident_a_supplier_detects_that_does_not_affect_users_stays_in_jira_and_is_visible_nationally() {
    let mut f = Federation::start().await;
    let (key, id) = f.detected_in_jira("Disk usage high on batch node", &["monitoring"]).await;
    f.drained().await;
    assert_eq!(f.sds.count(), 0, "no ClearQuest record for an incident that does not affect users");

    // The national desk sees it through the API, and the audit log says why it has no record.
    let (status, incident) = f.incident("sds", &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((incident["origin"]["desk"].as_str(), incident["assignee"].as_str()), (Some("drift"), Some("drift")));
    assert!(ref_of(&incident, "sds").is_none());
    let (_, page) = f.call("sds", reqwest::Method::GET, "/api/v1/incidents", None).await;
    assert!(page["items"].as_array().unwrap().iter().any(|i| i["id"] == id.as_str()));
    let audit = f.audit().await;
    assert!(
        audit.iter().any(|e| e["incident"] == id.as_str()
            && e["reason"].as_str().is_some_and(|r| r.contains(&key) && r.contains("does not affect users"))),
        "{audit:#?}"
    );

    // The supplier works it in Jira: its changes reach no national record, and nothing waits for one.
    let (status, body) = f.patch("drift", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.drained().await;
    assert_eq!(f.sds.count(), 0);
    assert_eq!(f.drift.issue(&key).unwrap().status, "In Progress");
    assert_eq!(f.drift.count(), 1);
    assert!(f.dead_letters().await.is_empty());
    f.stop().await;
}
