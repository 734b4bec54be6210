//! The web face in a real headless Chromium: sign-in through the identity provider
//! simulator (OpenID Connect with PKCE), the report form's checks, a complete report
//! reaching the national desk's ClearQuest, and what another desk's person may not
//! do. Screenshots are saved under `<target>/web-screenshots/`.

use std::time::Duration;

use serde_json::json;

use crate::kit::browser::Browser;
use crate::kit::config::Desk;
use crate::kit::federation::Federation;
use crate::kit::signin::{SignIn, sign_in};
use crate::kit::wait::eventually;

const NATIONAL_PHONE: &str = "+45 33143900";
const SUBJECT: &str = "Medication list stays empty for every user";

/// The federation with two local desks whose people sign in at one provider:
/// `portal` (Anna) and `clinic` (Bo).
struct Portal {
    f: Federation,
    _people: SignIn,
}

async fn portal() -> Portal {
    let people = SignIn::start(&[("anna", "Anna Jensen", "portal"), ("bo", "Bo Holm", "clinic")]).await;
    let desks: Vec<_> = [("portal", "Regional portal"), ("clinic", "Clinic desk")]
        .into_iter()
        .map(|(id, name)| (id, Desk::new(name, "local", "native").set("auth", people.auth(id))))
        .collect();
    let f = Federation::builder()
        .without_drift()
        .configure(move |c| {
            for (id, desk) in desks {
                c.desk(id, desk);
            }
            c.desk_key("sds", "contact", json!({ "name": "National Service Desk", "phone": NATIONAL_PHONE }));
        })
        .start()
        .await;
    people.register(&f, &["portal", "clinic"]);
    Portal { f, _people: people }
}

/// A browser with Anna signed in at the portal; `None` without a browser.
async fn anna_signed_in() -> Option<(Browser, Portal)> {
    let b = Browser::start().await?;
    let p = portal().await;
    sign_in(&b, &p.f, "portal", "anna").await;
    Some((b, p))
}

async fn fill_complete(b: &Browser, description: &str) {
    b.select("urgency", "high").await;
    b.select("problem_type", "FMK").await;
    b.fill("subject", SUBJECT).await;
    b.fill("description", description).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporter_signs_in_and_reports_through_the_form() {
    let Some((b, p)) = anna_signed_in().await else { return };
    let f = &p.f;
    assert!(b.text("who").await.unwrap().contains("Anna Jensen"));
    b.goto(&f.url("/report?lang=en")).await;

    // A missing subject: the error on its field, and the box names it.
    b.select("urgency", "high").await;
    b.select("problem_type", "FMK").await;
    b.fill("description", "Since 09:00 the list stays empty.").await;
    b.click("send").await;
    let error = b.text("error-subject").await.expect("the subject's error");
    assert!(error.contains("Required"), "{error}");
    let missing = b.text("required").await.unwrap();
    assert!(missing.contains("Subject") && !missing.contains("Description"), "{missing}");
    b.screenshot("report-missing-field").await;

    // A CPR number: refused on its field, and not shown again anywhere on the page.
    fill_complete(&b, "Patient 010203-1047 cannot see the list").await;
    b.click("send").await;
    let error = b.text("error-description").await.expect("the description's error");
    assert!(error.contains("patient data"), "{error}");
    assert!(!b.source().await.contains("010203-1047"), "the CPR number is echoed");
    assert!(b.text("error-subject").await.is_none());
    b.screenshot("report-patient-data").await;
    assert_eq!(f.sds.count(), 0, "nothing was reported");

    // Complete, with a screenshot (the browser's own, of the form).
    fill_complete(&b, "Since 09:00 the list stays empty for every user of the ward.").await;
    let shot = b.screenshot("report-form-complete").await;
    b.fill("screenshots", shot.to_str().unwrap()).await;
    b.click("send").await;
    let number = b.text("incident-number").await.expect("the confirmation shows the incident's number");
    assert!(b.text("urgent").await.expect("urgent: phone the national desk").contains(NATIONAL_PHONE));
    b.screenshot("report-confirmation").await;

    let national = eventually(Duration::from_secs(20), "the report reaches the national ClearQuest", async || {
        f.sds.records().into_iter().find(|r| r.fields.get("cq:Headline").map(String::as_str) == Some(SUBJECT))
    })
    .await;
    assert_eq!(national.fields.get("cq:deskgate_Incident").map(String::as_str), Some(number.as_str()));
    let stored = f.incident(&number).await;
    assert_eq!(stored["attachments"].as_array().map(Vec::len), Some(1), "{stored}");

    // My reports: the report, with a status filter.
    b.goto(&f.url("/report/mine?lang=en")).await;
    assert!(b.text("reports").await.expect("the list").contains(&number));
    b.goto(&f.url("/report/mine?lang=en&status=closed")).await;
    assert!(b.text("reports").await.is_none(), "no closed report");
    b.screenshot("report-mine").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_desks_person_cannot_see_a_report_nor_post_without_the_csrf_token() {
    let Some((b, p)) = anna_signed_in().await else { return };
    let f = &p.f;
    fill_complete(&b, "Since 09:00 the list stays empty.").await;
    b.click("send").await;
    let number = b.text("incident-number").await.expect("the report's number");
    b.click("sign-out").await;

    sign_in(&b, f, "clinic", "bo").await;
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_out = plain.get(f.url(&format!("/report/{number}"))).send().await.unwrap();
    assert_eq!(signed_out.status(), 303, "without a session: off to sign in");
    assert_eq!(signed_out.headers()["location"], "/login");
    b.goto(&f.url(&format!("/report/{number}?lang=en"))).await;
    assert!(b.text("message").await.unwrap().contains("no such page"));
    assert!(!b.source().await.contains(SUBJECT));
    b.screenshot("report-other-desk").await;

    // Bo's session, posting a complete form without the token: 403, nothing stored.
    let cookie = b.cookie("deskgate_session").await.expect("a session cookie");
    let as_bo = plain.get(f.url(&format!("/report/{number}"))).header("cookie", format!("deskgate_session={cookie}"));
    assert_eq!(as_bo.send().await.unwrap().status(), 404, "another desk's report is not found");
    let console = plain.get(f.url("/console")).header("cookie", format!("deskgate_session={cookie}"));
    assert_eq!(console.send().await.unwrap().status(), 403, "the console is not a local desk's");
    let before = f.sds.count();
    let boundary = "deskgate-test-boundary";
    let body: String =
        [("urgency", "high"), ("problem_type", "FMK"), ("subject", "Another subject"), ("description", "Text")]
            .iter()
            .map(|(k, v)| format!("--{boundary}\r\ncontent-disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"))
            .chain([format!("--{boundary}--\r\n")])
            .collect();
    let answer = plain
        .post(f.url("/report"))
        .header("cookie", format!("deskgate_session={cookie}"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.sds.count(), before);
}
