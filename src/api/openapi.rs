//! What `/openapi.json` adds to the utoipa document of the native API
//! ([`super::ApiDoc`]): the routes the dialects serve in another system's shape (the
//! ServiceNow Table and Batch APIs, Jira REST, the change-capture webhooks), the
//! statuses the extractors answer on every native route, and the model's rules on
//! the native fields and parameters ([`rules`]).
//!
//! The foreign routes are described here as data, one row per route, with the
//! statuses each can answer and its dialect's error body: their handlers serve several
//! paths each (three Table API prefixes, three Jira REST versions). A route added to a
//! router without a description fails the route walk in `tests/it/openapi.rs`.

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::PathItem;

/// Which error body a route answers with.
#[derive(Clone, Copy)]
enum Shape {
    ServiceNow,
    Jira,
    Native,
}

impl Shape {
    fn schema(self) -> &'static str {
        match self {
            Shape::ServiceNow => "#/components/schemas/ServiceNowError",
            Shape::Jira => "#/components/schemas/JiraError",
            Shape::Native => "#/components/schemas/ErrorBody",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Shape::ServiceNow => "servicenow",
            Shape::Jira => "jira",
            Shape::Native => "incidents",
        }
    }
}

/// A request body: a JSON object with the fields the handler reads.
#[derive(Clone, Copy)]
enum Body {
    None,
    /// Any JSON object: the dialect, like the system it stands in for, ignores fields
    /// it does not read.
    Object,
    /// The fields the handler reads, with their rules.
    Schema(fn() -> Value),
    /// A file, as the body in this media type (`application/octet-stream`, or
    /// `multipart/form-data` with one part per file).
    File(&'static str),
}

/// One operation: method, path (with `{v}` for the Jira version, `{prefix}` for the
/// Table API's), summary, body, and the statuses it answers besides the ones every
/// authenticated route can (401, 403, 429).
struct Route {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Body,
    ok: &'static [u16],
    errors: &'static [u16],
    authenticated: bool,
    /// Query parameters the handler requires.
    query: &'static [&'static str],
    /// What a success answers: JSON, or a file's content.
    answers_file: bool,
}

const fn route(method: &'static str, path: &'static str, summary: &'static str) -> Route {
    Route {
        method,
        path,
        summary,
        body: Body::None,
        ok: &[200],
        errors: &[400],
        authenticated: true,
        query: &[],
        answers_file: false,
    }
}

impl Route {
    const fn body(mut self) -> Self {
        self.body = Body::Object;
        self
    }
    const fn schema(mut self, schema: fn() -> Value) -> Self {
        self.body = Body::Schema(schema);
        self
    }
    const fn ok(mut self, ok: &'static [u16]) -> Self {
        self.ok = ok;
        self
    }
    const fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }
    const fn open(mut self) -> Self {
        self.authenticated = false;
        self
    }
    const fn file(mut self, media_type: &'static str) -> Self {
        self.body = Body::File(media_type);
        self
    }
    const fn query(mut self, required: &'static [&'static str]) -> Self {
        self.query = required;
        self
    }
    const fn answers_file(mut self) -> Self {
        self.answers_file = true;
        self
    }
}

/// Statuses an upload can answer: unreadable (400), no such record (404), over the
/// desk's attachment limit (413), patient data in the file name (422).
const UPLOAD: &[u16] = &[400, 404, 413, 422];

/// Statuses a write with a JSON body can answer: unreadable or invalid (400), not
/// found (404), a workflow or close-guard refusal (409), too large (413), not JSON
/// (415), patient data or a reused Idempotency-Key (422).
const WRITE: &[u16] = &[400, 404, 409, 413, 415, 422];
const READ_ONE: &[u16] = &[400, 404];

