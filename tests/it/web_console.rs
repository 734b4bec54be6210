//! The operator console in a real headless Chromium: the national desk's operator
//! signs in through the identity provider simulator, sees a local desk's incident
//! with links to every desk's ticket, replays a dead letter that then reaches the
//! national ClearQuest; a supplier's person cannot open an incident not theirs, and
//! a POST without the CSRF token changes nothing. Screenshots: `console-*.png`.

use std::time::Duration;

use deskgate_sim::Fault;
use fantoccini::Locator;
use serde_json::json;

use crate::kit::browser::Browser;
use crate::kit::federation::Federation;
use crate::kit::signin::{self, SignIn};
use crate::kit::wait::eventually;

const TITLE: &str = "SOSI: token service unavailable";

struct Console {
    f: Federation,
    _people: SignIn,
}

/// The federation with the national desk's (`sds`: Nina) and the FMK supplier's
/// (`fmk`: Finn) people signing in at one provider; deliveries give up after two
/// attempts and ClearQuest is not polled during the test.
async fn console() -> Console {
    let people = SignIn::start(&[("nina", "Nina Berg", "sds"), ("finn", "Finn Dahl", "fmk")]).await;
    let auths: Vec<_> = ["sds", "fmk"].into_iter().map(|id| (id, people.auth(id))).collect();
    let f = Federation::builder()
        .without_drift()
        .max_attempts(2)
        .poll_ms(Some(3_600_000))
        .configure(move |c| {
            for (id, auth) in auths {
                c.desk_key(id, "auth", auth);
            }
        })
        .start()
        .await;
    people.register(&f, &["sds", "fmk"]);
    Console { f, _people: people }
}

/// Sign in as `login` of `desk`; the console is where the sign-in ends.
async fn sign_in(b: &Browser, f: &Federation, desk: &str, login: &str) {
    signin::sign_in(b, f, desk, login).await;
    let here = b.client.current_url().await.unwrap();
    assert_eq!(here.path(), "/console", "an operator's sign-in ends at the console");
    assert!(b.text("nav-queue").await.is_some(), "the console's navigation");
}

async fn href(b: &Browser, id: &str) -> String {
    let e = b.client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
    e.attr("href").await.unwrap().unwrap_or_default()
}

