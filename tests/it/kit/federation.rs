//! The NSP federation against the simulators: Region H on ServiceNow, the national
//! desk on ClearQuest, the FMK supplier on ClearQuest (or the native API), the
//! operations supplier on Jira, and a real gateway wired to them. The simulators'
//! webhooks and pushes reach the gateway through a [`Relay`] in this process, because
//! the gateway's address is known only once the simulators it calls are running.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri};
use deskgate::config::Config;
use deskgate::startup::Application;
use deskgate::sync::poll::Poller;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraSim, JiraSimConfig, JiraWebhookTarget};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig, WebhookTarget};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::binary;
use super::config::{Desk, GatewayConfig};
use super::tokens;
use super::wait::poll_until;

/// The secret the operations supplier's Jira signs its webhooks with, by default.
pub const JIRA_HOOK_SECRET: &str = "drift-webhook-test-secret";

// --- the relay --------------------------------------------------------------------

/// One webhook or push the relay passed on, with the gateway's answer.
#[derive(Clone, Debug)]
pub struct Relayed {
    pub path: String,
    pub request: Value,
    pub status: u16,
    pub answer: Value,
}

#[derive(Clone)]
struct RelayState {
    target: Arc<Mutex<Option<String>>>,
    log: Arc<Mutex<Vec<Relayed>>>,
    open: watch::Receiver<bool>,
    client: reqwest::Client,
}

/// Passes the simulators' calls on to the gateway, records every answer, and can
/// hold calls back.
pub struct Relay {
    pub url: String,
    state: RelayState,
    gate: watch::Sender<bool>,
}

impl Relay {
    pub async fn spawn() -> Relay {
        let (gate, open) = watch::channel(true);
        let state = RelayState {
            target: Arc::default(),
            log: Arc::default(),
            open,
            client: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap(),
        };
        let app = axum::Router::new().fallback(relay).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Relay { url, state, gate }
    }

    /// Where calls go from now on.
    pub fn point_at(&self, gateway: &str) {
        *self.state.target.lock().unwrap() = Some(gateway.to_owned());
    }

    /// Hold calls back until [`Relay::release`].
    pub fn hold(&self) {
        self.gate.send_replace(false);
    }

    pub fn release(&self) {
        self.gate.send_replace(true);
    }

    /// Every call passed on so far, in order.
    pub fn log(&self) -> Vec<Relayed> {
        self.state.log.lock().unwrap().clone()
    }
}

async fn relay(State(s): State<RelayState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> AxumStatus {
    let mut open = s.open.clone();
    let _ = open.wait_for(|o| *o).await;
    let Some(target) = s.target.lock().unwrap().clone() else { return AxumStatus::SERVICE_UNAVAILABLE };
    let mut req = s.client.request(method, format!("{target}{uri}")).body(body.clone());
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    let Ok(res) = req.send().await else { return AxumStatus::BAD_GATEWAY };
    let status = res.status().as_u16();
    let answer = res.json().await.unwrap_or(Value::Null);
    let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.log.lock().unwrap().push(Relayed { path: uri.path().to_owned(), request, status, answer });
    AxumStatus::from_u16(status).unwrap_or(AxumStatus::BAD_GATEWAY)
}

// --- the builder ------------------------------------------------------------------

/// A change to the configuration a test asks for.
type ConfigEdit = Box<dyn FnOnce(&mut GatewayConfig)>;

/// How the FMK supplier takes part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmk {
    /// Its own ClearQuest (database FMK), polled like the national desk's.
    ClearQuest,
    /// The native API.
    Native,
    /// Not configured.
    Absent,
}

/// What the tests vary about the federation. Defaults: 5 attempts per delivery with
/// 20–200 ms backoff, 8 workers, ClearQuest polled every 100 ms, FMK on ClearQuest,
/// the operations supplier's webhooks signed but not sent.
pub struct FederationBuilder {
    delivery: Value,
    poll_ms: Option<u64>,
    poll_min_ms: Option<u64>,
    open_rate_limits: bool,
    fmk: Fmk,
    region_h_native: bool,
    drift: bool,
    drift_services: Vec<String>,
    drift_jira: Value,
    jira_sim: JiraSimConfig,
    jira_webhooks: bool,
    jira_hook_secret: String,
    servicenow_pushes: bool,
    edits: Vec<ConfigEdit>,
    clock: Option<deskgate::clock::TestClock>,
}

