//! deskgate as a Jira server: REST v2 (plain text) and v3 (ADF bodies) for desks
//! whose own tool is Jira (`system = "jira"`).
//!
//! Under `/rest/api/{2|3|latest}/`: `serverInfo` (also without authentication; v3
//! answers as Jira Cloud), `myself`, `field`, `priority`, `issuetype[/{id}]`,
//! `status[/{id}]`, `resolution[/{id}]`, `project[/{key}]` (with its issue types),
//! `issue/createmeta` (both forms), `user/search`, `user/assignable/search`,
//! `POST issue` (a submission, as the native API's), `GET|PUT issue/{key}` (GET with
//! `expand=changelog,renderedFields,names`), `PUT issue/{key}/assignee`,
//! `GET|POST issue/{key}/transitions`, `GET|POST issue/{key}/comment`,
//! `GET|PUT|DELETE issue/{key}/comment/{id}`, `GET|POST issue/{key}/remotelink`,
//! `GET|POST search` and `search/jql` (JQL); and `/rest/auth/1/session`. Any other
//! path under `/rest/` is Jira's 404. Errors are Jira's
//! `{"errorMessages":[…],"errors":{…}}` (the `render_in` layer).
//!
//! Incidents appear as issues of one project, `DG`: the key is `DG-` and the
//! incident's sequence (`INC-2026-000042` is `DG-42`, issue id `42`), so keys need no
//! storage of their own. Status and priority names come from the desk's mapping
//! (`mappings/jira.toml` with its overrides). The transitions offered are the
//! canonical workflow's allowed next statuses, named as the desk names them; doing
//! one is the gateway's `update`, so the model decides who may (a local desk adds
//! comments; the national desk and the assigned supplier move the status).
//!
//! The desk's ticket id is `customfield_10100` ("Desk ticket") when the create
//! gives one — a second create with the same value is a replay — else a minted id.
//! `customfield_10101` ("deskgate incident") carries deskgate's incident id.
//! The service is the issue's first component.

use axum::Router;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use deskgate_adapter::TicketFields;
use deskgate_jira::jql::{self, FieldValue};
use deskgate_jira::wire::{self as jira_wire, ApiVersion, TextBody};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::auth::DeskPrincipal;
use crate::config::System;
use crate::gateway::{GatewayError, RequestContext};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, admit_notes, base_url, idempotency, parse_json};
use crate::mapping::DeskMapping;
use crate::model::{
    Change, DeskId, DialectId, Incident, IncidentId, ModelError, NewIncident, Note, Priority, Ref, Role, Status, Text,
    TicketId, Title, Visibility, parse_url, patient_data,
};
use crate::store::CreateOutcome;

mod attachments;
mod comments;
mod expand;
mod labels;
mod meta;
mod narrow;
mod search;
mod transitions;
use comments::*;
use expand::*;
use meta::*;
use search::*;
use transitions::*;

/// The routes; the caller adds the Jira error-rendering layer.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rest/api/{v}/serverInfo", get(server_info))
        .route("/rest/api/{v}/myself", get(myself))
        .route("/rest/api/{v}/field", get(fields))
        .route("/rest/api/{v}/priority", get(priorities))
        .route("/rest/api/{v}/issuetype", get(issue_types))
        .route("/rest/api/{v}/issuetype/{id}", get(issue_type))
        .route("/rest/api/{v}/status", get(statuses))
        .route("/rest/api/{v}/status/{id}", get(status))
        .route("/rest/api/{v}/resolution", get(resolutions))
        .route("/rest/api/{v}/resolution/{id}", get(resolution))
        .route("/rest/api/{v}/project", get(projects))
        .route("/rest/api/{v}/project/{key}", get(project))
        .route("/rest/api/{v}/user/search", get(user_search))
        .route("/rest/api/{v}/user/assignable/search", get(assignable_search))
        .route("/rest/api/{v}/issue", post(create))
        .route("/rest/api/{v}/issue/createmeta", get(create_meta))
        .route("/rest/api/{v}/issue/createmeta/{key}/issuetypes", get(create_meta_types))
        .route("/rest/api/{v}/issue/createmeta/{key}/issuetypes/{id}", get(create_meta_fields))
        .route("/rest/api/{v}/issue/{key}", get(get_issue).put(edit_issue))
        .route("/rest/api/{v}/issue/{key}/assignee", put(assign))
        .route("/rest/api/{v}/issue/{key}/transitions", get(transitions).post(do_transition))
        .route("/rest/api/{v}/issue/{key}/comment", get(comments).post(add_comment))
        .route("/rest/api/{v}/issue/{key}/attachments", post(attachments::add_attachments))
        .route("/rest/api/{v}/issue/{key}/comment/{id}", get(comment).put(edit_comment).delete(delete_comment))
        .route("/rest/api/{v}/issue/{key}/remotelink", get(remote_links).post(add_remote_link))
        .route("/rest/api/{v}/issue/{key}/remotelink/{id}", get(remote_link))
        .route("/rest/api/{v}/search", get(search_get).post(search_post))
        .route("/rest/api/{v}/search/jql", get(search_jql_get).post(search_jql_post))
        .route("/rest/auth/1/session", get(session).post(session_login))
        .route("/rest/{*rest}", any(unserved))
}

