//! Support requests (process step 3: further reports of a known incident are
//! registered as support requests referring to it) and what their reporters hear
//! when the incident is solved (step 15), through the native API, the national desk's
//! ClearQuest, the reporter's ServiceNow and the supplier's Jira.

use std::time::Duration;

use crate::kit;

use kit::{Federation, Fmk, ref_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Region H on ServiceNow, the national desk on ClearQuest (polled) with its parent
/// field, the operations supplier on Jira.
async fn federation() -> Federation {
    Federation::builder()
        .fmk(Fmk::Absent)
        .open_rate_limits()
        .configure(|c| {
            c.desk_subkey("sds", "clearquest", "support_request_parent_field", "ParentIncident");
        })
        .start()
        .await
}

/// Region H's operator reports `title` from a ServiceNow ticket: (incident id, sys_id).
async fn report(f: &Federation, title: &str) -> (String, String) {
    let fields = [("short_description", title), ("description", "Reported by phone")];
    let body = json!({"title": title, "description": "Reported by phone", "service": "NSP", "priority": "P3"});
    f.report_ticket(&fields, body).await
}

/// The display id of `desk`'s copy of `id`.
async fn copy_of(f: &Federation, id: &str, desk: &str) -> String {
    let incident = f.incident(id).await;
    ref_of(&incident, desk).unwrap_or_else(|| panic!("{desk} has no copy: {incident:#}"))["display_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A parent reported by Region H and assigned to the operations supplier, and a
/// further report from Region H made its support request through the API: (parent,
/// parent's sys_id, support request, its sys_id).
async fn parent_and_support_request(f: &Federation) -> (String, String, String, String) {
    let (parent, parent_sys_id) = report(f, "NSP: lookups time out").await;
    let (status, body) = f.patch("sds", &parent, json!({"assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (child, child_sys_id) = report(f, "NSP lookups are slow here too").await;
    f.settled().await;
    let (status, body) = f.patch("sds", &child, json!({"kind": "support_request", "parent": parent})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    (parent, parent_sys_id, child, child_sys_id)
}

fn texts(v: &Value) -> String {
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_3_the_national_desk_makes_a_support_request_from_clearquest() {
    let mut f = federation().await;
    let (parent, _) = report(&f, "NSP: lookups time out").await;
    let (by_record, by_record_sys_id) = report(&f, "NSP lookups fail in Herlev").await;
    let (by_id, _) = report(&f, "NSP lookups fail in Hvidovre").await;
    let (unknown, _) = report(&f, "NSP lookups fail in Glostrup").await;
    f.settled().await;
    let parent_record = copy_of(&f, &parent, "sds").await;

    // In ClearQuest the national desk names the parent: by its ClearQuest id, by its
    // deskgate id, and by a record that does not exist.
    f.sds.modify_as_user(&copy_of(&f, &by_record, "sds").await, [("ParentIncident", parent_record.as_str())]).unwrap();
    f.sds.modify_as_user(&copy_of(&f, &by_id, "sds").await, [("ParentIncident", parent.as_str())]).unwrap();
    let unknown_record = copy_of(&f, &unknown, "sds").await;
    f.sds.modify_as_user(&unknown_record, [("ParentIncident", "SDS09999999")]).unwrap();

    for child in [&by_record, &by_id] {
        let incident = f.incident_once(child, Duration::from_secs(10), |i| i["kind"] == "support_request").await;
        assert_eq!(incident["kind"], "support_request", "{incident:#}");
        assert_eq!(incident["parent"], parent.as_str());
    }
    f.settled().await;
    let listed = f.incident(&parent).await;
    let mut ids: Vec<_> = listed["support_requests"].as_array().unwrap().to_vec();
    ids.sort_by_key(ToString::to_string);
    let mut want = vec![json!(by_record), json!(by_id)];
    want.sort_by_key(ToString::to_string);
    assert_eq!(ids, want, "{listed:#}");
    // The reporter's ticket is told which incident it joined.
    let journal = f.region_h.journal(&by_record_sys_id);
    assert!(journal.iter().any(|j| j.value.contains(&format!("further report of {parent}"))), "{journal:#?}");

    // A parent naming nothing deskgate knows changes nothing; the record is told why, once.
    let incident =
        f.incident_once(&unknown, Duration::from_secs(10), |i| texts(&i["notes"]).contains("SDS09999999")).await;
    assert_eq!(incident["kind"], "incident", "{incident:#}");
    assert!(incident["parent"].is_null());
    let note = incident["notes"].as_array().unwrap().iter().find(|n| n["body"].to_string().contains("SDS09999999"));
    assert_eq!(note.unwrap()["visibility"], "internal");
    f.settled().await;
    let log = f.sds.record(&unknown_record).unwrap().get("cq:Notes_Log").unwrap_or_default().to_owned();
    assert_eq!(log.matches("SDS09999999").count(), 1, "{log}");
    assert!(!f.incident(&parent).await["support_requests"].to_string().contains(&unknown));
    f.stop_with_no_dead_letters().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_3_the_parent_lists_its_support_requests_in_every_copy() {
    let mut f = federation().await;
    let (parent, parent_sys_id, child, _) = parent_and_support_request(&f).await;

    let incident = f.incident(&parent).await;
    assert_eq!(incident["support_requests"], json!([child]), "{incident:#}");
    let child_record = copy_of(&f, &child, "sds").await;
    // The national ClearQuest record lists the support request's record.
    let record = f.sds.record(&copy_of(&f, &parent, "sds").await).unwrap();
    assert!(record.get("cq:deskgate_Links").is_some_and(|l| l.contains(&child_record)), "{record:?}");
    // The supplier's Jira issue has a remote link to it.
    let key = copy_of(&f, &parent, "drift").await;
    let links = f.drift.remote_links(&key);
    assert!(links.iter().any(|l| l.to_string().contains(&child)), "{links:#?}");
    // The reporter's ServiceNow ticket of the parent lists it in its link field.
    let links = f.region_h.record(&parent_sys_id).unwrap()["u_deskgate_links"].clone();
    assert!(links.contains(&child), "{links}");

    // Listing it again is no news: the same links, once each.
    let (status, _) = f.patch("sds", &child, json!({"kind": "support_request", "parent": parent})).await;
    assert_eq!(status, StatusCode::OK);
    f.settled().await;
    let record = f.sds.record(&copy_of(&f, &parent, "sds").await).unwrap();
    assert_eq!(record.get("cq:deskgate_Links").unwrap().matches(&child_record).count(), 1, "{record:?}");
    assert_eq!(f.drift.remote_links(&key).iter().filter(|l| l.to_string().contains(&child)).count(), 1);
    assert_eq!(f.incident(&parent).await["support_requests"], json!([child]));

    // Pointed at another incident, it moves to that one's list; made an incident
    // again, it is on none.
    let (other, _) = report(&f, "NSP: the lookup cluster is down").await;
    f.settled().await;
    let (status, body) = f.patch("sds", &child, json!({"parent": other})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(f.incident(&parent).await["support_requests"], json!([]));
    assert_eq!(f.incident(&other).await["support_requests"], json!([child]));
    let (status, body) = f.patch("sds", &child, json!({"kind": "incident"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(f.incident(&other).await["support_requests"], json!([]));
    f.settled().await;
    f.stop_with_no_dead_letters().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_3_the_support_requests_clearquest_record_references_the_parent() {
    let mut f = federation().await;
    let (parent, _, child, child_sys_id) = parent_and_support_request(&f).await;
    let parent_record = copy_of(&f, &parent, "sds").await;
    let record = f.sds.record(&copy_of(&f, &child, "sds").await).unwrap();
    assert!(record.get("cq:deskgate_Links").is_some_and(|l| l.contains(&parent_record)), "{record:?}");
    // The reporter's own ticket refers to the incident it joined, by the name it has
    // at the reporter's desk (Region H reported both).
    let links = f.region_h.record(&child_sys_id).unwrap()["u_deskgate_links"].clone();
    let parent_ticket = copy_of(&f, &parent, "region-h").await;
    assert!(links.contains(&parent_ticket) && links.contains(&parent), "{links}");
    f.stop_with_no_dead_letters().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_15_every_support_requests_reporter_is_told_when_the_parent_is_resolved() {
    let mut f = federation().await;
    let (parent, _, first, first_sys_id) = parent_and_support_request(&f).await;
    let (second, second_sys_id) = report(&f, "NSP lookups fail in Gentofte").await;
    f.settled().await;
    let (status, body) = f.patch("sds", &second, json!({"kind": "support_request", "parent": parent})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    for sys_id in [&first_sys_id, &second_sys_id] {
        let journal = f.region_h.journal(sys_id);
        assert!(journal.iter().all(|j| !j.value.contains("has been resolved")), "not before: {journal:#?}");
    }

    // The supplier documents the solution and resolves the parent.
    assert_eq!(f.note("drift", &parent, "Restarted the lookup service; cache rebuilt").await, StatusCode::CREATED);
    let (status, body) = f.patch("drift", &parent, json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    for (id, sys_id) in [(&first, &first_sys_id), (&second, &second_sys_id)] {
        let journal = f.region_h.journal(sys_id);
        let told: Vec<_> = journal.iter().filter(|j| j.value.contains("Restarted the lookup service")).collect();
        assert_eq!(told.len(), 1, "{id}: {journal:#?}");
        assert!(told[0].value.contains(&parent) && told[0].value.contains("resolved"), "{:?}", told[0]);
    }

    // Closing it tells nobody a second time.
    let (status, body) = f.patch("sds", &parent, json!({"status": "closed"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    for sys_id in [&first_sys_id, &second_sys_id] {
        let journal = f.region_h.journal(sys_id);
        assert_eq!(journal.iter().filter(|j| j.value.contains("Restarted the lookup service")).count(), 1);
    }
    f.stop_with_no_dead_letters().await;
}
