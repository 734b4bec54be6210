//! `deskgate demo --profile healthdata`: the healthdata.be federation of
//! `deploy/healthdata/` end to end against simulators — a hospital's ServiceNow, a
//! laboratory's Jira, healthdata.be's own ServiceNow (the national desk) and its L2
//! teams' Jira — through its Incident Management Process: the priority from the
//! matrix, on hold awaiting a problem, resolved, reopened by the reporter, resolved
//! again, and closed by itself five working days later (the demo moves its clock).

use std::path::Path;
use std::sync::Arc;

use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use deskgate_sim::smtp::SmtpSim;
use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::json;

use super::{Setup, eventually, generated_secrets, jira_cloud_site, s, show};
use crate::clock::Clock;
use crate::config::MapEnv;

const CONFIG: &str = include_str!("../../deploy/healthdata/gateway.toml");
const CONTACTS: &str = include_str!("../../deploy/healthdata/contacts.toml");
const ZONE: &str = "Europe/Brussels";

/// The wall clock from a chosen start, which the demo can move forward: five
/// working days pass in a moment.
#[derive(Clone, Debug)]
struct DemoClock {
    offset: Arc<Mutex<SignedDuration>>,
}

impl DemoClock {
    fn starting_at(start: Timestamp) -> Self {
        Self { offset: Arc::new(Mutex::new(start.duration_since(Timestamp::now()))) }
    }

    fn jump_to(&self, to: Timestamp) {
        *self.offset.lock() = to.duration_since(Timestamp::now());
    }
}

impl Clock for DemoClock {
    fn now(&self) -> Timestamp {
        let offset = *self.offset.lock();
        Timestamp::now().saturating_add(offset).unwrap_or_else(|_| Timestamp::now())
    }
}

struct Tools {
    hospital: ServiceNowSim,
    national: ServiceNowSim,
    l2: JiraSim,
    _lab: JiraSim,
    _mail: SmtpSim,
    /// The time the gateway and the simulators keep, moved on by the scenario.
    clock: DemoClock,
}

/// The healthdata.be scenario being played.
type Demo = super::Play<Tools>;

impl Demo {
    fn l2_status(&self) -> String {
        self.tools.l2.issues().first().map(|i| i.status.clone()).unwrap_or_else(|| "-".into())
    }

    fn hospital_state(&self, sys_id: &str) -> String {
        let Some(r) = self.tools.hospital.record(sys_id) else { return "-".into() };
        let hold = r.get("hold_reason").map(String::as_str).filter(|h| !h.is_empty());
        let state = r.get("state").map(String::as_str).unwrap_or("-");
        match hold {
            Some(h) if state == "3" => format!("state 3, hold_reason {h}"),
            _ => format!("state {state}"),
        }
    }
}

fn local(t: Timestamp) -> String {
    t.in_tz(ZONE).map(|z| z.strftime("%A %Y-%m-%d %H:%M %Z").to_string()).unwrap_or_default()
}

/// Play the healthdata.be scenario starting at `start`.
pub async fn run(start: Timestamp) -> Result<(), String> {
    super::in_temp_dir("deskgate-demo-hd", |data| async move { play(&data, start).await }).await
}

async fn tools(env: &MapEnv, clock: DemoClock) -> Result<Tools, String> {
    let secret = |name: &str| env.vars.get(name).cloned().unwrap_or_default();
    let io = |e: std::io::Error| e.to_string();
    // The healthdata.be instances have a field for the process's own priority.
    let sn = |password: String| ServiceNowSimConfig {
        user: "deskgate".into(),
        password,
        custom_fields: vec!["u_deskgate_links".into(), "u_process_priority".into()],
        ..Default::default()
    };
    let hospital = ServiceNowSim::spawn(sn(secret("DESKGATE_SECRET_HOSPITAL_PASSWORD"))).await.map_err(io)?;
    let national = ServiceNowSim::spawn(sn(secret("DESKGATE_SECRET_HD_SERVICEDESK_PASSWORD"))).await.map_err(io)?;
    let lab = JiraSim::spawn(JiraSimConfig {
        projects: vec!["LABIT".into()],
        bearer_token: secret("DESKGATE_SECRET_LAB_TOKEN"),
        ..JiraSimConfig::default()
    })
    .await
    .map_err(io)?;
    let l2 =
        JiraSim::spawn(jira_cloud_site("HDL2", "deskgate@healthdata.example", secret("DESKGATE_SECRET_HD_L2_TOKEN")))
            .await
            .map_err(io)?;
    let mail = SmtpSim::spawn().await.map_err(io)?;
    Ok(Tools { hospital, national, l2, _lab: lab, _mail: mail, clock })
}

async fn play(data: &Path, start: Timestamp) -> Result<(), String> {
    let env = generated_secrets(CONFIG)?;
    let tools = tools(&env, DemoClock::starting_at(start)).await?;
    let overrides = vec![
        ("DESKGATE_GATEWAY__ESCALATION__CHECK_MS", "100".into()),
        ("DESKGATE_DESKS__HOSPITAL__ENDPOINT", tools.hospital.base_url()),
        ("DESKGATE_DESKS__HD_SERVICEDESK__ENDPOINT", tools.national.base_url()),
        ("DESKGATE_DESKS__LAB__ENDPOINT", tools._lab.base_url()),
        ("DESKGATE_DESKS__HD_L2__ENDPOINT", tools.l2.base_url()),
        ("DESKGATE_GATEWAY__SMTP__HOST", "127.0.0.1".into()),
        ("DESKGATE_GATEWAY__SMTP__PORT", tools._mail.port().to_string()),
        ("DESKGATE_GATEWAY__SMTP__TLS", "none".into()),
    ];
    let setup = Setup { text: CONFIG, dir: "deploy/healthdata", contacts: CONTACTS, env, overrides };
    let gateway = setup.start(data, Arc::new(tools.clock.clone())).await?;
    println!(
        "deskgate demo — the healthdata.be federation of deploy/healthdata/gateway.toml, starting {}",
        local(start)
    );
    super::print_desks(&gateway.base, &gateway.config, 14, 44);
    let mut demo = Demo::new(gateway, "hd-servicedesk", tools);
    let outcome = scenario(&mut demo).await;
    demo.stop().await;
    outcome
}

