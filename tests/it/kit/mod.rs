//! The shared set-up of the integration tests: a real gateway on 127.0.0.1:0 with a
//! sled store in a temp dir ([`TestGateway`]), the federation against the simulators
//! ([`Federation`]), the configuration as TOML values ([`GatewayConfig`]), every desk's
//! token from one table ([`tokens`]), bounded waiting ([`eventually`]), and the real
//! binary ([`RunningBinary`]).
// The tests and the benches each use part of the kit.
#![allow(dead_code, unused_imports)]

pub mod binary;
pub mod browser;
pub mod config;
pub mod federation;
pub mod pg;
pub mod python;
pub mod replicas;
pub mod signin;
pub mod tokens;
pub mod wait;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use deskgate::clock::TestClock;
use deskgate::config::MapEnv;
use deskgate::notify::Watch;
use deskgate::startup::Application;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use binary::RunningBinary;
pub use config::{Desk, GatewayConfig};
pub use federation::{Federation, Fmk, ref_of};
pub use tokens::{AUDIENCE, claims, desk_claims, es256, hs256, now, rs256, signed_as, token};
pub use wait::{eventually, poll_until, run_clock, wait_until};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The federation the tests run: the NSP desks plus an RS256 and an ES256 desk.
pub fn config_text(data_dir: &Path, max_body: usize) -> String {
    GatewayConfig::standard(data_dir, max_body).render()
}

/// The environment the desks' secrets are read from.
pub fn env() -> MapEnv {
    tokens::env()
}

pub struct TestGateway {
    pub base: String,
    pub data: tempfile::TempDir,
    pub client: reqwest::Client,
    /// The configuration it runs, kept so a restart runs the same one.
    config: GatewayConfig,
    /// The test clock it runs on, when not the system clock.
    clock: Option<TestClock>,
    watch: Option<Arc<Watch>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestGateway {
    pub async fn start() -> Self {
        Self::start_edited(|_| {}, reqwest::Client::new()).await
    }

    pub async fn start_with_body_limit(max_body: usize) -> Self {
        let data = tempfile::tempdir().unwrap();
        let config = GatewayConfig::standard(&data.path().join("store"), max_body);
        Self::launch(data, config, None, reqwest::Client::new()).await
    }

    /// A gateway on the standard test federation as changed by `edit`, talked to with
    /// `client`. `restart` brings it back with the same configuration.
    pub async fn start_edited(edit: impl FnOnce(&mut GatewayConfig), client: reqwest::Client) -> Self {
        Self::start_on(edit, None, client).await
    }

    /// [`Self::start_edited`] on `clock` (a test clock the test moves).
    pub async fn start_on(
        edit: impl FnOnce(&mut GatewayConfig),
        clock: Option<TestClock>,
        client: reqwest::Client,
    ) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut config = GatewayConfig::standard(&data.path().join("store"), 1024 * 1024);
        edit(&mut config);
        Self::launch(data, config, clock, client).await
    }

    /// A gateway on the configuration `config` makes for a store directory of its own.
    pub async fn start_configured(config: impl FnOnce(&Path) -> GatewayConfig) -> Self {
        let data = tempfile::tempdir().unwrap();
        let config = config(&data.path().join("store"));
        Self::launch(data, config, None, reqwest::Client::new()).await
    }

    /// The standard federation with `lines` (TOML keys) set in `[gateway]`.
    pub async fn start_with_gateway_keys(lines: &str) -> Self {
        Self::start_edited(
            |c| {
                c.gateway_toml(lines);
            },
            reqwest::Client::new(),
        )
        .await
    }

    async fn launch(
        data: tempfile::TempDir,
        config: GatewayConfig,
        clock: Option<TestClock>,
        client: reqwest::Client,
    ) -> Self {
        let loaded = config.load(&env()).expect("test config");
        let app = match &clock {
            None => Application::build(loaded).await,
            Some(clock) => {
                let store = deskgate::store::open(&loaded.gateway.store).expect("the store opens");
                Application::build_with(loaded, store, Arc::new(clock.clone())).await
            }
        }
        .expect("gateway starts");
        // `https` when the configuration has [gateway.tls].
        let base = format!("{}://{}", app.scheme(), app.local_addr());
        let watch = Some(app.escalation_watch());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self { base, data, client, config, clock, watch, stop: Some(stop), task: Some(task) }
    }

