//! What Jira clients read before they work on issues: the server, the caller, fields,
//! the one project and issue type, statuses, priorities, resolutions, create
//! metadata (both forms), users (desks) and the session.

use super::*;
use axum::extract::Request;

/// The issue type every incident is.
pub(super) const ISSUE_TYPE_ID: &str = "10001";
const ISSUE_TYPE_NAME: &str = "Incident";

/// `GET /rest/api/{v}/serverInfo`: answered without authentication, as Jira does; a
/// caller that sends credentials is checked as on every other route. v3 is Jira
/// Cloud's API (Server and Data Center serve only v2), so it says `Cloud` and clients
/// that read it use Cloud's calls (`search/jql`, `accountId`).
pub(super) async fn server_info(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(&mut parts, &state)
        .await
        .map_err(|_| ApiError::not_found("REST API version is not served; use 2, 3 or latest"))?;
    let v = params.get("v").map(String::as_str).unwrap_or_default();
    let base = if parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
        let who = DeskPrincipal::from_request_parts(&mut parts, &state).await?;
        JiraDesk::of(&state, who, v, &parts.headers)?.base
    } else {
        base_url(&state, &parts.headers)
    };
    let cloud = version(v)? == ApiVersion::V3;
    Ok(axum::Json(json!({
        "baseUrl": base,
        "version": "9.12.0",
        "versionNumbers": [9, 12, 0],
        "deploymentType": if cloud { "Cloud" } else { "Server" },
        "buildNumber": 912000,
        "serverTime": jira_wire::format_timestamp(state.gateway.now()),
        "serverTitle": "deskgate",
    }))
    .into_response())
}

pub(super) async fn myself(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    Ok(axum::Json(user(&call.state, &desk, &desk.who.desk)).into_response())
}

/// Every field an issue has: id, name, custom, JQL clause names, schema type.
const FIELDS: &[(&str, &str, bool, &[&str], &str)] = &[
    ("issuekey", "Key", false, &["id", "issue", "issuekey", "key"], "string"),
    ("summary", "Summary", false, &["summary"], "string"),
    ("description", "Description", false, &["description"], "string"),
    ("status", "Status", false, &["status"], "status"),
    ("priority", "Priority", false, &["priority"], "priority"),
    ("assignee", "Assignee", false, &["assignee"], "user"),
    ("reporter", "Reporter", false, &["reporter"], "user"),
    ("project", "Project", false, &["project"], "project"),
    ("issuetype", "Issue Type", false, &["issuetype", "type"], "issuetype"),
    ("components", "Component/s", false, &["component"], "array"),
    ("labels", "Labels", false, &["labels"], "array"),
    ("resolution", "Resolution", false, &["resolution"], "resolution"),
    ("created", "Created", false, &["created", "createdDate"], "datetime"),
    ("updated", "Updated", false, &["updated", "updatedDate"], "datetime"),
    ("comment", "Comment", false, &["comment"], "comments-page"),
    (TICKET_FIELD, "Desk ticket", true, &["cf[10100]", "Desk ticket"], "string"),
    (INCIDENT_FIELD, "deskgate incident", true, &["cf[10101]", "deskgate incident"], "string"),
];

/// `expand=names`: each field's display name.
pub(super) fn field_names() -> Value {
    Value::Object(FIELDS.iter().map(|(id, name, ..)| ((*id).to_owned(), json!(name))).collect())
}

pub(super) async fn fields(call: Call) -> Result<Response, ApiError> {
    call.desk()?;
    let list: Vec<Value> = FIELDS
        .iter()
        .map(|(id, name, custom, clause_names, kind)| {
            json!({
                "id": id, "name": name, "custom": custom, "orderable": true, "navigable": true, "searchable": true,
                "clauseNames": clause_names, "schema": {"type": kind, "system": id},
            })
        })
        .collect();
    Ok(axum::Json(Value::Array(list)).into_response())
}

pub(super) async fn priorities(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let list: Vec<Value> = Priority::ALL.iter().map(|p| priority_ref(&desk, *p)).collect();
    Ok(axum::Json(Value::Array(list)).into_response())
}

pub(super) async fn projects(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    Ok(axum::Json(json!([project_json(&desk)])).into_response())
}