/// The one project incidents appear in.
pub const PROJECT_KEY: &str = "DG";
const PROJECT_ID: &str = "10000";
const PROJECT_NAME: &str = "deskgate incidents";
/// The desk's own ticket id.
const TICKET_FIELD: &str = "customfield_10100";
/// deskgate's incident id.
const INCIDENT_FIELD: &str = "customfield_10101";
/// The earliest year an incident id is looked for in (ids carry their year).
const EARLIEST_YEAR: i16 = 2000;
const MAX_RESULTS: u64 = 1000;

/// The issue key of an incident: `DG-` and its sequence.
pub fn key_of(id: &IncidentId) -> String {
    format!("{PROJECT_KEY}-{}", seq_of(id))
}

fn seq_of(id: &IncidentId) -> u64 {
    id.as_str().rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The sequence a key (`DG-42`, case-insensitive) or issue id (`42`) names.
fn parse_key(key: &str) -> Option<u64> {
    let number = match key.split_once('-') {
        Some((project, n)) if project.eq_ignore_ascii_case(PROJECT_KEY) => n,
        Some(_) => return None,
        None => key,
    };
    number.parse().ok().filter(|n| *n > 0 && *n <= 999_999_999_999)
}

// ---------------------------------------------------------------------------
// the calling desk

struct JiraDesk<'a> {
    who: DeskPrincipal,
    mapping: &'a DeskMapping,
    version: ApiVersion,
    base: String,
}

fn version(v: &str) -> Result<ApiVersion, ApiError> {
    match v {
        "2" | "latest" => Ok(ApiVersion::V2),
        "3" => Ok(ApiVersion::V3),
        _ => Err(ApiError::not_found(format!("REST API version {v} is not served; use 2, 3 or latest"))),
    }
}

impl<'a> JiraDesk<'a> {
    fn of(state: &'a AppState, who: DeskPrincipal, v: &str, headers: &HeaderMap) -> Result<Self, ApiError> {
        let version = version(v)?;
        let system = state.gateway.desk(&who.desk).map(|d| d.system);
        let Some(mapping) = state.gateway.mapping(&who.desk).filter(|_| system == Some(System::Jira)) else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_dialect",
                format!(
                    "desk {} is configured as a {} desk; the Jira REST API is for desks with system = \"jira\" (use /api/v1 or the desk's own dialect)",
                    who.desk,
                    system.map(System::as_str).unwrap_or("unknown")
                ),
            ));
        };
        Ok(Self { who, mapping, version, base: base_url(state, headers) })
    }

    fn api(&self) -> String {
        format!("{}/rest/api/{}", self.base, self.version.as_str())
    }

    fn text(&self, text: &str) -> Value {
        serde_json::to_value(TextBody::for_version(text, self.version)).unwrap_or(Value::Null)
    }
}

/// What every handler starts from: the state, the calling desk, its request's headers,
/// the API version and (on issue routes) the issue key from the path. The desk is
/// authenticated before the path is read, so a caller without a token learns nothing
/// from it.
struct Call {
    state: AppState,
    who: DeskPrincipal,
    headers: HeaderMap,
    v: String,
    key: String,
    /// A comment's, issue type's, status's or resolution's id, on routes that have one.
    id: String,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let who = DeskPrincipal::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: state.clone(),
            who,
            headers: parts.headers.clone(),
            v: params.remove("v").unwrap_or_default(),
            key: params.remove("key").unwrap_or_default(),
            id: params.remove("id").unwrap_or_default(),
        })
    }
}

