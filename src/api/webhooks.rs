//! Change capture from remote desks that push: Jira webhooks and ServiceNow
//! outbound REST messages. Each is read into a [`RemoteUpdate`] in the desk's own
//! vocabulary and applied as a change *by that desk* ([`Gateway::apply_remote`]).
//!
//! - `POST /webhooks/jira/{desk}` — `jira:issue_created|updated`, `comment_created`.
//!   When the desk has `jira.webhook_secret`, the `X-Hub-Signature` HMAC must verify.
//! - `POST /webhooks/servicenow/{desk}` — the business rule's push
//!   (`{operation, sys_id, number, changed_fields, record, journal}`), authenticated
//!   with the desk's own Bearer token.
//!
//! [`Gateway::apply_remote`]: crate::gateway::Gateway::apply_remote

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use deskgate_adapter::{RemoteNote, TicketFields};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::parse_json;
use crate::auth::DeskPrincipal;
use crate::config::System;
use crate::gateway::{RemoteOutcome, RequestContext};
use crate::model::{DeskId, TicketId};
use crate::sync::inbound::RemoteUpdate;

fn desk_of(state: &AppState, desk: &str, system: System) -> Result<DeskId, ApiError> {
    let id: DeskId = desk.parse().map_err(|_| ApiError::not_found(format!("no desk {desk:?}")))?;
    match state.gateway.config.desk(&id) {
        Some(d) if d.system == system => Ok(id),
        _ => Err(ApiError::not_found(format!("no {} desk {desk}", system.as_str()))),
    }
}

async fn apply(
    state: &AppState,
    desk: &DeskId,
    remote_id: &str,
    update: RemoteUpdate,
    ctx: &RequestContext,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let remote_id: TicketId = remote_id.parse()?;
    let outcome = state.gateway.apply_remote(desk, &remote_id, &update, ctx).await?;
    metrics::counter!("deskgate_remote_changes_total", "desk" => desk.to_string(), "outcome" => match &outcome {
        RemoteOutcome::Applied(_) => "applied",
        RemoteOutcome::NothingNew { .. } => "nothing_new",
        RemoteOutcome::UnknownTicket => "unknown_ticket",
        RemoteOutcome::Parked(_) => "parked",
    })
    .increment(1);
    let body = match outcome {
        RemoteOutcome::Applied(i) => json!({ "outcome": "applied", "incident": i.id.to_string() }),
        RemoteOutcome::NothingNew { echoes } => json!({ "outcome": "nothing_new", "echoes": echoes }),
        RemoteOutcome::UnknownTicket => json!({ "outcome": "unknown_ticket" }),
        RemoteOutcome::Parked(reason) => json!({ "outcome": "parked", "reason": reason }),
    };
    Ok((StatusCode::OK, Json(body)))
}

#[derive(Deserialize)]
struct JiraEvent {
    #[serde(rename = "webhookEvent")]
    webhook_event: String,
    /// `issue_commented` for the `jira:issue_updated` that accompanies a comment.
    #[serde(default)]
    issue_event_type_name: Option<String>,
    issue: Option<deskgate_jira::wire::Issue>,
    comment: Option<deskgate_jira::wire::Comment>,
}

/// A Jira webhook.
pub async fn jira(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(desk): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let desk = desk_of(&state, &desk, System::Jira)?;
    if let Some(secret) = state.gateway.config.desk(&desk).and_then(|d| d.jira_webhook_secret.as_ref()) {
        let signature = headers.get(deskgate_jira::webhook::SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        if let Err(e) = deskgate_jira::webhook::verify(secret.expose().as_bytes(), &body, signature) {
            let reason = format!("Jira webhook for {desk} refused: {e}");
            state.gateway.audit_rejection(Some(&desk), None, &reason, &ctx).await;
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", reason));
        }
    }
    let event: JiraEvent = parse_json(&body)?;
    let Some(issue) = event.issue else {
        return Err(ApiError::bad_request("issue", "issue: expected the issue the event is about"));
    };
    let mut update = RemoteUpdate::default();
    if event.webhook_event == "comment_created" {
        // Jira sends both `jira:issue_updated` (issue_commented) and `comment_created`
        // for one comment: only the latter carries it here.
        if let Some(c) = event.comment {
            update.notes.push(RemoteNote {
                body: c.body.to_text(),
                public: c.visibility.is_none(),
                author: c.author.as_ref().and_then(|a| a.display_name.clone()),
                at: None,
            });
        }
    } else if event.issue_event_type_name.as_deref() == Some("issue_commented") {
        // The issue as it stands, not a change to it: the comment itself arrives as
        // `comment_created`. Reading its fields would re-report every value the issue
        // holds — one deskgate refused (a parked change) would be refused again for
        // each comment, including deskgate's own note about it.
    } else {
        let f = issue.fields;
        update.fields = TicketFields {
            title: f.summary,
            status: f.status.map(|s| s.name),
            priority: f.priority.and_then(|p| p.name),
            assignee: f.assignee.and_then(|a| a.handle().map(str::to_owned)),
            ..TicketFields::default()
        };
    }
    apply(&state, &desk, &issue.key, update, &ctx).await
}

#[derive(Deserialize)]
struct ServiceNowPush {
    sys_id: String,
    #[serde(default)]
    record: serde_json::Map<String, Value>,
    journal: Option<ServiceNowJournal>,
}

#[derive(Deserialize)]
struct ServiceNowJournal {
    element: String,
    value: String,
}

/// A ServiceNow business rule's push.
pub async fn servicenow(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(desk): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let desk = desk_of(&state, &desk, System::Servicenow)?;
    if who.desk != desk {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{} cannot push changes for {desk}", who.desk),
        ));
    }
    let push: ServiceNowPush = parse_json(&body)?;
    let text = |k: &str| push.record.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut fields = TicketFields {
        title: text("short_description"),
        status: text("state"),
        priority: text("priority"),
        ..TicketFields::default()
    };
    for key in ["hold_reason", "impact", "urgency", "close_code", "close_notes"] {
        if let Some(v) = text(key) {
            fields.extra.insert(key.to_owned(), v);
        }
    }
    let notes = push
        .journal
        .filter(|j| matches!(j.element.as_str(), "comments" | "work_notes") && !j.value.trim().is_empty())
        .map(|j| RemoteNote { public: j.element == "comments", body: j.value, author: None, at: None })
        .into_iter()
        .collect();
    apply(&state, &desk, &push.sys_id, RemoteUpdate { fields, notes }, &ctx).await
}
