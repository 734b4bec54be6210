//! The ServiceNow routes `/openapi.json` describes: the Table, Attachment and Batch
//! APIs and the business rule's push, with the bodies deskgate checks.

use serde_json::{Value, json};

use super::api::{ATTACHMENT_PREFIXES, TABLE_PREFIXES};
use crate::dialects::openapi::{Described, READ_ONE, Route, UPLOAD, WRITE, route, rules, string};

pub(super) fn described() -> Described {
    Described {
        tag: "servicenow",
        error: ("ServiceNowError", Some(error)),
        routes: Described::per_prefix(TABLE_PREFIXES, TABLE)
            .chain(Described::per_prefix(ATTACHMENT_PREFIXES, ATTACHMENTS))
            .chain(Described::at_paths(OTHER))
            .collect(),
    }
}

/// The Table API, once per prefix in `TABLE_PREFIXES` (`{prefix}` is replaced).
const TABLE: &[Route] = &[
    route("get", "{prefix}/table/incident", "Incidents the desk is party to (sysparm_query, sysparm_limit, …)")
        .errors(&[400, 404]),
    route("post", "{prefix}/table/incident", "Submit an incident as a ServiceNow record")
        .schema(insert)
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
const ATTACHMENTS: &[Route] = &[
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

const OTHER: &[Route] = &[
    route("post", "/api/now/v1/batch", "The Batch API: several Table API calls in one request")
        .schema(batch)
        .errors(&[400, 413, 415]),
    route("post", "/webhooks/servicenow/{desk}", "A ServiceNow business rule's push of a changed record")
        .body()
        .ok(&[200, 202])
        .errors(&[400, 404, 409, 413, 415, 422])
        .open(),
];

/// A record for the Table API's insert: `short_description` and `business_service`
/// required.
fn insert() -> Value {
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
fn batch() -> Value {
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

fn error() -> Value {
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