async fn scenario(d: &mut Demo) -> Result<(), String> {
    d.step("A hospital's service desk opens a ticket in its ServiceNow and forwards it to healthdata.be");
    let title = "HEALTHSTAT: the hospital's dashboard shows no data since this morning";
    let record = d
        .tools
        .hospital
        .create_as_user(&[("short_description", title), ("description", "Several registrars see empty charts.")])
        .map_err(|e| format!("{e:?}"))?;
    let (sys_id, number) = (record["sys_id"].clone(), record["number"].clone());
    let (status, inc) = d
        .call(
            "hospital",
            Method::POST,
            "/api/v1/incidents",
            Some(json!({
                "title": title, "description": "Several registrars see empty charts.",
                "service": "HEALTHSTAT", "ticket_id": sys_id, "display_id": number, "impact": "medium", "urgency": "medium",
            })),
        )
        .await?;
    let id = s(&inc["id"]).to_owned();
    show(status, 201, &format!("forwarded: {id} from ServiceNow {number}"))?;
    let importance = s(&inc["process"]["importance"]).to_owned();
    println!(
        "   ✔ priority from the matrix: {} service × medium impact = {} (escalates as {})",
        importance.to_uppercase(),
        s(&inc["process"]["priority"]),
        s(&inc["priority"])
    );
    d.drained().await?;
    let shown = d.tools.national.records().first().and_then(|r| r.get("u_process_priority").cloned());
    println!(
        "   ✔ healthdata.be's ServiceNow has {} record(s), u_process_priority {}",
        d.tools.national.count(),
        shown.unwrap_or_default()
    );

    d.step("The Service Desk assigns it to the L2 teams");
    let (status, _) = d.patch("hd-servicedesk", &id, json!({"assignee": "hd-l2"})).await?;
    show(status, 200, "assigned to hd-l2")?;
    d.drained().await?;
    println!("   ✔ the L2 Jira has {} issue(s)", d.tools.l2.count());

    d.step("L2: no change is required, the cause is unknown — problem management starts (I13)");
    let (status, inc) = d.patch("hd-servicedesk", &id, json!({"rfc": {"kind": "problem", "key": "HDPRB-12"}})).await?;
    show(
        status,
        200,
        &format!("problem HDPRB-12 linked: {} ({})", s(&inc["status"]), s(&inc["process"]["hold_reason"])),
    )?;
    d.drained().await?;
    println!(
        "   ✔ the hospital's ServiceNow shows {} (Awaiting problem, not Awaiting change)",
        d.hospital_state(&sys_id)
    );

    d.step("A workaround is applied; L2 resolves");
    let (status, inc) = d.patch("hd-l2", &id, json!({"status": "resolved"})).await?;
    let closes = inc["process"]["auto_close_at"].as_str().and_then(|t| t.parse::<Timestamp>().ok());
    show(status, 200, &format!("resolved; closes by itself {}", closes.map(local).unwrap_or_default()))?;
    d.drained().await?;

    d.step("The reporter is not satisfied and reopens it within the five working days");
    let (status, inc) = d.patch("hospital", &id, json!({"status": "in_progress"})).await?;
    show(status, 200, &format!("reopened by the hospital: {}", s(&inc["status"])))?;
    d.drained().await?;
    println!("   ✔ the L2 Jira issue is {} again", d.l2_status());

    d.step("L2 resolves it again");
    let (status, inc) = d.patch("hd-l2", &id, json!({"status": "resolved"})).await?;
    let closes = inc["process"]["auto_close_at"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .ok_or("no auto-close instant")?;
    show(status, 200, &format!("resolved; closes by itself {}", local(closes)))?;
    d.drained().await?;

    d.step("Five working days later (the demo moves its clock)");
    d.tools.clock.jump_to(closes.saturating_add(SignedDuration::from_mins(1)).unwrap_or(closes));
    println!("   now {}", local(d.tools.clock.now()));
    eventually("the auto-close", || async { d.incident(&id).await.is_ok_and(|i| i["status"] == "closed") }).await?;
    d.drained().await?;
    let national = d.tools.national.records().first().map(|r| r.get("state").cloned().unwrap_or_default());
    println!(
        "   ✔ {id} closed by itself; healthdata.be's ServiceNow: state {}; the L2 Jira issue is {}",
        national.unwrap_or_default(),
        d.l2_status()
    );

    d.step("The reporter tries to reopen it after close");
    let (status, body) = d.patch("hospital", &id, json!({"status": "in_progress"})).await?;
    let message = body["message"].as_str().or(body["error"]["message"].as_str()).unwrap_or_default();
    show(status, 409, message)?;
    println!("   (the hospital's ServiceNow {number} shows {})", d.hospital_state(&sys_id));

    let (_, dead) = d.call("hd-servicedesk", Method::GET, "/api/v1/dead-letters", None).await?;
    println!("\n   dead letters: {}", dead["items"].as_array().map_or(0, Vec::len));
    println!("\ndone.");
    Ok(())
}
