//! `deskgate demo`: the NSP scenario end to end — the gateway plus simulators of the
//! desks' own tools, real HTTP on loopback, real tokens, and a readable account of
//! what each desk saw.
//!
//! It runs the shipped configuration (`deploy/gateway.toml` and `deploy/contacts.toml`,
//! embedded) on a throw-away data directory, with freshly generated secrets, the
//! desks' endpoints pointed at in-process simulators: Region Hovedstaden on
//! ServiceNow, Region Midtjylland on Jira, the national desk and the FMK supplier on
//! ClearQuest, the operations supplier on Jira. `--at` sets the local time the
//! scenario starts at (it matters for who is called at night).

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraSim, JiraSimConfig, SimUser};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use deskgate_sim::sms::SmsSim;
use deskgate_sim::smtp::SmtpSim;
use jiff::Timestamp;
use rand::Rng;
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth::{self, Claims};
use crate::clock::ShiftedClock;
use crate::config::{Config, MapEnv};
use crate::startup::Application;

mod healthdata;
mod serve;

const SHIPPED_CONFIG: &str = include_str!("../deploy/gateway.toml");
const SHIPPED_CONTACTS: &str = include_str!("../deploy/contacts.toml");

/// Every secret variable the configuration references, with a random value.
fn generated_secrets(config_text: &str) -> Result<MapEnv, String> {
    fn collect(v: &toml::Value, out: &mut BTreeSet<String>) {
        match v {
            toml::Value::Table(t) => {
                if let Some(toml::Value::String(name)) = t.get("env") {
                    out.insert(name.clone());
                }
                t.values().for_each(|v| collect(v, out));
            }
            toml::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let root: toml::Value = config_text.parse::<toml::Table>().map(toml::Value::Table).map_err(|e| e.to_string())?;
    let mut names = BTreeSet::new();
    collect(&root, &mut names);
    let mut rng = rand::thread_rng();
    let mut env = MapEnv::new(false);
    for name in names {
        let bytes: [u8; 24] = rng.r#gen();
        env = env.with(&name, hex::encode(bytes));
    }
    Ok(env)
}

/// The desks' own tools.
struct Tools {
    region_h: ServiceNowSim,
    region_m: JiraSim,
    sds: ClearQuestSim,
    fmk: ClearQuestSim,
    drift: JiraSim,
    /// The mail server notifications go through.
    mail: SmtpSim,
    sms: SmsSim,
}

impl Tools {
    async fn start(env: &MapEnv) -> Result<Self, String> {
        let secret = |name: &str| env.vars.get(name).cloned().unwrap_or_default();
        let io = |e: std::io::Error| e.to_string();
        let region_h = ServiceNowSim::spawn(ServiceNowSimConfig {
            user: "deskgate".into(),
            password: secret("DESKGATE_SECRET_REGION_H_PASSWORD"),
            ..ServiceNowSimConfig::default()
        })
        .await
        .map_err(io)?;
        let region_m = JiraSim::spawn(JiraSimConfig {
            projects: vec!["RMSD".into()],
            bearer_token: secret("DESKGATE_SECRET_REGION_M_TOKEN"),
            operator: SimUser::new("rm-7781", "anne.rm", "Anne Kjær", "anne@rm.example"),
            ..JiraSimConfig::default()
        })
        .await
        .map_err(io)?;
        let cq = |db: &str, password: String| ClearQuestSimConfig {
            db: db.into(),
            user: "deskgate".into(),
            password,
            ..ClearQuestSimConfig::default()
        };
        let sds = ClearQuestSim::spawn(cq("SDS", secret("DESKGATE_SECRET_SDS_PASSWORD"))).await.map_err(io)?;
        let fmk = ClearQuestSim::spawn(cq("FMK", secret("DESKGATE_SECRET_FMK_PASSWORD"))).await.map_err(io)?;
        let drift =
            JiraSim::spawn(jira_cloud_site("DRIFT", "deskgate@drift.example", secret("DESKGATE_SECRET_DRIFT_TOKEN")))
                .await
                .map_err(io)?;
        let mail = SmtpSim::spawn().await.map_err(io)?;
        let sms = SmsSim::spawn(Some(&secret("DESKGATE_SECRET_SMS_TOKEN"))).await.map_err(io)?;
        Ok(Self { region_h, region_m, sds, fmk, drift, mail, sms })
    }
}

/// A scenario being played: the gateway as the scenario's desks call it, the tools
/// `T` behind them, and the step being narrated.
struct Play<T> {
    /// The gateway the scenario's desks call.
    gateway: Serving,
    client: reqwest::Client,
    /// The national desk: it reads the incidents and the outbox the narration shows.
    national: &'static str,
    tools: T,
    step: usize,
}

/// The NSP scenario being played.
type Demo = Play<Tools>;

/// A Jira Cloud site with project `project`, whose API user `email` signs in with
/// `api_token`: how the demo's Jira desks are configured.
fn jira_cloud_site(project: &str, email: &str, api_token: String) -> JiraSimConfig {
    JiraSimConfig {
        projects: vec![project.into()],
        email: email.into(),
        api_user: SimUser::new("557058:deskgate", "deskgate", "deskgate", email),
        api_token,
        ..JiraSimConfig::default()
    }
}

/// The gateway's address and each desk of `config` with its role, its tool and where
/// that tool's simulator answers, in columns `id` and `name` wide.
fn print_desks(base: &str, config: &Config, id: usize, name: usize) {
    println!("gateway at {base}; each desk's own tool is a simulator on loopback:");
    for desk in config.desks.values() {
        let endpoint = desk.endpoint.as_ref().map(|u| u.to_string()).unwrap_or_else(|| "(reads the API)".into());
        let role = format!("{:?}", desk.role).to_lowercase();
        println!("   {:<id$} {role:<9} {:<11} {:<name$} {endpoint}", desk.id.as_str(), desk.system.as_str(), desk.name);
    }
}

/// One call of the gateway's API as a desk (`token`): the status and the JSON answer
/// (`null` when there is none).
async fn send(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let mut req = client.request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

fn now_unix() -> u64 {
    jiff::Timestamp::now().as_second().max(0) as u64
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn show(status: u16, expect: u16, what: &str) -> Result<(), String> {
    let mark = if status == expect { "✔" } else { "✘" };
    println!("   {mark} {status} {what}");
    if status == expect { Ok(()) } else { Err(format!("expected {expect}, got {status}: {what}")) }
}

/// Wait (bounded) until `check` holds; the demo's deliveries and polls are asynchronous.
async fn eventually<F, Fut>(what: &str, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    // Gently: the demo's desks are subject to the gateway's rate limits like any other.
    for _ in 0..100 {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    Err(format!("timed out waiting for {what}"))
}

impl<T> Play<T> {
    fn new(gateway: Serving, national: &'static str, tools: T) -> Self {
        Self { gateway, client: reqwest::Client::new(), national, tools, step: 0 }
    }

    /// The scenario is over: stop its gateway.
    async fn stop(self) {
        self.gateway.stop().await;
    }

    /// A short-lived token of `desk`, as its tool would hold.
    fn token(&self, desk: &str) -> Result<String, String> {
        let id = desk.parse().map_err(|e: crate::model::ModelError| e.to_string())?;
        let config = &self.gateway.config;
        let desk = config.desk(&id).ok_or("no such desk")?;
        auth::mint(desk, &config.gateway.audience, Duration::from_secs(900), now_unix())
    }

    fn step(&mut self, title: &str) {
        self.step += 1;
        println!("\n{}. {title}", self.step);
    }

    /// Call the gateway as `desk`.
    async fn call(&self, desk: &str, method: Method, path: &str, body: Option<Value>) -> Result<(u16, Value), String> {
        self.call_with(&self.token(desk)?, method, path, body).await
    }

    async fn call_with(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        send(&self.client, &self.gateway.base, token, method, path, body).await
    }

    /// The incident `id` as the national desk sees it.
    async fn incident(&self, id: &str) -> Result<Value, String> {
        Ok(self.call(self.national, Method::GET, &format!("/api/v1/incidents/{id}"), None).await?.1)
    }

    /// Change the incident `id` as `desk`.
    async fn patch(&self, desk: &str, id: &str, body: Value) -> Result<(u16, Value), String> {
        self.call(desk, Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(body)).await
    }

    /// Wait until every delivery is made (the outbox the national desk sees is empty).
    async fn drained(&self) -> Result<(), String> {
        eventually("the outbox to drain", || async {
            self.call(self.national, Method::GET, "/api/v1/outbox", None)
                .await
                .is_ok_and(|(_, o)| o["items"].as_array().is_some_and(Vec::is_empty))
        })
        .await
    }
}

/// Run `play` with a fresh data directory of its own, removed afterwards.
async fn in_temp_dir<F: Future<Output = Result<(), String>>>(
    name: &str,
    play: impl FnOnce(PathBuf) -> F,
) -> Result<(), String> {
    let data = std::env::temp_dir().join(format!("{name}-{}-{}", std::process::id(), now_unix()));
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let result = play(data.clone()).await;
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// A scenario's gateway, serving on loopback until [`Serving::stop`].
struct Serving {
    base: String,
    config: Config,
    /// The secrets it was configured with, and the overrides.
    env: MapEnv,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// What a scenario's gateway is started from: its configuration `text` (relative
/// paths from `dir`) and contact rules, the generated secrets, and the overrides
/// that point its desks at the simulators.
struct Setup<'a> {
    text: &'a str,
    dir: &'a str,
    contacts: &'a str,
    env: MapEnv,
    overrides: Vec<(&'static str, String)>,
}

impl Setup<'_> {
    /// Start the gateway with its store and contact rules under `data`, on `clock`,
    /// listening on a free loopback port, delivering with short back-offs.
    async fn start(self, data: &Path, clock: Arc<dyn crate::clock::Clock>) -> Result<Serving, String> {
        let contacts = data.join("contacts.toml");
        std::fs::write(&contacts, self.contacts).map_err(|e| e.to_string())?;
        let common = [
            ("DESKGATE_GATEWAY__LISTEN", "127.0.0.1:0".to_owned()),
            ("DESKGATE_GATEWAY__DATA_DIR", data.join("store").display().to_string()),
            ("DESKGATE_GATEWAY__CONTACTS", contacts.display().to_string()),
            ("DESKGATE_GATEWAY__DELIVERY__RETRY_BASE_MS", "50".into()),
        ];
        let env = common.into_iter().chain(self.overrides).fold(self.env, |env, (k, v)| env.with(k, v));
        let config = Config::from_toml(self.text, &PathBuf::from(self.dir), &env)
            .map_err(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
        let store = crate::store::open(&config.gateway.store).map_err(|e| e.to_string())?;
        let app = Application::build_with(config.clone(), store, clock).await.map_err(|e| e.to_string())?;
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(Serving { base, config, env, stop, server })
    }
}

impl Serving {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// Play the scenario of `profile` (`healthdata`; the NSP one without it) starting at
/// `at` (default: now); with `serve`, keep the NSP federation serving afterwards.
pub async fn run_profile(profile: Option<&str>, at: Option<&str>, serve: bool) -> Result<(), String> {
    match profile {
        None | Some("nsp") => run(at, serve).await,
        Some(_) if serve => Err("--serve serves the NSP federation: leave out --profile".into()),
        Some("healthdata") => {
            healthdata::run(match at {
                Some(a) => parse_instant(a)?,
                None => Timestamp::now(),
            })
            .await
        }
        Some(other) => Err(format!("--profile {other:?}: expected nsp or healthdata")),
    }
}

/// Play the scenario starting at `at` (default: now); with `serve`, keep serving
/// afterwards until Ctrl-C.
pub async fn run(at: Option<&str>, serve: bool) -> Result<(), String> {
    let start = match at {
        Some(a) => parse_instant(a)?,
        None => Timestamp::now(),
    };
    in_temp_dir("deskgate-demo", |data| async move { play(&data, start, serve).await }).await
}

/// RFC 3339 with an offset (`2026-11-29T02:00:00+01:00`), or a civil time taken as
/// Copenhagen local time (`2026-11-29T02:00`).
fn parse_instant(text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let civil: jiff::civil::DateTime = text
        .parse()
        .map_err(|_| format!("--at {text:?}: expected e.g. 2026-11-29T02:00:00+01:00 or 2026-11-29T02:00"))?;
    civil.in_tz("Europe/Copenhagen").map(|z| z.timestamp()).map_err(|e| format!("--at {text:?}: {e}"))
}

async fn play(data: &Path, start: Timestamp, serve: bool) -> Result<(), String> {
    let providers = if serve { Some(serve::Providers::start().await?) } else { None };
    let text = match &providers {
        Some(p) => p.configure(SHIPPED_CONFIG)?,
        None => SHIPPED_CONFIG.to_owned(),
    };
    let env = generated_secrets(&text)?;
    let tools = Tools::start(&env).await?;
    let overrides = vec![
        ("DESKGATE_DESKS__REGION_H__ENDPOINT", tools.region_h.base_url()),
        ("DESKGATE_DESKS__REGION_M__ENDPOINT", tools.region_m.base_url()),
        ("DESKGATE_DESKS__SDS__ENDPOINT", tools.sds.base_url().to_owned()),
        ("DESKGATE_DESKS__SDS__CLEARQUEST__POLL_MS", "200".into()),
        ("DESKGATE_DESKS__SDS__CLEARQUEST__POLL_MIN_MS", "200".into()),
        ("DESKGATE_DESKS__FMK__ENDPOINT", tools.fmk.base_url().to_owned()),
        ("DESKGATE_DESKS__FMK__CLEARQUEST__POLL_MS", "200".into()),
        ("DESKGATE_DESKS__FMK__CLEARQUEST__POLL_MIN_MS", "200".into()),
        ("DESKGATE_DESKS__DRIFT__ENDPOINT", tools.drift.base_url()),
        ("DESKGATE_GATEWAY__SMTP__HOST", "127.0.0.1".into()),
        ("DESKGATE_GATEWAY__SMTP__PORT", tools.mail.port().to_string()),
        ("DESKGATE_GATEWAY__SMTP__FROM", "deskgate <deskgate@sds.example>".into()),
        ("DESKGATE_GATEWAY__SMTP__TLS", "none".into()),
        ("DESKGATE_GATEWAY__SMS__URL", tools.sms.url().to_owned()),
    ];
    let setup = Setup { text: &text, dir: "deploy", contacts: SHIPPED_CONTACTS, env, overrides };
    let gateway = setup.start(data, Arc::new(ShiftedClock::starting_at(start))).await?;
    if let Some(p) = &providers {
        p.register(&gateway.config, &gateway.base);
    }

    let local =
        start.in_tz("Europe/Copenhagen").map(|z| z.strftime("%A %Y-%m-%d %H:%M %Z").to_string()).unwrap_or_default();
    println!("deskgate demo — the NSP federation of deploy/gateway.toml, starting {local}");
    print_desks(&gateway.base, &gateway.config, 9, 46);
    let mut demo = Demo::new(gateway, "sds", tools);
    let outcome = scenario(&mut demo, start).await;
    if let (Ok(()), Some(p)) = (&outcome, &providers) {
        p.serve(&demo.gateway.base).await;
    }
    demo.stop().await;
    outcome
}

async fn scenario(d: &mut Demo, start: Timestamp) -> Result<(), String> {
    // 1. Region H takes the call and forwards it.
    d.step("Region Hovedstaden's service desk takes a call and opens a ticket in its ServiceNow");
    let record = d
        .tools
        .region_h
        .create_as_user(&[
            ("short_description", "FMK: prescriptions cannot be read at Rigshospitalet"),
            ("description", "Since 01:40 the FMK client shows no prescriptions; pharmacies are calling."),
            ("impact", "1"),
            ("urgency", "2"),
        ])
        .map_err(|e| format!("{e:?}"))?;
    let (sys_id, number) = (record["sys_id"].clone(), record["number"].clone());
    println!("   ServiceNow {number} (sys_id {sys_id}), impact 1 × urgency 2");
    let (status, inc) = d
        .call(
            "region-h",
            Method::POST,
            "/api/v1/incidents",
            Some(json!({
                "title": "FMK: prescriptions cannot be read at Rigshospitalet",
                "description": "Since 01:40 the FMK client shows no prescriptions; pharmacies are calling.",
                "service": "FMK", "ticket_id": sys_id, "display_id": number, "impact": "high", "urgency": "medium",
            })),
        )
        .await?;
    show(
        status,
        201,
        &format!("forwarded to deskgate: {} ({}), durable before the answer", s(&inc["id"]), s(&inc["priority"])),
    )?;
    let id = s(&inc["id"]).to_owned();
    if inc["priority_classified"] == true {
        println!(
            "   ✔ classified {} from impact × urgency: a suggestion the national desk may change",
            s(&inc["priority"])
        );
    }
    // Step 3: an urgent case is also phoned in.
    let notes = inc["notes"].as_array().into_iter().flatten();
    if let Some(phone) = notes.filter_map(|n| n["body"].as_str()).find(|b| b.contains("also phone")) {
        println!("   ✔ the answer tells Region H: “{phone}”");
    }
    d.drained().await?;
    let national =
        d.tools.sds.records().first().map(|r| r.display_id.clone()).ok_or("nothing reached the national desk")?;
    println!("   ✔ the national desk's ClearQuest has {national} ({} record)", d.tools.sds.count());

    // 2. Who is called for a P2 FMK incident at this hour.
    d.step("P2 on FMK: deskgate escalates to the right person for this hour");
    let (_, escalations) = d.call("sds", Method::GET, "/api/v1/escalations", None).await?;
    if let Some(e) = escalations["items"].as_array().and_then(|a| a.first()) {
        println!(
            "   ✔ {} opened at {}: {} via rule `{}` (ruleset {})",
            s(&e["id"]),
            s(&e["local_time"]),
            s(&e["contact"]["name"]),
            s(&e["rule"]),
            s(&e["ruleset_version"])
        );
        if let Some(email) = e["contact"]["email"].as_str() {
            match d.tools.mail.wait_for(email, 1).await {
                Ok(mails) => println!("   ✔ mail to {email}: “{}”", mails[0].subject),
                Err(e) => println!("   ✘ {e}"),
            }
        }
    }
    let contact = |service: &str| {
        format!("/api/v1/escalations/contact?service={service}&priority=P2&at={}", urlencode(&start.to_string()))
    };
    let (status, who) = d.call("sds", Method::GET, &contact("FMK"), None).await?;
    if status == 200 {
        println!("     {}", s(&who["reason"]));
        let (_, nsp) = d.call("sds", Method::GET, &contact("NSP"), None).await?;
        println!("   (the same at this hour for an NSP incident: {})", s(&nsp["contact"]["name"]));
    } else {
        println!("   escalation contacts not configured ({status})");
    }

    // 3. The same outage reported by Region Midtjylland becomes a support request.
    d.step("Region Midtjylland reports the same outage from its Jira");
    let key = d
        .tools
        .region_m
        .create_as_user(json!({
            "project": {"key": "RMSD"}, "issuetype": {"name": "Incident"},
            "summary": "FMK: no prescriptions in the GP system", "description": "Several GP practices in Aarhus report it.",
        }))
        .map_err(|e| format!("{e:?}"))?;
    let (status, second) = d
        .call(
            "region-m",
            Method::POST,
            "/api/v1/incidents",
            Some(json!({
                "title": "FMK: no prescriptions in the GP system", "description": "Several GP practices in Aarhus report it.",
                "service": "FMK", "ticket_id": key, "urgency": "high", "impact": "medium",
            })),
        )
        .await?;
    show(status, 201, &format!("Jira {key} forwarded: {}", s(&second["id"])))?;
    let second_id = s(&second["id"]).to_owned();
    let (status, _) = d
        .call(
            "sds",
            Method::PATCH,
            &format!("/api/v1/incidents/{second_id}"),
            Some(json!({"kind": "support_request", "parent": id})),
        )
        .await?;
    show(status, 200, &format!("the national desk registers {second_id} as a support request of {id}"))?;
    d.drained().await?;
    let comments = d.tools.region_m.comments(&key);
    if let Some(c) = comments.iter().find(|c| c.body.contains("further report")) {
        println!("   ✔ Region Midtjylland's Jira {key} got: “{}”", c.body.lines().next().unwrap_or_default());
    }

    // 4. Triage in ClearQuest: assigned to the FMK supplier.
    d.step("The national desk assigns it in ClearQuest; deskgate assigns the FMK supplier by service");
    d.tools.sds.action_as_user(&national, "Assign", [("cq:Priority", "2-Major")])?;
    eventually("the assignment to be picked up", || async {
        d.incident(&id).await.is_ok_and(|i| i["assignee"] == "fmk")
    })
    .await?;
    d.drained().await?;
    let supplier =
        d.tools.fmk.records().first().map(|r| r.display_id.clone()).ok_or("nothing reached the FMK supplier")?;
    println!("   ✔ polled from ClearQuest {national}: {id} is assigned to fmk");
    println!("   ✔ the FMK supplier's ClearQuest has {supplier}; {national} ↔ {supplier} linked both ways");
    println!(
        "   ✔ the operations supplier's Jira has {} issues: a support request never reaches a supplier",
        d.tools.drift.count()
    );

    // 5. The supplier resolves in its own ClearQuest.
    d.step("The FMK supplier works and resolves it in its ClearQuest");
    d.tools.fmk.action_as_user(&supplier, "Open", Vec::<(&str, String)>::new())?;
    d.tools.fmk.add_note_as_user(
        &supplier,
        "fmk.oncall",
        "Root cause: expired certificate on the FMK gateway. Renewed at 03:10; prescriptions load again.",
    )?;
    d.tools.fmk.action_as_user(&supplier, "Resolve", Vec::<(&str, String)>::new())?;
    if let Err(e) = eventually("the resolution to be picked up", || async {
        d.incident(&id).await.is_ok_and(|i| i["status"] == "resolved")
    })
    .await
    {
        eprintln!("{:#}", d.incident(&id).await?);
        eprintln!("{:?}", d.tools.fmk.records());
        return Err(e);
    }
    d.drained().await?;
    let origin = d.tools.region_h.record(&sys_id).ok_or("the origin record is gone")?;
    println!(
        "   ✔ national ClearQuest {national}: {}",
        d.tools.sds.record(&national).map(|r| r.state).unwrap_or_default()
    );
    println!(
        "   ✔ Region H's ServiceNow {number}: state {} (Resolved), close notes “{}”",
        origin["state"],
        origin["close_notes"].lines().next().unwrap_or_default()
    );
    // Step 15: the support request's reporter hears the resolution on its own ticket.
    let told = eventually("the support request's reporter to be told", || async {
        d.tools.region_m.comments(&key).iter().any(|c| c.body.contains("has been resolved"))
    })
    .await;
    match told {
        Ok(()) => println!("   ✔ Region Midtjylland's Jira {key} (the support request) got the resolution too"),
        Err(e) => println!("   ✘ {e}"),
    }

    // 6. The close guard.
    d.step("The national desk tries to close the P2 before the incident report is approved");
    let (status, refused) = d.patch("sds", &id, json!({"status": "closed"})).await?;
    show(status, 409, s(&refused["error"]["message"]))?;
    let report = format!("/api/v1/incidents/{id}/report");
    let text = json!({"text": "https://docs.fmk.example/incident-reports/fmk-certificate", "by": "Per Hansen"});
    let (status, _) = d.call("fmk", Method::POST, &report, Some(text)).await?;
    show(status, 200, "the FMK supplier's Per Hansen writes the incident report")?;
    let (status, _) = d.call("fmk", Method::POST, &format!("{report}/submit"), Some(json!({}))).await?;
    show(status, 200, "and submits it (FMK's reports need no quality check by the operator)")?;
    let manager = d.gateway.config.gateway.report.policy.incident_managers.first().cloned().unwrap_or_default();
    let (status, _) = d.call("sds", Method::POST, &format!("{report}/approve"), Some(json!({"by": manager}))).await?;
    show(status, 200, &format!("the FMK/NSP Incident Manager {manager} approves it"))?;
    let (status, closed) = d.patch("sds", &id, json!({"status": "closed"})).await?;
    show(status, 200, &format!("{id} is {}", s(&closed["status"])))?;
    d.drained().await?;
    let origin = d.tools.region_h.record(&sys_id).ok_or("the origin record is gone")?;
    let told = d.tools.region_h.journal(&sys_id).iter().any(|j| j.value.contains("Closed nationally"));
    println!(
        "   ✔ Region H's {number} stays {} — the origin closes its own ticket; it was told: {}",
        origin["state"],
        if told { "“Closed nationally …”" } else { "(no note)" }
    );
    if let Some(crate::config::Journal::Mail(to)) = &d.gateway.config.gateway.journal {
        let to = to.first().cloned().unwrap_or_default();
        let mail = d.tools.mail.wait_for(&to, 1).await?;
        println!("   ✔ journalised once (step 17): mail to {to}: “{}”", mail[0].subject);
    }

    // 7. Refusals.
    d.step("Refusals");
    let issuer_secret = d.gateway.env.vars.get("DESKGATE_SECRET_REGION_H_JWT").cloned().unwrap_or_default();
    let issuer = d
        .gateway
        .config
        .desks
        .values()
        .find(|x| x.id.as_str() == "region-h")
        .and_then(|x| x.auth.as_ref())
        .map(|a| a.issuer.clone())
        .unwrap_or_default();
    let clinician = Claims {
        iss: issuer,
        sub: "jens.hansen@rigshospitalet".into(),
        aud: d.gateway.config.gateway.audience.clone(),
        exp: now_unix() + 600,
        nbf: None,
        iat: Some(now_unix()),
        role: Some("clinician".into()),
        org: Some("rigshospitalet".into()),
    };
    let token = auth::sign(&clinician, jsonwebtoken::Algorithm::HS256, issuer_secret.as_bytes())?;
    let (status, refused) = d
        .call_with(
            &token,
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "FMK down", "description": "x", "service": "FMK", "ticket_id": "none"})),
        )
        .await?;
    show(status, 403, "a clinician with a valid Region H token is not a desk")?;
    println!("     “{}”", s(&refused["error"]["message"]));
    let (status, rejected) = d
        .call(
            "region-m",
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "Citizen 010203-1234 cannot see her prescriptions", "description": "By phone.", "service": "FMK", "ticket_id": "RMSD-99"})),
        )
        .await?;
    show(status, 422, &format!("patient data in {}: refused, not stored, not echoed", s(&rejected["error"]["field"])))?;
    let (status, _) = d.call("region-m", Method::GET, &format!("/api/v1/incidents/{id}"), None).await?;
    show(status, 404, &format!("Region Midtjylland cannot see {id}: it is not party to it"))?;

    // 8. The timeline.
    d.step("Timeline and cross-references");
    for incident_id in [&id, &second_id] {
        let i = d.incident(incident_id).await?;
        println!("   {} [{} {} {}] {}", incident_id, s(&i["kind"]), s(&i["priority"]), s(&i["status"]), s(&i["title"]));
        for r in i["refs"].as_array().into_iter().flatten() {
            println!("     ↔ {:<9} {:<11} {}", s(&r["desk"]), s(&r["system"]), s(&r["display_id"]));
        }
        for h in i["history"].as_array().into_iter().flatten() {
            let at = h["at"].as_str().and_then(|t| t.parse::<Timestamp>().ok());
            let local = at
                .and_then(|t| t.in_tz("Europe/Copenhagen").ok())
                .map(|z| z.strftime("%H:%M:%S").to_string())
                .unwrap_or_default();
            println!("     {local} {:<9} {:<9} {} → {}", s(&h["actor"]), s(&h["field"]), s(&h["from"]), s(&h["to"]));
        }
    }
    let (_, audit) = d.call("sds", Method::GET, "/api/v1/audit", None).await?;
    let rejected = audit["items"].as_array().map(|a| a.iter().filter(|e| e["kind"] == "rejected").count()).unwrap_or(0);
    println!("   audit log: {} entries, {rejected} rejections", audit["items"].as_array().map_or(0, Vec::len));
    let (_, dead) = d.call("sds", Method::GET, "/api/v1/dead-letters", None).await?;
    println!("   dead letters: {}", dead["items"].as_array().map_or(0, Vec::len));
    println!("\ndone.");
    Ok(())
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
