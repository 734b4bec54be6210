//! The console's escalations, on-call and desks pages in a real headless Chromium:
//! a P1's escalation acknowledged from the console (the API then shows it taken and
//! the next contact is not paged), the person the contact rules name for the test
//! clock's time, and a desk's recent error after a simulator fault. The national
//! desk (`sds`) and the operations supplier (`drift`) sign in at one provider.
//! Screenshots are saved under `<target>/web-screenshots/`.

use std::time::Duration;

use deskgate::clock::TestClock;
use deskgate_sim::Fault;
use deskgate_sim::smtp::SmtpSim;
use jiff::{SignedDuration, Timestamp, Zoned};
use serde_json::{Value, json};

use crate::kit::browser::Browser;
use crate::kit::federation::Federation;
use crate::kit::signin::{SignIn, api_secret, sign_in};
use crate::kit::tokens;
use crate::kit::wait::eventually;

/// Sunday 29 November 2026, 02:00 in Copenhagen: the shipped rules page the NSP
/// System Owner for a non-FMK P1.
const SUNDAY_2AM: &str = "2026-11-29T02:00";

fn local(s: &str) -> Timestamp {
    format!("{s}[Europe/Copenhagen]").parse::<Zoned>().unwrap().timestamp()
}

struct Console {
    f: Federation,
    people: SignIn,
    clock: TestClock,
    smtp: SmtpSim,
}

