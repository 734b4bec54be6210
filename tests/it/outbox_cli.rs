//! `deskgate outbox`, `dead-letters` and `replay` against a running gateway, and the
//! Jira supplier's link field, over the NSP flow against the simulators.

use crate::kit;

use std::path::{Path, PathBuf};
use std::time::Duration;

use deskgate::config::Config;
use deskgate::startup::Application;
use deskgate_sim::Fault;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Secrets the configuration names, besides the desks' token secrets.
const CREDENTIALS: [(&str, &str); 4] = [
    ("T_SN_PASSWORD", "integration-password"),
    ("T_CQ_PASSWORD", "deskgate-secret"),
    ("T_JIRA_TOKEN", "jira-personal-access-token"),
    ("T_JIRA_HOOK", "drift-webhook-test-secret"),
];

struct Federation {
    gateway: String,
    client: reqwest::Client,
    region_h: ServiceNowSim,
    sds: ClearQuestSim,
    drift: JiraSim,
    dir: tempfile::TempDir,
    config_file: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Federation {
    /// Region H (ServiceNow) → national desk (ClearQuest) → operations supplier (Jira,
    /// the ClearQuest id in `customfield_10043`). Polling is off: only deliveries run.
    async fn start(max_attempts: u32) -> Self {
        let region_h = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
        let sds = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
        let mut jira = JiraSimConfig::default();
        jira.custom_fields.push(("customfield_10043".into(), "ClearQuest id".into()));
        let drift = JiraSim::spawn(jira).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            r#"
[gateway]
listen = "127.0.0.1:0"
data_dir = "{data}"
delivery = {{ retry_base_ms = 20, retry_max_ms = 200, max_attempts = {max_attempts}, concurrency = 4 }}

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

[desks.drift]
name = "Operations supplier"
role = "supplier"
system = "jira"
endpoint = "{jira}"
services = ["*"]
auth = {{ issuer = "idp.drift", algorithm = "HS256", secret = {{ env = "T_DRIFT" }} }}
credentials = {{ kind = "bearer", token = {{ env = "T_JIRA_TOKEN" }} }}
jira = {{ project = "DRIFT", correlation_field = "customfield_10042", link_field = "customfield_10043", webhook_secret = {{ env = "T_JIRA_HOOK" }} }}
"#,
            data = dir.path().join("store").display(),
            sn = region_h.base_url(),
            sds = sds.base_url(),
            jira = drift.base_url(),
        );
        let config_file = dir.path().join("gateway.toml");
        std::fs::write(&config_file, &text).unwrap();
        let mut env = kit::env();
        for (k, v) in CREDENTIALS {
            env = env.with(k, v);
        }
        let config = Config::from_toml(&text, Path::new("."), &env).expect("configuration");
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
            dir,
            config_file,
            stop: Some(stop),
            server: Some(server),
        }
    }

    fn token(&self, desk: &str) -> String {
        let (issuer, secret) = match desk {
            "region-h" => ("idp.regionh", "region-h-test-secret"),
            "sds" => ("idp.sds", "sds-test-secret"),
            "drift" => ("idp.drift", "drift-test-secret"),
            other => panic!("{other}"),
        };
        kit::hs256(&kit::claims(issuer, desk), secret)
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

    /// Region H forwards a ServiceNow ticket; returns the incident id.
    async fn report(&self, title: &str, service: &str) -> String {
        let record = self
            .region_h
            .create_as_user(&[("short_description", title), ("description", "Reported by phone"), ("impact", "2")])
            .unwrap();
        let (status, incident) = self
            .call(
                "region-h",
                reqwest::Method::POST,
                "/api/v1/incidents",
                Some(json!({
                    "title": title, "description": "Reported by phone", "service": service,
                    "ticket_id": record["sys_id"], "display_id": record["number"], "urgency": "medium", "impact": "medium",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        incident["id"].as_str().unwrap().to_owned()
    }

    /// `deskgate ARGS --url … --config …` as a separate process: (success, stdout, stderr).
    async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_deskgate"));
        c.args(args).args(["--url", &self.gateway, "--config", self.config_file.to_str().unwrap()]);
        c.current_dir(self.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("DESKGATE_") {
                c.env_remove(k);
            }
        }
        for (k, v) in &kit::env().vars {
            c.env(k, v);
        }
        for (k, v) in CREDENTIALS {
            c.env(k, v);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), c.output()).await.expect("the CLI answers").unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Poll `path` (as the national desk) until its items satisfy `done` (bounded).
    async fn items_until(&self, path: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut items = Vec::new();
        for _ in 0..400 {
            let (_, page) = self.call("sds", reqwest::Method::GET, path, None).await;
            items = page["items"].as_array().cloned().unwrap_or_default();
            if done(&items) {
                return items;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{path} never reached the expected state: {items:#?}");
    }

    async fn drained(&self) {
        self.items_until("/api/v1/outbox", <[Value]>::is_empty).await;
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

#[tokio::test]
async fn the_cli_lists_a_dead_letter_and_the_delivery_waiting_behind_it_and_replays_it() {
    let mut f = Federation::start(1).await;
    f.sds.faults().push([Fault::ServerError]);
    let id = f.report("SOSI: token service unavailable", "SOSI").await;
    let dead = f.items_until("/api/v1/dead-letters", |items| !items.is_empty()).await;
    let seq = dead[0]["item"]["seq"].as_u64().unwrap();
    assert_eq!(f.sds.count(), 0);

    // A later change to the incident waits in the outbox behind the dead letter.
    let (status, _) = f
        .call(
            "sds",
            reqwest::Method::POST,
            &format!("/api/v1/incidents/{id}/notes"),
            Some(json!({"body": "Looking into it", "visibility": "public"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

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
    let mut f = Federation::start(5).await;
    let id = f.report("NSP: lookups time out", "NSP").await;
    f.drained().await;
    let national = f.sds.records().remove(0);

    let (status, body) = f
        .call("sds", reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(json!({"assignee": "drift"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.drained().await;
    assert!(f.items_until("/api/v1/dead-letters", |_| true).await.is_empty());

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