fn plain() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_operator_sees_the_refs_and_replays_a_dead_letter_from_the_console() {
    let Some(b) = Browser::start().await else { return };
    let c = console().await;
    let f = &c.f;
    sign_in(&b, f, "sds", "nina").await;

    // The national ClearQuest fails twice: the create becomes a dead letter.
    f.sds.faults().push([Fault::ServerError, Fault::ServerError]);
    let fields =
        [("short_description", TITLE), ("description", "Reported by phone"), ("impact", "1"), ("urgency", "2")];
    let body = json!({
        "title": TITLE, "description": "Reported by phone", "service": "SOSI", "urgency": "medium", "impact": "high",
    });
    let (id, sys_id) = f.report_ticket(&fields, body).await;

    let queue = f.url("/console/queue?lang=en");
    let row = eventually(Duration::from_secs(20), "the dead letter shows in the queue", async || {
        b.goto(&queue).await;
        b.text("dead-letters").await
    })
    .await;
    assert!(row.contains(&id) && row.contains("500"), "the dead letter with the remote's status: {row}");
    b.screenshot("console-queue-dead-letter").await;
    assert_eq!(f.sds.count(), 0);

    // A replay posted without the session's token: 403, the letter stays.
    let session = b.cookie("deskgate_session").await.expect("a session cookie");
    let seq = b
        .client
        .find(Locator::Css("#dead-letters input[name=seq]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let forged = plain()
        .post(f.url("/console/queue/replay"))
        .header("cookie", format!("deskgate_session={session}"))
        .form(&[("seq", seq.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    b.goto(&queue).await;
    assert!(b.text("dead-letters").await.is_some(), "still a dead letter");

    // Replayed from the console: it reaches the national ClearQuest.
    b.click(&format!("replay-{seq}")).await;
    assert!(b.text("no-dead").await.is_some(), "no dead letter after the replay: {}", b.source().await);
    let record = eventually(Duration::from_secs(20), "the replayed create reaches ClearQuest", async || {
        f.sds.records().into_iter().find(|r| r.fields.get("cq:Headline").map(String::as_str) == Some(TITLE))
    })
    .await;

    // The incident: the reporting ServiceNow ticket and the national record, as links.
    let page = f.url(&format!("/console/incidents/{id}?lang=en"));
    let national = eventually(Duration::from_secs(20), "the national record's ref", async || {
        b.goto(&page).await;
        b.text("ref-sds").await
    })
    .await;
    assert_eq!(national, record.display_id);
    let origin = href(&b, "ref-region-h").await;
    assert!(
        origin.starts_with(f.region_h.base_url().trim_end_matches('/'))
            && origin.ends_with(&format!("/nav_to.do?uri=incident.do?sys_id={sys_id}")),
        "the ServiceNow ticket's form: {origin}"
    );
    let cq = href(&b, "ref-sds").await;
    assert!(cq.starts_with(f.sds.base_url()) && cq.contains("/record/"), "the ClearQuest record: {cq}");
    assert!(b.text("timeline").await.is_some_and(|t| t.contains("region-h")));
    b.screenshot("console-incident").await;

    // The list finds it by title, by its number and by the reporter's ticket; the
    // filters keep it only where it matches.
    let listed = async |query: &str| {
        b.goto(&f.url(&format!("/console?lang=en&{query}"))).await;
        b.text("incidents").await.is_some_and(|t| t.contains(&id))
    };
    assert!(listed("q=token+service").await, "by title");
    assert!(listed(&format!("q={}", id.rsplit('-').next().unwrap())).await, "by number");
    assert!(
        listed(&format!("q={}", f.region_h.record(&sys_id).unwrap()["number"].as_str())).await,
        "by the reporter's ticket"
    );
    assert!(!listed("q=no+such+words").await);
    assert!(!listed("status=closed").await && !listed("desk=fmk").await && !listed("assignee=fmk").await);
    assert!(listed("desk=region-h&service=SOSI").await);
    assert!(listed("status=new").await);
    b.screenshot("console-incidents").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppliers_person_cannot_open_an_incident_not_theirs_nor_replay() {
    let Some(b) = Browser::start().await else { return };
    let c = console().await;
    let f = &c.f;
    let fields =
        [("short_description", TITLE), ("description", "Reported by phone"), ("impact", "1"), ("urgency", "2")];
    let body = json!({
        "title": TITLE, "description": "Reported by phone", "service": "SOSI", "urgency": "medium", "impact": "high",
    });
    let (id, _) = f.report_ticket(&fields, body).await;

    sign_in(&b, f, "fmk", "finn").await;
    b.goto(&f.url("/console?lang=en")).await;
    assert!(!b.source().await.contains(&id), "another supplier's incident is not listed");
    b.goto(&f.url(&format!("/console/incidents/{id}?lang=en"))).await;
    assert!(b.text("message").await.unwrap().contains("no such page"));
    assert!(!b.source().await.contains(TITLE));
    b.screenshot("console-supplier-not-found").await;

    let session = b.cookie("deskgate_session").await.expect("a session cookie");
    let as_finn = |path: &str| plain().get(f.url(path)).header("cookie", format!("deskgate_session={session}"));
    assert_eq!(as_finn(&format!("/console/incidents/{id}")).send().await.unwrap().status(), 404);
    let signed_out = plain().get(f.url("/console")).send().await.unwrap();
    assert_eq!((signed_out.status().as_u16(), signed_out.headers()["location"].to_str().unwrap()), (303, "/login"));

    // A replay needs the token first (403), and then the national desk (403).
    let post = |form: &[(&str, &str)]| {
        plain()
            .post(f.url("/console/queue/replay"))
            .header("cookie", format!("deskgate_session={session}"))
            .form(form)
            .send()
    };
    assert_eq!(post(&[("seq", "1")]).await.unwrap().status(), 403);
    b.goto(&f.url("/console/queue?lang=en")).await;
    let csrf = b.client.find(Locator::Css("input[name=csrf]")).await.unwrap().attr("value").await.unwrap().unwrap();
    let answer = post(&[("seq", "1"), ("csrf", csrf.as_str())]).await.unwrap();
    assert_eq!(answer.status(), 403);
    assert!(answer.text().await.unwrap().contains("national"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_list_pages_through_every_incident_once() {
    let Some(b) = Browser::start().await else { return };
    let c = console().await;
    let f = &c.f;
    let mut ids = Vec::new();
    for n in 0..51 {
        let title = format!("SOSI: login fails at ward {n}");
        let fields = [("short_description", title.as_str()), ("description", "Reported by phone")];
        let body = json!({ "title": title, "description": "Reported by phone", "service": "SOSI", "urgency": "low" });
        ids.push(f.report_ticket(&fields, body).await.0);
    }
    // Each delivery changes its incident: list once they are all done.
    eventually(Duration::from_secs(30), "every incident reaches ClearQuest", async || {
        (f.sds.count() == 51).then_some(())
    })
    .await;
    sign_in(&b, f, "sds", "nina").await;
    let rows = async || {
        let mut shown = Vec::new();
        for row in b.client.find_all(Locator::Css("#incidents tbody tr td:first-child")).await.unwrap() {
            shown.push(row.text().await.unwrap());
        }
        shown
    };
    b.goto(&f.url("/console?lang=en&service=SOSI")).await;
    let first = rows().await;
    assert_eq!(first.len(), 50, "a page holds 50");
    let next = href(&b, "next").await;
    assert!(next.contains("service=SOSI"), "the next page keeps the filters: {next}");
    b.goto(&f.url(&next)).await;
    let mut all = [first, rows().await].concat();
    all.sort();
    ids.sort();
    assert_eq!(all, ids, "every incident once");
    assert!(b.text("next").await.is_none(), "no page after the last");
}
