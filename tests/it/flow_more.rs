//! More of the NSP flow end to end, against the simulators: an incident that waits on
//! an RFC/problem in SDS-Jira (step 11), and incidents a supplier detects in its own
//! Jira (steps 18a/b).

use crate::kit;

use deskgate_jira::wire::ApiVersion;
use kit::{Federation, Fmk, ref_of};
use reqwest::StatusCode;
use serde_json::json;

/// Region H on ServiceNow, the national desk on ClearQuest (polled), the operations
/// supplier on Jira with an NSP service field and the "affects users" label.
async fn federation() -> Federation {
    Federation::builder()
        .fmk(Fmk::Absent)
        .drift_services(&["NSP", "*"])
        .jira_custom_field("customfield_10050", "NSP service")
        .drift_jira("service_field", "customfield_10050")
        .drift_jira("affects_users_label", "brugerpåvirkende")
        .start()
        .await
}

/// Region H's operator creates a ticket in ServiceNow and forwards it.
async fn report(f: &Federation, title: &str, service: &str) -> (String, String) {
    let fields = [("short_description", title), ("description", "Reported by phone")];
    let body = json!({"title": title, "description": "Reported by phone", "service": service, "priority": "P3"});
    f.report_ticket(&fields, body).await
}

/// The operations supplier's own staff create an issue in Jira; Jira tells deskgate:
/// (issue key, incident id).
async fn detected_in_jira(f: &Federation, summary: &str, labels: &[&str]) -> (String, String) {
    let key = f
        .drift
        .create_as_user(json!({
            "summary": summary,
            "description": "Seen in our monitoring",
            "labels": labels,
            "customfield_10050": "SOSI",
        }))
        .unwrap();
    let issue = f.drift.issue_json(&key, ApiVersion::V2).unwrap();
    let event = json!({"webhookEvent": "jira:issue_created", "issue_event_type_name": "issue_created", "issue": issue});
    let answer = f.jira_webhook(&event).await;
    assert_eq!(answer["outcome"], "received", "{answer}");
    // The answer says nothing of what became of it: the incident is found by its ref.
    let (status, found) = f.call("sds", reqwest::Method::GET, &format!("/api/v1/refs/drift/{key}"), None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    (key, found["incident"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn linking_an_rfc_makes_the_incident_pending_release_everywhere_and_tells_the_reporter() {
    let mut f = federation().await;
    let (id, sys_id) = report(&f, "NSP: lookups time out after the upgrade", "NSP").await;
    f.drained().await;
    let (status, _) = f.patch("sds", &id, json!({"assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    let (status, _) = f.patch("drift", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;

    // Only the national desk and the assigned supplier link; the key must be a Jira key.
    let rfc = json!({"rfc": {"key": "SDSJIRA-123", "url": "https://sds-jira.example/browse/SDSJIRA-123"}});
    let (status, _) = f.patch("region-h", &id, rfc.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = f.patch("drift", &id, json!({"rfc": {"key": "not a key", "kind": "rfc"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(f.incident_as("sds", &id).await.1["status"], "in_progress", "a refused link changes nothing");

    // The supplier links the RFC it raised in SDS-Jira.
    let (status, body) = f.patch("drift", &id, rfc.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending_release");
    f.drained().await;

    // The national ClearQuest record and the supplier's Jira issue show it as pending release.
    let (_, incident) = f.incident_as("sds", &id).await;
    let national = ref_of(&incident, "sds").unwrap()["display_id"].as_str().unwrap().to_owned();
    let record = f.sds.record(&national).unwrap();
    assert_eq!(record.state, "Postponed", "{record:?}");
    assert_eq!(record.get("cq:HoldReason"), Some("Pending release"), "{record:?}");
    let issue_key = ref_of(&incident, "drift").unwrap()["display_id"].as_str().unwrap().to_owned();
    assert_eq!(f.drift.issue(&issue_key).unwrap().status, "Pending Release");

    // The reporter is told in ServiceNow, naming the RFC.
    let journal = f.region_h.journal(&sys_id);
    assert!(
        journal.iter().any(|j| j.value.contains("Awaiting release of SDSJIRA-123")),
        "{:?}",
        journal.iter().map(|j| &j.value).collect::<Vec<_>>()
    );

    // The incident view shows the link, and the history records who linked it.
    for desk in ["sds", "drift", "region-h"] {
        let (status, view) = f.incident_as(desk, &id).await;
        assert_eq!(status, StatusCode::OK);
        let links = view["external_links"].as_array().unwrap();
        assert_eq!(links.len(), 1, "{desk}: {view:#}");
        assert_eq!(links[0]["key"], "SDSJIRA-123");
        assert_eq!(links[0]["kind"], "rfc");
        assert_eq!(links[0]["url"], "https://sds-jira.example/browse/SDSJIRA-123");
        assert_eq!(links[0]["linked_by"], "drift");
    }
    let history = incident["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["field"] == "rfc" && h["to"] == "SDSJIRA-123" && h["actor"] == "drift"));
    assert!(history.iter().any(|h| h["field"] == "status" && h["to"] == "pending_release"));

    // Linking the same RFC again is no news: no second note anywhere.
    let (status, _) = f.patch("drift", &id, rfc).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    let notes = f.incident_as("sds", &id).await.1["notes"].as_array().unwrap().len();
    assert_eq!(notes, 1);
    let told = f.region_h.journal(&sys_id).iter().filter(|j| j.value.contains("SDSJIRA-123")).count();
    assert_eq!(told, 1);
    f.stop_with_no_dead_letters().await;
}

#[tokio::test]
async fn an_incident_a_supplier_detects_that_affects_users_gets_one_linked_national_record() {
    let mut f = federation().await;
    let (key, id) = detected_in_jira(&f, "SOSI STS rejects renewals", &["monitoring", "brugerpåvirkende"]).await;
    f.drained().await;

    // The supplier is origin and assignee; the service comes from the issue's field.
    let (status, incident) = f.incident_as("sds", &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(incident["origin"]["desk"], "drift");
    assert_eq!(incident["origin"]["ticket"], key.as_str());
    assert_eq!(incident["assignee"], "drift");
    assert_eq!(incident["kind"], "incident");
    assert_eq!(incident["service"], "SOSI");
    assert_eq!(incident["status"], "assigned");

    // One ClearQuest record for the national desk, linked to the Jira issue both ways.
    assert_eq!(f.sds.count(), 1);
    let record = f.sds.records().remove(0);
    assert_eq!(record.get("cq:Headline"), Some("SOSI STS rejects renewals"));
    assert!(record.get("cq:deskgate_Links").is_some_and(|l| l.contains(&key)), "{record:?}");
    assert_eq!(ref_of(&incident, "sds").unwrap()["display_id"], record.display_id.as_str());
    let links = f.drift.remote_links(&key);
    assert!(links.iter().any(|l| l.to_string().contains(&record.display_id)), "{links:?}");
    assert_eq!(f.drift.count(), 1, "deskgate creates no second issue in the supplier's Jira");

    // Jira sending the event again is a replay: no second incident, no second record.
    let issue = f.drift.issue_json(&key, ApiVersion::V2).unwrap();
    let event = json!({"webhookEvent": "jira:issue_created", "issue": issue});
    let again = f.jira_webhook(&event).await;
    assert_eq!(again["outcome"], "received", "{again}");
    f.drained().await;
    assert_eq!(f.sds.count(), 1);
    let (_, page) = f.call("sds", reqwest::Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    f.stop_with_no_dead_letters().await;
}

#[tokio::test]
async fn an_incident_a_supplier_detects_that_does_not_affect_users_stays_in_jira_and_is_visible_nationally() {
    let mut f = federation().await;
    let (key, id) = detected_in_jira(&f, "Disk usage high on batch node", &["monitoring"]).await;
    f.drained().await;
    assert_eq!(f.sds.count(), 0, "no ClearQuest record for an incident that does not affect users");

    // The national desk sees it through the API, and the audit log says why it has no record.
    let (status, incident) = f.incident_as("sds", &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((incident["origin"]["desk"].as_str(), incident["assignee"].as_str()), (Some("drift"), Some("drift")));
    assert!(ref_of(&incident, "sds").is_none());
    let (_, page) = f.call("sds", reqwest::Method::GET, "/api/v1/incidents", None).await;
    assert!(page["items"].as_array().unwrap().iter().any(|i| i["id"] == id.as_str()));
    let audit = f.audit().await;
    assert!(
        audit.iter().any(|e| e["incident"] == id.as_str()
            && e["reason"].as_str().is_some_and(|r| r.contains(&key) && r.contains("does not affect users"))),
        "{audit:#?}"
    );

    // The supplier works it in Jira: its changes reach no national record, and nothing waits for one.
    let (status, body) = f.patch("drift", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.drained().await;
    assert_eq!(f.sds.count(), 0);
    assert_eq!(f.drift.issue(&key).unwrap().status, "In Progress");
    assert_eq!(f.drift.count(), 1);
    f.stop_with_no_dead_letters().await;
}