impl Call {
    fn desk(&self) -> Result<JiraDesk<'_>, ApiError> {
        JiraDesk::of(&self.state, self.who.clone(), &self.v, &self.headers)
    }

    /// The desk and the incident the path's issue key names.
    async fn issue(&self) -> Result<(JiraDesk<'_>, Incident), ApiError> {
        let desk = self.desk()?;
        let incident = find_issue(&self.state, &desk, &self.key).await?;
        Ok((desk, incident))
    }
}

/// A write: the call, its request context and its JSON body, read in that order (the
/// desk is authenticated before anything else is looked at).
struct Write {
    call: Call,
    ctx: RequestContext,
    body: Value,
    bytes: Bytes,
}

impl FromRequest<AppState> for Write {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let call = Call::from_request_parts(&mut parts, state).await?;
        let ctx = RequestContext::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let JsonBody(body, bytes) = JsonBody::<Value>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { call, ctx, body, bytes })
    }
}

/// A query string's parameters, in order.
fn query_params(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// Values of a list parameter, given repeated or comma-separated.
fn list_param(params: &[(String, String)], name: &str) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The incident an issue key names, if the desk is party to it.
async fn find_issue(state: &AppState, desk: &JiraDesk<'_>, key: &str) -> Result<Incident, ApiError> {
    let seq = parse_key(key).ok_or_else(no_issue)?;
    let this_year = state.gateway.now().to_zoned(jiff::tz::TimeZone::UTC).year();
    // Ids carry the year they were made in and sequences are never reused, so at most
    // one year holds this sequence: look from the newest year back.
    for year in (EARLIEST_YEAR..=this_year.saturating_add(1)).rev() {
        match state.gateway.get(&desk.who, &IncidentId::new(year, seq)).await {
            Ok(incident) => return Ok(incident),
            Err(GatewayError::NotFound(_)) => continue,
            Err(e) => return Err(gateway_error(e, desk.mapping)),
        }
    }
    Err(no_issue())
}

// ---------------------------------------------------------------------------
// errors in Jira's vocabulary

fn no_issue() -> ApiError {
    ApiError::not_found("Issue Does Not Exist")
}

const FIELD_NAMES: &[(&str, &str)] = &[
    ("title", "summary"),
    ("service", "components"),
    ("ticket_id", TICKET_FIELD),
    ("assignee", "assignee"),
    ("priority", "priority"),
    ("status", "status"),
];

fn in_jira_terms(e: ApiError) -> ApiError {
    e.naming_fields(FIELD_NAMES)
}

fn illegal(mapping: &DeskMapping, from: Status, to: Status) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "illegal_transition",
        format!(
            "The issue cannot move from '{}' to '{}': the workflow does not allow {from} → {to}",
            mapping.remote_status_name(from),
            mapping.remote_status_name(to)
        ),
    )
}

fn gateway_error(e: GatewayError, mapping: &DeskMapping) -> ApiError {
    match e {
        GatewayError::Model(ModelError::IllegalTransition { from, to }) => illegal(mapping, from, to),
        GatewayError::NotFound(_) => no_issue(),
        other => in_jira_terms(other.into()),
    }
}

fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(field.to_owned(), message)
}

// ---------------------------------------------------------------------------
// the incident as a Jira issue

fn user(state: &AppState, desk: &JiraDesk<'_>, id: &DeskId) -> Value {
    let config = state.gateway.desk(id);
    json!({
        "self": format!("{}/user?username={id}", desk.api()),
        "name": id.as_str(),
        "key": id.as_str(),
        "accountId": id.as_str(),
        "displayName": config.map(|d| d.name.clone()).unwrap_or_else(|| id.to_string()),
        "emailAddress": config.and_then(|d| d.contact.as_ref()).and_then(|c| c.email.clone()),
        "active": true,
        "timeZone": "UTC",
    })
}

fn status_name(mapping: &DeskMapping, status: Status) -> String {
    mapping
        .status_fields(status, None, false)
        .fields()
        .and_then(|f| f.status.clone())
        .unwrap_or_else(|| status.to_string())
}

