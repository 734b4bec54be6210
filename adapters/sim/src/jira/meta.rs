//! What an integrator's tooling reads before go-live: the create metadata of a
//! project (`GET …/issue/createmeta/{project}/issuetypes[/{id}]`, the paged form that
//! replaced `createmeta?expand=…`) and the admin list of webhooks
//! (`GET /rest/webhooks/1.0/webhook`).
//!
//! Shapes as documented: Jira Data Center 9 pages under `values`; Jira Cloud names
//! the list `issueTypes` and `fields`
//! (<https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/#api-rest-api-2-issue-createmeta-projectidorkey-issuetypes-get>).
//! Every issue type's create screen holds the system fields and every custom field.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::SimError;
use super::http::{AppState, version};
use super::profile::JiraProfile;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/rest/api/{v}/issue/createmeta/{project}/issuetypes", get(issue_types))
        .route("/rest/api/{v}/issue/createmeta/{project}/issuetypes/{id}", get(issue_type_fields))
        .route("/rest/webhooks/1.0/webhook", get(webhooks))
}

fn project(s: &AppState, key: &str) -> Result<String, SimError> {
    s.config
        .projects
        .iter()
        .find(|p| p.eq_ignore_ascii_case(key))
        .cloned()
        .ok_or_else(|| SimError::not_found(format!("No project could be found with key '{key}'.")))
}

fn type_id(index: usize) -> String {
    (10001 + index).to_string()
}

/// A page in the profile's shape: `values` (Data Center) or `cloud_name` (Cloud).
fn page(s: &AppState, cloud_name: &str, items: Vec<Value>) -> Value {
    let name = if s.config.profile == JiraProfile::Cloud { cloud_name } else { "values" };
    json!({ "maxResults": 50, "startAt": 0, "total": items.len(), "isLast": true, name: items })
}

async fn issue_types(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
) -> Result<Json<Value>, SimError> {
    version(&v)?;
    project(&s, &key)?;
    let types = s
        .config
        .issue_types
        .iter()
        .enumerate()
        .map(|(i, name)| json!({ "id": type_id(i), "name": name, "subtask": false, "description": "" }))
        .collect();
    Ok(Json(page(&s, "issueTypes", types)))
}

async fn issue_type_fields(
    State(s): State<AppState>,
    Path((v, key, id)): Path<(String, String, String)>,
) -> Result<Json<Value>, SimError> {
    version(&v)?;
    project(&s, &key)?;
    if !(0..s.config.issue_types.len()).any(|i| type_id(i) == id) {
        return Err(SimError::not_found(format!("Issue type with id '{id}' does not exist.")));
    }
    let system = [("summary", "Summary", true), ("description", "Description", false), ("priority", "Priority", false)];
    let mut fields: Vec<Value> = system
        .iter()
        .map(|(id, name, required)| json!({ "fieldId": id, "key": id, "name": name, "required": required }))
        .collect();
    fields.extend(
        s.config
            .custom_fields
            .iter()
            .map(|(id, name)| json!({ "fieldId": id, "key": id, "name": name, "required": false })),
    );
    Ok(Json(page(&s, "fields", fields)))
}

async fn webhooks(State(s): State<AppState>) -> Json<Value> {
    let hooks: Vec<Value> = s
        .config
        .webhook
        .iter()
        .map(|w| json!({ "name": "deskgate", "url": w.url, "enabled": true, "events": ["jira:issue_updated"] }))
        .collect();
    Json(Value::Array(hooks))
}