/// The Table API, once per prefix in `TABLE_PREFIXES` (`{prefix}` is replaced).
const SERVICENOW: &[Route] = &[
    route("get", "{prefix}/table/incident", "Incidents the desk is party to (sysparm_query, sysparm_limit, …)")
        .errors(&[400, 404]),
    route("post", "{prefix}/table/incident", "Submit an incident as a ServiceNow record")
        .schema(servicenow_insert)
        .ok(&[200, 201])
        .errors(WRITE),
    route("get", "{prefix}/table/incident/{sys_id}", "One incident record").errors(READ_ONE),
    route("patch", "{prefix}/table/incident/{sys_id}", "Change an incident through the desk's mapping")
        .body()
        .errors(WRITE),
    route("put", "{prefix}/table/incident/{sys_id}", "Change an incident through the desk's mapping")
        .body()
        .errors(WRITE),
];

/// The Attachment API, once per prefix in `ATTACHMENT_PREFIXES`.
const SERVICENOW_ATTACHMENTS: &[Route] = &[
    route("get", "{prefix}/attachment", "The files attached to a record (sysparm_query=table_sys_id=…)")
        .query(&["sysparm_query"])
        .errors(READ_ONE),
    route("get", "{prefix}/attachment/{sys_id}", "One attachment's record").errors(READ_ONE),
    route("get", "{prefix}/attachment/{sys_id}/file", "One attachment's content").answers_file().errors(READ_ONE),
    route("post", "{prefix}/attachment/file", "Attach a file (the body) to a record")
        .file("application/octet-stream")
        .query(&["table_name", "table_sys_id", "file_name"])
        .ok(&[201])
        .errors(UPLOAD),
];

const NATIVE_ATTACHMENTS: &[Route] = &[
    route("get", "/api/v1/incidents/{id}/attachments", "The files attached to an incident").errors(READ_ONE),
    route("post", "/api/v1/incidents/{id}/attachments", "Attach a file (the body) to an incident")
        .file("application/octet-stream")
        .query(&["file_name"])
        .ok(&[200, 201])
        .errors(UPLOAD),
    route("get", "/api/v1/incidents/{id}/attachments/{number}/content", "One attachment's content")
        .answers_file()
        .errors(READ_ONE),
];

const SERVICENOW_OTHER: &[Route] = &[
    route("post", "/api/now/v1/batch", "The Batch API: several Table API calls in one request")
        .schema(servicenow_batch)
        .errors(&[400, 413, 415]),
    route("post", "/webhooks/servicenow/{desk}", "A ServiceNow business rule's push of a changed record")
        .body()
        .ok(&[200, 202])
        .errors(&[400, 404, 409, 413, 415, 422])
        .open(),
];

