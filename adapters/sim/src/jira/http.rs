//! The REST routes: authentication, the write recorder, the handlers, and the
//! metadata endpoints (`serverInfo`, `myself`, `priority`, `field`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query as QueryParams, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use deskgate_jira::wire::{ApiVersion, ErrorCollection, format_timestamp};
use serde_json::{Value, json};

use super::profile::{self, JiraProfile};
use super::render::PRIORITIES;
use super::search::{search_get, search_jql_get, search_jql_post, search_post};
use super::{Shared, SimError};
use crate::core::http::{authorization, basic_pair};
use crate::core::record::{self, WritePolicy};

pub(super) type AppState = Arc<Shared>;

pub(super) fn version(v: &str) -> Result<ApiVersion, SimError> {
    match v {
        "2" | "latest" => Ok(ApiVersion::V2),
        "3" => Ok(ApiVersion::V3),
        _ => Err(SimError::not_found(format!("No REST API version {v}"))),
    }
}

pub(super) fn parse_body(bytes: &Bytes) -> Result<Value, SimError> {
    serde_json::from_slice(bytes)
        .map_err(|e| SimError::bad_message(format!("Unexpected character in request body: {e}")))
}

async fn require_auth(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    let header = authorization(request.headers()).unwrap_or_default();
    let config = &shared.config;
    let ok = if header.starts_with("Basic ") {
        basic_pair(header).is_some_and(|pair| pair == format!("{}:{}", config.email, config.api_token))
    } else if let Some(token) = header.strip_prefix("Bearer ") {
        token.trim() == config.bearer_token
    } else {
        false
    };
    let anonymous_ok = request.uri().path().ends_with("/serverInfo") && header.is_empty();
    if ok || anonymous_ok {
        next.run(request).await
    } else {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            Json(ErrorCollection::message(
                "You are not authenticated. Authentication required to perform this operation.",
            )),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"protected-area\""));
        response
    }
}

async fn server_info(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let now = format_timestamp(s.now());
    // Cloud has no release numbers of its own; it reports 1001.0.0-SNAPSHOT.
    let (version, numbers, deployment) = match s.config.profile {
        JiraProfile::Cloud => ("1001.0.0-SNAPSHOT", [1001, 0, 0], "Cloud"),
        JiraProfile::DataCenter => ("9.12.2", [9, 12, 2], s.config.deployment_type.as_str()),
    };
    Ok(Json(json!({
        "baseUrl": s.base_url(),
        "version": version,
        "versionNumbers": numbers,
        "deploymentType": deployment,
        "buildNumber": 9_120_002,
        "buildDate": "2024-01-15T00:00:00.000+0000",
        "serverTime": now,
        "scmInfo": "deskgate-jira-simulator",
        "serverTitle": "Jira (deskgate simulator)",
    })))
}

async fn myself(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let mut me = s.user_json(&s.config.api_user.account_id);
    me["locale"] = json!("en_US");
    Ok(Json(me))
}

async fn priorities(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let colors = ["#d04437", "#f15C75", "#f79232", "#707070", "#999999"];
    Ok(Json(Value::Array(
        PRIORITIES
            .iter()
            .zip(colors)
            .map(|((_, name), color)| {
                let mut p = s.priority_json(name);
                p["statusColor"] = json!(color);
                p["description"] = json!(format!("{name} priority"));
                p
            })
            .collect(),
    )))
}

async fn fields(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let system = [
        ("summary", "Summary", "string"),
        ("description", "Description", "string"),
        ("status", "Status", "status"),
        ("priority", "Priority", "priority"),
        ("assignee", "Assignee", "user"),
        ("reporter", "Reporter", "user"),
        ("labels", "Labels", "array"),
        ("issuetype", "Issue Type", "issuetype"),
        ("project", "Project", "project"),
        ("resolution", "Resolution", "resolution"),
        ("created", "Created", "datetime"),
        ("updated", "Updated", "datetime"),
        ("comment", "Comment", "comments-page"),
        ("issuekey", "Key", "string"),
    ];
    let mut out: Vec<Value> = system
        .iter()
        .map(|(id, name, kind)| {
            let clauses: Vec<&str> = match *id {
                "issuekey" => vec!["id", "issue", "issuekey", "key"],
                "issuetype" => vec!["issuetype", "type"],
                other => vec![other],
            };
            json!({
                "id": id, "key": id, "name": name, "custom": false, "orderable": true,
                "navigable": true, "searchable": true, "clauseNames": clauses,
                "schema": {"type": kind, "system": id},
            })
        })
        .collect();
    for (id, name) in &s.config.custom_fields {
        let number = id.trim_start_matches("customfield_");
        out.push(json!({
            "id": id, "key": id, "name": name, "custom": true, "orderable": true,
            "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{number}]"), name],
            "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield", "customId": number.parse::<u64>().unwrap_or(0)},
        }));
    }
    Ok(Json(Value::Array(out)))
}

/// A configured project as Jira describes it: ids count from 10000 in the order of
/// [`super::JiraSimConfig::projects`], as `create` reads `project.id`.
fn project_json(s: &Shared, v: ApiVersion, index: usize, key: &str) -> Value {
    let base = s.base_url();
    let v = v.as_str();
    let id = (10_000 + index).to_string();
    let issue_types: Vec<Value> = s
        .config
        .issue_types
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let type_id = (10_001 + n).to_string();
            json!({
                "self": format!("{base}/rest/api/{v}/issuetype/{type_id}"),
                "id": type_id, "name": name, "subtask": false,
            })
        })
        .collect();
    json!({
        "self": format!("{base}/rest/api/{v}/project/{id}"),
        "id": id,
        "key": key,
        "name": key,
        "projectTypeKey": "software",
        "issueTypes": issue_types,
    })
}

