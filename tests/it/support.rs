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
