//! Change capture from remote desks that push: Jira webhooks and ServiceNow
//! outbound REST messages. Each is read into a [`RemoteUpdate`] in the desk's own
//! vocabulary and applied as a change *by that desk* ([`Gateway::apply_remote`]).
//!
//! - `POST /webhooks/jira/{desk}` — `jira:issue_created|updated`, `comment_created`.
//!   When the desk has `jira.webhook_secret`, the `X-Hub-Signature` HMAC must verify.
//!   A `jira:issue_created` from a supplier's Jira for an issue deskgate does not know
//!   is an incident the supplier detected (steps 18a/b): stored with the supplier as
//!   origin and assignee. Only an issue labelled `jira.affects_users_label` (default
//!   `affects-users`) gets a ClearQuest record at the national desk, linked both ways;
//!   any other is handled in Jira only — the national desk sees it through the API
//!   and the audit log says why it has no record.
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
use crate::config::{JiraOptions, System};
use crate::gateway::{RemoteOutcome, RequestContext};
use crate::model::{DeskId, Kind, NewIncident, Origin, Ref, Role, Service, Status, Text, TicketId, Title, Written};
use crate::store::CreateOutcome;
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
    if event.webhook_event == deskgate_jira::webhook::ISSUE_CREATED {
        if let Some(answer) = supplier_detected(&state, &desk, &issue, &ctx).await? {
            return Ok(answer);
        }
    }
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

/// An issue a supplier created in its own Jira that deskgate does not know (steps
/// 18a/b) becomes an incident with the supplier as origin and assignee; `None` when
/// the issue is not that (known, deskgate's own, or not from a supplier).
async fn supplier_detected(
    state: &AppState,
    desk: &DeskId,
    issue: &deskgate_jira::wire::Issue,
    ctx: &RequestContext,
) -> Result<Option<(StatusCode, Json<Value>)>, ApiError> {
    let Some(config) = state.gateway.config.desk(desk).filter(|d| d.role == Role::Supplier) else {
        return Ok(None);
    };
    let jira = config.jira.as_ref();
    let f = &issue.fields;
    // deskgate's own issues carry the incident id from the moment they are created.
    let own = jira
        .and_then(|j| j.correlation_field.as_ref())
        .and_then(|field| f.extra.get(field))
        .is_some_and(|v| field_text(v).is_some());
    let ticket: TicketId = issue.key.parse()?;
    if own || state.gateway.store.find_by_ref(desk, &ticket).map_err(crate::gateway::GatewayError::from)?.is_some() {
        return Ok(None);
    }
    let summary = f.summary.as_deref().unwrap_or_default().trim();
    let title = Title::parse(&summary.chars().take(Title::MAX_CHARS).collect::<String>())?;
    let description = f.description.as_ref().map(|d| d.to_text()).filter(|d| !d.trim().is_empty());
    let description = Text::parse("description", description.as_deref().unwrap_or(title.as_str()))?;
    let named = jira.and_then(|j| j.service_field.as_ref()).and_then(|field| f.extra.get(field)).and_then(field_text);
    let Some(service) = named.or_else(|| config.services.iter().find(|s| s.as_str() != "*").cloned()) else {
        return Err(ApiError::bad_request(
            "service",
            format!(
                "{desk}: the issue names no service and the desk has no named service (jira.service_field, services)"
            ),
        ));
    };
    let service: Service = service.parse()?;
    let priority = f.priority.as_ref().and_then(|p| p.name.clone()).and_then(|name| {
        let fields = TicketFields { priority: Some(name), ..TicketFields::default() };
        state.gateway.mappings.desk(desk).and_then(|m| m.inbound_priority(&fields).ok().flatten())
    });
    let label = jira.map_or(JiraOptions::DEFAULT_AFFECTS_USERS_LABEL, JiraOptions::affects_users_label);
    let affects_users = f.labels.as_ref().is_some_and(|labels| labels.iter().any(|l| l == label));
    let url = config.endpoint.as_ref().map(|e| format!("{}/browse/{}", e.as_str().trim_end_matches('/'), issue.key));
    let new = NewIncident {
        kind: Kind::Incident,
        title,
        description,
        service,
        priority,
        urgency: None,
        impact: None,
        origin: Origin { desk: desk.clone(), ticket: ticket.clone() },
        origin_ref: Ref {
            desk: desk.clone(),
            system: System::Jira.as_str().to_owned(),
            remote_id: ticket,
            display_id: issue.key.clone(),
            url,
            // What the issue holds now: reading it back is no news.
            written: Written { status: Some(Status::Assigned), priority },
        },
    };
    let outcome = state.gateway.supplier_detected(desk, new, affects_users, ctx).await?;
    let (outcome, incident) = match outcome {
        CreateOutcome::Created(i) => ("created", i),
        CreateOutcome::Replayed(i) => ("nothing_new", i),
    };
    metrics::counter!("deskgate_remote_changes_total", "desk" => desk.to_string(), "outcome" => outcome).increment(1);
    let body = json!({ "outcome": outcome, "incident": incident.id.to_string(), "affects_users": affects_users });
    Ok(Some((StatusCode::OK, Json(body))))
}

/// A custom field's value as text: a string, a number, or a select option's `value`.
fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("value").and_then(Value::as_str).map(|s| s.trim().to_owned()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
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
