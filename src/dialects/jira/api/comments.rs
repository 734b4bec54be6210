//! Comments and remote links of an issue, as Jira REST serves and takes them. A
//! comment is a note of the incident: it is kept as written and told to the
//! incident's other parties, so it is never edited or deleted afterwards.

use super::*;

pub(super) async fn comments(call: Call) -> Result<Response, ApiError> {
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

pub(super) async fn add_comment(Write { call, ctx, body, .. }: Write) -> Result<Response, ApiError> {
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

/// The note a comment id names, if the caller may see it; else Jira's 404.
fn visible_note<'i>(desk: &JiraDesk<'_>, incident: &'i Incident, id: &str) -> Result<(usize, &'i Note), ApiError> {
    let actor = desk.who.actor();
    id.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(10_001))
        .and_then(|index| incident.notes.get(index).map(|note| (index, note)))
        .filter(|(index, note)| comment_id(*index) == id && Incident::note_visible_to(note, &actor))
        .ok_or_else(|| ApiError::not_found("Can not find a comment with this id on the issue."))
}

/// `GET /rest/api/{v}/issue/{key}/comment/{id}`
pub(super) async fn comment(call: Call) -> Result<Response, ApiError> {
    let (desk, incident) = call.issue().await?;
    let (index, note) = visible_note(&desk, &incident, &call.id)?;
    Ok(axum::Json(comment_json(&call.state, &desk, &incident, index, note)).into_response())
}

/// `PUT /rest/api/{v}/issue/{key}/comment/{id}`: only to the text it has (a client
/// saving an unchanged comment); a new text is refused as Jira refuses an edit the
/// user may not make, saying why.
pub(super) async fn edit_comment(write: Write) -> Result<Response, ApiError> {
    let id = write.call.id.clone();
    let (desk, incident) = write.call.issue().await?;
    let (index, note) = visible_note(&desk, &incident, &id)?;
    let text = text_of("body", write.body.get("body").unwrap_or(&Value::Null))?;
    if text.as_deref().map(str::trim) != Some(note.body.as_str().trim()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "comment_kept",
            "You do not have the permission to edit this comment: deskgate keeps every comment as written, because it is told to the incident's other parties; add a new comment instead",
        ));
    }
    Ok(axum::Json(comment_json(&write.call.state, &desk, &incident, index, note)).into_response())
}

/// `DELETE /rest/api/{v}/issue/{key}/comment/{id}`: refused as Jira refuses a delete
/// the user may not make — the comment is on the incident's record and has been
/// (or is being) told to its other parties, which cannot be undone.
pub(super) async fn delete_comment(call: Call) -> Result<Response, ApiError> {
    let id = call.id.clone();
    let (desk, incident) = call.issue().await?;
    visible_note(&desk, &incident, &id)?;
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "comment_kept",
        "You do not have the permission to delete this comment: it is on the incident's record and is told to the incident's other parties, which cannot be withdrawn",
    ))
}

/// A remote link recorded as a note: relationship, title, URL and global id.
fn parse_link_note(body: &str) -> Option<(String, String, String, String)> {
    let rest = body.strip_prefix("Remote link (")?;
    let (relationship, rest) = rest.split_once("): ")?;
    let (before, global_id) = rest.rsplit_once(" [globalId ")?;
    let global_id = global_id.strip_suffix(']')?;
    let (title, url) = before.rsplit_once(' ')?;
    Some((relationship.to_owned(), title.to_owned(), url.to_owned(), global_id.to_owned()))
}

/// The remote links on an issue the caller may see, as Jira lists them.
fn links(desk: &JiraDesk<'_>, incident: &Incident) -> Vec<Value> {
    let actor = desk.who.actor();
    incident
        .notes
        .iter()
        .filter(|n| Incident::note_visible_to(n, &actor))
        .filter_map(|n| parse_link_note(n.body.as_str()))
        .map(|(relationship, title, url, global_id)| {
            let id = link_id(&global_id);
            json!({
                "id": id,
                "self": format!("{}/issue/{}/remotelink/{id}", desk.api(), key_of(&incident.id)),
                "globalId": global_id,
                "relationship": relationship,
                "object": {"url": url, "title": title},
            })
        })
        .collect()
}

/// `GET /rest/api/{v}/issue/{key}/remotelink`
pub(super) async fn remote_links(call: Call) -> Result<Response, ApiError> {
    let (desk, incident) = call.issue().await?;
    Ok(axum::Json(Value::Array(links(&desk, &incident))).into_response())
}

/// `GET /rest/api/{v}/issue/{key}/remotelink/{id}`
pub(super) async fn remote_link(call: Call) -> Result<Response, ApiError> {
    let id = call.id.parse::<u64>().ok();
    let (desk, incident) = call.issue().await?;
    links(&desk, &incident)
        .into_iter()
        .find(|l| id.is_some_and(|id| l["id"] == id))
        .map(|l| axum::Json(l).into_response())
        .ok_or_else(|| ApiError::not_found("Can not find a remote link with this id on the issue."))
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
pub(super) async fn add_remote_link(Write { call, ctx, body, .. }: Write) -> Result<Response, ApiError> {
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
