//! Change capture from Jira desks that push: Jira webhooks. Each is read into a [`RemoteUpdate`] in the desk's own
//! vocabulary and applied as a change *by that desk* ([`Gateway::apply_remote`]).
//!
//! - `POST /webhooks/jira/{desk}` — `jira:issue_created|updated`, `comment_created`.
//!   Jira Server/Data Center sends `comment_created` without the issue: its id is
//!   taken from `comment.self` and the issue read back through the desk's API for its
//!   key. A change made by the desk's `jira.integration_user` (the event's `user`, or
//!   the comment's author) is deskgate's own write coming back — an intermediate
//!   status of a walk through the workflow, or a late echo of an older write — and is
//!   not applied. A Service Management internal comment (`jsdPublic: false`) is
//!   read as internal, like one restricted by `visibility`.
//!   Always authenticated: the `X-Hub-Signature` HMAC with the desk's
//!   `jira.webhook_secret`, or the desk's own Bearer token. A desk with
//!   `jira.webhook_verify = "reread"` instead takes a webhook as a hint: only the issue
//!   key is read from it, and the issue and its comments are read back through the
//!   desk's API (its adapter) before anything is applied.
//!   A `jira:issue_created` from a supplier's Jira for an issue deskgate does not know
//!   is an incident the supplier detected (steps 18a/b): stored with the supplier as
//!   origin and assignee. Only an issue labelled `jira.affects_users_label` (default
//!   `affects-users`) gets a ClearQuest record at the national desk, linked both ways;
//!   any other is handled in Jira only — the national desk sees it through the API
//!   and the audit log says why it has no record. (Not for a `reread` desk: a hint
//!   names an issue, it does not make one.)
//! - `POST /webhooks/servicenow/{desk}` — the business rule's push
//!   (`{operation, sys_id, number, changed_fields, record, journal}`), authenticated
//!   with the desk's own Bearer token.
//!
//! Both are rate-limited per desk (the desk's inbound limit), answer every error in
//! the sender's dialect, and answer every authenticated, well-formed event the same
//! way — 200 `{"outcome":"received"}` — whether or not the ticket is known, so the
//! answer tells nobody which tickets exist; what became of it goes to the log, the
//! `deskgate_remote_changes_total` metric and the audit log.
//!
//! Replays change nothing. Jira Cloud sends `X-Atlassian-Webhook-Identifier` with
//! every delivery: unique within the site and unchanged when Jira retries it (the
//! id its failed-webhooks API reports; header name and semantics checked against
//! the Jira Cloud REST API reference and the jira.js webhook-header reference), so a
//! delivery whose identifier deskgate has taken for the ticket is a replay. The header is not signed, so freshness is read
//! from the signed body as well: an issue event applies only when the issue's
//! `fields.updated` (else the event's `timestamp`, ms) is newer than the newest
//! deskgate applied; a comment event only when the comment's `created` is newer than
//! the newest comment taken. A ServiceNow push applies only when its
//! `record.sys_mod_count` (else `sys_updated_on`) is newer. What was taken is kept
//! on the ticket's ref ([`Seen`], bounded) in the change's own transaction.
//!
//! [`Gateway::apply_remote`]: crate::gateway::Gateway::apply_remote
//! [`Seen`]: crate::model::Seen

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use deskgate_adapter::{RemoteId, RemoteNote, TicketFields};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::DeskPrincipal;
use crate::config::{JiraOptions, System, WebhookVerify};
use crate::gateway::RequestContext;
use crate::gateway::inbound::RemoteUpdate;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::parse_json;
use crate::model::{DeskId, NewIncident, Ref, RemoteVersion, Role, Service, Status, Text, TicketId, Title, Written};
use crate::store::CreateOutcome;

/// Longest delivery identifier kept (Jira's are UUIDs).
const MAX_DELIVERY_ID: usize = 128;

use crate::dialects::capture::{Received, apply, body_of, desk_of, received, within_rate_limit};