fn status_ref(desk: &JiraDesk<'_>, status: Status) -> Value {
    let name = status_name(desk.mapping, status);
    // One id per remote name: statuses the desk names alike are one Jira status.
    let index = Status::ALL.iter().position(|s| status_name(desk.mapping, *s) == name).unwrap_or(0);
    let id = (index + 1).to_string();
    let category = match status {
        Status::New | Status::Assigned => json!({"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"}),
        Status::Resolved | Status::Closed | Status::Cancelled => {
            json!({"id": 3, "key": "done", "name": "Done", "colorName": "green"})
        }
        _ => json!({"id": 4, "key": "indeterminate", "name": "In Progress", "colorName": "yellow"}),
    };
    json!({"self": format!("{}/status/{id}", desk.api()), "id": id, "name": name, "statusCategory": category})
}

fn priority_id(p: Priority) -> String {
    (p.index() + 1).to_string()
}

fn priority_name(mapping: &DeskMapping, p: Priority) -> String {
    mapping.priority_fields(p).priority.unwrap_or_else(|| p.to_string())
}

fn priority_ref(desk: &JiraDesk<'_>, p: Priority) -> Value {
    let id = priority_id(p);
    json!({"self": format!("{}/priority/{id}", desk.api()), "id": id, "name": priority_name(desk.mapping, p)})
}

fn project_json(desk: &JiraDesk<'_>) -> Value {
    json!({
        "self": format!("{}/project/{PROJECT_ID}", desk.api()),
        "id": PROJECT_ID,
        "key": PROJECT_KEY,
        "name": PROJECT_NAME,
        "projectTypeKey": "service_desk",
    })
}

fn comment_json(state: &AppState, desk: &JiraDesk<'_>, i: &Incident, index: usize, note: &Note) -> Value {
    let id = comment_id(index);
    let at = jira_wire::format_timestamp(note.at);
    let mut c = json!({
        "self": format!("{}/issue/{}/comment/{id}", desk.api(), seq_of(&i.id)),
        "id": id,
        "author": user(state, desk, &note.author_desk),
        "updateAuthor": user(state, desk, &note.author_desk),
        "body": desk.text(note.body.as_str()),
        "created": at,
        "updated": at,
        "jsdPublic": note.visibility == Visibility::Public,
    });
    if note.visibility == Visibility::Internal {
        c["visibility"] = json!({"type": "role", "value": "Internal"});
    }
    c
}

fn comment_id(index: usize) -> String {
    (10_000 + index + 1).to_string()
}

fn visible_comments(state: &AppState, desk: &JiraDesk<'_>, i: &Incident) -> Vec<Value> {
    let actor = desk.who.actor();
    i.notes
        .iter()
        .enumerate()
        .filter(|(_, n)| Incident::note_visible_to(n, &actor))
        .map(|(index, n)| comment_json(state, desk, i, index, n))
        .collect()
}

fn comment_page(comments: Vec<Value>) -> Value {
    let total = comments.len();
    json!({"startAt": 0, "maxResults": total, "total": total, "comments": comments})
}

/// An incident as the calling desk sees it through Jira REST.
fn issue_json(state: &AppState, desk: &JiraDesk<'_>, i: &Incident) -> Value {
    let seq = seq_of(&i.id);
    let own = i.ref_for(&desk.who.desk);
    let mut fields = Map::new();
    let mut put = |k: &str, v: Value| {
        fields.insert(k.to_owned(), v);
    };
    put("summary", json!(i.title.as_str()));
    put("description", desk.text(i.description.as_str()));
    put("status", status_ref(desk, i.status));
    put("priority", i.priority.map(|p| priority_ref(desk, p)).unwrap_or(Value::Null));
    put("assignee", i.assignee.as_ref().map(|a| user(state, desk, a)).unwrap_or(Value::Null));
    put("reporter", user(state, desk, &i.origin.desk));
    put("creator", user(state, desk, &i.origin.desk));
    put("project", project_json(desk));
    put("issuetype", issue_type_json(desk));
    put("components", json!([{"name": i.service.as_str()}]));
    put("labels", labels::labels(i.category));
    put("resolution", resolution_of(desk, i.status));
    put("created", json!(jira_wire::format_timestamp(i.created_at)));
    put("updated", json!(jira_wire::format_timestamp(i.updated_at)));
    put("comment", comment_page(visible_comments(state, desk, i)));
    put("attachment", attachments::attachments_field(state, desk, i));
    put(TICKET_FIELD, own.map(|r| json!(r.remote_id.as_str())).unwrap_or(Value::Null));
    put(INCIDENT_FIELD, json!(i.id.as_str()));
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": seq.to_string(),
        "self": format!("{}/issue/{seq}", desk.api()),
        "key": key_of(&i.id),
        "fields": Value::Object(fields),
    })
}