const JIRA: &[Route] = &[
    route("get", "/rest/api/{v}/serverInfo", "Server information (also without authentication)").open().errors(&[404]),
    route("get", "/rest/api/{v}/myself", "The calling desk as a Jira user").errors(&[404]),
    route("get", "/rest/api/{v}/field", "The fields issues carry").errors(&[404]),
    route("get", "/rest/api/{v}/priority", "Priorities, named as the desk names them").errors(&[404]),
    route("get", "/rest/api/{v}/issuetype", "Issue types").errors(&[404]),
    route("get", "/rest/api/{v}/issuetype/{id}", "One issue type").errors(READ_ONE),
    route("get", "/rest/api/{v}/status", "Statuses, named as the desk names them").errors(&[404]),
    route("get", "/rest/api/{v}/status/{id}", "One status").errors(READ_ONE),
    route("get", "/rest/api/{v}/resolution", "Resolutions").errors(&[404]),
    route("get", "/rest/api/{v}/resolution/{id}", "One resolution").errors(READ_ONE),
    route("get", "/rest/api/{v}/project", "The one project incidents appear in").errors(&[404]),
    route("get", "/rest/api/{v}/project/{key}", "The project, with its issue types").errors(READ_ONE),
    route("get", "/rest/api/{v}/user/search", "Desks as users").errors(READ_ONE),
    route("get", "/rest/api/{v}/user/assignable/search", "Desks an issue can be assigned to").errors(READ_ONE),
    route("post", "/rest/api/{v}/issue", "Submit an incident as a Jira issue")
        .schema(jira_create)
        .ok(&[200, 201])
        .errors(WRITE),
    route("get", "/rest/api/{v}/issue/createmeta", "What a create needs").errors(READ_ONE),
    route("get", "/rest/api/{v}/issue/createmeta/{key}/issuetypes", "Issue types a create can use").errors(READ_ONE),
    route("get", "/rest/api/{v}/issue/createmeta/{key}/issuetypes/{id}", "Fields of a create").errors(READ_ONE),
    route("get", "/rest/api/{v}/issue/{key}", "One issue (expand=changelog,renderedFields,names)").errors(READ_ONE),
    route("put", "/rest/api/{v}/issue/{key}", "Edit an issue: priority, comments").body().ok(&[204]).errors(WRITE),
    route("put", "/rest/api/{v}/issue/{key}/assignee", "Assign an issue to a supplier desk")
        .body()
        .ok(&[204])
        .errors(WRITE),
    route("get", "/rest/api/{v}/issue/{key}/transitions", "The workflow's next statuses").errors(READ_ONE),
    route("post", "/rest/api/{v}/issue/{key}/transitions", "Move an issue to a next status")
        .body()
        .ok(&[204])
        .errors(WRITE),
    route("get", "/rest/api/{v}/issue/{key}/comment", "Comments the desk may see").errors(READ_ONE),
    route("post", "/rest/api/{v}/issue/{key}/comment", "Add a comment").schema(jira_comment).ok(&[201]).errors(WRITE),
    route("get", "/rest/api/{v}/issue/{key}/comment/{id}", "One comment").errors(READ_ONE),
    route("put", "/rest/api/{v}/issue/{key}/comment/{id}", "Edit a comment (refused: notes are append-only)")
        .body()
        .errors(&[400, 403, 404, 413, 415, 422]),
    route("delete", "/rest/api/{v}/issue/{key}/comment/{id}", "Delete a comment (refused: notes are append-only)")
        .ok(&[204])
        .errors(&[400, 403, 404]),
    route("get", "/rest/api/{v}/issue/{key}/remotelink", "Links to the desks' tickets").errors(READ_ONE),
    route("post", "/rest/api/{v}/issue/{key}/remotelink", "Link an RFC or problem")
        .body()
        .ok(&[200, 201])
        .errors(WRITE),
    route("get", "/rest/api/{v}/issue/{key}/remotelink/{id}", "One link").errors(READ_ONE),
    route("get", "/rest/api/{v}/search", "Issues matching a JQL query").errors(READ_ONE),
    route("post", "/rest/api/{v}/search", "Issues matching a JQL query")
        .schema(jira_search)
        .errors(&[400, 404, 413, 415]),
    route(
        "post",
        "/rest/api/{v}/issue/{key}/attachments",
        "Attach files (one multipart part each); needs X-Atlassian-Token: no-check",
    )
    .file("multipart/form-data")
    .errors(&[400, 403, 404, 413, 415, 422]),
    route("get", "/rest/api/{v}/search/jql", "Issues matching a JQL query (Cloud)").errors(READ_ONE),
    route("post", "/rest/api/{v}/search/jql", "Issues matching a JQL query (Cloud)")
        .schema(jira_search_jql)
        .errors(&[400, 404, 413, 415]),
];

const JIRA_OTHER: &[Route] = &[
    route("get", "/rest/auth/1/session", "The current session").errors(&[]),
    route("post", "/rest/auth/1/session", "Log in: answers the session of a desk token")
        .body()
        .errors(&[400, 413, 415]),
    route("post", "/webhooks/jira/{desk}", "A Jira webhook: an issue or comment changed")
        .body()
        .ok(&[200, 202])
        .errors(&[400, 404, 409, 413, 415, 422])
        .open(),
];

/// `DeskId`'s rule: lowercase letters, digits and `-`, starting with a letter, at most 64.
pub const DESK_ID: &str = "^[a-z][a-z0-9-]{0,63}$";

/// Adds the dialect routes and their error bodies to the native API's document.
pub struct DialectRoutes;

