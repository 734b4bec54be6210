//! The Mitz incident process (seed "Incident- en probleemmanagement", Mitz):
//! classification (disruption, information-security incident, fraud), who is told of
//! a security incident and of a calamity, the root-cause analysis a P1 is owed within
//! five working days, and a security incident's text kept internal.

use crate::kit;

use std::time::Duration;

use deskgate::clock::TestClock;
use deskgate_sim::sms::SmsSim;
use deskgate_sim::smtp::SmtpSim;
use jiff::{Timestamp, Zoned};
use kit::{Federation, ref_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ISO_MAIL: &str = "iso@mitz.example";
const ISO_SMS: &str = "+31612345678";
const SERVICE_DESK: &str = "servicedesk@mitz.example";
const SLM: &str = "slm@mitz.example";
const DRIFT_CONTACT: &str = "ops@drift.example";

/// A wall-clock time in Copenhagen (the shipped ruleset's zone).
fn local(s: &str) -> Timestamp {
    format!("{s}[Europe/Copenhagen]").parse::<Zoned>().unwrap().timestamp()
}

struct Harness {
    gw: Option<kit::TestGateway>,
    clock: TestClock,
    smtp: SmtpSim,
    sms: SmsSim,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// The standard federation on a test clock at `at`, with the shipped escalation
    /// ruleset (its Danish calendar is the national one), mail and texts through
    /// simulators, and `[gateway.mitz]`.
    async fn start(at: Timestamp) -> Self {
        let smtp = SmtpSim::spawn().await.unwrap();
        let sms = SmsSim::spawn(None).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let contacts = kit::edited_contacts(dir.path(), "contacts.toml", |_| {});
        let clock = TestClock::at(at);
        let (port, sms_url) = (smtp.port(), sms.url().to_owned());
        let edit = |c: &mut kit::GatewayConfig| {
            c.gateway("contacts", contacts.display().to_string())
                .gateway("smtp", json!({ "host": "127.0.0.1", "port": port, "from": "deskgate <deskgate@sds.example>", "tls": "none" }))
                .gateway("sms", json!({ "url": sms_url }))
                .gateway("escalation", json!({ "check_ms": 3_600_000 }))
                .gateway("delivery", json!({ "retry_base_ms": 20, "retry_max_ms": 100, "max_attempts": 3, "concurrency": 4 }))
                .gateway(
                    "mitz",
                    json!({
                        "security_officer": { "name": "ISO Mitz S&B", "email": ISO_MAIL, "sms": ISO_SMS },
                        "service_desk": { "name": "Servicedesk Mitz", "email": SERVICE_DESK },
                        "service_level_manager": { "name": "Mitz Service Level Manager", "email": SLM },
                        "rca_reminder_hours": 24,
                    }),
                )
                .desk_key("drift", "contact", json!({ "name": "Operations on call", "email": DRIFT_CONTACT }));
        };
        let gw = kit::TestGateway::start_on(edit, Some(clock.clone()), reqwest::Client::new()).await;
        Harness { gw: Some(gw), clock, smtp, sms, _dir: dir }
    }

    fn gw(&self) -> &kit::TestGateway {
        self.gw.as_ref().expect("running")
    }

    async fn restart(&mut self) {
        let gw = self.gw.take().expect("running").restart().await;
        self.gw = Some(gw);
    }

    async fn call(&self, desk: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let reply = kit::request(self.gw(), method, desk, path, body).await;
        (reply.status, reply.body)
    }

    /// Region H reports; the incident as answered.
    async fn report(&self, ticket: &str, priority: &str, extra: Value) -> Value {
        let mut body = json!({
            "title": format!("Mitz consent lookups fail ({ticket})"),
            "description": "The password file of the connector was copied to an unknown host",
            "service": "NSP", "ticket_id": ticket, "priority": priority,
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, incident) = self.call("region-h", Method::POST, "/api/v1/incidents", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        incident
    }

    async fn patch(&self, desk: &str, id: &str, body: Value) -> (StatusCode, Value) {
        self.call(desk, Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(body)).await
    }

    /// Wait (bounded) until no Mitz notice waits in the outbox (the shipped ruleset's
    /// escalation webhooks point nowhere and may keep retrying).
    async fn drained(&self) {
        let pending = async || {
            let (_, outbox) = self.call("sds", Method::GET, "/api/v1/outbox", None).await;
            let items = outbox["items"].as_array().cloned().unwrap_or_default();
            items.into_iter().filter(|i| i["desk"].as_str().is_some_and(|d| d.starts_with("notify-mitz"))).count()
        };
        let done = kit::wait::poll_until(Duration::from_secs(10), async || (pending().await == 0).then_some(())).await;
        assert!(done.is_some(), "Mitz notices still wait in the outbox");
    }

    /// `id` assigned to the operations supplier, then `change` sent by the supplier
    /// (refused) and by the national desk (taken): the national desk's answer.
    async fn assigned_then_set_by_the_national_desk_only(&self, id: &str, change: Value) -> Value {
        let (status, _) = self.patch("sds", id, json!({ "assignee": "drift" })).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = self.patch("drift", id, change.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = self.patch("sds", id, change).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    fn mails_to(&self, address: &str) -> Vec<deskgate_sim::smtp::Mail> {
        self.smtp.mails().into_iter().filter(|m| m.to.iter().any(|t| t == address)).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mitz_informatiebeveiliging_a_security_incident_always_reaches_the_iso_even_at_night() {
    // Sunday 02:00, a P4: no escalation contact would be paged for it.
    let h = Harness::start(local("2026-11-29T02:00")).await;
    let disruption = h.report("INC0001", "P4", json!({})).await;
    assert_eq!(disruption["category"], "disruption", "{disruption}");
    let security = h.report("INC0002", "P4", json!({ "category": "security" })).await;
    assert_eq!(security["category"], "security", "{security}");
    let id = security["id"].as_str().unwrap();

    let mail = h.smtp.wait_for(ISO_MAIL, 1).await.unwrap().remove(0);
    assert!(mail.subject.contains(id) && mail.subject.contains("Information-security"), "{}", mail.subject);
    assert!(!mail.body.contains("password file"), "the description stays in deskgate: {}", mail.body);
    let text = h.sms.wait_for(ISO_SMS, 1).await.unwrap().remove(0);
    assert!(text.body.contains(id), "{}", text.body);
    h.drained().await;
    assert_eq!(h.mails_to(ISO_MAIL).len(), 1, "a disruption is not reported to the ISO");

    // Reclassified by the national desk later: reported then, once.
    let later = h.report("INC0003", "P3", json!({})).await;
    let later_id = later["id"].as_str().unwrap();
    let (status, body) = h.patch("sds", later_id, json!({ "category": "informatiebeveiliging" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["category"], "security");
    let (_, audit) = h.call("sds", Method::GET, "/api/v1/audit?limit=1000", None).await;
    assert!(audit.to_string().contains("category → security"), "the audit log names the change: {audit}");
    let mails = h.smtp.wait_for(ISO_MAIL, 2).await.unwrap();
    assert!(mails[1].subject.contains(later_id), "{}", mails[1].subject);
    let (status, _) = h.patch("sds", later_id, json!({ "priority": "P2" })).await;
    assert_eq!(status, StatusCode::OK);
    h.drained().await;
    assert_eq!(h.mails_to(ISO_MAIL).len(), 2, "told once per incident");

    // A category the process does not know is refused, naming the field.
    let (status, body) = h.patch("sds", later_id, json!({ "category": "outage" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("category"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mitz_calamiteit_notifies_the_service_desk_and_the_service_level_manager() {
    let h = Harness::start(local("2026-12-01T10:00")).await;
    let calamity = h.report("INC0010", "P2", json!({ "calamity_criteria": ["multiple_connectors"] })).await;
    assert_eq!(calamity["calamity"], true, "{calamity}");
    assert_eq!(calamity["calamity_criteria"], json!(["multiple_connectors"]));
    let id = calamity["id"].as_str().unwrap();
    for address in [SERVICE_DESK, SLM] {
        let mail = h.smtp.wait_for(address, 1).await.unwrap().remove(0);
        assert!(mail.subject.contains("Calamity") && mail.subject.contains(id), "{}", mail.subject);
        assert!(mail.body.contains("MultipleConnectors"), "{}", mail.body);
    }

    // Declared by the national desk; a supplier may not declare one.
    let plain = h.report("INC0011", "P2", json!({})).await;
    let plain_id = plain["id"].as_str().unwrap();
    assert_eq!(plain["calamity"], false);
    let body = h.assigned_then_set_by_the_national_desk_only(plain_id, json!({ "calamity": true })).await;
    assert_eq!(body["calamity"], true);
    for address in [SERVICE_DESK, SLM] {
        let mails = h.smtp.wait_for(address, 2).await.unwrap();
        assert!(mails[1].subject.contains(plain_id), "{}", mails[1].subject);
    }

    // A criterion the seed does not list is refused, naming the field.
    let (status, body) = h.patch("sds", plain_id, json!({ "calamity_criteria": ["bad_weather"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("calamity_criteria"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mitz_rca_a_p1_gets_a_root_cause_analysis_due_in_five_working_days_and_a_reminder() {
    // Tuesday before Easter: Maundy Thursday, Good Friday and Easter Monday are not
    // working days on the Danish calendar.
    let mut h = Harness::start(local("2026-03-31T10:00")).await;
    let p1 = h.report("INC0020", "P1", json!({})).await;
    let id = p1["id"].as_str().unwrap().to_owned();
    assert_eq!(p1["rca"]["due"], local("2026-04-10T10:00").to_string(), "{p1}");
    assert_eq!(p1["rca"]["delivered_at"], Value::Null);
    let (status, _) = h.patch("sds", &id, json!({ "assignee": "drift" })).await;
    assert_eq!(status, StatusCode::OK);

    // Not yet within a day of the deadline: no reminder.
    h.clock.set(local("2026-04-09T09:00"));
    h.gw().watch().step().await.unwrap();
    h.drained().await;
    assert!(h.mails_to(DRIFT_CONTACT).is_empty());

    h.clock.set(local("2026-04-09T11:00"));
    h.gw().watch().step().await.unwrap();
    let mail = h.smtp.wait_for(DRIFT_CONTACT, 1).await.unwrap().remove(0);
    assert!(mail.subject.contains("Root-cause analysis") && mail.subject.contains(&id), "{}", mail.subject);
    let (_, seen) = h.call("drift", Method::GET, &format!("/api/v1/incidents/{id}"), None).await;
    let reminders: Vec<&Value> = seen["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["body"].as_str().unwrap().contains("root-cause"))
        .collect();
    assert_eq!(reminders.len(), 1, "{seen:#}");
    assert_eq!(reminders[0]["visibility"], "internal");

    // Once: another pass, and a restart, remind nobody again.
    h.gw().watch().step().await.unwrap();
    h.restart().await;
    h.gw().watch().step().await.unwrap();
    h.drained().await;
    assert_eq!(h.mails_to(DRIFT_CONTACT).len(), 1);

    // The assignee delivers it.
    let (status, body) = h.patch("drift", &id, json!({ "rca_delivered": true })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rca"]["delivered_at"], local("2026-04-09T11:00").to_string(), "{body}");

    // A P2's only on the national desk's request; a P3's not at all.
    let p2 = h.report("INC0021", "P2", json!({})).await;
    let p2_id = p2["id"].as_str().unwrap();
    assert_eq!(p2["rca"], Value::Null, "{p2}");
    let body = h.assigned_then_set_by_the_national_desk_only(p2_id, json!({ "request_rca": true })).await;
    assert_eq!(body["rca"]["requested"], true);
    // Asked on Thursday 11:00: five working days later is the next Thursday.
    assert_eq!(body["rca"]["due"], local("2026-04-16T11:00").to_string(), "{body}");
    let p3 = h.report("INC0022", "P3", json!({})).await;
    let (status, body) = h.patch("sds", p3["id"].as_str().unwrap(), json!({ "request_rca": true })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("request_rca"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mitz_informatiebeveiliging_a_security_incidents_text_stays_internal() {
    let f = Federation::builder().max_attempts(50).poll_ms(None).open_rate_limits().start().await;
    let fields = [("short_description", "Mitz: connector credentials leaked"), ("description", "Seen by the region")];
    let body = json!({
        "title": "Mitz: connector credentials leaked", "description": "Seen by the region",
        "service": "NSP", "priority": "P2", "category": "security",
    });
    let (id, sys_id) = f.report_ticket(&fields, body).await;
    let (status, body) = f.patch("sds", &id, json!({ "assignee": "drift" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(f.note("sds", &id, "The leaked key was issued to host mitz-cn-07").await, StatusCode::CREATED);
    f.settled().await;
    let key = ref_of(&f.incident(&id).await, "drift").expect("a Jira issue")["remote_id"].as_str().unwrap().to_owned();
    assert!(f.drift.comments(&key).iter().any(|c| c.body.contains("mitz-cn-07")), "the assignee gets the notes");
    assert!(
        f.region_h.journal(&sys_id).iter().all(|j| !j.value.contains("mitz-cn-07")),
        "no other party's note reaches the reporter's tool: {:#?}",
        f.region_h.journal(&sys_id)
    );
    let (_, seen) = f.incident_as("region-h", &id).await;
    assert!(!seen.to_string().contains("mitz-cn-07"), "nor its API view: {seen:#}");
    let (_, seen) = f.incident_as("drift", &id).await;
    assert!(seen.to_string().contains("mitz-cn-07"), "{seen:#}");

    // Resolved: the reporter's ticket hears the status, not the resolution text.
    let (status, body) = f.patch("drift", &id, json!({ "status": "in_progress" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(f.note("drift", &id, "Rotated every key of mitz-cn-07").await, StatusCode::CREATED);
    let (status, body) = f.patch("drift", &id, json!({ "status": "resolved" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    let record = f.region_h.record(&sys_id).unwrap();
    assert_eq!(record["state"], "6", "the status reaches the reporter: {record:#?}");
    assert!(record.values().all(|v| !v.contains("mitz-cn-07")), "{record:#?}");
    assert!(f.region_h.journal(&sys_id).iter().all(|j| !j.value.contains("mitz-cn-07")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mitz_classificatie_the_category_travels_through_the_servicenow_and_jira_apis() {
    let h = Harness::start(local("2026-12-01T10:00")).await;
    // ServiceNow's Table API: the incident's `category`.
    let record = json!({
        "short_description": "Mitz: malware found on a connector host", "description": "Found by the virus scanner",
        "business_service": "NSP", "impact": "2", "urgency": "2", "correlation_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "category": "security",
    });
    let (status, body) = h.call("region-h", Method::POST, "/api/now/table/incident", Some(record.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["result"]["category"], "security", "{body}");
    let sn_id = body["result"]["u_deskgate_incident"].as_str().unwrap().to_owned();
    // Jira's REST API: a `security` label.
    let issue = json!({"fields": {
        "project": {"key": "DG"}, "issuetype": {"name": "Incident"},
        "summary": "Mitz: suspected fraud with consent records", "description": "Reported by a care provider",
        "components": [{"name": "NSP"}], "priority": {"name": "High"}, "customfield_10100": "RM-7",
        "labels": ["fraude"],
    }});
    let (status, body) = h.call("region-m", Method::POST, "/rest/api/2/issue", Some(issue.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();
    let (_, seen) = h.call("region-m", Method::GET, &format!("/rest/api/2/issue/{key}"), None).await;
    assert_eq!(seen["fields"]["labels"], json!(["fraud"]), "{seen}");
    let (_, native) = h.call("sds", Method::GET, &format!("/api/v1/incidents/{sn_id}"), None).await;
    assert_eq!(native["category"], "security", "{native}");

    let mail = h.smtp.wait_for(ISO_MAIL, 1).await.unwrap().remove(0);
    assert!(mail.subject.contains(&sn_id), "{}", mail.subject);
    h.drained().await;
    assert_eq!(h.mails_to(ISO_MAIL).len(), 1, "fraud is not an information-security incident");

    // An unknown category is refused in each dialect's own error shape, naming the field.
    let mut bad = record;
    bad["category"] = json!("weather");
    bad["correlation_id"] = json!("b1b2c3d4e5f60718293a4b5c6d7e8f90");
    let (status, body) = h.call("region-h", Method::POST, "/api/now/table/incident", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["status"], "failure", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("category"), "{body}");
    let mut bad = issue;
    bad["fields"]["labels"] = json!("security");
    bad["fields"]["customfield_10100"] = json!("RM-8");
    let (status, body) = h.call("region-m", Method::POST, "/rest/api/2/issue", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"]["labels"].is_string(), "{body}");
}

#[test]
fn mitz_verantwoordelijkheden_check_config_names_each_bad_key_of_the_mitz_section() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mitz.toml");
    let text = r#"
[gateway]
listen = "127.0.0.1:0"

[gateway.mitz]
security_officer = { name = "ISO Mitz S&B", email = "not-an-address" }
service_desk = { name = "Servicedesk Mitz", sms = "0612345678" }
rca_working_days = 0

[desks.sds]
name = "National"
role = "national"
system = "native"
"#;
    std::fs::write(&file, text).unwrap();
    let out = kit::binary::command().args(["check-config", file.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    for expected in [
        "gateway.mitz.security_officer.email",
        "gateway.mitz.service_desk.sms",
        "gateway.mitz.service_level_manager",
        "gateway.mitz.rca_working_days",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mitz_classificatie_a_new_servicenow_copy_carries_the_category() {
    use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
    let config =
        ServiceNowSimConfig { user: "deskgate".into(), password: "sds-test-secret".into(), ..Default::default() };
    let national = ServiceNowSim::spawn(config).await.unwrap();
    let url = national.base_url();
    let gw = kit::TestGateway::start_edited(
        |c| {
            c.desk(
                "sds",
                kit::Desk::known("sds", "National Service Desk", "national", "servicenow")
                    .endpoint(&url)
                    .basic_credentials("deskgate", "T_SDS"),
            );
        },
        reqwest::Client::new(),
    )
    .await;
    let mut copies = Vec::new();
    for (ticket, category) in [("INC0030", "security"), ("INC0031", "disruption")] {
        let body = json!({
            "title": format!("Mitz: consent lookups fail ({ticket})"), "description": "Seen at two connectors",
            "service": "NSP", "ticket_id": ticket, "priority": "P3", "category": category,
        });
        let reply = kit::request(&gw, Method::POST, "region-h", "/api/v1/incidents", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let copy = kit::wait::poll_until(Duration::from_secs(10), async || {
            let reply = kit::request(&gw, Method::GET, "sds", &format!("/api/v1/incidents/{id}"), None).await;
            ref_of(&reply.body, "sds").map(|r| r["remote_id"].as_str().unwrap().to_owned())
        })
        .await
        .expect("the national desk's ServiceNow gets its copy");
        copies.push(national.record(&copy).expect("the record"));
    }
    assert_eq!(copies[0]["category"], "security", "{:#?}", copies[0]);
    assert_ne!(copies[1].get("category").map(String::as_str), Some("security"), "{:#?}", copies[1]);
}
