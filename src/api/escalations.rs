//! `/api/v1/escalations/…`: who is contacted for a P1/P2 of service S at instant T
//! (DESIGN §6), answered from the ruleset loaded at start (`gateway.contacts`).
//!
//! `contact` is read-only: it asks the escalation engine and touches no incident.
//! The escalations opened for incidents are listed, read and acknowledged here too
//! (`GET /api/v1/escalations`, `GET …/{id}`, `POST …/{id}/ack`).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;

use crate::auth::DeskPrincipal;
use crate::escalation::{Contact, Decision, Escalation};
use crate::gateway::RequestContext;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::model::{Priority, Service};

/// A person or role to call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub email: String,
    pub phone: Option<String>,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            role: c.role.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
        }
    }
}

/// Who would be contacted, by which rule, and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactAnswer {
    pub service: String,
    pub priority: Priority,
    /// The instant asked about, UTC.
    pub at: String,
    /// The same instant on the ruleset's wall clock, with offset and zone.
    pub local_time: String,
    /// The IANA zone the rules are evaluated in.
    pub zone: String,
    /// Id of the rule that matched, or `default`.
    pub rule: String,
    /// Hash of the ruleset that decided.
    pub ruleset_version: String,
    /// Who is contacted first.
    pub contact: ContactView,
    /// Who follows, in order, when nobody acknowledges in time.
    pub chain: Vec<ContactView>,
    /// How long each contact has to acknowledge, in seconds.
    pub ack_timeout_secs: i64,
    /// The holiday the local date falls on, if any.
    pub holiday: Option<String>,
    /// One sentence saying why.
    pub reason: String,
}

impl From<&Decision> for ContactAnswer {
    fn from(d: &Decision) -> Self {
        Self {
            service: d.service.clone(),
            priority: d.priority,
            at: d.at.to_string(),
            local_time: d.local.to_string(),
            zone: d.local.time_zone().iana_name().unwrap_or("").to_owned(),
            rule: d.rule.clone(),
            ruleset_version: d.ruleset_version.clone(),
            contact: (&d.contact).into(),
            chain: d.chain.iter().map(ContactView::from).collect(),
            ack_timeout_secs: d.ack_timeout.as_secs(),
            holiday: d.holiday.clone(),
            reason: d.reason.clone(),
        }
    }
}

/// Parse `at`: an RFC 3339 instant with an offset (`2026-11-29T02:00:00+01:00`).
pub fn parse_instant(text: &str) -> Result<Timestamp, String> {
    let parse = |t: &str| t.parse::<Timestamp>();
    // An unencoded '+' in a query string arrives as a space; read it as meant.
    parse(text.trim())
        .or_else(|e| if text.contains(' ') { parse(&text.trim().replace(' ', "+")) } else { Err(e) })
        .map_err(|_| {
            format!("expected an RFC 3339 instant with an offset, e.g. 2026-11-29T02:00:00+01:00, got {text:?}")
        })
}

/// Who is contacted for an incident of `service` and `priority` at `at` (default now).
#[utoipa::path(
    get, path = "/api/v1/escalations/contact", tag = "escalations",
    params(
        ("service" = String, Query, description = "The service, e.g. FMK or NSP"),
        ("priority" = Priority, Query, description = "P1 to P4; P3/P4 go to the default"),
        ("at" = Option<String>, Query, description = "RFC 3339 instant, e.g. 2026-11-29T02:00:00+01:00; default now"),
    ),
    responses(
        (status = 200, body = ContactAnswer),
        (status = 400, description = "A missing or malformed parameter, named in `field`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 503, description = "No escalation ruleset is configured", body = ErrorBody),
    ),
    security(("desk_jwt" = []))
)]
pub async fn contact(
    State(state): State<AppState>,
    _who: DeskPrincipal,
    RawQuery(query): RawQuery,
) -> Result<Json<ContactAnswer>, ApiError> {
    let mut service: Option<Service> = None;
    let mut priority: Option<Priority> = None;
    let mut at: Option<Timestamp> = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "service" => service = Some(value.parse()?),
            "priority" => {
                priority = Some(value.parse().map_err(|_| {
                    ApiError::bad_request("priority", format!("priority: expected P1, P2, P3 or P4, got {value:?}"))
                })?)
            }
            "at" => at = Some(parse_instant(&value).map_err(|m| ApiError::bad_request("at", format!("at: {m}")))?),
            other => {
                return Err(ApiError::bad_request(
                    other,
                    format!("{other}: unknown parameter; expected service, priority or at"),
                ));
            }
        }
    }
    let service = service.ok_or_else(|| ApiError::bad_request("service", "service: required, e.g. FMK or NSP"))?;
    let priority = priority.ok_or_else(|| ApiError::bad_request("priority", "priority: required, one of P1 to P4"))?;
    let engine = state.escalation.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "escalation_not_configured",
            "this gateway has no escalation ruleset (gateway.contacts is not set)",
        )
    })?;
    let at = at.unwrap_or_else(|| engine.now());
    let decision = engine.decide(service.as_str(), priority, at);
    Ok(Json(ContactAnswer::from(&decision)))
}

/// One contact notified.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    /// 1 for the first contact, then the chain in order.
    pub attempt: usize,
    pub contact: ContactView,
    pub notified_at: String,
    pub notified_local: String,
    pub deadline: String,
    pub deadline_local: String,
}

