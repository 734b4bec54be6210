//! Steps several test areas share beyond the kit: the national desk assigning an
//! incident to the operations supplier, whose Jira then holds it.

use reqwest::StatusCode;
use serde_json::json;

use crate::kit::{Federation, ref_of};

/// The national desk triages `id` as `priority` and assigns it to the operations
/// supplier; once settled, the key of the supplier's Jira issue.
pub async fn assign_to_drift(f: &Federation, id: &str, priority: &str) -> String {
    let (status, body) = f.patch("sds", id, json!({"priority": priority, "assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    let incident = f.incident(id).await;
    ref_of(&incident, "drift").expect("a Jira issue")["remote_id"].as_str().unwrap().to_owned()
}

/// Region H reports `title` in ServiceNow (its record also holding `more_fields`),
/// the national desk assigns it as P3 to the operations supplier; settled:
/// (incident id, ServiceNow sys_id, Jira key).
pub async fn reported_and_assigned_to_drift(
    f: &Federation,
    title: &str,
    more_fields: &[(&str, &str)],
) -> (String, String, String) {
    let mut fields = vec![("short_description", title), ("description", "Reported by phone")];
    fields.extend_from_slice(more_fields);
    let body = json!({
        "title": title, "description": "Reported by phone", "service": "NSP",
        "urgency": "medium", "impact": "medium",
    });
    let (id, sys_id) = f.report_ticket(&fields, body).await;
    let key = assign_to_drift(f, &id, "P3").await;
    (id, sys_id, key)
}
