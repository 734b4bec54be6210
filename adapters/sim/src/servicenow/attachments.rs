//! The Attachment API (`sys_attachment`) for incident records, as ServiceNow's REST
//! API reference describes it (Attachment API: `POST /now/attachment/file`, `GET
//! /now/attachment`, `GET /now/attachment/{sys_id}[/file]`) and as pysnc's attachment
//! calls use it (`add_attachment`, `get_attachments`, `read`):
//!
//! - `POST /api/now/attachment/file?table_name=incident&table_sys_id=…&file_name=…` —
//!   the raw content as the body, its type as `Content-Type`; 201 `{"result": …}` with
//!   `Location` (the content's link). A missing parameter is 400; an unknown record 404.
//! - `GET /api/now/attachment?sysparm_query=table_name=…^table_sys_id=…` — the
//!   metadata list (the query's `^`-joined equalities are what is understood).
//! - `GET /api/now/attachment/{sys_id}` — one record; `…/{sys_id}/file` — the content.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use deskgate_servicenow::attachment::AttachmentRecord;
use deskgate_servicenow::wire;
use serde_json::json;
use sha2::Digest;

use super::render::base_of;
use super::{ServiceNowSim, Shared, SimError, TABLE};

/// One stored attachment: its record and content.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub record: AttachmentRecord,
    pub content: Bytes,
}

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/now/attachment", get(list))
        .route("/api/now/attachment/file", post(upload))
        .route("/api/now/attachment/{sys_id}", get(one))
        .route("/api/now/attachment/{sys_id}/file", get(content))
        // The instance's default `com.glide.attachment.max_size` is far larger.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
}

fn missing(parameter: &str) -> SimError {
    SimError::new(400, &format!("Failed to create the attachment. {parameter} is required"), None)
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, SimError> {
    let param = |name: &str| params.get(name).filter(|v| !v.is_empty()).cloned().ok_or_else(|| missing(name));
    let (table, table_sys_id, file_name) = (param("table_name")?, param("table_sys_id")?, param("file_name")?);
    if table != TABLE {
        return Err(SimError::new(400, &format!("Invalid table {table}"), None));
    }
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    let base = base_of(&headers);
    let now = wire::format_date(shared.clock.now());
    let user = shared.config.user.clone();
    let mut inner = shared.lock();
    if !inner.records.iter().any(|r| r["sys_id"] == table_sys_id) {
        return Err(SimError::not_found());
    }
    let sys_id = wire::SysId::generate().to_string();
    let record = AttachmentRecord {
        download_link: format!("{base}/api/now/attachment/{sys_id}/file"),
        sys_id,
        file_name,
        content_type: content_type.to_owned(),
        size_bytes: body.len().to_string(),
        table_name: table,
        table_sys_id,
        hash: hex::encode(sha2::Sha256::digest(&body)),
        sys_created_on: now.clone(),
        sys_created_by: user.clone(),
        sys_updated_on: now,
        sys_updated_by: user,
        sys_mod_count: "0".into(),
        state: "available".into(),
    };
    inner.attachments.push(Stored { record: record.clone(), content: body });
    let mut response = (StatusCode::CREATED, Json(json!({ "result": record }))).into_response();
    if let Ok(location) = HeaderValue::from_str(&record.download_link) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn list(State(shared): State<Arc<Shared>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let wanted: Vec<(String, String)> = params
        .get("sysparm_query")
        .map(|q| q.split('^').filter_map(|c| c.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        .unwrap_or_default();
    let inner = shared.lock();
    let result: Vec<&AttachmentRecord> = inner
        .attachments
        .iter()
        .map(|a| &a.record)
        .filter(|r| {
            wanted.iter().all(|(k, v)| match k.as_str() {
                "table_name" => &r.table_name == v,
                "table_sys_id" => &r.table_sys_id == v,
                "file_name" => &r.file_name == v,
                _ => true,
            })
        })
        .collect();
    Json(json!({ "result": result })).into_response()
}

async fn one(State(shared): State<Arc<Shared>>, Path(sys_id): Path<String>) -> Result<Response, SimError> {
    let inner = shared.lock();
    let found = inner.attachments.iter().find(|a| a.record.sys_id == sys_id).ok_or_else(SimError::not_found)?;
    Ok(Json(json!({ "result": found.record })).into_response())
}

async fn content(State(shared): State<Arc<Shared>>, Path(sys_id): Path<String>) -> Result<Response, SimError> {
    let inner = shared.lock();
    let found = inner.attachments.iter().find(|a| a.record.sys_id == sys_id).ok_or_else(SimError::not_found)?;
    Ok(([(header::CONTENT_TYPE, found.record.content_type.clone())], found.content.clone()).into_response())
}

impl ServiceNowSim {
    /// The attachments of the record `sys_id`, with their content, oldest first.
    pub fn attachments(&self, sys_id: &str) -> Vec<(AttachmentRecord, Bytes)> {
        let inner = self.shared.lock();
        inner
            .attachments
            .iter()
            .filter(|a| a.record.table_sys_id == sys_id)
            .map(|a| (a.record.clone(), a.content.clone()))
            .collect()
    }
}