impl FederationBuilder {
    fn new() -> Self {
        FederationBuilder {
            delivery: json!({ "retry_base_ms": 20, "retry_max_ms": 200, "max_attempts": 5, "concurrency": 8 }),
            poll_ms: Some(100),
            poll_min_ms: None,
            open_rate_limits: false,
            fmk: Fmk::ClearQuest,
            region_h_native: false,
            drift: true,
            drift_services: vec!["*".into()],
            drift_jira: json!({ "project": "DRIFT", "correlation_field": "customfield_10042" }),
            jira_sim: JiraSimConfig::default(),
            jira_webhooks: false,
            jira_hook_secret: JIRA_HOOK_SECRET.into(),
            servicenow_pushes: false,
            edits: Vec::new(),
            clock: None,
        }
    }

    /// The gateway runs on `clock` (a test clock the test moves) instead of the system clock.
    pub fn clock(mut self, clock: deskgate::clock::TestClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// `[gateway] delivery.<key> = v` (`max_attempts`, `retry_base_ms`, `concurrency`, …).
    pub fn delivery(mut self, key: &str, v: u64) -> Self {
        self.delivery[key] = json!(v);
        self
    }

    pub fn max_attempts(self, n: u64) -> Self {
        self.delivery("max_attempts", n)
    }

    /// The ClearQuest desks' poll interval; `None` leaves the gateway's default.
    pub fn poll_ms(mut self, ms: Option<u64>) -> Self {
        self.poll_ms = ms;
        self
    }

    /// The ClearQuest desks' shortest poll interval (adaptive polling between it and
    /// `poll_ms`); unset, the interval stays at `poll_ms` (the gateway's default when
    /// that is unset too), so a test's polls come when it expects them.
    pub fn poll_min_ms(mut self, ms: u64) -> Self {
        self.poll_min_ms = Some(ms);
        self
    }

    /// No polling: only deliveries, webhooks and the API change anything.
    pub fn no_polling(self) -> Self {
        self.poll_ms(Some(3_600_000))
    }

    /// Rate limits far beyond what a test sends.
    pub fn open_rate_limits(mut self) -> Self {
        self.open_rate_limits = true;
        self
    }

    pub fn fmk(mut self, fmk: Fmk) -> Self {
        self.fmk = fmk;
        self
    }

    /// Region H on the native API instead of its ServiceNow (nothing is delivered to it).
    pub fn region_h_native(mut self) -> Self {
        self.region_h_native = true;
        self
    }

    /// No operations supplier.
    pub fn without_drift(mut self) -> Self {
        self.drift = false;
        self
    }

    pub fn drift_services(mut self, services: &[&str]) -> Self {
        self.drift_services = services.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// `[desks.drift] jira.<key> = v` (`link_field`, `service_field`, …).
    pub fn drift_jira(mut self, key: &str, v: &str) -> Self {
        self.drift_jira[key] = json!(v);
        self
    }

    /// `[desks.drift] jira.<key> = v` for a value that is not a string (a table, a number).
    pub fn drift_jira_value(mut self, key: &str, v: Value) -> Self {
        self.drift_jira[key] = v;
        self
    }

    /// Any other setting of the supplier's simulated Jira (Service Management, Data
    /// Center payloads, …).
    pub fn jira_sim(mut self, edit: impl FnOnce(&mut JiraSimConfig)) -> Self {
        edit(&mut self.jira_sim);
        self
    }

    /// The supplier's Jira is a Jira Cloud site whose search shows a change `index_lag`
    /// after it is made; the desk is configured for Cloud with that consistency window.
    pub fn jira_cloud(mut self, index_lag: Duration, search_consistency_secs: u64) -> Self {
        self.jira_sim = JiraSimConfig {
            index_lag,
            ..JiraSimConfig { custom_fields: self.jira_sim.custom_fields, ..JiraSimConfig::cloud() }
        };
        self.drift_jira["api_version"] = json!(3);
        self.drift_jira["deployment"] = json!("cloud");
        self.drift_jira["search_consistency_secs"] = json!(search_consistency_secs);
        self
    }

    /// A text custom field of the supplier's Jira.
    pub fn jira_custom_field(mut self, id: &str, name: &str) -> Self {
        self.jira_sim.custom_fields.push((id.into(), name.into()));
        self
    }

    /// The supplier's Jira calls the gateway's webhook, signed with `secret`.
    pub fn jira_webhooks(mut self, secret: &str) -> Self {
        self.jira_webhooks = true;
        self.jira_hook_secret = secret.into();
        self
    }

    /// The secret the gateway expects on the supplier's Jira webhooks.
    pub fn jira_hook_secret(mut self, secret: &str) -> Self {
        self.jira_hook_secret = secret.into();
        self
    }

    /// Region H's ServiceNow pushes its changes to the gateway with Region H's token.
    pub fn servicenow_pushes(mut self) -> Self {
        self.servicenow_pushes = true;
        self
    }

    /// The gateway runs on `clock` (a test clock the test moves) with the shipped
    /// escalation ruleset (`gateway.contacts`): staffed hours, deferral, escalation.
    pub fn on_clock(mut self, clock: deskgate::clock::TestClock) -> Self {
        self.clock = Some(clock);
        self.configure(|c| {
            c.gateway("contacts", super::shipped_contacts().display().to_string());
        })
    }

    /// Any other change to the configuration, applied last.
    pub fn configure(mut self, edit: impl FnOnce(&mut GatewayConfig) + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    pub async fn start(self) -> Federation {
        let relay = Relay::spawn().await;
        let region_h = ServiceNowSim::spawn(ServiceNowSimConfig {
            webhook: self.servicenow_pushes.then(|| WebhookTarget {
                url: format!("{}/webhooks/servicenow/region-h", relay.url),
                authorization: format!("Bearer {}", tokens::token("region-h")),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        let sds = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
        let fmk = ClearQuestSim::spawn(ClearQuestSimConfig { db: "FMK".into(), ..Default::default() }).await.unwrap();
        let drift = JiraSim::spawn(JiraSimConfig {
            webhook: self.jira_webhooks.then(|| JiraWebhookTarget {
                url: format!("{}/webhooks/jira/drift", relay.url),
                secret: Some(self.jira_hook_secret.clone()),
            }),
            ..self.jira_sim
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();

        let mut c = GatewayConfig::new(&dir.path().join("store"));
        c.gateway("delivery", &self.delivery);
        if self.open_rate_limits {
            c.open_rate_limits();
        }
        let clearquest = |db: &str| {
            let mut table = json!({ "repo": "7.0.0", "db": db });
            if let Some(ms) = self.poll_ms {
                table["poll_ms"] = json!(ms);
            }
            table["poll_min_ms"] = json!(self.poll_min_ms.or(self.poll_ms).unwrap_or(30_000));
            table
        };
        if self.region_h_native {
            c.desk("region-h", Desk::known("region-h", "Region Hovedstaden Service Desk", "local", "native"));
        } else {
            c.desk("region-h", Desk::region_h_on_servicenow(&region_h.base_url()));
        }
        c.desk("sds", Desk::sds_on_clearquest(sds.base_url(), clearquest("SDS")));
        match self.fmk {
            Fmk::ClearQuest => c.desk(
                "fmk",
                Desk::known("fmk", "FMK supplier", "supplier", "clearquest")
                    .endpoint(fmk.base_url())
                    .services(&["FMK"])
                    .basic_credentials("deskgate", "T_CQ_PASSWORD")
                    .set("clearquest", clearquest("FMK")),
            ),
            Fmk::Native => c.desk("fmk", Desk::known("fmk", "FMK supplier", "supplier", "native").services(&["FMK"])),
            Fmk::Absent => &mut c,
        };
        let mut jira = self.drift_jira;
        jira["webhook_secret"] = json!({ "env": "T_JIRA_HOOK" });
        if self.drift {
            c.desk("drift", Desk::drift_on_jira(&drift.base_url(), jira).set("services", &self.drift_services));
        }
        for edit in self.edits {
            edit(&mut c);
        }

        let config_file = dir.path().join("gateway.toml");
        std::fs::write(&config_file, c.render()).unwrap();
        let env = tokens::federation_env().with("T_JIRA_HOOK", &self.jira_hook_secret);
        let config = c.load(&env).expect("the federation's configuration loads");
        let mut f = Federation {
            gateway: String::new(),
            client: reqwest::Client::new(),
            relay,
            region_h,
            sds,
            fmk,
            drift,
            dir,
            config_file,
            written: c,
            config,
            jira_hook_secret: self.jira_hook_secret,
            poller: None,
            watch: None,
            clock: self.clock,
            stop: None,
            server: None,
        };
        f.launch().await;
        f
    }
}

// --- the running federation -------------------------------------------------------

pub struct Federation {
    /// The gateway's base URL.
    pub gateway: String,
    pub client: reqwest::Client,
    pub relay: Relay,
    pub region_h: ServiceNowSim,
    pub sds: ClearQuestSim,
    pub fmk: ClearQuestSim,
    pub drift: JiraSim,
    /// Holds the store (`store/`) and the configuration file.
    pub dir: tempfile::TempDir,
    /// The configuration as written, for `deskgate --config`.
    pub config_file: PathBuf,
    /// What `config_file` holds, to change it with [`Federation::rewrite_config`].
    written: GatewayConfig,
    /// The configuration as loaded, to start the gateway again on the same store.
    pub config: Config,
    pub jira_hook_secret: String,
    pub poller: Option<Arc<Poller>>,
    /// The escalation watch (which also ends due deferrals), to step on a test clock.
    pub watch: Option<Arc<deskgate::notify::Watch>>,
    /// The test clock the gateway runs on, when not the system clock.
    pub clock: Option<deskgate::clock::TestClock>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Federation {
    pub fn builder() -> FederationBuilder {
        FederationBuilder::new()
    }

    /// Change the configuration file, not the running gateway: for the commands that
    /// read `--config` (`probe`, `check-config`).
    pub fn rewrite_config(&mut self, edit: impl FnOnce(&mut GatewayConfig)) {
        edit(&mut self.written);
        std::fs::write(&self.config_file, self.written.render()).unwrap();
    }

    async fn launch(&mut self) {
        let app = match &self.clock {
            None => Application::build(self.config.clone()).await,
            Some(clock) => {
                let store = deskgate::store::open(&self.config.gateway.store).expect("the store opens");
                Application::build_with(self.config.clone(), store, Arc::new(clock.clone())).await
            }
        }
        .expect("gateway starts");
        self.watch = Some(app.escalation_watch());
        self.gateway = format!("http://{}", app.local_addr());
        self.poller = Some(app.poller());
        let (stop, stopped) = oneshot::channel::<()>();
        self.server = Some(tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
        }));
        self.stop = Some(stop);
        self.relay.point_at(&self.gateway);
    }

    /// Stop the gateway (its store closes); the simulators keep running.
    pub async fn stop(&mut self) {
        self.poller = None;
        self.watch = None;
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }

    /// Stop the gateway and start it again on the same store and configuration.
    /// The end of a test whose deliveries all succeeded: no dead letter, then stopped.
    pub async fn stop_with_no_dead_letters(&mut self) {
        let dead = self.dead_letters().await;
        assert!(dead.is_empty(), "dead letters: {dead:#?}");
        self.stop().await;
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    /// A GET of `path` as `desk`, to send (once, as it stands: no 429 retries).
    pub fn get_as(&self, desk: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(tokens::token(desk))
    }

    /// `desk` calls the gateway: the status and the JSON answer (`Null` when none).
    pub async fn call(
        &self,
        desk: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        // As a polite client does: a 429 is waited out (its Retry-After) and the call
        // sent again, a few times. The harness's own polling spends the desk's inbound
        // allowance like any caller, and a test's step must not fail on it.
        for _ in 0..4 {
            let mut req = self.client.request(method.clone(), self.url(path)).bearer_auth(tokens::token(desk));
            if let Some(b) = &body {
                req = req.json(b);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = res.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                tokio::time::sleep(Duration::from_secs(wait.unwrap_or(1).clamp(1, 5))).await;
                continue;
            }
            return (status, res.json().await.unwrap_or(Value::Null));
        }
        panic!("{method} {path} as {desk}: still rate limited after four tries")
    }

    pub async fn patch(&self, desk: &str, id: &str, body: Value) -> (StatusCode, Value) {
        self.call(desk, reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(body)).await
    }

    /// A public note by `desk`; the status.
    pub async fn note(&self, desk: &str, id: &str, body: &str) -> StatusCode {
        let note = json!({"body": body, "visibility": "public"});
        self.call(desk, reqwest::Method::POST, &format!("/api/v1/incidents/{id}/notes"), Some(note)).await.0
    }

    /// The incident as the national desk sees it.
    pub async fn incident(&self, id: &str) -> Value {
        self.call("sds", reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await.1
    }

    /// The incident as `desk` sees it: the status and the answer.
    pub async fn incident_as(&self, desk: &str, id: &str) -> (StatusCode, Value) {
        self.call(desk, reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await
    }

    /// A webhook from the supplier's Jira, signed with the desk's secret: the answer.
    pub async fn jira_webhook(&self, event: &Value) -> Value {
        let body = serde_json::to_vec(event).unwrap();
        let res = self
            .client
            .post(self.url("/webhooks/jira/drift"))
            .header("content-type", "application/json")
            .header(
                deskgate_jira::webhook::SIGNATURE_HEADER,
                deskgate_jira::webhook::sign(self.jira_hook_secret.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Region H's operator creates a ServiceNow record with `fields` and forwards it
    /// as `body` (its `ticket_id` and `display_id` are the record's): (incident id,
    /// sys_id).
    pub async fn report_ticket(&self, fields: &[(&str, &str)], mut body: Value) -> (String, String) {
        let record = self.region_h.create_as_user(fields).unwrap();
        let sys_id = record["sys_id"].clone();
        body["ticket_id"] = json!(sys_id);
        body["display_id"] = json!(record["number"]);
        let (status, incident) = self.call("region-h", reqwest::Method::POST, "/api/v1/incidents", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        (incident["id"].as_str().unwrap().to_owned(), sys_id)
    }

    /// What waits in the outbox (`[Null]` when the answer had no items).
    pub async fn outbox(&self) -> Vec<Value> {
        let (_, outbox) = self.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
        outbox["items"].as_array().cloned().unwrap_or_else(|| vec![Value::Null])
    }

    pub async fn dead_letters(&self) -> Vec<Value> {
        let (_, dead) = self.call("sds", reqwest::Method::GET, "/api/v1/dead-letters", None).await;
        dead["items"].as_array().cloned().unwrap_or_default()
    }

    /// The dead letters once there are any (bounded; empty when none came).
    pub async fn dead_letters_eventually(&self) -> Vec<Value> {
        poll_until(Duration::from_secs(10), || async {
            let items = self.dead_letters().await;
            (!items.is_empty()).then_some(items)
        })
        .await
        .unwrap_or_default()
    }

    pub async fn audit(&self) -> Vec<Value> {
        let (_, page) = self.call("sds", reqwest::Method::GET, "/api/v1/audit?limit=1000", None).await;
        page["items"].as_array().cloned().unwrap_or_default()
    }

    /// Wait until the outbox is empty (bounded; fails the test if it never drains).
    pub async fn drained(&self) {
        let drained = poll_until(Duration::from_secs(10), || async {
            let (_, outbox) = self.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
            outbox["items"].as_array().is_some_and(Vec::is_empty).then_some(())
        })
        .await;
        if drained.is_none() {
            let (_, outbox) = self.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
            panic!("the outbox did not drain: {outbox:#}");
        }
    }

    /// Wait (bounded) until the outbox is empty and every webhook and push has been
    /// answered, twice in a row: an answered webhook may have planned new deliveries.
    pub async fn settled(&self) {
        let quiet = std::cell::Cell::new(0);
        let settled = poll_until(Duration::from_secs(16), || async {
            self.drift.webhooks_settled().await;
            self.region_h.pushes_settled().await;
            quiet.set(if self.outbox().await.is_empty() { quiet.get() + 1 } else { 0 });
            (quiet.get() == 2).then_some(())
        })
        .await;
        if settled.is_none() {
            panic!("the outbox did not drain: {:#?}", self.outbox().await);
        }
    }

    /// The environment the configuration's secrets are read from.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let env = tokens::federation_env().with("T_JIRA_HOOK", &self.jira_hook_secret);
        env.vars.into_iter().collect()
    }

    /// `deskgate ARGS --url … --config …` as a separate process: (success, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let mut c = binary::async_command();
        c.args(args).args(["--url", &self.gateway, "--config", self.config_file.to_str().unwrap()]);
        c.current_dir(self.dir.path());
        c.envs(self.env_vars());
        let out = tokio::time::timeout(Duration::from_secs(60), c.output()).await.expect("the CLI answers").unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The incident once `cond` holds of it, or as last read when it did not within
    /// `within` (for the test to assert on).
    pub async fn incident_once(&self, id: &str, within: Duration, cond: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        let found = poll_until(within, async || {
            last = self.incident(id).await;
            cond(&last).then(|| last.clone())
        })
        .await;
        found.unwrap_or(last)
    }

    /// The gateway's answers to webhooks on `path` about `ticket`, in order.
    pub fn answers(&self, path: &str, ticket: &str) -> Vec<Relayed> {
        self.relay
            .log()
            .into_iter()
            .filter(|r| r.path == path && (r.request["issue"]["key"] == ticket || r.request["sys_id"] == ticket))
            .collect()
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The ref of `desk` on `incident`.
pub fn ref_of<'a>(incident: &'a Value, desk: &str) -> Option<&'a Value> {
    incident["refs"].as_array()?.iter().find(|r| r["desk"] == desk)
}