impl utoipa::Modify for DialectRoutes {
    fn modify(&self, openapi: &mut OpenApi) {
        let mut paths: Vec<(String, &Route, Shape)> = Vec::new();
        for prefix in crate::dialects::servicenow::api::TABLE_PREFIXES {
            for r in SERVICENOW {
                paths.push((r.path.replace("{prefix}", prefix), r, Shape::ServiceNow));
            }
        }
        for prefix in crate::dialects::servicenow::api::ATTACHMENT_PREFIXES {
            for r in SERVICENOW_ATTACHMENTS {
                paths.push((r.path.replace("{prefix}", prefix), r, Shape::ServiceNow));
            }
        }
        paths.extend(NATIVE_ATTACHMENTS.iter().map(|r| (r.path.to_owned(), r, Shape::Native)));
        paths.extend(SERVICENOW_OTHER.iter().map(|r| (r.path.to_owned(), r, Shape::ServiceNow)));
        paths.extend(JIRA.iter().chain(JIRA_OTHER).map(|r| (r.path.to_owned(), r, Shape::Jira)));
        let mut items: Map<String, Value> = Map::new();
        for (path, r, shape) in &paths {
            let item = items.entry(path.clone()).or_insert_with(|| json!({}));
            item[r.method] = operation(path, r, *shape);
        }
        for (path, item) in items {
            // The rows are this module's own data: a row that does not read as a path
            // item is a bug here (the unit test below), not a reason to fail serving.
            match serde_json::from_value::<PathItem>(item) {
                Ok(item) => {
                    openapi.paths.paths.insert(path, item);
                }
                Err(e) => tracing::error!(path, error = %e, "an OpenAPI row does not read as a path item"),
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in [("ServiceNowError", servicenow_error()), ("JiraError", jira_error())] {
            if let Ok(schema) = serde_json::from_value(schema) {
                components.schemas.insert(name.to_owned(), schema);
            }
        }
    }
}

fn operation(path: &str, r: &Route, shape: Shape) -> Value {
    let mut responses = Map::new();
    for status in r.ok {
        let done = if *status == 204 {
            json!({"description": "Done"})
        } else if r.answers_file {
            json!({"description": "The file's content", "content": {"application/octet-stream": {}}})
        } else {
            json!({"description": "Done", "content": {"application/json": {}}})
        };
        responses.insert(status.to_string(), done);
    }
    let mut errors: Vec<u16> = r.errors.to_vec();
    if r.authenticated {
        // The desk extractor: no or a bad token (401), not a registered desk or a
        // missing client certificate (403), over the desk's rate limit (429).
        errors.extend([401, 403, 429]);
    } else {
        errors.extend([401, 429]);
    }
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        responses.insert(
            status.to_string(),
            json!({"description": reason(status), "content": {"application/json": {"schema": {"$ref": shape.schema()}}}}),
        );
    }
    let mut op = json!({
        "tags": [shape.tag()],
        "summary": r.summary,
        "operationId": format!("{}_{}", r.method, path.trim_start_matches('/').replace(['/', '{', '}'], "_")),
        "parameters": parameters(path, r.query),
        "responses": responses,
    });
    if r.authenticated {
        op["security"] = json!([{"desk_jwt": []}]);
    }
    let body = match r.body {
        Body::None => None,
        Body::Object => Some(("application/json", json!({"type": "object", "additionalProperties": true}))),
        Body::Schema(schema) => Some(("application/json", schema())),
        Body::File("multipart/form-data") => Some((
            "multipart/form-data",
            json!({"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}),
        )),
        Body::File(media_type) => Some((media_type, json!({"type": "string", "format": "binary", "minLength": 1}))),
    };
    if let Some((media_type, schema)) = body {
        op["requestBody"] = json!({"required": true, "content": {media_type: {"schema": schema}}});
    }
    op
}

/// The path parameters of `path`, with the rules their parsing enforces, and the
/// query parameters the route requires.
fn parameters(path: &str, query: &[&str]) -> Value {
    let names = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
    // An incident's sys_id (`sys_id_of`): 32 lower-case hex digits.
    const SYS_ID: &str = "[0-9a-f]{32}";
    let required_query = query.iter().map(|name| {
        let schema = match *name {
            "sysparm_query" => string(format!("^table_name=incident\\^table_sys_id={SYS_ID}$")),
            "table_name" => json!({"type": "string", "enum": ["incident"]}),
            "table_sys_id" => string(format!("^{SYS_ID}$")),
            _ => json!({"type": "string", "minLength": 1}),
        };
        json!({"name": name, "in": "query", "required": true, "schema": schema})
    });
    let path_parameters: Vec<Value> = names
        .map(|name| {
            let schema = match name {
                "v" => json!({"type": "string", "enum": ["2", "3", "latest"]}),
                "desk" => json!({"type": "string", "pattern": DESK_ID}),
                "id" if path.starts_with("/api/v1/incidents/") => {
                    json!({"type": "string", "pattern": rules::INCIDENT_ID})
                }
                // An attachment's place; far more than an incident may hold.
                "number" => json!({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
                _ => json!({"type": "string", "minLength": 1}),
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    path_parameters.into_iter().chain(required_query).collect()
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "The request, a field or a parameter is not what the route accepts",
        401 => "No desk token, or one that does not verify",
        403 => "Not a registered desk, not allowed, or without the desk's client certificate",
        404 => "No such record the desk is party to",
        409 => "Refused by the workflow or the close guard",
        413 => "The body is larger than the gateway accepts",
        415 => "The body is not JSON",
        422 => "Patient data, or a reused Idempotency-Key",
        429 => "Over the desk's rate limit; see Retry-After",
        _ => "Refused",
    }
}

// The bodies below are what a client sends, with the rules deskgate checks. The
// dialects read leniently, as the systems they stand in for do (ServiceNow takes any
// JSON value as a field's text; both ignore fields they do not know), so they accept
// more than is described here.

fn string(pattern: String) -> Value {
    json!({"type": "string", "pattern": pattern})
}

/// A record for the Table API's insert: `short_description` and `business_service`
/// required.
fn servicenow_insert() -> Value {
    let level = json!({"type": "string", "enum": ["1", "2", "3"]});
    json!({
        "type": "object",
        "required": ["short_description", "business_service"],
        "properties": {
            "short_description": string(rules::record_title()),
            "business_service": string(rules::record_service()),
            "description": string(rules::text()),
            "correlation_id": {"type": "string", "pattern": rules::ticket_id(), "maxLength": 512},
            "correlation_display": string(rules::record_display_id()),
            "impact": level,
            "urgency": level,
        },
        "additionalProperties": false
    })
}

/// A batch of Table API calls; each is answered inside the batch's 200.
fn servicenow_batch() -> Value {
    json!({
        "type": "object",
        "required": ["rest_requests"],
        "properties": {
            "batch_request_id": {"type": "string"},
            "rest_requests": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "method", "url"],
                    "properties": {
                        "id": {"type": "string", "minLength": 1},
                        "method": {"type": "string", "enum": ["GET", "POST", "PATCH", "PUT"]},
                        "url": {"type": "string", "pattern": "^/api/now(?:/v[12])?/table/incident(?:\\?sysparm_limit=[0-9]{1,3})?$"}
                    },
                    "additionalProperties": false
                }
            }
        },
        "additionalProperties": false
    })
}

/// An issue create: the project `DG`, a summary, the service as the first component.
fn jira_create() -> Value {
    json!({
        "type": "object",
        "required": ["fields"],
        "properties": {
            "fields": {
                "type": "object",
                "required": ["project", "summary", "components"],
                "properties": {
                    "project": {
                        "type": "object",
                        "required": ["key"],
                        "properties": {"key": {"type": "string", "enum": ["DG"]}},
                        "additionalProperties": false
                    },
                    "summary": string(rules::title()),
                    "components": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": string(rules::service())},
                            "additionalProperties": false
                        }
                    },
                    "customfield_10100": {"type": "string", "pattern": rules::ticket_id(), "maxLength": 512}
                },
                "additionalProperties": false
            }
        },
        "additionalProperties": false
    })
}

/// A comment: its text (REST v2) or an ADF document (v3); a plain string reads in both.
fn jira_comment() -> Value {
    json!({
        "type": "object",
        "required": ["body"],
        "properties": {"body": string(rules::text())},
        "additionalProperties": false
    })
}

/// A JQL search. JQL's grammar is not a pattern: the queries described are examples
/// of what the parser takes.
fn jira_search() -> Value {
    json!({
        "type": "object",
        "properties": {
            "jql": {"type": "string", "enum": ["", "project = DG", "project = DG ORDER BY created DESC"]},
            "startAt": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
            "maxResults": {"type": "integer", "minimum": 0, "maximum": 1000},
            "fields": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_*-]{1,64}$"}}
        },
        "additionalProperties": false
    })
}

fn jira_search_jql() -> Value {
    json!({
        "type": "object",
        "properties": {
            "jql": {"type": "string", "enum": ["project = DG", "project = DG ORDER BY created DESC"]},
            "maxResults": {"type": "integer", "minimum": 0, "maximum": 1000},
            "fields": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_*-]{1,64}$"}}
        },
        "additionalProperties": false
    })
}

