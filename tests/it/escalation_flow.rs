//! P1/P2 escalation as a running feature: a new or upgraded P1/P2 opens an
//! escalation with its proof (rule, ruleset version, contact, local time), the
//! contact is notified by mail (a real SMTP conversation with a sink run here) and
//! webhook, stakeholders get their mail, an unacknowledged escalation moves down
//! the chain on the test clock, an acknowledgement stops it, and P3/P4 reports
//! outside staffed hours are deferred to the next working day — never dropped.

use crate::kit;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use deskgate::clock::TestClock;
use deskgate::notify::Watch;
use deskgate_sim::sms::SmsSim;
use deskgate_sim::smtp::SmtpSim;
use jiff::{SignedDuration, Timestamp, Zoned};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A wall-clock time in Copenhagen.
fn local(s: &str) -> Timestamp {
    format!("{s}[Europe/Copenhagen]").parse::<Zoned>().unwrap().timestamp()
}

// ---------------------------------------------------------------------------
// A webhook receiver.

#[derive(Clone, Default)]
struct Hooks {
    calls: Arc<Mutex<Vec<Value>>>,
}

impl Hooks {
    async fn spawn() -> (Self, String) {
        let hooks = Hooks::default();
        let calls = hooks.calls.clone();
        let app = axum::Router::new().route(
            "/hooks/escalation",
            axum::routing::post(move |Json(body): Json<Value>| {
                let calls = calls.clone();
                async move {
                    calls.lock().unwrap().push(body);
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/escalation", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hooks, url)
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let calls = kit::wait::poll_until(Duration::from_secs(10), async || {
            let calls = self.calls.lock().unwrap().clone();
            (calls.len() >= n).then_some(calls)
        })
        .await;
        calls.unwrap_or_else(|| panic!("fewer than {n} webhook calls: {:#?}", self.calls.lock().unwrap()))
    }
}

// ---------------------------------------------------------------------------
// The gateway on a test clock.

struct Harness {
    gw: Option<kit::TestGateway>,
    clock: TestClock,
    smtp: SmtpSim,
    sms: SmsSim,
    hooks: Hooks,
    dir: tempfile::TempDir,
    base: String,
}

/// The shipped ruleset with the national desk's webhook pointed at `hook`, and a
/// webhook for the FMK Incident Manager too.
fn contacts(dir: &Path, hook: &str) -> PathBuf {
    kit::edited_contacts(dir, "contacts.toml", |ruleset| {
        let contacts = &mut ruleset["contacts"];
        let webhook = toml::Value::from(toml::toml! { kind = "webhook" url = hook });
        let national = contacts["national-service-desk"]["channels"].as_array_mut().unwrap();
        let shipped_hook = national.iter_mut().find(|c| c["kind"].as_str() == Some("webhook")).unwrap();
        assert_eq!(shipped_hook["url"].as_str(), Some("https://sds.example/hooks/escalation"));
        *shipped_hook = webhook.clone();
        contacts["fmk-incident-manager"]["channels"].as_array_mut().unwrap().push(webhook);
    })
}

impl Harness {
    /// The standard test federation on a test clock at `at`, mailing through an SMTP
    /// sink, with the shipped ruleset whose webhooks call this test.
    async fn start(at: Timestamp) -> Self {
        let smtp = SmtpSim::spawn().await.unwrap();
        let smtp_port = smtp.port();
        let (hooks, hook_url) = Hooks::spawn().await;
        let dir = tempfile::tempdir().unwrap();
        let contacts = contacts(dir.path(), &hook_url);
        // The SMS gateway's token, by secret reference (a file here).
        let sms = SmsSim::spawn(Some(SMS_TOKEN)).await.unwrap();
        let token_file = dir.path().join("sms-token");
        std::fs::write(&token_file, SMS_TOKEN).unwrap();
        let sms_settings = json!({ "url": sms.url(), "token": { "file": token_file.display().to_string() } });
        let clock = TestClock::at(at);
        let edit = |config: &mut kit::GatewayConfig| {
            config
                .gateway("contacts", contacts.display().to_string())
                .gateway(
                    "smtp",
                    json!({ "host": "127.0.0.1", "port": smtp_port, "from": "deskgate <deskgate@sds.example>", "tls": "none" }),
                )
                .gateway("sms", sms_settings.clone())
                .gateway("escalation", json!({ "stakeholders": ["nsp-stakeholders@sds.example"], "check_ms": 3_600_000 }))
                .gateway("delivery", json!({ "retry_base_ms": 20, "retry_max_ms": 100, "max_attempts": 3, "concurrency": 4 }));
        };
        let gw = kit::TestGateway::start_on(edit, Some(clock.clone()), reqwest::Client::new()).await;
        let base = gw.base.clone();
        Harness { gw: Some(gw), clock, smtp, sms, hooks, dir, base }
    }

    async fn restart(&mut self) {
        let gw = self.gw.take().expect("running").restart().await;
        self.base = gw.base.clone();
        self.gw = Some(gw);
    }

    fn gw(&self) -> &kit::TestGateway {
        self.gw.as_ref().expect("running")
    }

    fn watch(&self) -> &Watch {
        self.gw().watch()
    }

    async fn call(&self, desk: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let reply = kit::request(self.gw(), method, desk, path, body).await;
        (reply.status, reply.body)
    }

    async fn report(&self, ticket: &str, title: &str, service: &str, priority: &str) -> Value {
        let body = json!({
            "title": title, "description": "Reported by phone", "service": service,
            "ticket_id": ticket, "priority": priority,
        });
        let (status, incident) = self.call("region-h", reqwest::Method::POST, "/api/v1/incidents", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        incident
    }

    async fn patch(&self, desk: &str, id: &str, body: Value) -> Value {
        let (status, v) = self.call(desk, reqwest::Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    async fn escalations(&self) -> Vec<Value> {
        let (status, list) = self.call("sds", reqwest::Method::GET, "/api/v1/escalations", None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["items"].as_array().unwrap().clone()
    }

    async fn escalations_of(&self, incident: &str) -> Vec<Value> {
        self.escalations().await.into_iter().filter(|e| e["incident"] == incident).collect()
    }
}

const SUNDAY_2AM: &str = "2026-11-29T02:00";
const SMS_TOKEN: &str = "sms-gateway-token";

#[tokio::test]
async fn a_p2_fmk_report_at_sunday_night_escalates_to_the_fmk_incident_manager_by_mail_and_webhook() {
    let h = Harness::start(local(SUNDAY_2AM)).await;
    let incident = h.report("SN-1", "FMK: prescriptions cannot be read", "FMK", "P2").await;
    let id = incident["id"].as_str().unwrap();
    assert!(incident.get("deferred_until").is_none(), "a P2 is never deferred: {incident}");

    let found = h.escalations_of(id).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let e = &found[0];
    assert_eq!(e["state"], "pending");
    assert_eq!(e["contact"]["id"], "fmk-incident-manager");
    assert_eq!(e["rule"], "fmk-always");
    assert!(e["ruleset_version"].as_str().is_some_and(|v| !v.is_empty()), "{e}");
    assert_eq!(e["priority"], "P2");
    assert!(e["local_time"].as_str().unwrap().starts_with("2026-11-29T02:00:00+01:00"), "{e}");
    assert!(e["reason"].as_str().unwrap().contains("Sun 2026-11-29 02:00:00 CET"), "{e}");
    assert!(e["deadline_local"].as_str().unwrap().starts_with("2026-11-29T02:15:00+01:00"), "{e}");
    let esc_id = e["id"].as_str().unwrap();
    let ack_url = format!("http://gateway.test/api/v1/escalations/{esc_id}/ack");
    assert_eq!(e["ack_url"], ack_url.as_str());
    let (status, one) = h.call("sds", reqwest::Method::GET, &format!("/api/v1/escalations/{esc_id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["id"], esc_id);

    // The mail really went through SMTP.
    let mail = h.smtp.wait_for("fmk-incident-manager@fmk.example", 1).await.unwrap().remove(0);
    assert!(mail.subject.contains("P2 FMK escalation"), "{mail:?}");
    assert!(mail.subject.contains(id) && mail.subject.contains("prescriptions cannot be read"), "{mail:?}");
    assert!(mail.body.contains("rule `fmk-always` matched"), "{}", mail.body);
    assert!(mail.body.contains("FMK Incident Manager"), "{}", mail.body);
    assert!(mail.body.contains(&ack_url), "{}", mail.body);
    assert!(mail.body.contains("Sun 2026-11-29 02:15 CET"), "the deadline in local time: {}", mail.body);

    // The webhook got the JSON.
    let call = h.hooks.wait_for(1).await.remove(0);
    assert_eq!(call["incident"]["id"], id);
    assert_eq!(call["incident"]["title"], "FMK: prescriptions cannot be read");
    assert_eq!(call["incident"]["service"], "FMK");
    assert_eq!(call["incident"]["priority"], "P2");
    assert_eq!(call["rule"], "fmk-always");
    assert_eq!(call["contact"]["id"], "fmk-incident-manager");
    assert!(call["reason"].as_str().unwrap().contains("fmk-always"), "{call}");
    assert!(call["local_time"].as_str().unwrap().starts_with("2026-11-29T02:00:00+01:00"), "{call}");
    assert_eq!(call["ack_url"], ack_url.as_str());

    // Stakeholders are told about every P1/P2 (step 5b).
    let stake = h.smtp.wait_for("nsp-stakeholders@sds.example", 1).await.unwrap().remove(0);
    assert!(stake.subject.contains("P2 incident") && stake.subject.contains(id), "{stake:?}");
    assert!(stake.body.contains("FMK Incident Manager"), "{}", stake.body);
}

#[tokio::test]
async fn a_non_fmk_p1_at_sunday_night_goes_to_the_nsp_system_owner() {
    let h = Harness::start(local(SUNDAY_2AM)).await;
    let incident = h.report("SN-2", "NSP: lookups time out", "NSP", "P1").await;
    let found = h.escalations_of(incident["id"].as_str().unwrap()).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["contact"]["id"], "nsp-system-owner");
    assert_eq!(found[0]["contact"]["name"], "NSP System Owner");
    assert_eq!(found[0]["rule"], "nsp-weekend");
    let chain: Vec<&str> = found[0]["chain"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(chain, ["nsp-incident-manager", "national-service-desk"]);
    let mail = h.smtp.wait_for("nsp-system-owner@nsp.example", 1).await.unwrap().remove(0);
    assert!(mail.subject.contains("P1 NSP escalation"), "{mail:?}");
}

#[tokio::test]
async fn a_supplier_upgrading_p3_to_p1_escalates_and_a_downgrade_to_p2_does_not() {
    // Tuesday 10:00: staffed hours, so the P3 is not deferred either.
    let h = Harness::start(local("2026-12-01T10:00")).await;
    let incident = h.report("SN-3", "NSP: slow lookups", "NSP", "P3").await;
    let id = incident["id"].as_str().unwrap();
    assert!(incident.get("deferred_until").is_none(), "{incident}");
    assert!(h.escalations_of(id).await.is_empty(), "a P3 does not escalate");

    h.patch("sds", id, json!({"assignee": "drift"})).await;
    assert!(h.escalations_of(id).await.is_empty());
    h.clock.advance(SignedDuration::from_mins(20));
    h.patch("drift", id, json!({"priority": "P1"})).await;
    let found = h.escalations_of(id).await;
    assert_eq!(found.len(), 1, "the upgrade escalates: {found:#?}");
    assert_eq!(found[0]["contact"]["id"], "nsp-incident-manager");
    assert_eq!(found[0]["rule"], "nsp-working-hours");
    assert!(found[0]["local_time"].as_str().unwrap().starts_with("2026-12-01T10:20:00+01:00"), "{}", found[0]);

    h.patch("drift", id, json!({"priority": "P2"})).await;
    assert_eq!(h.escalations_of(id).await.len(), 1, "P1 → P2 is not an upgrade");
    h.patch("sds", id, json!({"priority": "P1"})).await;
    assert_eq!(h.escalations_of(id).await.len(), 2, "P2 → P1 is an upgrade to P1");
}

#[tokio::test]
async fn without_an_acknowledgement_the_next_contact_is_notified_and_an_acknowledgement_stops_the_chain() {
    let h = Harness::start(local(SUNDAY_2AM)).await;
    let taken = h.report("SN-4", "FMK: medication list empty", "FMK", "P2").await;
    let left = h.report("SN-5", "FMK: renewals fail", "FMK", "P2").await;
    let taken_id = h.escalations_of(taken["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    let left_id = h.escalations_of(left["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    h.smtp.wait_for("fmk-incident-manager@fmk.example", 2).await.unwrap();

    // Not yet due: nothing moves.
    h.clock.advance(SignedDuration::from_mins(14));
    assert!(h.watch().step().await.unwrap().is_empty());

    // 15 minutes without an answer: the national service desk is next in the chain.
    h.clock.advance(SignedDuration::from_mins(2));
    let moved = h.watch().step().await.unwrap();
    assert_eq!(moved.len(), 2, "{moved:#?}");
    let (_, e) = h.call("sds", reqwest::Method::GET, &format!("/api/v1/escalations/{taken_id}"), None).await;
    assert_eq!(e["state"], "re_escalated");
    assert_eq!(e["contact"]["id"], "national-service-desk");
    let attempts = e["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[1]["attempt"], 2);
    assert!(attempts[1]["notified_local"].as_str().unwrap().starts_with("2026-11-29T02:16:00+01:00"), "{e}");
    let mails = h.smtp.wait_for("servicedesk@sds.example", 2).await.unwrap();
    assert!(mails.iter().all(|m| m.body.contains("attempt 2")), "{mails:#?}");
    let calls = h.hooks.wait_for(4).await; // two first contacts, two second
    assert!(calls.iter().any(|c| c["escalation"] == taken_id.as_str() && c["attempt"] == 2), "{calls:#?}");

    // The national desk takes one.
    let (status, acked) =
        h.call("sds", reqwest::Method::POST, &format!("/api/v1/escalations/{taken_id}/ack"), None).await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "sds");
    assert!(acked["acknowledged_local"].as_str().unwrap().starts_with("2026-11-29T02:16:00+01:00"), "{acked}");
    let (status, again) =
        h.call("region-h", reqwest::Method::POST, &format!("/api/v1/escalations/{taken_id}/ack"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again["error"]["message"].as_str().unwrap().contains("already acknowledged by sds"), "{again}");
    // The acknowledgement is audited with it, once; the refused second one not at all.
    let (_, audit) = h.call("sds", reqwest::Method::GET, "/api/v1/audit?limit=500", None).await;
    let acks: Vec<_> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == format!("escalation {taken_id} acknowledged"))
        .collect();
    assert_eq!(acks.len(), 1, "{audit}");
    assert_eq!((acks[0]["desk"].as_str(), acks[0]["incident"].is_string()), (Some("sds"), true), "{audit}");

    // Another 15 minutes: the acknowledged one stays put; the other has no one left.
    h.clock.advance(SignedDuration::from_mins(16));
    let moved = h.watch().step().await.unwrap();
    assert_eq!(moved.len(), 1, "{moved:#?}");
    assert_eq!(moved[0].id, left_id);
    let list = h.escalations().await;
    let state = |id: &str| list.iter().find(|e| e["id"] == id).unwrap().clone();
    assert_eq!(state(&taken_id)["state"], "acknowledged");
    assert_eq!(state(&taken_id)["attempts"].as_array().unwrap().len(), 2);
    let exhausted = state(&left_id);
    assert_eq!(exhausted["state"], "exhausted", "{exhausted}");
    assert!(exhausted["exhausted_at"].is_string() && exhausted["deadline"].is_null(), "{exhausted}");
    assert_eq!(
        h.smtp.wait_for("servicedesk@sds.example", 2).await.unwrap().len(),
        2,
        "nobody after the end of the chain"
    );

    // Only a desk party to the incident sees (and may acknowledge) its escalation.
    let (status, _) = h.call("drift", reqwest::Method::GET, &format!("/api/v1/escalations/{left_id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_p3_on_friday_evening_is_deferred_to_monday_morning_and_kept_across_a_restart() {
    let mut h = Harness::start(local("2026-11-27T17:00")).await;
    let incident = h.report("SN-6", "SOSI: a certificate expires next week", "SOSI", "P3").await;
    let id = incident["id"].as_str().unwrap().to_owned();
    // Monday 30 November, 08:00 CET.
    assert_eq!(incident["deferred_until"], "2026-11-30T07:00:00Z", "{incident}");
    assert!(h.escalations_of(&id).await.is_empty(), "a P3 is not escalated");
    let (_, list) = h.call("sds", reqwest::Method::GET, "/api/v1/incidents?priority=P3", None).await;
    assert_eq!(list["items"][0]["deferred_until"], "2026-11-30T07:00:00Z", "{list}");

    h.restart().await;
    let (status, after) = h.call("sds", reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["deferred_until"], "2026-11-30T07:00:00Z", "{after}");
    assert_eq!(after["title"], "SOSI: a certificate expires next week");

    // A P3 inside staffed hours is taken up at once.
    h.clock.set(local("2026-11-30T09:00"));
    let now = h.report("SN-7", "SOSI: slow token issuing", "SOSI", "P3").await;
    assert!(now.get("deferred_until").is_none(), "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_and_acknowledges_escalations_as_the_national_desk() {
    let h = Harness::start(local(SUNDAY_2AM)).await;
    let incident = h.report("SN-8", "NSP: lookups time out", "NSP", "P1").await;
    let esc = h.escalations_of(incident["id"].as_str().unwrap()).await[0]["id"].as_str().unwrap().to_owned();
    let config = h.dir.path().join("cli.toml");
    std::fs::write(&config, kit::config_text(&h.dir.path().join("cli-store"), 1024 * 1024)).unwrap();
    let run = |args: Vec<String>| {
        let mut c = kit::binary::command();
        c.args(args).args(["--url", &h.base, "--config", config.to_str().unwrap()]);
        for (k, v) in &kit::env().vars {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = tokio::task::block_in_place(|| run(vec!["escalations".into()]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&esc) && text.contains("pending"), "{text}");
    assert!(text.contains("NSP System Owner") && text.contains("nsp-weekend"), "{text}");

    let out = tokio::task::block_in_place(|| run(vec!["ack".into(), esc.clone()]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("acknowledged by sds"), "{text}");
    let out = tokio::task::block_in_place(|| run(vec!["ack".into(), esc.clone()]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already acknowledged"), "{:?}", out);
}

// ---------------------------------------------------------------------------
// The end of an escalation: an incident that no longer calls for one pages nobody.

/// The mails sent to `address` so far, after the outbox had time to deliver.
async fn mails_to(h: &Harness, address: &str) -> usize {
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.smtp.mails().iter().filter(|m| m.to.iter().any(|t| t == address)).count()
}

#[tokio::test]
async fn step_10_a_resolved_incident_pages_nobody_past_the_deadline_nor_after_a_restart() {
    let mut h = Harness::start(local(SUNDAY_2AM)).await;
    let incident = h.report("SN-10", "FMK: prescriptions cannot be renewed", "FMK", "P2").await;
    let id = incident["id"].as_str().unwrap().to_owned();
    h.smtp.wait_for("fmk-incident-manager@fmk.example", 1).await.unwrap();

    h.clock.advance(SignedDuration::from_mins(5));
    h.patch("sds", &id, json!({"status": "resolved"})).await;
    let e = h.escalations_of(&id).await.remove(0);
    assert_eq!(e["state"], "ended", "{e}");
    assert!(e["ended_reason"].as_str().unwrap().contains("resolved"), "{e}");
    assert!(e["deadline"].is_null(), "{e}");

    // Past the 15 minutes to acknowledge: the next in the chain is not paged.
    h.clock.advance(SignedDuration::from_mins(20));
    assert!(h.watch().step().await.unwrap().is_empty());
    h.restart().await;
    h.clock.advance(SignedDuration::from_mins(60));
    assert!(h.watch().step().await.unwrap().is_empty());
    assert_eq!(h.escalations_of(&id).await[0]["state"], "ended");
    assert_eq!(mails_to(&h, "servicedesk@sds.example").await, 0, "nobody after the first contact");
    assert_eq!(mails_to(&h, "fmk-incident-manager@fmk.example").await, 1);
    let (status, ack) = h
        .call("sds", reqwest::Method::POST, &format!("/api/v1/escalations/{}/ack", e["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "an ended escalation is not taken: {ack}");
}

#[tokio::test]
async fn step_5b_a_downgrade_below_p2_ends_the_escalation_and_an_upgrade_opens_a_new_one() {
    let h = Harness::start(local("2026-12-01T10:00")).await;
    let incident = h.report("SN-11", "NSP: lookups fail", "NSP", "P2").await;
    let id = incident["id"].as_str().unwrap().to_owned();
    assert_eq!(h.escalations_of(&id).await[0]["state"], "pending");

    h.patch("sds", &id, json!({"priority": "P3"})).await;
    let found = h.escalations_of(&id).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["state"], "ended");
    assert!(found[0]["ended_reason"].as_str().unwrap().contains("downgraded to P3"), "{}", found[0]);
    h.clock.advance(SignedDuration::from_mins(20));
    assert!(h.watch().step().await.unwrap().is_empty(), "a downgraded incident pages nobody");

    h.patch("sds", &id, json!({"priority": "P1"})).await;
    let found = h.escalations_of(&id).await;
    assert_eq!(found.len(), 2, "the upgrade escalates again: {found:#?}");
    assert_eq!(found.iter().filter(|e| e["state"] == "pending").count(), 1, "{found:#?}");
}

#[tokio::test]
async fn step_3_a_further_report_is_a_support_request_and_opens_no_escalation_of_its_own() {
    let h = Harness::start(local(SUNDAY_2AM)).await;
    let parent = h.report("SN-12", "FMK: prescriptions cannot be read", "FMK", "P2").await;
    let parent_id = parent["id"].as_str().unwrap().to_owned();
    let further = h.report("SN-13", "FMK: cannot read prescriptions", "FMK", "P2").await;
    let further_id = further["id"].as_str().unwrap().to_owned();

    h.patch("sds", &further_id, json!({"kind": "support_request", "parent": parent_id})).await;
    let found = h.escalations_of(&further_id).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["state"], "ended");
    assert!(found[0]["ended_reason"].as_str().unwrap().contains("support request"), "{}", found[0]);

    // An upgrade of the support request does not escalate it: its parent is.
    h.patch("sds", &further_id, json!({"priority": "P3"})).await;
    h.patch("sds", &further_id, json!({"priority": "P1"})).await;
    assert_eq!(h.escalations_of(&further_id).await.len(), 1);

    h.clock.advance(SignedDuration::from_mins(16));
    let moved = h.watch().step().await.unwrap();
    assert_eq!(moved.len(), 1, "{moved:#?}");
    assert_eq!(moved[0].incident_id, parent_id);
}

/// Saturday 7 March 2026 03:00, the SMS gateway failing its next text: an NSP P1
/// reported as `ticket`; the harness and the incident's id.
async fn nsp_p1_at_3am_on_a_saturday_with_a_failing_text(ticket: &str) -> (Harness, String) {
    let h = Harness::start(local("2026-03-07T03:00")).await;
    h.sms.fail_next(1);
    let incident = h.report(ticket, "NSP: every lookup fails", "NSP", "P1").await;
    let id = incident["id"].as_str().unwrap().to_owned();
    (h, id)
}

#[tokio::test]
async fn step_3_at_3am_on_a_saturday_the_nsp_system_owner_is_woken_by_a_text() {
    // The SMS gateway fails once: the text is retried through the outbox.
    let (h, id) = nsp_p1_at_3am_on_a_saturday_with_a_failing_text("SN-14").await;
    let e = h.escalations_of(&id).await.remove(0);
    assert_eq!(e["contact"]["id"], "nsp-system-owner", "{e}");

    // The retry is due on the gateway's clock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.clock.advance(SignedDuration::from_secs(1));
    let text = h.sms.wait_for("+45 00000002", 1).await.unwrap().remove(0);
    assert!(text.body.contains(&id) && text.body.contains("P1") && text.body.contains("NSP"), "{text:?}");
    assert!(text.body.contains(&format!("/api/v1/escalations/{}/ack", e["id"].as_str().unwrap())), "{text:?}");
    assert!(text.body.contains("03:30"), "the deadline in local time: {text:?}");
    assert_eq!(text.reference.as_deref(), Some(format!("{}.1.1", e["id"].as_str().unwrap()).as_str()));
    h.smtp.wait_for("nsp-system-owner@nsp.example", 1).await.unwrap();

    // Unanswered: the NSP Incident Manager's phone is next.
    h.clock.advance(SignedDuration::from_mins(31));
    assert_eq!(h.watch().step().await.unwrap().len(), 1);
    h.sms.wait_for("+45 00000001", 1).await.unwrap();
    assert_eq!(h.sms.messages().len(), 2, "one text each, the failed attempt not kept twice");
}

#[tokio::test]
async fn step_10_a_text_still_queued_when_the_incident_is_resolved_is_not_sent() {
    // The first try fails; the retry is due only once the gateway's clock moves on.
    let (h, id) = nsp_p1_at_3am_on_a_saturday_with_a_failing_text("SN-15").await;
    h.smtp.wait_for("nsp-system-owner@nsp.example", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.sms.messages().is_empty());

    h.patch("sds", &id, json!({"status": "resolved"})).await;
    h.clock.advance(SignedDuration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(h.sms.messages().is_empty(), "{:#?}", h.sms.messages());
    let (_, outbox) = h.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
    assert!(outbox.to_string().find("notify-nsp-system-owner").is_none(), "delivered (as dropped): {outbox}");
}