/// Keep only the requested fields (`*all`, `*navigable` or none: every field).
fn select_fields(mut issue: Value, wanted: &[String]) -> Value {
    let all = wanted.is_empty() || wanted.iter().any(|f| f == "*all" || f == "*navigable");
    if !all {
        if let Some(fields) = issue.get_mut("fields").and_then(Value::as_object_mut) {
            fields.retain(|k, _| wanted.iter().any(|w| w == k));
        }
    }
    issue
}

// ---------------------------------------------------------------------------
// create, read, edit

/// A request body: `{"fields": {…}, "update": {…}}`.
struct IssueBody {
    fields: Map<String, Value>,
    update: Map<String, Value>,
}

fn issue_body(body: &Value) -> Result<IssueBody, ApiError> {
    let object = body.as_object().ok_or_else(|| ApiError::bad_request("(body)", "expected a JSON object"))?;
    let part = |name: &str| -> Result<Map<String, Value>, ApiError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(field_error(name, format!("{name}: expected an object"))),
        }
    };
    Ok(IssueBody { fields: part("fields")?, update: part("update")? })
}

/// Text of a v2 string or a v3 ADF document.
fn text_of(field: &str, value: &Value) -> Result<Option<String>, ApiError> {
    if value.is_null() {
        return Ok(None);
    }
    let body: TextBody = serde_json::from_value(value.clone())
        .map_err(|_| field_error(field, format!("{field}: expected text (v2) or an ADF document (v3)")))?;
    Ok(Some(body.to_text()).filter(|t| !t.trim().is_empty()))
}

fn name_of(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => ["name", "accountId", "key", "id"].iter().find_map(|k| o.get(*k)).and_then(Value::as_str),
        _ => None,
    }
}

/// The canonical priority a `{"name"}` or `{"id"}` names, through the desk's mapping.
fn read_priority(mapping: &DeskMapping, value: &Value) -> Result<Priority, ApiError> {
    let expected = || {
        let names: Vec<String> = Priority::ALL.iter().map(|p| priority_name(mapping, *p)).collect();
        field_error("priority", format!("priority: expected one of {}", names.join(", ")))
    };
    if let Some(id) = value.get("id").and_then(Value::as_str) {
        return Priority::ALL.into_iter().find(|p| priority_id(*p) == id).ok_or_else(expected);
    }
    let name = name_of(value).ok_or_else(expected)?;
    let fields = TicketFields { priority: Some(name.to_owned()), ..TicketFields::default() };
    mapping.inbound_priority(&fields).ok().flatten().ok_or_else(expected)
}

/// Comments an `update` adds: `{"comment": [{"add": {"body": …}}]}`.
fn added_comments(update: &Map<String, Value>) -> Result<Vec<Text>, ApiError> {
    let mut out = Vec::new();
    for (name, ops) in update {
        if name != "comment" {
            return Err(field_error(
                name,
                format!("Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."),
            ));
        }
        for op in ops.as_array().into_iter().flatten() {
            let body = op.get("add").and_then(|a| a.get("body")).unwrap_or(&Value::Null);
            if let Some(text) = text_of("comment", body)? {
                out.push(Text::parse("comment", &text).map_err(|e| in_jira_terms(e.into()))?);
            }
        }
    }
    Ok(out)
}

/// Every string in `value` (an ADF document's text and attributes, a select's name,
/// a list's items) read by the patient-data detector, as the value of `field`.
fn refuse_patient_data_in(field: &'static str, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::String(s) => patient_data::check(field, s).map_err(|e| in_jira_terms(e.into())),
        Value::Array(items) => items.iter().try_for_each(|v| refuse_patient_data_in(field, v)),
        Value::Object(map) => map.values().try_for_each(|v| refuse_patient_data_in(field, v)),
        Value::Number(n) => patient_data::check(field, &n.to_string()).map_err(|e| in_jira_terms(e.into())),
        Value::Null | Value::Bool(_) => Ok(()),
    }
}

/// Fields deskgate reads on create.
const KNOWN_ON_CREATE: &[&str] =
    &["project", "issuetype", "summary", "description", "components", "priority", "labels", TICKET_FIELD];