async fn projects(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let all = s.config.projects.iter().enumerate().map(|(n, key)| project_json(&s, version, n, key)).collect();
    Ok(Json(Value::Array(all)))
}

/// `GET project/{idOrKey}`: the key case-insensitively, or the numeric id.
async fn project(State(s): State<AppState>, Path((v, key)): Path<(String, String)>) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let found = s
        .config
        .projects
        .iter()
        .enumerate()
        .find(|(n, k)| k.eq_ignore_ascii_case(&key) || (10_000 + n).to_string() == key)
        .ok_or_else(|| SimError::not_found(format!("No project could be found with key '{key}'.")))?;
    Ok(Json(project_json(&s, version, found.0, found.1)))
}

/// Every method but GET, HEAD and OPTIONS is a write.
pub(super) const WRITES: WritePolicy = WritePolicy {
    reads: &[Method::GET, Method::HEAD, Method::OPTIONS],
    limit: 10 * 1024 * 1024,
    empty_as_null: false,
    too_large: None,
};

/// The REST API, without the fault layer.
pub(super) fn routes(shared: AppState) -> Router {
    Router::new()
        .merge(super::meta::routes())
        .route("/rest/api/{v}/serverInfo", get(server_info))
        .route("/rest/api/{v}/myself", get(myself))
        .route("/rest/api/{v}/priority", get(priorities))
        .route("/rest/api/{v}/field", get(fields))
        .route("/rest/api/{v}/project", get(projects))
        .route("/rest/api/{v}/project/{key}", get(project))
        .route("/rest/api/{v}/issue", post(create_issue))
        .route("/rest/api/{v}/issue/{key}", get(get_issue).put(edit_issue))
        .route("/rest/api/{v}/issue/{key}/transitions", get(get_transitions).post(do_transition))
        .route("/rest/api/{v}/status/{name}", get(get_status))
        .route("/rest/api/{v}/issue/{key}/comment", get(get_comments).post(post_comment))
        .route("/rest/api/{v}/issue/{key}/remotelink", get(get_remote_links).post(post_remote_link))
        .route("/rest/api/{v}/issueLink", post(post_issue_link))
        .route("/rest/api/{v}/search", get(search_get).post(search_post))
        .route("/rest/api/{v}/search/jql", get(search_jql_get).post(search_jql_post))
        .merge(super::attachments::routes())
        .layer(axum::middleware::from_fn_with_state(shared.requests.clone(), record::record_writes))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), require_auth))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), profile::gate))
        .with_state(shared)
}

async fn create_issue(State(s): State<AppState>, Path(v): Path<String>, body: Bytes) -> Result<Response, SimError> {
    let version = version(&v)?;
    let created = s.create(&s.config.api_user, version, &parse_body(&body)?)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(serde::Deserialize)]
struct FieldsParam {
    fields: Option<String>,
}

pub(super) fn split_fields(fields: Option<String>) -> Option<Vec<String>> {
    fields.map(|f| f.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect())
}

async fn get_issue(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    QueryParams(params): QueryParams<FieldsParam>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let mut inner = s.lock();
    let issue = Shared::find(&mut inner, &key)?.clone();
    drop(inner);
    Ok(Json(s.issue_json(&issue, version, split_fields(params.fields).as_deref())))
}

async fn edit_issue(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, SimError> {
    let version = version(&v)?;
    s.edit(&s.config.api_user, version, &key, &parse_body(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct ExpandParam {
    expand: Option<String>,
}

async fn get_transitions(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    QueryParams(params): QueryParams<ExpandParam>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let status = Shared::find(&mut s.lock(), &key)?.status.clone();
    let with_fields = params.expand.as_deref().is_some_and(|e| e.split(',').any(|x| x.trim() == "transitions.fields"));
    Ok(Json(s.transitions_json(version, &status, with_fields)))
}

async fn get_status(
    State(s): State<AppState>,
    Path((v, name)): Path<(String, String)>,
) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let def = super::workflow::STATUSES
        .iter()
        .find(|d| d.id == name || d.name.eq_ignore_ascii_case(&name))
        .ok_or_else(|| SimError::not_found(format!("The status with id or name '{name}' does not exist.")))?;
    Ok(Json(s.status_json(def.name)))
}

async fn do_transition(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, SimError> {
    let version = version(&v)?;
    s.transition(&s.config.api_user, version, &key, &parse_body(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_comments(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let issue = Shared::find(&mut s.lock(), &key)?.clone();
    let comments: Vec<Value> = issue.comments.iter().map(|c| s.comment_json(&issue, c, version)).collect();
    Ok(Json(json!({
        "startAt": 0,
        "maxResults": 5000,
        "total": comments.len(),
        "comments": comments,
    })))
}

async fn post_comment(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SimError> {
    let version = version(&v)?;
    let answer = s.add_comment(&s.config.api_user, version, &key, &parse_body(&body)?)?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn get_remote_links(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let links = Shared::find(&mut s.lock(), &key)?.remote_links.clone();
    Ok(Json(Value::Array(links)))
}

async fn post_remote_link(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SimError> {
    let version = version(&v)?;
    let (status, answer) = s.remote_link(version, &key, &parse_body(&body)?)?;
    Ok((status, Json(answer)).into_response())
}

async fn post_issue_link(
    State(s): State<AppState>,
    Path(v): Path<String>,
    body: Bytes,
) -> Result<StatusCode, SimError> {
    version(&v)?;
    s.issue_link(&parse_body(&body)?)?;
    Ok(StatusCode::CREATED)
}
