//! The Jira routes `/openapi.json` describes: Jira REST (`{v}` is 2, 3 or latest),
//! the session and the webhooks, with the bodies deskgate checks.

use serde_json::{Value, json};

use crate::dialects::openapi::{Described, READ_ONE, Route, WRITE, route, rules, string};

pub(super) fn described() -> Described {
    Described {
        tag: "jira",
        error: ("JiraError", Some(error)),
        routes: Described::at_paths(REST).chain(Described::at_paths(OTHER)).collect(),
    }
}

const REST: &[Route] = &[
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
        .schema(create)
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
    route("post", "/rest/api/{v}/issue/{key}/comment", "Add a comment").schema(comment).ok(&[201]).errors(WRITE),
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
    route("post", "/rest/api/{v}/search", "Issues matching a JQL query").schema(search).errors(&[400, 404, 413, 415]),
    route(
        "post",
        "/rest/api/{v}/issue/{key}/attachments",
        "Attach files (one multipart part each); needs X-Atlassian-Token: no-check",
    )
    .file("multipart/form-data")
    .errors(&[400, 403, 404, 413, 415, 422]),
    route("get", "/rest/api/{v}/search/jql", "Issues matching a JQL query (Cloud)").errors(READ_ONE),
    route("post", "/rest/api/{v}/search/jql", "Issues matching a JQL query (Cloud)")
        .schema(search_jql)
        .errors(&[400, 404, 413, 415]),
];

const OTHER: &[Route] = &[
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

/// An issue create: the project `DG`, a summary, the service as the first component.
fn create() -> Value {
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
fn comment() -> Value {
    json!({
        "type": "object",
        "required": ["body"],
        "properties": {"body": string(rules::text())},
        "additionalProperties": false
    })
}

/// A JQL search. JQL's grammar is not a pattern: the queries described are examples
/// of what the parser takes.
fn search() -> Value {
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

fn search_jql() -> Value {
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

fn error() -> Value {
    json!({
        "type": "object",
        "required": ["errorMessages", "errors"],
        "properties": {
            "errorMessages": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    })
}