/// Fields deskgate accepts on create and ignores.
const IGNORED_ON_CREATE: &[&str] = &["reporter", "environment", "duedate"];

fn parse_create(state: &AppState, desk: &JiraDesk<'_>, body: &IssueBody) -> Result<NewIncident, ApiError> {
    let f = &body.fields;
    for name in f.keys() {
        let known = KNOWN_ON_CREATE.contains(&name.as_str()) || IGNORED_ON_CREATE.contains(&name.as_str());
        if !known {
            return Err(field_error(
                name,
                format!("Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."),
            ));
        }
    }
    let project = f.get("project").and_then(name_of);
    if !project.is_some_and(|p| p.eq_ignore_ascii_case(PROJECT_KEY) || p == PROJECT_ID) {
        return Err(field_error(
            "project",
            format!("project: valid project is required (the project is {PROJECT_KEY})"),
        ));
    }
    let summary = f
        .get("summary")
        .and_then(Value::as_str)
        .ok_or_else(|| field_error("summary", "summary: You must specify a summary of the issue."))?;
    let title = Title::parse(summary).map_err(|e| in_jira_terms(e.into()))?;
    let description = match f.get("description") {
        Some(v) => text_of("description", v)?,
        None => None,
    };
    let description = Text::parse("description", description.as_deref().unwrap_or(title.as_str()))
        .map_err(|e| in_jira_terms(e.into()))?;
    let service =
        f.get("components").and_then(Value::as_array).and_then(|c| c.first()).and_then(name_of).ok_or_else(|| {
            field_error("components", "components: the service concerned, e.g. [{\"name\": \"FMK\"}]")
        })?;
    let service = service.parse().map_err(|e: ModelError| in_jira_terms(e.into()))?;
    let priority = f.get("priority").filter(|v| !v.is_null()).map(|v| read_priority(desk.mapping, v)).transpose()?;
    let ticket: TicketId = match f.get(TICKET_FIELD).and_then(Value::as_str) {
        Some(t) => t.parse().map_err(|e: ModelError| in_jira_terms(e.into()))?,
        None => uuid::Uuid::new_v4().simple().to_string().parse().map_err(|e: ModelError| in_jira_terms(e.into()))?,
    };
    // Ignored fields too: nothing a desk sends may carry a patient identifier.
    for (name, value) in f {
        let known = KNOWN_ON_CREATE.iter().chain(IGNORED_ON_CREATE).find(|known| **known == name.as_str());
        if let Some(known) = known {
            refuse_patient_data_in(known, value)?;
        }
    }
    // After the patient-data check, so an identifier there is refused (and audited) as such.
    if !f.get("issuetype").is_none_or(is_incident_type) {
        return Err(field_error("issuetype", "issuetype: the only issue type is Incident (id 10001)"));
    }
    let system = state.gateway.desk(&desk.who.desk).map_or(DialectId::Jira, |d| d.system);
    let origin_ref = Ref {
        desk: desk.who.desk.clone(),
        system,
        display_id: ticket.to_string(),
        remote_id: ticket,
        url: None,
        written: Default::default(),
        seen: Default::default(),
    };
    Ok(NewIncident::reported(title, description, service, priority, origin_ref))
}