fn servicenow_error() -> Value {
    json!({
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message"],
                "properties": {"message": {"type": "string"}, "detail": {"type": ["string", "null"]}}
            },
            "status": {"type": "string", "enum": ["failure"]}
        }
    })
}

fn jira_error() -> Value {
    json!({
        "type": "object",
        "required": ["errorMessages", "errors"],
        "properties": {
            "errorMessages": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    })
}

pub mod rules;

/// `schema` without its `null`: `["string", "null"]` as `"string"`, `oneOf [null, X]` as `X`.
fn not_null(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            schema["type"] = only;
        }
    }
    if let Some(Value::Array(branches)) = schema.get("oneOf") {
        let rest: Vec<Value> = branches.iter().filter(|b| b.get("type").is_none_or(|t| t != "null")).cloned().collect();
        if let [only] = rest.as_slice() {
            return only.clone();
        }
    }
    schema
}

/// The rules of [`rules`] applied to the native API's schemas and parameters.
pub struct NativeRules;

impl utoipa::Modify for NativeRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let Ok(mut doc) = serde_json::to_value(&*openapi) else { return };
        let text = json!({"pattern": rules::text(), "maxLength": 65536});
        let url = json!({"pattern": rules::url(), "maxLength": 2048});
        let fields: [(&str, &str, Value); 12] = [
            ("SubmitIncident", "title", json!({"pattern": rules::title()})),
            ("SubmitIncident", "description", text.clone()),
            ("SubmitIncident", "service", json!({"pattern": rules::service()})),
            ("SubmitIncident", "ticket_id", json!({"pattern": rules::ticket_id(), "maxLength": 512})),
            ("SubmitIncident", "display_id", json!({"pattern": rules::display_id()})),
            ("SubmitIncident", "ticket_url", url.clone()),
            ("PatchIncident", "assignee", json!({"pattern": rules::DESK_ID})),
            ("PatchIncident", "parent", json!({"pattern": rules::INCIDENT_ID})),
            ("PatchIncident", "report", text.clone()),
            ("LinkRfc", "key", json!({"pattern": rules::issue_key()})),
            ("LinkRfc", "url", url),
            ("AddNote", "body", text),
        ];
        for (schema, field, rule) in fields {
            if let Some(Value::Object(property)) =
                doc.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}"))
            {
                property.extend(rule.as_object().cloned().unwrap_or_default());
            }
        }
        // A change must change something: `{}`, nulls only, or `approve_report: false`
        // is refused ("nothing to change").
        // One object per field that changes something, as `anyOf` (the document's
        // object schemas have no `anyOf` of their own).
        if let Some(patch) = doc.pointer_mut("/components/schemas/PatchIncident") {
            let mut base = patch.clone();
            base["additionalProperties"] = json!(false);
            let properties = base.get("properties").cloned().unwrap_or_default();
            let mut changes: Vec<Value> = ["status", "priority", "assignee", "kind", "parent", "report", "rfc"]
                .iter()
                .map(|f| {
                    let mut variant = base.clone();
                    variant["required"] = json!([f]);
                    variant["properties"][*f] = not_null(&properties[*f]);
                    variant
                })
                .collect();
            let mut approve = base.clone();
            approve["required"] = json!(["approve_report"]);
            approve["properties"]["approve_report"] = json!({"type": "boolean", "enum": [true]});
            changes.push(approve);
            *patch = json!({"description": base["description"], "anyOf": changes});
        }
        let params: [(&str, &str, Value); 12] = [
            // `HeaderValue::to_str` (visible ASCII and tab), 1 to 255 bytes; HTTP drops
            // the spaces and tabs around a header's value.
            (
                "/api/v1/incidents",
                "Idempotency-Key",
                json!({"type": "string", "pattern": "^[\t ]*[!-~](?:[\t -~]{0,253}[!-~])?[\t ]*$"}),
            ),
            ("/api/v1/audit", "cursor", json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
            ("/api/v1/incidents/", "id", json!({"type": "string", "pattern": rules::INCIDENT_ID})),
            ("/api/v1/incidents/", "number", json!({"type": "integer", "minimum": 1, "maximum": 1_000_000})),
            ("/api/v1/incidents", "service", json!({"type": "string", "pattern": rules::service()})),
            ("/api/v1/incidents", "cursor", json!({"type": "string", "pattern": rules::INCIDENT_ID})),
            ("/api/v1/incidents", "limit", json!({"type": "integer", "minimum": 1, "maximum": 200})),
            ("/api/v1/audit", "limit", json!({"type": "integer", "minimum": 1, "maximum": 1000})),
            ("/api/v1/refs/", "desk", json!({"type": "string", "pattern": rules::DESK_ID})),
            ("/api/v1/refs/", "remote_id", json!({"type": "string", "pattern": rules::ticket_id(), "maxLength": 512})),
            ("/api/v1/escalations/contact", "service", json!({"type": "string", "pattern": rules::service()})),
            ("/api/v1/escalations/contact", "at", json!({"type": "string", "format": "date-time"})),
        ];
        if let Some(Value::Object(paths)) = doc.get_mut("paths") {
            for (path, item) in paths.iter_mut() {
                let Some(item) = item.as_object_mut() else { continue };
                for op in item.values_mut() {
                    let Some(Value::Array(parameters)) = op.get_mut("parameters") else { continue };
                    for p in parameters {
                        for (prefix, name, schema) in &params {
                            let exact = !prefix.ends_with('/');
                            let applies = if exact { path == prefix } else { path.starts_with(prefix) };
                            if applies && p["name"] == *name {
                                p["schema"] = schema.clone();
                            }
                        }
                    }
                }
            }
        }
        if let Ok(described) = serde_json::from_value(doc) {
            *openapi = described;
        }
    }
}