    /// Stop the gateway (the store closes) and start a new one on the same data, with
    /// the same configuration and clock.
    pub async fn restart(mut self) -> Self {
        self.shutdown().await;
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().unwrap());
        let config = std::mem::replace(&mut self.config, GatewayConfig::new(Path::new(".")));
        Self::launch(data, config, self.clock.take(), self.client.clone()).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        // The watch holds the store: it goes before the store is opened again.
        self.watch = None;
    }

    /// The escalation watch, to step it on the test clock.
    pub fn watch(&self) -> &Watch {
        self.watch.as_deref().expect("running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, desk: &str) -> String {
        tokens::token(desk)
    }

    pub async fn submit(&self, desk: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url("/api/v1/incidents")).bearer_auth(self.token(desk)).json(body).send().await.unwrap()
    }

    /// `desk` sends `body` with `method` to `path`.
    pub async fn send(&self, desk: &str, method: reqwest::Method, path: &str, body: &Value) -> reqwest::Response {
        self.client.request(method, self.url(path)).bearer_auth(self.token(desk)).json(body).send().await.unwrap()
    }

    pub async fn get(&self, desk: &str, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(self.token(desk)).send().await.unwrap()
    }

    pub async fn patch(&self, desk: &str, id: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(&format!("/api/v1/incidents/{id}")))
            .bearer_auth(self.token(desk))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Every incident the national desk can see.
    pub async fn all_incidents(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/incidents?limit=200&cursor={c}"),
                None => "/api/v1/incidents?limit=200".into(),
            };
            let page: Value = self.get("sds", &path).await.json().await.unwrap();
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    pub async fn audit(&self) -> Vec<Value> {
        let page: Value = self.get("sds", "/api/v1/audit?limit=1000").await.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An answer of the gateway: status, JSON body (`Null` when none) and the text.
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub body: Value,
    pub text: String,
}

/// `desk` sends `body` with `method` to `path`.
pub async fn call(gw: &TestGateway, method: reqwest::Method, desk: &str, path: &str, body: &Value) -> Answer {
    let response = gw.client.request(method, gw.url(path)).bearer_auth(gw.token(desk)).json(body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
}

/// An answer in a dialect: status, headers, and the body as JSON (`Null` when empty,
/// the text as a JSON string when it is not JSON).
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// `desk` calls `path` with `method`, and `body` when given.
pub async fn request(gw: &TestGateway, method: reqwest::Method, desk: &str, path: &str, body: Option<Value>) -> Reply {
    let mut request = gw.client.request(method, gw.url(path)).bearer_auth(gw.token(desk));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Reply { status, headers, body }
}

/// Send `request`: its JSON answer.
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// `GET url` with `token`, its JSON answer.
pub async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Value {
    client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// The gateway's `/metrics` page (Prometheus text).
pub async fn metrics(gw: &TestGateway) -> String {
    gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

/// The value of the unlabelled sample `name` on a Prometheus text page (0 if absent).
pub fn metric(page: &str, name: &str) -> f64 {
    page.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The shipped escalation ruleset, by absolute path.
pub fn shipped_contacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/contacts.toml")
}

/// The shipped ruleset as `edit` changes it, written to `dir/file`.
pub fn edited_contacts(dir: &Path, file: &str, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let mut ruleset: toml::Table = std::fs::read_to_string(shipped_contacts()).unwrap().parse().unwrap();
    edit(&mut ruleset);
    let path = dir.join(file);
    std::fs::write(&path, toml::to_string(&ruleset).unwrap()).unwrap();
    path
}

/// The ruleset's `[[rules]]`, to edit.
pub fn rules(ruleset: &mut toml::Table) -> impl Iterator<Item = &mut toml::Value> {
    ruleset["rules"].as_array_mut().unwrap().iter_mut()
}

pub fn incident(ticket: &str) -> Value {
    serde_json::json!({
        "title": "FMK: prescriptions cannot be read",
        "description": "Since 01:40 no prescriptions are shown in the FMK client at Rigshospitalet.",
        "service": "FMK",
        "ticket_id": ticket,
        "urgency": "high",
        "impact": "medium",
    })
}

/// The Jira counterpart of [`incident`]: an issue a local desk on Jira creates.
pub fn jira_issue(ticket: &str) -> Value {
    serde_json::json!({"fields": {
        "project": {"key": "DG"},
        "issuetype": {"name": "Incident"},
        "summary": "FMK: prescriptions cannot be read",
        "description": "Since 01:40 no prescriptions are shown in the FMK client.",
        "components": [{"name": "FMK"}],
        "priority": {"name": "Medium"},
        "customfield_10100": ticket,
    }})
}

pub type Shared<T> = Arc<T>;