/// An escalation: the decision that opened it (rule, ruleset version, reason, local
/// time), every contact notified since, and where it stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EscalationView {
    pub id: String,
    pub incident: String,
    pub service: String,
    pub priority: Priority,
    /// `pending`, `re_escalated`, `acknowledged`, `exhausted` (the chain ended
    /// unacknowledged) or `ended` (the incident no longer calls for it).
    pub state: String,
    pub rule: String,
    pub ruleset_version: String,
    pub reason: String,
    /// When the escalation was decided, UTC and on the ruleset's wall clock.
    pub decided_at: String,
    pub local_time: String,
    pub zone: String,
    /// The contact notified last.
    pub contact: ContactView,
    pub chain: Vec<ContactView>,
    pub attempts: Vec<AttemptView>,
    /// When the current contact's time to acknowledge runs out; absent once settled.
    pub deadline: Option<String>,
    pub deadline_local: Option<String>,
    /// The desk that acknowledged, and when.
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    pub acknowledged_local: Option<String>,
    pub exhausted_at: Option<String>,
    /// Why the escalation ended unacknowledged (its incident was resolved, closed,
    /// cancelled, downgraded below P2 or became a support request), and when.
    pub ended_reason: Option<String>,
    pub ended_at: Option<String>,
    pub ack_url: String,
}

impl EscalationView {
    pub fn new(e: &Escalation, ack_url: String) -> Self {
        let local = |t: Timestamp| crate::notify::local(e, t);
        Self {
            id: e.id.clone(),
            incident: e.incident_id.clone(),
            service: e.service.clone(),
            priority: e.priority,
            state: serde_json::to_value(e.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            rule: e.decision.rule.clone(),
            ruleset_version: e.decision.ruleset_version.clone(),
            reason: e.decision.reason.clone(),
            decided_at: e.decision.at.to_string(),
            local_time: e.decision.local.to_string(),
            zone: e.decision.local.time_zone().iana_name().unwrap_or("").to_owned(),
            contact: e.current_contact().into(),
            chain: e.decision.chain.iter().map(ContactView::from).collect(),
            attempts: e
                .attempts
                .iter()
                .enumerate()
                .map(|(n, a)| AttemptView {
                    attempt: n + 1,
                    contact: (&a.contact).into(),
                    notified_at: a.notified_at.to_string(),
                    notified_local: local(a.notified_at),
                    deadline: a.deadline.to_string(),
                    deadline_local: local(a.deadline),
                })
                .collect(),
            deadline: e.deadline.map(|t| t.to_string()),
            deadline_local: e.deadline.map(local),
            acknowledged_by: e.acknowledged.as_ref().map(|a| a.by.clone()),
            acknowledged_at: e.acknowledged.as_ref().map(|a| a.at.to_string()),
            acknowledged_local: e.acknowledged.as_ref().map(|a| local(a.at)),
            exhausted_at: e.exhausted_at.map(|t| t.to_string()),
            ended_reason: e.ended.as_ref().map(|end| end.reason.clone()),
            ended_at: e.ended.as_ref().map(|end| end.at.to_string()),
            ack_url,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EscalationList {
    pub items: Vec<EscalationView>,
    /// The `cursor` of the next page (an escalation id); `null` on the last one.
    pub next_cursor: Option<String>,
}

fn view(state: &AppState, e: &Escalation) -> EscalationView {
    EscalationView::new(e, crate::notify::ack_url(state.gateway.config(), &e.id))
}

/// Escalations of the incidents this desk is party to (all, for the national desk).
#[utoipa::path(
    get, path = "/api/v1/escalations", tag = "escalations",
    params(("cursor" = Option<String>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = EscalationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("desk_jwt" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    who: DeskPrincipal,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<EscalationList>, ApiError> {
    let (cursor, limit) = crate::http::page::page_params(query)?;
    let items = state.gateway.escalations_page(&who, cursor, limit).await?;
    let next_cursor = items.last().filter(|_| items.len() == limit).map(|e| e.id.clone());
    Ok(Json(EscalationList { items: items.iter().map(|e| view(&state, e)).collect(), next_cursor }))
}

#[utoipa::path(
    get, path = "/api/v1/escalations/{id}", tag = "escalations",
    params(("id" = String, Path, description = "Escalation id, e.g. ESC-2026-000042-0001")),
    responses((status = 200, body = EscalationView), (status = 404, body = ErrorBody)),
    security(("desk_jwt" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Path(id): Path<String>,
) -> Result<Json<EscalationView>, ApiError> {
    let e = state.gateway.escalation(&who, &id).await?;
    Ok(Json(view(&state, &e)))
}

/// Take the escalation: the chain stops, and the acknowledging desk is recorded.
#[utoipa::path(
    post, path = "/api/v1/escalations/{id}/ack", tag = "escalations",
    params(("id" = String, Path, description = "Escalation id")),
    responses(
        (status = 200, description = "Acknowledged", body = EscalationView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already acknowledged; the message names by whom and when", body = ErrorBody),
    ),
    security(("desk_jwt" = []))
)]
pub async fn ack(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> Result<Json<EscalationView>, ApiError> {
    let e = state.gateway.acknowledge(&who, &id, &ctx).await?;
    Ok(Json(view(&state, &e)))
}