/// The statuses every native operation can answer before its handler runs, in the
/// native error body: the desk extractor's (401, 403, 429) on an authenticated one,
/// the JSON body extractor's (400, 413, 415, 422) on one with a body.
pub struct ExtractorResponses;

impl utoipa::Modify for ExtractorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |status: u16| {
            ResponseBuilder::new()
                .description(reason(status))
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for op in operations.into_iter().flatten() {
                let mut statuses = Vec::new();
                if op.security.is_some() {
                    statuses.extend([401, 403, 429]);
                }
                if op.request_body.is_some() {
                    statuses.extend([400, 413, 415, 422]);
                }
                // A parameter that does not parse is named in a 400.
                if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    statuses.push(400);
                }
                for status in statuses {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| error(status).into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_reads_as_a_path_item() {
        let mut rows: Vec<(String, &Route, Shape)> = Vec::new();
        for r in SERVICENOW {
            rows.push((r.path.replace("{prefix}", "/api/now"), r, Shape::ServiceNow));
        }
        rows.extend(SERVICENOW_OTHER.iter().map(|r| (r.path.to_owned(), r, Shape::ServiceNow)));
        rows.extend(JIRA.iter().chain(JIRA_OTHER).map(|r| (r.path.to_owned(), r, Shape::Jira)));
        for (path, r, shape) in rows {
            let item = json!({ r.method: operation(&path, r, shape) });
            if let Err(e) = serde_json::from_value::<PathItem>(item) {
                panic!("{} {path}: {e}", r.method);
            }
        }
        for schema in [servicenow_error(), jira_error()] {
            if let Err(e) = serde_json::from_value::<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>(schema) {
                panic!("{e}");
            }
        }
    }
}
