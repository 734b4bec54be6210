//! Incidents a supplier detects itself (process steps 18a and 18b): the national desk
//! is mailed about every one; the FMK supplier may report one from its ClearQuest;
//! only one that affects users gets a national ClearQuest record, also when the
//! supplier marks it so later (the "N/A – Opret incident i ClearQuest" row).

use std::time::Duration;

use crate::kit;

use deskgate_jira::wire::ApiVersion;
use deskgate_sim::smtp::SmtpSim;
use kit::{Federation, Fmk, ref_of};
use reqwest::StatusCode;
use serde_json::json;

const NATIONAL_MAIL: &str = "servicedesk@sds.example";

/// The NSP federation (FMK on its own ClearQuest, polled) mailing through `smtp`,
/// the national desk's contact address its mailbox.
async fn federation(smtp: &SmtpSim) -> Federation {
    let port = smtp.port();
    Federation::builder()
        .fmk(Fmk::ClearQuest)
        .open_rate_limits()
        .drift_services(&["NSP", "*"])
        .drift_jira("affects_users_label", "brugerpåvirkende")
        .configure(move |c| {
            c.gateway(
                "smtp",
                json!({ "host": "127.0.0.1", "port": port, "from": "deskgate <deskgate@sds.example>", "tls": "none" }),
            )
            .desk_key("sds", "contact", json!({ "name": "National Service Desk", "email": NATIONAL_MAIL }));
        })
        .start()
        .await
}

/// The operations supplier's staff create an issue in Jira; Jira tells deskgate:
/// (issue key, incident id).
async fn detected_in_jira(f: &Federation, summary: &str, labels: &[&str]) -> (String, String) {
    let key = f
        .drift
        .create_as_user(json!({"summary": summary, "description": "Seen in our monitoring", "labels": labels}))
        .unwrap();
    let issue = f.drift.issue_json(&key, ApiVersion::V2).unwrap();
    let answer = f.jira_webhook(&json!({"webhookEvent": "jira:issue_created", "issue": issue})).await;
    assert_eq!(answer["outcome"], "received", "{answer}");
    let (status, found) = f.call("sds", reqwest::Method::GET, &format!("/api/v1/refs/drift/{key}"), None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    (key, found["incident"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_18b_every_supplier_detected_incident_mails_the_national_desk() {
    let smtp = SmtpSim::spawn().await.unwrap();
    let mut f = federation(&smtp).await;
    let (_, affecting) = detected_in_jira(&f, "SOSI STS rejects renewals", &["brugerpåvirkende"]).await;
    let (_, internal) = detected_in_jira(&f, "Disk usage high on batch node", &["monitoring"]).await;
    f.settled().await;

    let mails = smtp.wait_for(NATIONAL_MAIL, 2).await.unwrap();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let about = |id: &str| mails.iter().find(|m| m.subject.contains(id)).unwrap_or_else(|| panic!("{mails:#?}"));
    assert!(about(&affecting).body.contains("affects users"), "{:?}", about(&affecting));
    assert!(about(&affecting).subject.contains("SOSI STS rejects renewals"));
    assert!(about(&internal).body.contains("does not affect users"), "{:?}", about(&internal));
    assert!(about(&internal).subject.contains("drift"));
    // Only the one that affects users has a national record.
    assert_eq!(f.sds.count(), 1);
    f.stop_with_no_dead_letters().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_18a_the_fmk_supplier_reports_one_from_its_clearquest() {
    let smtp = SmtpSim::spawn().await.unwrap();
    let mut f = federation(&smtp).await;
    let record = f.fmk.create_as_user(
        "fmk.operator",
        [("Headline", "FMK: medication card sync lags"), ("Description", "Found in our own monitoring")],
    );
    // The poll reads it in as an incident of the FMK supplier, assigned to itself.
    let found = kit::poll_until(Duration::from_secs(10), || async {
        let path = "/api/v1/incidents?limit=50";
        let (_, page) = f.call("sds", reqwest::Method::GET, path, None).await;
        page["items"].as_array().and_then(|items| items.iter().find(|i| i["origin"]["desk"] == "fmk").cloned())
    })
    .await
    .expect("the FMK supplier's record is read in");
    let id = found["id"].as_str().unwrap().to_owned();
    f.settled().await;
    let incident = f.incident(&id).await;
    assert_eq!(incident["assignee"], "fmk", "{incident:#}");
    assert_eq!(incident["status"], "assigned");
    assert_eq!(incident["service"], "FMK");
    assert_eq!(incident["title"], "FMK: medication card sync lags");
    assert_eq!(ref_of(&incident, "fmk").unwrap()["display_id"], record.as_str());

    // The national desk gets its ClearQuest record, linked both ways, and a mail.
    assert_eq!(f.sds.count(), 1, "{:#?}", f.sds.records());
    let national = f.sds.records().remove(0);
    assert_eq!(ref_of(&incident, "sds").unwrap()["display_id"], national.display_id.as_str());
    assert!(national.get("cq:deskgate_Links").is_some_and(|l| l.contains(&record)), "{national:?}");
    let fmk_record = f.fmk.record(&record).unwrap();
    assert!(fmk_record.get("cq:deskgate_Links").is_some_and(|l| l.contains(&national.display_id)), "{fmk_record:?}");
    let mails = smtp.wait_for(NATIONAL_MAIL, 1).await.unwrap();
    assert!(mails[0].subject.contains(&id) && mails[0].subject.contains("fmk"), "{mails:#?}");

    // Read once: later polls of the record create nothing more.
    f.fmk.add_note_as_user(&record, "fmk.operator", "Sync job restarted").unwrap();
    f.settled().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, page) = f.call("sds", reqwest::Method::GET, "/api/v1/incidents?limit=50", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page:#}");
    assert_eq!(f.sds.count(), 1);
    assert_eq!(f.fmk.count(), 1, "deskgate creates no second record in the supplier's ClearQuest");
    assert_eq!(smtp.mails().len(), 1);
    f.stop_with_no_dead_letters().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn na_affects_users_added_later_creates_the_national_clearquest_record() {
    let smtp = SmtpSim::spawn().await.unwrap();
    let mut f = federation(&smtp).await;
    let (key, id) = detected_in_jira(&f, "Batch export slower than usual", &["monitoring"]).await;
    f.settled().await;
    assert_eq!(f.sds.count(), 0, "handled in Jira only while it does not affect users");

    // The supplier finds users are affected after all and labels the issue.
    f.drift.edit_as_user(&key, json!({"labels": ["monitoring", "brugerpåvirkende"]})).unwrap();
    for _ in 0..2 {
        // Jira may send the update more than once; later edits carry the label too.
        let issue = f.drift.issue_json(&key, ApiVersion::V2).unwrap();
        let answer = f.jira_webhook(&json!({"webhookEvent": "jira:issue_updated", "issue": issue})).await;
        assert_eq!(answer["outcome"], "received", "{answer}");
        f.settled().await;
    }
    assert_eq!(f.sds.count(), 1, "one national record: {:#?}", f.sds.records());
    let record = f.sds.records().remove(0);
    assert_eq!(record.get("cq:Headline"), Some("Batch export slower than usual"));
    assert!(record.get("cq:deskgate_Links").is_some_and(|l| l.contains(&key)), "{record:?}");
    let incident = f.incident(&id).await;
    assert_eq!(ref_of(&incident, "sds").unwrap()["display_id"], record.display_id.as_str());
    let links = f.drift.remote_links(&key);
    assert!(links.iter().any(|l| l.to_string().contains(&record.display_id)), "{links:?}");
    f.stop_with_no_dead_letters().await;
}
