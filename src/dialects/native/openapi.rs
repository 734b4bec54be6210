//! The native routes `/openapi.json` describes by rows rather than by utoipa's
//! annotations: the attachment uploads and contents (a file body, a file answer).

use crate::dialects::openapi::{Described, READ_ONE, Route, UPLOAD, route};

pub(super) fn described() -> Described {
    Described { tag: "incidents", error: ("ErrorBody", None), routes: Described::at_paths(ATTACHMENTS).collect() }
}

const ATTACHMENTS: &[Route] = &[
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
