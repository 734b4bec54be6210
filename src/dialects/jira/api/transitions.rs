//! Jira transitions: the ones a desk's workflow offers from an issue's status, and doing one.

use super::*;

/// A transition's id: stable per canonical target status (`11`, `21`, …).
pub(super) fn transition_id(status: Status) -> String {
    (11 + 10 * status as usize).to_string()
}

/// The statuses `from` may move to, one per name the desk gives them.
pub(super) fn offered(mapping: &DeskMapping, from: Status) -> Vec<Status> {
    let current = status_name(mapping, from);
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for to in Status::ALL {
        let name = status_name(mapping, to);
        if to == from || !from.can_become(to) || name.eq_ignore_ascii_case(&current) || names.contains(&name) {
            continue;
        }
        names.push(name);
        out.push(to);
    }
    out
}

pub(super) async fn transitions(call: Call, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let (desk, incident) = call.issue().await?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect();
    let only = params.iter().find(|(k, _)| k == "transitionId").map(|(_, v)| v.clone());
    let with_fields = params.iter().any(|(k, v)| k == "expand" && v.contains("transitions.fields"));
    let list: Vec<Value> = offered(desk.mapping, incident.status)
        .into_iter()
        .filter(|to| only.as_ref().is_none_or(|id| *id == transition_id(*to)))
        .map(|to| {
            let mut t = json!({
                "id": transition_id(to),
                "name": desk.mapping.remote_status_name(to),
                "to": status_ref(&desk, to),
                "hasScreen": false, "isGlobal": false, "isInitial": false, "isConditional": false,
            });
            if with_fields {
                t["fields"] = json!({});
            }
            t
        })
        .collect();
    Ok(axum::Json(json!({"expand": "transitions", "transitions": list})).into_response())
}

/// `POST /rest/api/{v}/issue/{key}/transitions`: only a transition the issue's list
/// offers; its `update.comment` goes with it as one change, so the comment of a
/// resolving transition is the resolution.
pub(super) async fn do_transition(Write { call, ctx, body, .. }: Write) -> Result<Response, ApiError> {
    let state = &call.state;
    let (desk, incident) = call.issue().await?;
    let id = match body.get("transition").and_then(|t| t.get("id")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(field_error("transition", "transition: expected {\"transition\": {\"id\": …}}")),
    };
    let update = body.get("update").and_then(Value::as_object).cloned().unwrap_or_default();
    let comments = added_comments(&update)?;
    admit_notes(state, &desk.who, Some(&incident), comments.len(), "update.comment")?;
    let offered = offered(desk.mapping, incident.status);
    let Some(to) = offered.into_iter().find(|s| transition_id(*s) == id) else {
        return Err(not_offered(&desk, &incident, &id));
    };
    // Fields set on the transition screen (a resolution) follow from the target status.
    let change = Change { status: Some(to), ..Change::default() };
    apply_edit(state, &desk, &incident.id, &change, comments, &ctx).await
}

/// Jira's answer to a transition the issue's list does not offer; where the workflow
/// forbids the move it also names both ends. The id is repeated only if it is one of
/// deskgate's own.
fn not_offered(desk: &JiraDesk<'_>, incident: &Incident, id: &str) -> ApiError {
    let target = Status::ALL.into_iter().find(|s| transition_id(*s) == id);
    let shown = if target.is_some() || id.len() <= 4 && id.chars().all(|c| c.is_ascii_digit()) { id } else { "…" };
    let mut message = format!("Transition id '{shown}' is not valid for this issue.");
    if let Some(to) = target.filter(|to| !incident.status.can_become(*to)) {
        let from = incident.status;
        message.push_str(&format!(
            " The issue cannot move from '{}' to '{}': the workflow does not allow {from} → {to}",
            desk.mapping.remote_status_name(from),
            desk.mapping.remote_status_name(to)
        ));
    }
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_transition", message)
}
