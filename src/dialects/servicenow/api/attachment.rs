//! The Attachment API for incidents, as ServiceNow serves it (also under
//! `/api/now/v1/…`, where pysnc calls it):
//!
//! - `POST /api/now/attachment/file?table_name=incident&table_sys_id=…&file_name=…` —
//!   the file's content as the body, its type as `Content-Type`; 201 with the
//!   attachment record in `result` and `Location` (its content's link). Over the
//!   desk's `attachment_max_bytes`: 413 naming the limit, nothing stored.
//! - `GET /api/now/attachment?sysparm_query=table_name=incident^table_sys_id=…` — the
//!   incident's attachments (`X-Total-Count`); a query must name the record.
//! - `GET /api/now/attachment/{sys_id}` — one record; `…/{sys_id}/file` — the content.
//!
//! An attachment's sys_id is derived from the incident and its place there, like an
//! incident's, so it is decoded without a lookup table.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use deskgate_servicenow::attachment::AttachmentRecord;
use deskgate_servicenow::wire;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{SnDesk, bad, gateway_error, id_parts, incident_of_sys_id, no_record, sys_id_of};
use crate::auth::DeskPrincipal;
use crate::gateway::{NewAttachment, RequestContext};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::base_url;
use crate::http::upload::read_limited;
use crate::model::{Attachment, IncidentId};

/// Where ServiceNow serves the Attachment API: unversioned and as v1 (it has no v2).
pub const ATTACHMENT_PREFIXES: &[&str] = &["/api/now", "/api/now/v1"];

pub(super) fn router() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ATTACHMENT_PREFIXES {
        router = router
            .route(&format!("{prefix}/attachment"), get(list))
            .route(&format!("{prefix}/attachment/file"), post(upload))
            .route(&format!("{prefix}/attachment/{{sys_id}}"), get(one))
            .route(&format!("{prefix}/attachment/{{sys_id}}/file"), get(content));
    }
    router
}

/// The sys_id of the incident's attachment number `index`: 12 hex digits of a
/// SHA-256, the index (4), then the incident's year (4) and sequence (12).
pub(super) fn attachment_sys_id(id: &IncidentId, index: usize) -> String {
    let (year, seq) = id_parts(id).unwrap_or((0, 0));
    let digest = Sha256::digest(format!("deskgate/servicenow/attachment/{id}/{index}").as_bytes());
    format!("{}{:04x}{:04x}{:012x}", &hex::encode(&digest[..6]), index, year, seq)
}

/// The incident and index an attachment sys_id names, if [`attachment_sys_id`] made it.
fn attachment_of_sys_id(sys_id: &str) -> Option<(IncidentId, usize)> {
    if !wire::is_sys_id(sys_id) {
        return None;
    }
    let index = usize::from_str_radix(&sys_id[12..16], 16).ok()?;
    let year = u16::from_str_radix(&sys_id[16..20], 16).ok()?;
    let seq = u64::from_str_radix(&sys_id[20..32], 16).ok()?;
    if year > 9999 || seq > 999_999_999_999 {
        return None;
    }
    let id = IncidentId::new(i16::try_from(year).ok()?, seq);
    (attachment_sys_id(&id, index) == sys_id).then_some((id, index))
}

fn record_of(base: &str, id: &IncidentId, index: usize, a: &Attachment) -> AttachmentRecord {
    let sys_id = attachment_sys_id(id, index);
    let at = wire::format_date(a.added_at);
    AttachmentRecord {
        download_link: format!("{base}/api/now/attachment/{sys_id}/file"),
        sys_id,
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size_bytes: a.size.to_string(),
        table_name: "incident".into(),
        table_sys_id: sys_id_of(id),
        hash: a.sha256.clone(),
        sys_created_on: at.clone(),
        sys_created_by: a.added_by.to_string(),
        sys_updated_on: at,
        sys_updated_by: a.added_by.to_string(),
        sys_mod_count: "0".into(),
        state: "available".into(),
    }
}

fn no_attachment() -> ApiError {
    ApiError::not_found("No Record found: the attachment does not exist or this desk is not party to its incident")
}

