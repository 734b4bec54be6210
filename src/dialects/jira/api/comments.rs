//! Comments and remote links of an issue, as Jira REST serves and takes them.

use super::*;

pub(super) async fn comments(
    call: Call,
) -> Result<Response, ApiError> {
    let state = &call.state;
    let (desk, incident) = call.issue().await?;
    Ok(axum::Json(comment_page(visible_comments(state, &desk, &incident))).into_response())
}

/// Whether a new comment is internal: it has a `visibility`, or Jira Service
/// Management's `sd.public.comment` property says so.
pub(super) fn is_internal(body: &Value) -> bool {
    let restricted = body.get("visibility").is_some_and(|v| !v.is_null());
    let jsm = body.get("properties").and_then(Value::as_array).into_iter().flatten().any(|p| {
        p.get("key").and_then(Value::as_str) == Some("sd.public.comment")
            && p.get("value").and_then(|v| v.get("internal")).and_then(Value::as_bool) == Some(true)
    });
    restricted || jsm
}

pub(super) async fn add_comment(
    call: Call,
    ctx: RequestContext,
    JsonBody(body, _): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let state = &call.state;
    let (desk, incident) = call.issue().await?;
    let text = text_of("body", body.get("body").unwrap_or(&Value::Null))?
        .ok_or_else(|| field_error("body", "body: Comment body can not be empty!"))?;
    let text = Text::parse("body", &text).map_err(ApiError::from)?;
    let visibility = if is_internal(&body) { Visibility::Internal } else { Visibility::Public };
    admit_notes(state, &desk.who, Some(&incident), 1, "body")?;
    let updated = state
        .gateway
        .add_note(&desk.who, &incident.id, text, visibility, &ctx)
        .await
        .map_err(|e| gateway_error(e, desk.mapping))?;
    let index = updated.notes.len().saturating_sub(1);
    let note = updated.notes.get(index).ok_or_else(ApiError::internal)?;
    Ok((StatusCode::CREATED, axum::Json(comment_json(state, &desk, &updated, index, note))).into_response())
}

/// The marker a remote link's note ends with: the same `globalId` is the same link.
pub(super) fn link_marker(global_id: &str) -> String {
    format!("[globalId {global_id}]")
}

pub(super) fn link_id(global_id: &str) -> u64 {
    let digest = Sha256::digest(global_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    // Positive and within JSON's exact integer range.
    u64::from_be_bytes(bytes) >> 11
}

/// `POST /rest/api/{v}/issue/{key}/remotelink`: recorded as a public note; a
/// `globalId` already recorded on the issue is the same link (200, nothing added).
pub(super) async fn add_remote_link(
    call: Call,
    ctx: RequestContext,
    JsonBody(body, _): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let state = &call.state;
    let (desk, incident) = call.issue().await?;
    let link: jira_wire::RemoteLink = parse_json(body.to_string().as_bytes())?;
    if link.object.url.trim().is_empty() {
        return Err(field_error("object.url", "object.url: the link's URL is required"));
    }
    parse_url("object.url", &link.object.url).map_err(ApiError::from)?;
    patient_data::check("object.title", &link.object.title).map_err(ApiError::from)?;
    if let Some(global_id) = &link.global_id {
        patient_data::check("globalId", global_id).map_err(ApiError::from)?;
    }
    if let Some(relationship) = &link.relationship {
        patient_data::check("relationship", relationship).map_err(ApiError::from)?;
    }
    let title = if link.object.title.trim().is_empty() { link.object.url.clone() } else { link.object.title.clone() };
    let global_id = link.global_id.clone().unwrap_or_else(|| link.object.url.clone());
    let marker = link_marker(&global_id);
    let id = link_id(&global_id);
    let self_url = format!("{}/issue/{}/remotelink/{id}", desk.api(), key_of(&incident.id));
    let answer = json!({"id": id, "self": self_url});
    if link.global_id.is_some() && incident.notes.iter().any(|n| n.body.as_str().ends_with(&marker)) {
        return Ok((StatusCode::OK, axum::Json(answer)).into_response());
    }
    let relationship = link.relationship.as_deref().unwrap_or("links to");
    let text = format!("Remote link ({relationship}): {title} {} {marker}", link.object.url);
    let text = Text::parse("object.title", &text).map_err(ApiError::from)?;
    admit_notes(state, &desk.who, Some(&incident), 1, "object")?;
    state
        .gateway
        .add_note(&desk.who, &incident.id, text, Visibility::Public, &ctx)
        .await
        .map_err(|e| gateway_error(e, desk.mapping))?;
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}
