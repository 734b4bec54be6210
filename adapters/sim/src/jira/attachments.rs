//! Issue attachments:
//!
//! - `POST /rest/api/{v}/issue/{key}/attachments` — `multipart/form-data`, every
//!   part named `file` is a file; `X-Atlassian-Token: no-check` is required (Jira's
//!   XSRF check: 403 `XSRF check failed` without it). Answers 200 with the list of
//!   attachments made.
//! - `GET /rest/api/{v}/attachment/{id}` — one attachment's metadata;
//!   `GET /secure/attachment/{id}/{filename}` — its content.
//! - Every issue shows its attachments in `fields.attachment`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use deskgate_adapter::multipart;
use deskgate_jira::wire::{ErrorCollection, format_timestamp};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::http::{AppState, version};
use super::{JiraSim, Shared, SimError};

/// One stored attachment.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub id: u64,
    pub issue_key: String,
    pub filename: String,
    pub mime_type: String,
    pub author: String,
    pub created: Timestamp,
    pub content: Bytes,
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/rest/api/{v}/issue/{key}/attachments", post(upload))
        .route("/rest/api/{v}/attachment/{id}", get(one))
        .route("/secure/attachment/{id}/{filename}", get(content))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
}

impl Shared {
    fn attachment_list(&self) -> std::sync::MutexGuard<'_, Vec<Stored>> {
        crate::core::lock(&self.attachments)
    }

    fn attachment_json(&self, a: &Stored, v: &str) -> Value {
        let base = self.base_url();
        json!({
            "self": format!("{base}/rest/api/{v}/attachment/{}", a.id),
            "id": a.id.to_string(),
            "filename": a.filename,
            "author": self.user_json(&a.author),
            "created": format_timestamp(a.created),
            "size": a.content.len(),
            "mimeType": a.mime_type,
            "content": format!("{base}/secure/attachment/{}/{}", a.id, a.filename),
        })
    }

    /// `fields.attachment` of an issue.
    pub(super) fn attachments_json(&self, key: &str, v: &str) -> Value {
        let list = self.attachment_list();
        Value::Array(list.iter().filter(|a| a.issue_key == key).map(|a| self.attachment_json(a, v)).collect())
    }
}

async fn upload(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, SimError> {
    version(&v)?;
    let token = headers.get("X-Atlassian-Token").and_then(|t| t.to_str().ok());
    if !token.is_some_and(|t| t.eq_ignore_ascii_case("no-check")) {
        return Ok((StatusCode::FORBIDDEN, "XSRF check failed").into_response());
    }
    let issue_key = {
        let mut inner = s.lock();
        Shared::find(&mut inner, &key)?.key.clone()
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|t| t.to_str().ok()).unwrap_or_default();
    let parts = multipart::parse(content_type, &body)
        .map_err(|e| SimError { status: 400, errors: ErrorCollection::message(e.to_string()) })?;
    let files: Vec<_> = parts.into_iter().filter(|p| p.name == "file" && p.file_name.is_some()).collect();
    if files.is_empty() {
        return Err(SimError {
            status: 400,
            errors: ErrorCollection::message("No file was attached. Send a part named file."),
        });
    }
    let author = s.config.api_user.account_id.clone();
    let mut made = Vec::new();
    for file in files {
        let created = s.now();
        let mut list = s.attachment_list();
        let stored = Stored {
            id: 10_000 + list.len() as u64,
            issue_key: issue_key.clone(),
            filename: file.file_name.unwrap_or_default(),
            mime_type: file.content_type.unwrap_or_else(|| "application/octet-stream".into()),
            author: author.clone(),
            created,
            content: file.data,
        };
        list.push(stored.clone());
        drop(list);
        made.push(s.attachment_json(&stored, &v));
    }
    Ok(Json(Value::Array(made)).into_response())
}

async fn one(State(s): State<AppState>, Path((v, id)): Path<(String, String)>) -> Result<Response, SimError> {
    version(&v)?;
    let found = s.attachment_list().iter().find(|a| a.id.to_string() == id).cloned();
    match found {
        Some(a) => Ok(Json(s.attachment_json(&a, &v)).into_response()),
        None => Err(SimError {
            status: 404,
            errors: ErrorCollection::message(format!("The attachment with id '{id}' does not exist")),
        }),
    }
}

async fn content(State(s): State<AppState>, Path((id, _)): Path<(String, String)>) -> Response {
    let found = s.attachment_list().iter().find(|a| a.id.to_string() == id).cloned();
    match found {
        Some(a) => ([(header::CONTENT_TYPE, a.mime_type)], a.content).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl JiraSim {
    /// The attachments of the issue `key`: (file name, MIME type, content), oldest first.
    pub fn attachments(&self, key: &str) -> Vec<(String, String, Bytes)> {
        let list = self.shared.attachment_list();
        list.iter()
            .filter(|a| a.issue_key == key)
            .map(|a| (a.filename.clone(), a.mime_type.clone(), a.content.clone()))
            .collect()
    }
}