/// The incident a `table_name`/`table_sys_id` pair names.
fn incident_named(table: Option<&String>, sys_id: Option<&String>) -> Result<IncidentId, ApiError> {
    match table.map(String::as_str) {
        Some("incident") => {}
        Some(other) => {
            return Err(bad("table_name", format!("Invalid table {other}: attachments are kept for incident")));
        }
        None => return Err(bad("table_name", "required: the table of the record (incident)")),
    }
    let sys_id =
        sys_id.filter(|s| !s.is_empty()).ok_or_else(|| bad("table_sys_id", "required: the record's sys_id"))?;
    incident_of_sys_id(sys_id).ok_or_else(no_record)
}

/// `POST /api/now/attachment/file`
async fn upload(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    let id = incident_named(params.get("table_name"), params.get("table_sys_id"))?;
    let file_name = params
        .get("file_name")
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| bad("file_name", "required: the name the file is attached under"))?;
    let content = read_limited(&headers, body, state.gateway.attachment_limit(&desk.who)).await?;
    let file = NewAttachment {
        file_name: file_name.clone(),
        content_type: headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
        content,
    };
    let attached = state.gateway.add_attachment(&desk.who, &id, file, &ctx).await.map_err(|e| {
        gateway_error(e, desk.mapping).naming_fields(&[("file", "file"), ("content_type", "Content-Type")])
    })?;
    let record = record_of(&base_url(&state, &headers), &id, attached.index, attached.attachment());
    let mut response = (StatusCode::CREATED, Json(json!({ "result": record }))).into_response();
    if let Ok(location) = HeaderValue::from_str(&record.download_link) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/now/attachment`
async fn list(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    // The equalities of the encoded query (`table_name=incident^table_sys_id=…`).
    let query: HashMap<String, String> = params
        .get("sysparm_query")
        .map(|q| q.split('^').filter_map(|c| c.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        .unwrap_or_default();
    let table = query.get("table_name").or(params.get("table_name"));
    let sys_id = query.get("table_sys_id").or(params.get("table_sys_id"));
    let id = incident_named(table, sys_id).map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            e
        } else {
            bad("sysparm_query", "must name table_name=incident^table_sys_id=<the incident's sys_id>")
        }
    })?;
    let incident = state.gateway.get(&desk.who, &id).await.map_err(|e| gateway_error(e, desk.mapping))?;
    let base = base_url(&state, &headers);
    let records: Vec<AttachmentRecord> = incident
        .attachments
        .iter()
        .enumerate()
        .map(|(index, a)| record_of(&base, &id, index, a))
        .filter(|r| query.get("file_name").is_none_or(|f| &r.file_name == f))
        .collect();
    let total = records.len();
    let mut response = Json(json!({ "result": records })).into_response();
    response.headers_mut().insert("X-Total-Count", HeaderValue::from(total));
    Ok(response)
}

/// `GET /api/now/attachment/{sys_id}`
async fn one(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Path(sys_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    let (id, index) = attachment_of_sys_id(&sys_id).ok_or_else(no_attachment)?;
    let incident = state.gateway.get(&desk.who, &id).await.map_err(|_| no_attachment())?;
    let a = incident.attachments.get(index).ok_or_else(no_attachment)?;
    Ok(Json(json!({ "result": record_of(&base_url(&state, &headers), &id, index, a) })).into_response())
}

/// `GET /api/now/attachment/{sys_id}/file`
async fn content(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Path(sys_id): Path<String>,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    let (id, index) = attachment_of_sys_id(&sys_id).ok_or_else(no_attachment)?;
    let (a, content) = state.gateway.attachment_content(&desk.who, &id, index).await.map_err(|_| no_attachment())?;
    let mut response = Body::from(content).into_response();
    if let Ok(t) = HeaderValue::from_str(&a.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, t);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_sys_ids_decode_to_their_incident_and_place() {
        let id = IncidentId::new(2026, 42);
        let sys_id = attachment_sys_id(&id, 3);
        assert!(wire::is_sys_id(&sys_id), "{sys_id}");
        assert_eq!(attachment_of_sys_id(&sys_id), Some((id.clone(), 3)));
        assert_ne!(sys_id, sys_id_of(&id));
        assert_eq!(attachment_of_sys_id(&sys_id_of(&id)), None, "an incident's sys_id is no attachment's");
    }
}