impl Console {
    /// `desk` calls the API with a token its provider's issuer signed.
    async fn call(&self, desk: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let token = tokens::hs256(&tokens::claims(self.people.idp.issuer(), desk), &api_secret(desk));
        let mut req = self.f.client.request(method, self.f.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn escalations(&self) -> Vec<Value> {
        let (status, list) = self.call("sds", reqwest::Method::GET, "/api/v1/escalations", None).await;
        assert_eq!(status, 200, "{list}");
        list["items"].as_array().unwrap().clone()
    }
}

/// The standard federation on a test clock at `at` with the shipped contact rules;
/// Nina signs in for the national desk, Søren for the operations supplier.
async fn console(at: Timestamp) -> Console {
    let people = SignIn::start(&[("nina", "Nina Sørensen", "sds"), ("soren", "Søren Dahl", "drift")]).await;
    let auths: Vec<_> = ["sds", "drift"].into_iter().map(|id| (id, people.auth(id))).collect();
    let contacts = crate::kit::shipped_contacts();
    let smtp = SmtpSim::spawn().await.unwrap();
    let smtp_port = smtp.port();
    let clock = TestClock::at(at);
    let f = Federation::builder()
        .clock(clock.clone())
        .configure(move |c| {
            c.gateway("contacts", contacts.display().to_string())
                .gateway("smtp", json!({ "host": "127.0.0.1", "port": smtp_port, "from": "deskgate <deskgate@sds.example>", "tls": "none" }))
                .gateway("escalation", json!({ "check_ms": 3_600_000 }));
            for (id, auth) in auths {
                c.desk_key(id, "auth", auth);
            }
        })
        .start()
        .await;
    people.register(&f, &["sds", "drift"]);
    Console { f, people, clock, smtp }
}

/// A new incident reported by Region H through the API; its id.
async fn report(f: &Federation, ticket: &str, service: &str, priority: &str) -> String {
    let body = json!({
        "title": format!("{service}: lookups time out"), "description": "Reported by phone",
        "service": service, "ticket_id": ticket, "priority": priority,
    });
    let (status, incident) = f.call("region-h", reqwest::Method::POST, "/api/v1/incidents", Some(body)).await;
    assert_eq!(status, 201, "{incident}");
    incident["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p1_escalation_is_acknowledged_from_the_console_and_the_next_contact_is_not_paged() {
    let Some(b) = Browser::start().await else { return };
    let c = console(local(SUNDAY_2AM)).await;
    let f = &c.f;
    let incident = report(f, "SN-ESC-1", "NSP", "P1").await;
    let found: Vec<Value> = c.escalations().await.into_iter().filter(|e| e["incident"] == incident.as_str()).collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    let id = found[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(found[0]["contact"]["id"], "nsp-system-owner");

    sign_in(&b, f, "sds", "nina").await;
    b.goto(&f.url("/console/escalations?lang=en")).await;
    let Some(row) = b.text(&format!("escalation-{id}")).await else { panic!("no row: {}", b.source().await) };
    assert!(row.contains(&incident) && row.contains("NSP System Owner"), "{row}");
    assert!(row.contains("1 of 3"), "the first of three contacts: {row}");
    assert!(row.contains("Sun 2026-11-29 02:30 CET"), "the deadline in Copenhagen time: {row}");
    b.screenshot("escalations-open").await;

    b.click(&format!("ack-{id}")).await;
    let Some(acked) = b.text("acked").await else { panic!("no confirmation: {}", b.source().await) };
    assert!(acked.contains(&id) && acked.contains("sds"), "{acked}");
    assert!(b.text(&format!("escalation-{id}")).await.is_none(), "an acknowledged escalation is no longer open");
    b.screenshot("escalations-acknowledged").await;

    // The API shows it taken by the national desk, with the audit entry.
    let (status, e) = c.call("sds", reqwest::Method::GET, &format!("/api/v1/escalations/{id}"), None).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["state"], "acknowledged");
    assert_eq!(e["acknowledged_by"], "sds");
    let (status, audit) = c.call("sds", reqwest::Method::GET, "/api/v1/audit?limit=200", None).await;
    assert_eq!(status, 200, "{audit}");
    let text = audit.to_string();
    assert!(text.contains(&format!("escalation {id} acknowledged")), "{text}");

    // Past the deadline the watch pages nobody: the chain stopped at the first contact.
    c.clock.advance(SignedDuration::from_hours(2));
    let moved = f.watch.as_ref().unwrap().step().await.unwrap();
    assert!(moved.is_empty(), "{moved:#?}");
    let (_, e) = c.call("sds", reqwest::Method::GET, &format!("/api/v1/escalations/{id}"), None).await;
    assert_eq!(e["attempts"].as_array().map(Vec::len), Some(1), "the next contact was not paged: {e}");
    c.smtp.wait_for("nsp-system-owner@nsp.example", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = c.smtp.mails().into_iter().filter(|m| m.to.iter().any(|t| t.contains("nsp-incident-manager"))).count();
    assert_eq!(next, 0, "no mail to the next contact in the chain");

    // A second acknowledgement from the console is refused, naming the first.
    let cookie = b.cookie("deskgate_session").await.expect("a session cookie");
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let ack = |csrf: &str| {
        plain
            .post(f.url(&format!("/console/escalations/{id}/ack?lang=en")))
            .header("cookie", format!("deskgate_session={cookie}"))
            .form(&[("csrf", csrf)])
    };
    assert_eq!(ack("not-the-token").send().await.unwrap().status(), 403, "without the CSRF token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_on_call_page_names_who_the_rules_name_now_and_shows_the_week() {
    let Some(b) = Browser::start().await else { return };
    let c = console(local(SUNDAY_2AM)).await;
    let f = &c.f;
    sign_in(&b, f, "sds", "nina").await;
    b.goto(&f.url("/console/oncall?lang=en")).await;
    let Some(now) = b.text("now-NSP-P1").await else { panic!("no NSP P1 row: {}", b.source().await) };
    assert!(now.contains("NSP System Owner") && now.contains("nsp-weekend"), "{now}");
    let fmk = b.text("now-FMK-P1").await.expect("the FMK row");
    assert!(fmk.contains("FMK Incident Manager"), "{fmk}");
    assert!(b.text("now-local").await.unwrap().contains("Sun 2026-11-29 02:00 CET"));
    let sunday = b.text("day-NSP-2026-11-29").await.expect("Sunday in the NSP week");
    assert!(sunday.contains("2026-11-29"), "{sunday}");
    b.screenshot("oncall-now").await;

    // The week of the autumn DST change, and the Christmas week's holidays.
    b.goto(&f.url("/console/oncall?lang=en&week=2026-10-21")).await;
    let dst = b.text("day-NSP-2026-10-25").await.expect("the DST Sunday");
    assert!(dst.contains("03:00 → 02:00") && dst.contains("25 hours"), "{dst}");
    b.screenshot("oncall-week-dst").await;
    b.goto(&f.url("/console/oncall?lang=en&week=2026-12-23")).await;
    let christmas = b.text("day-NSP-2026-12-25").await.expect("Christmas Day");
    assert!(christmas.contains("Christmas Day"), "{christmas}");
    b.click("week-next").await;
    assert!(b.text("day-NSP-2027-01-01").await.expect("the next week").contains("New Year"));
    b.screenshot("oncall-week-holiday").await;

    // A bad week is refused naming the field.
    b.goto(&f.url("/console/oncall?lang=en&week=29-11-2026")).await;
    assert!(b.text("message").await.unwrap_or_default().contains("week"), "{}", b.source().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desks_page_shows_a_desks_recent_error_after_a_fault() {
    let Some(b) = Browser::start().await else { return };
    let c = console(local(SUNDAY_2AM)).await;
    let f = &c.f;
    // The national desk's ClearQuest answers 503 once: the poll or the delivery
    // that meets it is retried.
    f.sds.faults().push([Fault::Unavailable]);
    // A P2: delivered at once (a P3 at night waits for the next working day).
    report(f, "SN-DESK-1", "NSP", "P2").await;
    eventually(Duration::from_secs(20), "the fault was served", async || (f.sds.faults().pending() == 0).then_some(()))
        .await;

    sign_in(&b, f, "sds", "nina").await;
    let errors = eventually(Duration::from_secs(10), "the desks page lists the error", async || {
        b.goto(&f.url("/console/desks?lang=en")).await;
        b.text("errors-sds").await
    })
    .await;
    assert!(errors.contains("503 Service Unavailable; retried"), "{errors}");
    assert!(!b.source().await.contains("lookups time out"), "no ticket content on the desks page");
    assert!(b.text("desk-drift").await.is_some(), "the national desk sees every desk");
    // The retry is due on the test clock: move it on, and the record is created.
    c.clock.advance(SignedDuration::from_secs(5));
    eventually(Duration::from_secs(20), "the national ClearQuest has the record", async || {
        (f.sds.count() > 0).then_some(())
    })
    .await;
    let watermark = eventually(Duration::from_secs(10), "the national ClearQuest was polled", async || {
        b.goto(&f.url("/console/desks?lang=en")).await;
        b.text("watermark-sds").await.filter(|w| !w.contains("not polled"))
    })
    .await;
    assert!(watermark.contains(" CET"), "a time in Copenhagen: {watermark}");
    let last = b.text("last-success-sds").await.unwrap_or_default();
    assert!(!last.contains("none yet"), "the retried call succeeded: {last}");
    b.screenshot("desks-national").await;

    // The supplier sees its own desk only.
    b.click("sign-out").await;
    sign_in(&b, f, "drift", "soren").await;
    b.goto(&f.url("/console/desks?lang=en")).await;
    assert!(b.text("desk-drift").await.is_some(), "{}", b.source().await);
    assert!(b.text("desk-sds").await.is_none(), "another desk's health is not shown to a supplier");
    b.screenshot("desks-supplier").await;
}