/// `POST /rest/api/{v}/issue`
async fn create(Write { call, ctx, body, bytes }: Write) -> Result<Response, ApiError> {
    let state = &call.state;
    let desk = call.desk()?;
    let body = issue_body(&body)?;
    let new = match parse_create(state, &desk, &body) {
        Ok(new) => new,
        Err(e) => return Err(e.audit_patient_data(state, &desk.who.desk, &ctx).await),
    };
    let comments = added_comments(&body.update)?;
    admit_notes(state, &desk.who, None, comments.len(), "update.comment")?;
    let idempotency = idempotency(&call.headers, &bytes)?;
    let category = body.fields.get("labels").map(labels::category).transpose()?;
    let classify = crate::model::Classify { category, ..Default::default() };
    let outcome = state.gateway.submit_classified(&desk.who, new, &classify, idempotency, &ctx).await;
    let (incident, replayed) = match outcome.map_err(|e| gateway_error(e, desk.mapping))? {
        CreateOutcome::Created(i) => (i, false),
        CreateOutcome::Replayed(i) => (i, true),
    };
    if !replayed {
        for text in comments {
            state
                .gateway
                .add_note(&desk.who, &incident.id, text, Visibility::Public, &ctx)
                .await
                .map_err(|e| gateway_error(e, desk.mapping))?;
        }
    }
    let seq = seq_of(&incident.id);
    let created =
        json!({"id": seq.to_string(), "key": key_of(&incident.id), "self": format!("{}/issue/{seq}", desk.api())});
    let mut response = (StatusCode::CREATED, axum::Json(created)).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /rest/api/{v}/issue/{key}`
async fn get_issue(call: Call, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let state = &call.state;
    let (desk, incident) = call.issue().await?;
    let params = query_params(raw);
    let mut issue = select_fields(issue_json(state, &desk, &incident), &list_param(&params, "fields"));
    expand_issue(state, &desk, &incident, &mut issue, &list_param(&params, "expand"));
    Ok(axum::Json(issue).into_response())
}

/// `PUT /rest/api/{v}/issue/{key}`: priority, assignee (national desk) and comments;
/// summary, description and components only to the values they have.
async fn edit_issue(Write { call, ctx, body, .. }: Write) -> Result<Response, ApiError> {
    let state = &call.state;
    let (desk, incident) = call.issue().await?;
    let body = issue_body(&body)?;
    let mut change = Change::default();
    for (name, value) in &body.fields {
        match name.as_str() {
            "summary" | "description" => {
                let same = text_of(name, value)?.as_deref()
                    == Some(if name == "summary" { incident.title.as_str() } else { incident.description.as_str() });
                if !same {
                    return Err(field_error(
                        name,
                        format!("{name}: set when the incident is submitted; it cannot be changed through deskgate"),
                    ));
                }
            }
            "priority" => {
                let p = read_priority(desk.mapping, value)?;
                if Some(p) != incident.priority {
                    change.priority = Some(p);
                }
            }
            "labels" => change.classify.category = Some(labels::category(value)?).filter(|c| *c != incident.category),
            "assignee" => {
                let assignee = read_assignee(value)?;
                if Some(&assignee) != incident.assignee.as_ref() {
                    change.assignee = Some(assignee);
                }
            }
            other => {
                return Err(field_error(
                    other,
                    format!("Field '{other}' cannot be set. It is not on the appropriate screen, or unknown."),
                ));
            }
        }
    }
    let comments = added_comments(&body.update)?;
    admit_notes(state, &desk.who, Some(&incident), comments.len(), "update.comment")?;
    apply_edit(state, &desk, &incident.id, &change, comments, &ctx).await
}

/// The supplier desk an assignee value (`{"name"}` on Server, `{"accountId"}` on
/// Cloud) names. Nobody (`null`) and automatic (`-1`) are no supplier.
fn read_assignee(value: &Value) -> Result<DeskId, ApiError> {
    let expected = "assignee: expected {\"name\": <supplier desk id>} (Cloud: {\"accountId\": …}); an incident cannot be left unassigned or assigned automatically";
    let name = name_of(value).filter(|n| *n != "-1").ok_or_else(|| field_error("assignee", expected))?;
    name.parse().map_err(|_| field_error("assignee", "assignee: expected a supplier desk id"))
}

/// `PUT /rest/api/{v}/issue/{key}/assignee`: the national desk assigns (the model
/// decides who may); assigning the current assignee again changes nothing.
async fn assign(Write { call, ctx, body, .. }: Write) -> Result<Response, ApiError> {
    let (desk, incident) = call.issue().await?;
    let assignee = read_assignee(&body)?;
    let change = Change { assignee: Some(assignee), ..Change::default() };
    let change = if change.assignee == incident.assignee { Change::default() } else { change };
    apply_edit(&call.state, &desk, &incident.id, &change, Vec::new(), &ctx).await
}

/// Apply an edit or transition: the field change and the comments that came with
/// it, as one change through the gateway's rules (a resolving transition's comment
/// is its resolution). 204 like Jira.
async fn apply_edit(
    state: &AppState,
    desk: &JiraDesk<'_>,
    id: &IncidentId,
    change: &Change,
    comments: Vec<Text>,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    if !change.is_empty() || !comments.is_empty() {
        state
            .gateway
            .update_with_notes(&desk.who, id, change, &comments, ctx)
            .await
            .map_err(|e| gateway_error(e, desk.mapping))?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
