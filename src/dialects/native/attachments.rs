//! Attachments in the native API:
//!
//! - `POST /api/v1/incidents/{id}/attachments?file_name=…` — the file as the body,
//!   its type as `Content-Type`; 201 with the attachment (`number` is its place,
//!   from 1). The same file under the same name again answers 200 with the one
//!   already there. Over the desk's `attachment_max_bytes`: 413 naming the limit.
//! - `GET /api/v1/incidents/{id}/attachments` — the incident's attachments.
//! - `GET /api/v1/incidents/{id}/attachments/{number}/content` — a file's content.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api::parse_incident_id;
use crate::auth::DeskPrincipal;
use crate::gateway::{NewAttachment, RequestContext};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::upload::read_limited;
use crate::model::Attachment;

#[derive(Deserialize)]
pub struct UploadParams {
    file_name: Option<String>,
}

/// One attachment as the native API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    /// Its place on the incident, from 1 (the `{number}` of its content's path).
    pub number: usize,
    #[serde(flatten)]
    pub attachment: Attachment,
}

fn view(index: usize, a: &Attachment) -> AttachmentView {
    AttachmentView { number: index + 1, attachment: a.clone() }
}

pub async fn upload(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(id): Path<String>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = parse_incident_id(&id)?;
    let file_name = params
        .file_name
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("file_name", "file_name: required query parameter, the file's name"))?;
    let content = read_limited(&headers, body, state.gateway.attachment_limit(&who)).await?;
    if content.is_empty() {
        return Err(ApiError::bad_request("body", "body: expected the file's content, got an empty body"));
    }
    let before = state.gateway.get(&who, &id).await?.attachments.len();
    let file = NewAttachment {
        file_name,
        content_type: headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
        content,
    };
    let attached = state.gateway.add_attachment(&who, &id, file, &ctx).await?;
    let status = if attached.index >= before { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(attached.index, attached.attachment()))).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttachmentView>>, ApiError> {
    let id = parse_incident_id(&id)?;
    let incident = state.gateway.get(&who, &id).await?;
    Ok(Json(incident.attachments.iter().enumerate().map(|(i, a)| view(i, a)).collect()))
}

pub async fn content(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Path((id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_incident_id(&id)?;
    let index = number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .ok_or_else(|| ApiError::bad_request("number", "number: expected an attachment's number, from 1"))?;
    let (a, content) = state.gateway.attachment_content(&who, &id, index).await?;
    let mut response = Body::from(content).into_response();
    if let Ok(t) = HeaderValue::from_str(&a.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, t);
    }
    Ok(response)
}
