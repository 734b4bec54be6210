//! Attachments as Jira's REST API has them:
//!
//! - `POST /rest/api/{v}/issue/{key}/attachments` — `multipart/form-data`, each part
//!   named `file` a file; `X-Atlassian-Token: no-check` is required, as Jira
//!   requires it (403 without). Answers 200 with the list of attachment objects.
//!   A file over the desk's `attachment_max_bytes` is refused with 413 naming the
//!   limit, and none of the request's files is kept.
//! - Every issue lists its attachments in `fields.attachment`; an attachment's
//!   `content` is the native API's content link, which takes the same token.
//!
//! An attachment's id is the incident's sequence times 1000 plus its place (from 1).

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deskgate_adapter::multipart;
use serde_json::{Value, json};

use super::{Call, JiraDesk, seq_of, user};
use crate::gateway::{NewAttachment, RequestContext};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::upload::read_limited;
use crate::model::{Attachment, Incident};

/// The header Jira's XSRF check wants on an upload.
const NO_CHECK: &str = "X-Atlassian-Token";

/// Room for the form's boundaries and part headers around the file itself.
const FORM_OVERHEAD: u64 = 64 * 1024;

fn attachment_json(state: &AppState, desk: &JiraDesk<'_>, i: &Incident, index: usize, a: &Attachment) -> Value {
    let id = seq_of(&i.id) * 1000 + index as u64 + 1;
    json!({
        "self": format!("{}/attachment/{id}", desk.api()),
        "id": id.to_string(),
        "filename": a.file_name,
        "author": user(state, desk, &a.added_by),
        "created": deskgate_jira::wire::format_timestamp(a.added_at),
        "size": a.size,
        "mimeType": a.content_type,
        "content": format!("{}/api/v1/incidents/{}/attachments/{}/content", desk.base, i.id, index + 1),
    })
}

/// `fields.attachment` of an issue.
pub(super) fn attachments_field(state: &AppState, desk: &JiraDesk<'_>, i: &Incident) -> Value {
    Value::Array(i.attachments.iter().enumerate().map(|(n, a)| attachment_json(state, desk, i, n, a)).collect())
}

/// `POST /rest/api/{v}/issue/{key}/attachments`
pub(super) async fn add_attachments(call: Call, ctx: RequestContext, body: Body) -> Result<Response, ApiError> {
    let state = &call.state;
    let (desk, incident) = call.issue().await?;
    let token = call.headers.get(NO_CHECK).and_then(|v| v.to_str().ok());
    if !token.is_some_and(|t| t.eq_ignore_ascii_case("no-check")) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "xsrf_check_failed",
            "XSRF check failed: an attachment upload must carry the header X-Atlassian-Token: no-check",
        ));
    }
    let limit = state.gateway.attachment_limit(&desk.who);
    let content_type = call.headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // The form is checked before its body is read.
    multipart::boundary_of(content_type).map_err(|e| ApiError::bad_request("file", format!("file: {e}")))?;
    let bytes = read_limited(&call.headers, body, limit.saturating_add(FORM_OVERHEAD)).await.map_err(|mut e| {
        if e.status == StatusCode::PAYLOAD_TOO_LARGE {
            e = ApiError::from(crate::model::ModelError::TooLarge { field: "file", limit });
        }
        e
    })?;
    let parts =
        multipart::parse(content_type, &bytes).map_err(|e| ApiError::bad_request("file", format!("file: {e}")))?;
    let files: Vec<_> = parts.into_iter().filter(|p| p.name == "file" && p.file_name.is_some()).collect();
    if files.is_empty() {
        return Err(ApiError::bad_request("file", "file: expected a part named file holding the file to attach"));
    }
    // Every file is checked against the limit before any is kept.
    if files.iter().any(|f| f.data.len() as u64 > limit) {
        return Err(crate::model::ModelError::TooLarge { field: "file", limit }.into());
    }
    let mut made = Vec::new();
    for file in files {
        let new = NewAttachment {
            file_name: file.file_name.unwrap_or_default(),
            content_type: file.content_type,
            content: file.data,
        };
        let attached = state.gateway.add_attachment(&desk.who, &incident.id, new, &ctx).await?;
        made.push(attachment_json(state, &desk, &attached.incident, attached.index, attached.attachment()));
    }
    Ok(axum::Json(Value::Array(made)).into_response())
}