#[derive(Deserialize)]
struct JiraEvent {
    #[serde(rename = "webhookEvent")]
    webhook_event: String,
    /// Milliseconds since the epoch.
    #[serde(default)]
    timestamp: Option<i64>,
    /// `issue_commented` for the `jira:issue_updated` that accompanies a comment.
    #[serde(default)]
    issue_event_type_name: Option<String>,
    /// Who made the change (issue events; comment events name the comment's author).
    #[serde(default)]
    user: Option<deskgate_jira::wire::User>,
    issue: Option<deskgate_jira::wire::Issue>,
    comment: Option<deskgate_jira::wire::Comment>,
}

/// All a `reread` desk takes from a webhook.
#[derive(Deserialize)]
struct JiraHint {
    #[serde(rename = "webhookEvent")]
    webhook_event: String,
    #[serde(default)]
    issue_event_type_name: Option<String>,
    issue: Option<IssueKey>,
    /// Data Center's `comment_created` names its issue only in `comment.self`.
    #[serde(default)]
    comment: Option<deskgate_jira::wire::Comment>,
}

#[derive(Deserialize)]
struct IssueKey {
    key: String,
}

/// How a Jira webhook was authenticated.
enum Trust {
    /// Signed with the desk's secret, or sent with the desk's token: the body is the desk's word.
    Desk,
    /// A `reread` desk's webhook: only a hint.
    Hint,
}

/// Whether this request is the desk's, or refused as a 401 (audited).
async fn authenticate_jira(
    state: &AppState,
    desk: &DeskId,
    who: Option<Result<DeskPrincipal, ApiError>>,
    headers: &HeaderMap,
    body: &[u8],
    ctx: &RequestContext,
) -> Result<Trust, ApiError> {
    let config = state.gateway.desk(desk);
    if config.and_then(|d| d.jira()).is_some_and(|j| j.webhook_verify == WebhookVerify::Reread) {
        return Ok(Trust::Hint);
    }
    let signature = headers.get(deskgate_jira::webhook::SIGNATURE_HEADER).map(|v| v.to_str().unwrap_or(""));
    let refused = match (who, signature) {
        (Some(Ok(p)), _) if &p.desk == desk => return Ok(Trust::Desk),
        (Some(Ok(p)), _) => format!("a token of {} cannot report changes for {desk}", p.desk),
        // An invalid token, a missing client certificate, the rate limit: as for any request.
        (Some(Err(e)), _) => return Err(e),
        (None, Some(signature)) => match config.and_then(|d| d.jira_webhook_secret()) {
            Some(secret) => match deskgate_jira::webhook::verify(secret.expose().as_bytes(), body, Some(signature)) {
                Ok(()) => return Ok(Trust::Desk),
                Err(e) => format!("{e}"),
            },
            None => "signed, but no jira.webhook_secret is configured for this desk".into(),
        },
        (None, None) => {
            format!("neither an {} signature nor the desk's Bearer token", deskgate_jira::webhook::SIGNATURE_HEADER)
        }
    };
    let reason = format!("Jira webhook for {desk} refused: {refused}");
    state.gateway.audit_rejection(Some(desk), None, &reason, ctx).await;
    let mut err = ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", reason);
    err.www_authenticate = Some("Bearer realm=\"deskgate\"".into());
    Err(err)
}

/// The delivery's own identifier, when it has one.
fn delivery_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let name = deskgate_jira::webhook::IDENTIFIER_HEADER;
    let Some(value) = headers.get(name) else { return Ok(None) };
    match value.to_str().map(str::trim) {
        Ok(id) if !id.is_empty() && id.len() <= MAX_DELIVERY_ID => Ok(Some(id.to_owned())),
        _ => Err(ApiError::bad_request(
            name,
            format!("{name}: expected the delivery's identifier, 1 to {MAX_DELIVERY_ID} visible ASCII characters"),
        )),
    }
}