fn is_project(key: &str) -> bool {
    key.eq_ignore_ascii_case(PROJECT_KEY) || key == PROJECT_ID
}

fn no_project(key: &str) -> ApiError {
    ApiError::not_found(format!("No project could be found with key '{key}'."))
}

/// `GET project/{key}`: with its issue types, as Jira answers (`expand=issueTypes`
/// asks for what is there anyway).
pub(super) async fn project(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    if !is_project(&call.key) {
        return Err(no_project(&call.key));
    }
    let mut project = project_json(&desk);
    project["issueTypes"] = json!([issue_type_json(&desk)]);
    Ok(axum::Json(project).into_response())
}

pub(super) fn issue_type_json(desk: &JiraDesk<'_>) -> Value {
    json!({
        "self": format!("{}/issuetype/{ISSUE_TYPE_ID}", desk.api()),
        "id": ISSUE_TYPE_ID,
        "name": ISSUE_TYPE_NAME,
        "description": "An incident reported through the federation",
        "subtask": false,
        "hierarchyLevel": 0,
    })
}

/// Whether an `issuetype` value (`{"name"}`, `{"id"}` or a string) names Incident.
pub(super) fn is_incident_type(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(o) => {
            let name = o.get("name").and_then(Value::as_str);
            let id = o.get("id").map(|id| id.as_str().map(str::to_owned).unwrap_or_else(|| id.to_string()));
            name.is_some_and(|n| n.eq_ignore_ascii_case(ISSUE_TYPE_NAME)) || id.as_deref() == Some(ISSUE_TYPE_ID)
        }
        Value::String(s) => s.eq_ignore_ascii_case(ISSUE_TYPE_NAME) || s == ISSUE_TYPE_ID,
        _ => false,
    }
}

pub(super) async fn issue_types(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    Ok(axum::Json(json!([issue_type_json(&desk)])).into_response())
}

pub(super) async fn issue_type(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let id = call.id.as_str();
    if id != ISSUE_TYPE_ID {
        return Err(ApiError::not_found(format!(
            "No issue type has this id: the only one is {ISSUE_TYPE_NAME}, id {ISSUE_TYPE_ID}"
        )));
    }
    Ok(axum::Json(issue_type_json(&desk)).into_response())
}

/// One per name the desk's mapping gives a status.
fn distinct_statuses(desk: &JiraDesk<'_>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for status in Status::ALL {
        let s = status_ref(desk, status);
        if !out.iter().any(|o| o["id"] == s["id"]) {
            out.push(s);
        }
    }
    out
}

pub(super) async fn statuses(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    Ok(axum::Json(Value::Array(distinct_statuses(&desk))).into_response())
}