/// A Jira timestamp in ms, or a 400 naming `field`.
fn jira_ms(text: Option<&str>, field: &str) -> Result<Option<i64>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    deskgate_jira::wire::parse_timestamp(text).map(|t| Some(t.as_millisecond())).ok_or_else(|| {
        ApiError::bad_request(field, format!("{field}: expected a Jira timestamp like 2024-01-15T10:30:00.000+0000"))
    })
}

/// A Jira webhook.
pub async fn jira(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(desk): Path<String>,
    headers: HeaderMap,
    who: Result<DeskPrincipal, ApiError>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Received, ApiError> {
    let desk = desk_of(&state, &desk, System::Jira)?;
    // A token is the desk's own proof (checked, with its rate limit, like any request's).
    let who = headers.contains_key(header::AUTHORIZATION).then_some(who);
    // The desk's own token took a cell already; anything else takes one here, before
    // anything costs: the signature, the audit of a refusal, a read-back.
    if !matches!(&who, Some(Ok(p)) if p.desk == desk) {
        within_rate_limit(&state, &desk)?;
    }
    let body = body_of(body)?;
    let trust = authenticate_jira(&state, &desk, who, &headers, &body, &ctx).await?;
    let delivery = delivery_id(&headers)?;
    if let Trust::Hint = trust {
        return jira_hint(&state, &desk, &body, delivery, &ctx).await;
    }
    let event: JiraEvent = parse_json(&body)?;
    if own_change(&state, &desk, &event) {
        // deskgate's own write coming back — an intermediate status of a walk through
        // the workflow, or a late echo of an older write: nothing of it is the desk's.
        tracing::info!(%desk, event = %event.webhook_event, "webhook of the integration user's own change");
        metrics::counter!("deskgate_remote_changes_total", "desk" => desk.to_string(), "outcome" => "own_change")
            .increment(1);
        return Ok(received());
    }
    let issue = match event.issue {
        Some(issue) => issue,
        None if event.webhook_event == deskgate_jira::webhook::COMMENT_CREATED && event.comment.is_some() => {
            let key = issue_of_comment(&state, &desk, event.comment.as_ref()).await?;
            deskgate_jira::wire::Issue { key, ..Default::default() }
        }
        None => return Err(ApiError::bad_request("issue", "issue: expected the issue the event is about")),
    };
    if event.webhook_event == deskgate_jira::webhook::ISSUE_CREATED
        && supplier_detected(&state, &desk, &issue, &ctx).await?
    {
        return Ok(received());
    }
    if event.webhook_event != deskgate_jira::webhook::ISSUE_CREATED && labelled_affects_users(&state, &desk, &issue) {
        state.gateway.affects_users_now(&desk, &issue.key.parse()?, &ctx).await?;
    }
    let mut update = RemoteUpdate::default();
    let mut version = RemoteVersion { delivery, ..RemoteVersion::default() };
    if event.webhook_event == "comment_created" {
        // Jira sends both `jira:issue_updated` (issue_commented) and `comment_created`
        // for one comment: only the latter carries it here.
        if let Some(c) = event.comment {
            version.comment_ms = jira_ms(c.created.as_deref(), "comment.created")?.or(event.timestamp);
            update.notes.push(RemoteNote {
                body: c.body.to_text(),
                public: c.is_public(),
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
        version.updated_ms = jira_ms(f.updated.as_deref(), "issue.fields.updated")?.or(event.timestamp);
        update.fields = TicketFields {
            title: f.summary,
            status: f.status.map(|s| s.name),
            priority: f.priority.and_then(|p| p.name),
            assignee: f.assignee.and_then(|a| a.handle().map(str::to_owned)),
            ..TicketFields::default()
        };
    }
    let handed_to = hand_on_target(&state, &desk, update.fields.assignee.as_deref());
    let received = apply(&state, &desk, &issue.key, update, &version, &ctx).await?;
    if let Some(to) = handed_to {
        let ticket: crate::model::TicketId = issue.key.parse()?;
        state.gateway.hand_on_from_tool(&desk, &ticket, &to, &ctx).await?;
    }
    Ok(received)
}

/// The supplier desk an issue assigned to `assignee` is handed on to
/// (`jira.hand_on_assignees`), if that user stands for one.
fn hand_on_target(state: &AppState, desk: &DeskId, assignee: Option<&str>) -> Option<DeskId> {
    let jira = state.gateway.desk(desk)?.jira()?;
    jira.hand_on_assignees.get(assignee?)?.parse().ok()
}

/// Whether the event reports a change deskgate's integration user made
/// (`jira.integration_user`): `user` on issue events, the comment's author on
/// comment events.
fn own_change(state: &AppState, desk: &DeskId, event: &JiraEvent) -> bool {
    let Some(jira) = state.gateway.desk(desk).and_then(|d| d.jira()) else { return false };
    let actor = event.user.as_ref().or_else(|| event.comment.as_ref().and_then(|c| c.author.as_ref()));
    actor.is_some_and(|u| jira.is_integration_user(&[u.account_id.as_deref(), u.name.as_deref(), u.key.as_deref()]))
}

/// The key of the issue a Data Center `comment_created` names only by the id in
/// `comment.self` (`…/rest/api/2/issue/{id}/comment/{cid}`): read back through the
/// desk's API. The URL itself is never called.
async fn issue_of_comment(
    state: &AppState,
    desk: &DeskId,
    comment: Option<&deskgate_jira::wire::Comment>,
) -> Result<String, ApiError> {
    let url = comment.map(|c| c.self_url.as_str()).unwrap_or_default();
    let Some(id) = deskgate_jira::webhook::issue_id_of_comment(url) else {
        return Err(ApiError::bad_request(
            "comment.self",
            "comment.self: expected the comment's URL, …/rest/api/2/issue/{id}/comment/{id}, \
             when the event has no issue",
        ));
    };
    let Some(adapter) = state.adapters.get(desk) else {
        return Err(ApiError::bad_request(
            "issue",
            "issue: the event has no issue, and the desk has no endpoint to read it back from",
        ));
    };
    let read = adapter.get(&RemoteId(id.to_owned())).await.map_err(|e| {
        tracing::warn!(%desk, issue = id, error = %e, "could not read back the issue of a comment event");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "read_back_failed",
            "the issue could not be read back from the desk's Jira; nothing was changed — try again",
        )
    })?;
    Ok(read.id.0)
}

/// A `reread` desk's webhook: the issue it names is read back through the desk's API,
/// and only what that read says is applied — its fields, and the comments made since
/// the newest version deskgate applied.
async fn jira_hint(
    state: &AppState,
    desk: &DeskId,
    body: &[u8],
    delivery: Option<String>,
    ctx: &RequestContext,
) -> Result<Received, ApiError> {
    let hint: JiraHint = parse_json(body)?;
    let key = match hint.issue {
        Some(issue) => issue.key,
        None if hint.comment.is_some() => issue_of_comment(state, desk, hint.comment.as_ref()).await?,
        None => return Err(ApiError::bad_request("issue", "issue: expected the issue the event is about")),
    };
    let ticket: TicketId = key.parse()?;
    let gateway = &state.gateway;
    let known = gateway.ticket_incident(desk, &ticket).await?;
    let Some(id) = known.filter(|_| hint.issue_event_type_name.as_deref() != Some("issue_commented")) else {
        // Unknown, or the issue_updated twin of a comment_created that follows.
        tracing::info!(%desk, %ticket, event = %hint.webhook_event, "webhook hint not read back");
        metrics::counter!("deskgate_remote_changes_total", "desk" => desk.to_string(), "outcome" => "hint_ignored")
            .increment(1);
        return Ok(received());
    };
    let Some(adapter) = state.adapters.get(desk) else {
        tracing::error!(%desk, "a reread desk has no adapter to read back through");
        return Err(ApiError::internal());
    };
    let read = adapter.get(&RemoteId(ticket.to_string())).await.map_err(|e| {
        tracing::warn!(%desk, %ticket, error = %e, "could not read back the issue a webhook named");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "read_back_failed",
            "the issue could not be read back from the desk's Jira; nothing was changed — try again",
        )
    })?;
    let incident = gateway.incident_for_sync(&id).await?;
    let watermark = incident.as_ref().map(|i| {
        i.refs
            .iter()
            .find(|r| &r.desk == desk)
            .and_then(|r| r.seen.updated_ms)
            .unwrap_or_else(|| i.created_at.as_millisecond())
    });
    let notes = read
        .notes
        .into_iter()
        .filter(|n| n.at.is_some_and(|at| watermark.is_some_and(|w| at.as_millisecond() > w)))
        .collect();
    let f = read.fields;
    let update = RemoteUpdate {
        fields: TicketFields {
            title: f.title,
            status: f.status,
            priority: f.priority,
            assignee: f.assignee,
            ..TicketFields::default()
        },
        notes,
    };
    let version =
        RemoteVersion { delivery, updated_ms: read.updated_at.map(|t| t.as_millisecond()), ..RemoteVersion::default() };
    apply(state, desk, ticket.as_str(), update, &version, ctx).await
}

/// Whether a supplier's issue carries the "affects users" label
/// (`jira.affects_users_label`) now.
fn labelled_affects_users(state: &AppState, desk: &DeskId, issue: &deskgate_jira::wire::Issue) -> bool {
    let Some(config) = state.gateway.desk(desk).filter(|d| d.role == Role::Supplier) else { return false };
    let label = config.jira().map_or(JiraOptions::DEFAULT_AFFECTS_USERS_LABEL, JiraOptions::affects_users_label);
    issue.fields.labels.as_ref().is_some_and(|labels| labels.iter().any(|l| l == label))
}

/// An issue a supplier created in its own Jira that deskgate does not know (steps
/// 18a/b) becomes an incident with the supplier as origin and assignee; `false` when
/// the issue is not that (known, deskgate's own, or not from a supplier).
async fn supplier_detected(
    state: &AppState,
    desk: &DeskId,
    issue: &deskgate_jira::wire::Issue,
    ctx: &RequestContext,
) -> Result<bool, ApiError> {
    let Some(config) = state.gateway.desk(desk).filter(|d| d.role == Role::Supplier) else {
        return Ok(false);
    };
    let jira = config.jira();
    let f = &issue.fields;
    // deskgate's own issues carry the incident id from the moment they are created.
    let own = jira
        .and_then(|j| j.correlation_field.as_ref())
        .and_then(|field| f.extra.get(field))
        .is_some_and(|v| field_text(v).is_some());
    let ticket: TicketId = issue.key.parse()?;
    if own || state.gateway.ticket_incident(desk, &ticket).await?.is_some() {
        return Ok(false);
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
        state.gateway.mapping(desk).and_then(|m| m.inbound_priority(&fields).ok().flatten())
    });
    let label = jira.map_or(JiraOptions::DEFAULT_AFFECTS_USERS_LABEL, JiraOptions::affects_users_label);
    let affects_users = f.labels.as_ref().is_some_and(|labels| labels.iter().any(|l| l == label));
    let url = config.endpoint.as_ref().map(|e| format!("{}/browse/{}", e.as_str().trim_end_matches('/'), issue.key));
    let origin_ref = Ref {
        desk: desk.clone(),
        system: System::Jira,
        remote_id: ticket,
        display_id: issue.key.clone(),
        url,
        // What the issue holds now: reading it back is no news.
        written: Written { status: Some(Status::Assigned), priority, at: None },
        seen: Default::default(),
    };
    let new = NewIncident::reported(title, description, service, priority, origin_ref);
    let outcome = state.gateway.supplier_detected(desk, new, affects_users, ctx).await?;
    let (outcome, incident) = match outcome {
        CreateOutcome::Created(i) => ("created", i),
        CreateOutcome::Replayed(i) => ("nothing_new", i),
    };
    metrics::counter!("deskgate_remote_changes_total", "desk" => desk.to_string(), "outcome" => outcome).increment(1);
    tracing::info!(%desk, incident = %incident.id, outcome, affects_users, "supplier-detected issue received");
    Ok(true)
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