/// `GET status/{idOrName}`
pub(super) async fn status(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let wanted = call.id.as_str();
    distinct_statuses(&desk)
        .into_iter()
        .find(|s| s["id"] == wanted || s["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
        .map(|s| axum::Json(s).into_response())
        .ok_or_else(|| ApiError::not_found("No status has this id or name; GET status lists them"))
}

/// The resolutions the desk's mapping sets, in workflow order, numbered from 1.
fn resolution_names(mapping: &DeskMapping) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for status in Status::ALL {
        let fields = mapping.status_fields(status, None, false);
        if let Some(name) = fields.fields().and_then(|f| f.extra.get("resolution").cloned()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn resolution_json(desk: &JiraDesk<'_>, index: usize, name: &str) -> Value {
    let id = (index + 1).to_string();
    json!({"self": format!("{}/resolution/{id}", desk.api()), "id": id, "name": name, "description": name})
}

/// The `resolution` field of an issue in `status`, if the desk's mapping sets one.
pub(super) fn resolution_of(desk: &JiraDesk<'_>, status: Status) -> Value {
    let fields = desk.mapping.status_fields(status, None, false);
    let Some(name) = fields.fields().and_then(|f| f.extra.get("resolution").cloned()) else {
        return Value::Null;
    };
    let index = resolution_names(desk.mapping).iter().position(|n| *n == name).unwrap_or(0);
    resolution_json(desk, index, &name)
}

pub(super) async fn resolutions(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let list: Vec<Value> =
        resolution_names(desk.mapping).iter().enumerate().map(|(i, n)| resolution_json(&desk, i, n)).collect();
    Ok(axum::Json(Value::Array(list)).into_response())
}

pub(super) async fn resolution(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let id = call.id.as_str();
    resolution_names(desk.mapping)
        .iter()
        .enumerate()
        .find(|(i, _)| (i + 1).to_string() == id)
        .map(|(i, n)| axum::Json(resolution_json(&desk, i, n)).into_response())
        .ok_or_else(|| ApiError::not_found("No resolution has this id; GET resolution lists them"))
}

/// The fields a create reads, as create metadata describes them.
fn create_fields(desk: &JiraDesk<'_>) -> Vec<(&'static str, Value)> {
    let priorities: Vec<Value> = Priority::ALL.iter().map(|p| priority_ref(desk, *p)).collect();
    let field = |id: &str, name: &str, required: bool, schema: Value| {
        json!({"required": required, "schema": schema, "name": name, "key": id, "fieldId": id,
            "hasDefaultValue": false, "operations": ["set"]})
    };
    let mut project = field("project", "Project", true, json!({"type": "project", "system": "project"}));
    project["allowedValues"] = json!([project_json(desk)]);
    let mut issuetype = field("issuetype", "Issue Type", true, json!({"type": "issuetype", "system": "issuetype"}));
    issuetype["allowedValues"] = json!([issue_type_json(desk)]);
    let mut priority = field("priority", "Priority", false, json!({"type": "priority", "system": "priority"}));
    priority["allowedValues"] = Value::Array(priorities);
    vec![
        ("project", project),
        ("issuetype", issuetype),
        ("summary", field("summary", "Summary", true, json!({"type": "string", "system": "summary"}))),
        ("description", field("description", "Description", false, json!({"type": "string", "system": "description"}))),
        (
            "components",
            field(
                "components",
                "Component/s",
                true,
                json!({"type": "array", "items": "component", "system": "components"}),
            ),
        ),
        ("priority", priority),
        (
            TICKET_FIELD,
            field(
                TICKET_FIELD,
                "Desk ticket",
                false,
                json!({"type": "string", "custom": "textfield", "customId": 10100}),
            ),
        ),
    ]
}

/// `GET issue/createmeta?projectKeys=…&expand=projects.issuetypes.fields` (the form
/// Jira Cloud and Server before 9 serve).
pub(super) async fn create_meta(call: Call, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let params = query_params(raw);
    let keys = list_param(&params, "projectKeys");
    let ids = list_param(&params, "projectIds");
    let type_ids = list_param(&params, "issuetypeIds");
    let type_names = list_param(&params, "issuetypeNames");
    let with_fields = list_param(&params, "expand").iter().any(|e| e == "projects.issuetypes.fields");
    let project_wanted = (keys.is_empty() && ids.is_empty()) || keys.iter().chain(&ids).any(|k| is_project(k));
    let type_wanted = (type_ids.is_empty() && type_names.is_empty())
        || type_ids.iter().any(|id| id == ISSUE_TYPE_ID)
        || type_names.iter().any(|n| n.eq_ignore_ascii_case(ISSUE_TYPE_NAME));
    let mut projects = Vec::new();
    if project_wanted {
        let mut project = project_json(&desk);
        let mut issue_type = issue_type_json(&desk);
        if with_fields {
            issue_type["fields"] =
                Value::Object(create_fields(&desk).into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        }
        project["issuetypes"] = if type_wanted { json!([issue_type]) } else { json!([]) };
        projects.push(project);
    }
    Ok(axum::Json(json!({"expand": "projects", "projects": projects})).into_response())
}

fn page(values: Vec<Value>) -> Value {
    json!({"maxResults": values.len().max(50), "startAt": 0, "total": values.len(), "isLast": true, "values": values})
}

/// `GET issue/createmeta/{project}/issuetypes` (Server and Data Center 8.4 and later).
pub(super) async fn create_meta_types(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    if !is_project(&call.key) {
        return Err(no_project(&call.key));
    }
    Ok(axum::Json(page(vec![issue_type_json(&desk)])).into_response())
}

/// `GET issue/createmeta/{project}/issuetypes/{id}`: the fields of a create.
pub(super) async fn create_meta_fields(call: Call) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    if !is_project(&call.key) {
        return Err(no_project(&call.key));
    }
    let id = call.id.as_str();
    if id != ISSUE_TYPE_ID {
        return Err(ApiError::not_found(format!(
            "No issue type has this id: the only one is {ISSUE_TYPE_NAME}, id {ISSUE_TYPE_ID}"
        )));
    }
    Ok(axum::Json(page(create_fields(&desk).into_iter().map(|(_, v)| v).collect())).into_response())
}

/// The desks a user search names: by id or name, case-insensitive (Server's
/// `username`, Cloud's `query`; an empty term names every desk).
fn matching_desks(state: &AppState, term: &str) -> Vec<DeskId> {
    let term = term.trim().to_lowercase();
    state
        .gateway
        .config()
        .desks
        .values()
        .filter(|d| term.is_empty() || d.id.as_str().contains(&term) || d.name.to_lowercase().contains(&term))
        .map(|d| d.id.clone())
        .collect()
}

fn search_term(params: &[(String, String)]) -> String {
    params.iter().find(|(k, _)| k == "username" || k == "query").map(|(_, v)| v.clone()).unwrap_or_default()
}

/// A page of users, as `startAt`/`maxResults` ask.
fn user_page(state: &AppState, desk: &JiraDesk<'_>, params: &[(String, String)], ids: Vec<DeskId>) -> Response {
    let number = |name: &str, default: usize| {
        params.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.trim().parse().ok()).unwrap_or(default)
    };
    let users: Vec<Value> =
        ids.iter().skip(number("startAt", 0)).take(number("maxResults", 50)).map(|id| user(state, desk, id)).collect();
    axum::Json(Value::Array(users)).into_response()
}

/// `GET user/search?username=…` (Server) or `?query=…` (Cloud): desks are the users.
pub(super) async fn user_search(call: Call, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let params = query_params(raw);
    let ids = matching_desks(&call.state, &search_term(&params));
    Ok(user_page(&call.state, &desk, &params, ids))
}

/// `GET user/assignable/search?issueKey=…`: the supplier desks serving the issue's
/// service — for the national desk, the only desk that assigns; nobody for others.
pub(super) async fn assignable_search(call: Call, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let params = query_params(raw);
    let service = match params.iter().find(|(k, _)| k == "issueKey") {
        Some((_, key)) => Some(find_issue(&call.state, &desk, key).await?.service),
        None => None,
    };
    let may_assign = desk.who.actor().role == Role::National;
    let ids = matching_desks(&call.state, &search_term(&params))
        .into_iter()
        .filter_map(|id| call.state.gateway.desk(&id))
        .filter(|d| may_assign && d.role == Role::Supplier)
        .filter(|d| service.as_ref().is_none_or(|s| d.serves(s.as_str())))
        .map(|d| d.id.clone())
        .collect();
    Ok(user_page(&call.state, &desk, &params, ids))
}

/// `GET /rest/auth/1/session`: who the bearer token says the caller is.
pub(super) async fn session(call: Call) -> Result<Response, ApiError> {
    let desk = JiraDesk::of(&call.state, call.who.clone(), "2", &call.headers)?;
    let name = desk.who.desk.as_str();
    Ok(axum::Json(json!({
        "self": format!("{}/user?username={name}", desk.api()),
        "name": name,
        "loginInfo": {"loginCount": 1, "previousLoginTime": jira_wire::format_timestamp(call.state.gateway.now())},
    }))
    .into_response())
}

/// `POST /rest/auth/1/session`: there are no password logins; every call carries
/// the desk's bearer token.
pub(super) async fn session_login() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Login failed: deskgate has no password logins; send the desk's token as Authorization: Bearer <JWT>",
    )
}

/// Any other path under `/rest/`: Jira's 404, in Jira's shape. The path is not
/// repeated: it is the caller's own text.
pub(super) async fn unserved() -> ApiError {
    ApiError::not_found(
        "deskgate does not serve this resource: its Jira REST API is /rest/api/{2,3,latest}/… (issue, search, project, …) and /rest/auth/1/session",
    )
}
