//! The gateway's own JSON API, `/api/v1/…` — for desks on the `native` system and
//! for operators.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::DeskPrincipal;
use crate::gateway::{ListFilter, RequestContext};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, admit_notes, idempotency};
use crate::model::{CalamityCriterion, Category, Classify, Rca};
use crate::model::{
    Change, DeskId, DialectId, ExternalLink, Incident, IncidentId, Kind, Level, LinkKind, NewIncident, Origin,
    Priority, Ref, ReleaseLink, Status, Text, TicketId, Title, Visibility, parse_display_id, parse_url,
};
use crate::store::{AuditEntry, CreateOutcome};

/// A local desk's report.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitIncident {
    /// One sentence, at most 160 characters. No patient data.
    pub title: String,
    /// No patient data.
    pub description: String,
    /// The service concerned, e.g. `FMK`, `NSP`.
    pub service: String,
    /// The desk's own ticket id; a second submission of the same ticket is a replay.
    pub ticket_id: String,
    /// What people at the desk call the ticket, if not `ticket_id`.
    pub display_id: Option<String>,
    /// Where the desk's ticket can be opened.
    pub ticket_url: Option<String>,
    pub priority: Option<Priority>,
    pub urgency: Option<Level>,
    pub impact: Option<Level>,
    /// `disruption` (default), `security` or `fraud`.
    pub category: Option<String>,
    /// The calamity criteria the report meets.
    pub calamity_criteria: Option<Vec<CalamityCriterion>>,
}

/// A change by the national desk or the assigned supplier.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIncident {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// A supplier desk id (national desk only).
    pub assignee: Option<String>,
    /// National desk only; `support_request` needs `parent`.
    pub kind: Option<Kind>,
    /// The incident a support request refers to (national desk only).
    pub parent: Option<String>,
    /// The P1/P2 incident report: a link or the text.
    pub report: Option<String>,
    /// The national desk approves the submitted report.
    #[serde(default)]
    pub approve_report: bool,
    /// Link an RFC or problem in SDS-Jira (national desk or the assigned supplier):
    /// the incident becomes `pending_release` and the reporter is told.
    pub rfc: Option<LinkRfc>,
    /// `disruption`, `security` or `fraud` (national desk or the assigned supplier).
    pub category: Option<String>,
    /// The calamity criteria met now (replacing those recorded).
    pub calamity_criteria: Option<Vec<CalamityCriterion>>,
    /// The national desk declares (`true`) or withdraws (`false`) a calamity.
    pub calamity: Option<bool>,
    /// The national desk asks for a root-cause analysis of a P2.
    #[serde(default)]
    pub request_rca: bool,
    /// The assignee delivered the root-cause analysis.
    #[serde(default)]
    pub rca_delivered: bool,
}

/// An RFC or problem in SDS-Jira the incident waits on (process step 11).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRfc {
    /// The SDS-Jira issue key, e.g. `SDSJIRA-123`.
    pub key: String,
    pub url: Option<String>,
    /// `rfc` (default) or `problem`.
    pub kind: Option<LinkKind>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNote {
    pub body: String,
    /// `public` (default) or `internal`; local desks' notes are always public.
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    pub author_desk: String,
    pub visibility: Visibility,
    pub body: String,
    pub at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub url_or_text: String,
    pub written_by: String,
    /// `draft`, `submitted`, `quality_checked`, `returned` or `approved`.
    pub state: crate::model::ReportState,
    /// The person at `written_by` who wrote it.
    pub author: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    /// The incident manager who approved it.
    pub approver: Option<String>,
    /// Who quality-checked it: `{desk, name, at}`.
    #[schema(value_type = Option<Object>)]
    pub quality_checked: Option<serde_json::Value>,
    /// The last return: `{desk, name, at, comments}`.
    #[schema(value_type = Option<Object>)]
    pub returned: Option<serde_json::Value>,
}

impl ReportView {
    fn new(r: &crate::model::Report) -> Self {
        let signoff = |s: &crate::model::Signoff| serde_json::json!({"desk": s.desk.as_str(), "name": s.name, "at": s.at.to_string()});
        ReportView {
            url_or_text: r.url_or_text.as_str().to_owned(),
            written_by: r.written_by.to_string(),
            state: r.state,
            author: r.author.clone(),
            approved_by: r.approved_by.as_ref().map(ToString::to_string),
            approved_at: r.approved_at.map(|t| t.to_string()),
            approver: r.approver.clone(),
            quality_checked: r.quality_checked.as_ref().map(signoff),
            returned: r.returned.as_ref().map(|ret| {
                let mut v = signoff(&ret.by);
                v["comments"] = serde_json::json!(ret.comments.as_str());
                v
            }),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    pub at: String,
    pub actor: String,
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OriginView {
    pub desk: String,
    pub ticket: String,
}

/// An incident as a desk party to it sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub id: String,
    pub kind: Kind,
    pub title: String,
    pub description: String,
    pub service: String,
    pub priority: Option<Priority>,
    pub urgency: Option<Level>,
    pub impact: Option<Level>,
    pub status: Status,
    pub origin: OriginView,
    pub assignee: Option<String>,
    pub refs: Vec<Ref>,
    pub notes: Vec<NoteView>,
    pub parent: Option<String>,
    /// The support requests referring to this incident (step 3), oldest first.
    pub support_requests: Vec<String>,
    pub links: Vec<String>,
    /// RFCs and problems in SDS-Jira the incident waits on.
    pub external_links: Vec<ExternalLink>,
    pub report: Option<ReportView>,
    pub history: Vec<HistoryView>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
    /// A P3/P4 report that arrived outside the national desk's staffed hours: when it
    /// is taken up (RFC 3339, UTC). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deferred_until: Option<String>,
    /// The priority was classified from urgency × impact (step 3): a suggestion
    /// until the national desk sets one. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub priority_classified: bool,
    /// Component suppliers involved by the assigned supplier (step 6): they have a
    /// copy; they are not the assignee.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub involved: Vec<String>,
    /// Files attached, oldest first; their content is at
    /// `/api/v1/incidents/{id}/attachments/{number}/content`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::model::Attachment>,
    pub category: Category,
    pub calamity: bool,
    pub calamity_criteria: Vec<CalamityCriterion>,
    /// The root-cause analysis owed (a P1's, or a P2's on request).
    pub rca: Option<Rca>,
    /// The process profile's view: its priority name (`P04`), the hold reason, when
    /// a resolved incident closes by itself. Absent without a profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<crate::model::ProcessState>,
}

impl IncidentView {
    pub fn new(i: &Incident, viewer: &DeskPrincipal) -> Self {
        let actor = viewer.actor();
        Self {
            id: i.id.to_string(),
            kind: i.kind,
            title: i.title.as_str().to_owned(),
            description: i.description.as_str().to_owned(),
            service: i.service.to_string(),
            priority: i.priority,
            urgency: i.urgency,
            impact: i.impact,
            status: i.status,
            origin: OriginView { desk: i.origin.desk.to_string(), ticket: i.origin.ticket.to_string() },
            assignee: i.assignee.as_ref().map(ToString::to_string),
            refs: i.refs.clone(),
            notes: i
                .notes
                .iter()
                .filter(|n| i.shows_note(n, &actor))
                .map(|n| NoteView {
                    author_desk: n.author_desk.to_string(),
                    visibility: n.visibility,
                    body: n.body.as_str().to_owned(),
                    at: n.at.to_string(),
                })
                .collect(),
            parent: i.parent.as_ref().map(ToString::to_string),
            support_requests: i.support_requests.ids.iter().map(ToString::to_string).collect(),
            links: i.links.iter().map(ToString::to_string).collect(),
            external_links: i.external_links.clone(),
            report: i.report.as_ref().map(ReportView::new),
            history: i
                .history
                .iter()
                .map(|h| HistoryView {
                    at: h.at.to_string(),
                    actor: h.actor.to_string(),
                    field: h.field.clone(),
                    from: h.from.clone(),
                    to: h.to.clone(),
                })
                .collect(),
            created_at: i.created_at.to_string(),
            updated_at: i.updated_at.to_string(),
            version: i.version,
            deferred_until: i.deferred_until.map(|t| t.to_string()),
            priority_classified: i.priority_classified,
            involved: i.involved.iter().map(ToString::to_string).collect(),
            attachments: i.attachments.clone(),
            category: i.category,
            calamity: i.calamity.is_calamity(),
            calamity_criteria: i.calamity.criteria.clone(),
            rca: i.rca.clone(),
            process: i.process.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentPage {
    pub items: Vec<IncidentView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefLookup {
    pub incident: String,
    #[serde(rename = "ref")]
    pub reference: Ref,
    pub refs: Vec<Ref>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditLine>,
    pub next_cursor: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditLine {
    pub seq: u64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

pub(super) fn parse_incident_id(raw: &str) -> Result<IncidentId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::bad_request("id", format!("id: expected an incident id like INC-2026-000042, got {raw:?}"))
    })
}

/// The new incident's address: absolute under `public_url`, else relative — HTTP allows
/// a relative `Location`, which needs no guess at the caller's view of the host.
fn location(state: &AppState, id: &IncidentId) -> HeaderValue {
    let base = state.gateway.config().gateway.public_url.as_deref().unwrap_or("").trim_end_matches('/');
    HeaderValue::from_str(&format!("{base}/api/v1/incidents/{id}"))
        .unwrap_or_else(|_| HeaderValue::from_static("/api/v1/incidents"))
}

/// Submit an incident (local desks).
#[utoipa::path(
    post, path = "/api/v1/incidents", tag = "incidents",
    request_body = SubmitIncident,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries of this submission harmless")),
    responses(
        (status = 201, description = "Accepted and durable", body = IncidentView),
        (status = 200, description = "A replay: the incident already accepted", body = IncidentView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, description = "Patient data, or a reused Idempotency-Key", body = ErrorBody),
    ),
    security(("desk_jwt" = []))
)]
pub async fn submit(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    headers: HeaderMap,
    JsonBody(req, raw): JsonBody<SubmitIncident>,
) -> Result<Response, ApiError> {
    let idempotency = idempotency(&headers, &raw)?;
    let classify = Classify {
        category: req.category.as_deref().map(|c| Category::parse("category", c)).transpose()?,
        calamity_criteria: req.calamity_criteria.clone(),
        ..Classify::default()
    };
    let new = match parse_submission(&state, &who, req) {
        Ok(new) => new,
        Err(e) => return Err(e.audit_patient_data(&state, &who.desk, &ctx).await),
    };
    let outcome = state.gateway.submit_classified(&who, new, &classify, idempotency, &ctx).await?;
    let (status, incident) = match &outcome {
        CreateOutcome::Created(i) => (StatusCode::CREATED, i),
        CreateOutcome::Replayed(i) => (StatusCode::OK, i),
    };
    let mut response = (status, Json(IncidentView::new(incident, &who))).into_response();
    response.headers_mut().insert(header::LOCATION, location(&state, &incident.id));
    if matches!(outcome, CreateOutcome::Replayed(_)) {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn parse_submission(state: &AppState, who: &DeskPrincipal, req: SubmitIncident) -> Result<NewIncident, ApiError> {
    let title = Title::parse(&req.title)?;
    let description = Text::parse("description", &req.description)?;
    let service = req.service.parse()?;
    let ticket: TicketId = req.ticket_id.parse()?;
    // Shown to every party; without one the ticket id is shown (its own rules keep
    // markup and invisible characters out).
    let display_id = match req.display_id.as_deref() {
        Some(d) => parse_display_id("display_id", d)?,
        None => ticket.to_string(),
    };
    let ticket_url =
        req.ticket_url.as_deref().filter(|u| !u.trim().is_empty()).map(|u| parse_url("ticket_url", u)).transpose()?;
    let system = state.gateway.desk(&who.desk).map_or(DialectId::Native, |d| d.system);
    Ok(NewIncident {
        kind: Kind::Incident,
        title,
        description,
        service,
        priority: req.priority,
        urgency: req.urgency,
        impact: req.impact,
        origin: Origin { desk: who.desk.clone(), ticket: ticket.clone() },
        origin_ref: Ref::new(who.desk.clone(), system, ticket, display_id).with_url(ticket_url),
    })
}

/// One incident the desk is party to.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id, e.g. INC-2026-000042")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody)),
    security(("desk_jwt" = []))
)]
pub async fn get_incident(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    let id = parse_incident_id(&id)?;
    let incident = state.gateway.get(&who, &id).await?;
    Ok(Json(IncidentView::new(&incident, &who)))
}

/// Incidents the desk is party to, oldest first.
#[utoipa::path(
    get, path = "/api/v1/incidents", tag = "incidents",
    params(
        ("status" = Option<Status>, Query), ("priority" = Option<Priority>, Query), ("service" = Option<String>, Query),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("limit" = Option<usize>, Query, description = "1 to 200, default 50"),
    ),
    responses((status = 200, body = IncidentPage), (status = 400, body = ErrorBody)),
    security(("desk_jwt" = []))
)]
pub async fn list_incidents(
    State(state): State<AppState>,
    who: DeskPrincipal,
    RawQuery(query): RawQuery,
) -> Result<Json<IncidentPage>, ApiError> {
    let mut filter = ListFilter { limit: 50, ..ListFilter::default() };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "status" => filter.status = Some(value.parse()?),
            "priority" => filter.priority = Some(value.parse()?),
            "service" => filter.service = Some(value.parse()?),
            "cursor" => filter.after = Some(parse_incident_id(&value).map_err(|e| e.with_field("cursor"))?),
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or_else(|| ApiError::bad_request("limit", "limit: expected a number from 1 to 200"))?
            }
            other => {
                return Err(ApiError::bad_request(
                    other,
                    format!("{other}: unknown parameter; expected status, priority, service, cursor or limit"),
                ));
            }
        }
    }
    let items = state.gateway.list(&who, &filter).await?;
    let next_cursor = (items.len() == filter.limit).then(|| items.last().map(|i| i.id.to_string())).flatten();
    Ok(Json(IncidentPage { items: items.iter().map(|i| IncidentView::new(i, &who)).collect(), next_cursor }))
}

/// Add a note to an incident the desk is party to.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/notes", tag = "incidents",
    params(("id" = String, Path)),
    request_body = AddNote,
    responses(
        (status = 201, body = IncidentView), (status = 404, body = ErrorBody),
        (status = 409, description = "The incident holds as many notes as it may", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("desk_jwt" = []))
)]
pub async fn add_note(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(id): Path<String>,
    JsonBody(req, _): JsonBody<AddNote>,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let id = parse_incident_id(&id)?;
    let body = Text::parse("body", &req.body)?;
    if let Ok(current) = state.gateway.get(&who, &id).await {
        admit_notes(&state, &who, Some(&current), 1, "body")?;
    }
    let incident = state.gateway.add_note(&who, &id, body, req.visibility.unwrap_or(Visibility::Public), &ctx).await?;
    Ok((StatusCode::CREATED, Json(IncidentView::new(&incident, &who))))
}

/// Change status, priority, assignment, kind or report (national desk; the assigned
/// supplier for status, priority and report).
#[utoipa::path(
    patch, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path)),
    request_body = PatchIncident,
    responses(
        (status = 200, body = IncidentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Illegal status transition, or the close guard", body = ErrorBody),
    ),
    security(("desk_jwt" = []))
)]
pub async fn patch_incident(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(id): Path<String>,
    JsonBody(req, _): JsonBody<PatchIncident>,
) -> Result<Json<IncidentView>, ApiError> {
    let id = parse_incident_id(&id)?;
    let change = Change {
        status: req.status,
        priority: req.priority,
        assignee: req
            .assignee
            .map(|a| {
                a.parse::<DeskId>()
                    .map_err(|_| ApiError::bad_request("assignee", "assignee: expected a supplier desk id"))
            })
            .transpose()?,
        kind: req.kind,
        parent: req.parent.map(|p| parse_incident_id(&p).map_err(|e| e.with_field("parent"))).transpose()?,
        report: req.report.map(|r| Text::parse("report", &r)).transpose()?,
        approve_report: req.approve_report,
        rfc: req
            .rfc
            .map(|r| ReleaseLink::parse(r.kind.unwrap_or(LinkKind::Rfc), &r.key, r.url.as_deref()))
            .transpose()?,
        classify: Classify {
            category: req.category.as_deref().map(|c| Category::parse("category", c)).transpose()?,
            calamity_criteria: req.calamity_criteria,
            declare_calamity: req.calamity,
            request_rca: req.request_rca,
            rca_delivered: req.rca_delivered,
            rca_due: None,
        },
    };
    if change.is_empty() {
        return Err(ApiError::bad_request(
            "(body)",
            "nothing to change: expected one of status, priority, assignee, kind, parent, report, approve_report, rfc, category, calamity_criteria, calamity, request_rca, rca_delivered",
        ));
    }
    let incident = state.gateway.update(&who, &id, &change, &ctx).await?;
    Ok(Json(IncidentView::new(&incident, &who)))
}

/// Which incident a desk's ticket is.
#[utoipa::path(
    get, path = "/api/v1/refs/{desk}/{remote_id}", tag = "incidents",
    params(("desk" = String, Path), ("remote_id" = String, Path, description = "The desk's ticket id; may contain '/'")),
    responses((status = 200, body = RefLookup), (status = 404, body = ErrorBody)),
    security(("desk_jwt" = []))
)]
pub async fn lookup_ref(
    State(state): State<AppState>,
    who: DeskPrincipal,
    Path((desk, remote_id)): Path<(String, String)>,
) -> Result<Json<RefLookup>, ApiError> {
    let desk: DeskId = desk.parse().map_err(|_| ApiError::not_found(format!("desk {desk:?} not found")))?;
    let remote: TicketId = remote_id.parse()?;
    let incident = state.gateway.find_ref(&who, &desk, &remote).await?;
    let reference = incident
        .refs
        .iter()
        .find(|r| r.desk == desk && r.remote_id == remote)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("{desk} ticket {remote} not found")))?;
    Ok(Json(RefLookup { incident: incident.id.to_string(), reference, refs: incident.refs.clone() }))
}

/// The audit log: submissions, changes and rejections (national desk only).
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "operations",
    params(("cursor" = Option<u64>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody)),
    security(("desk_jwt" = []))
)]
pub async fn audit_log(
    State(state): State<AppState>,
    who: DeskPrincipal,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, ApiError> {
    let (cursor, limit) = crate::http::page::page_params(query)?;
    let after = crate::http::page::seq_cursor(cursor)?;
    let items = state.gateway.audit_log(&who, after, limit).await?;
    let next_cursor = (items.len() == limit).then(|| items.last().map(|(s, _)| *s)).flatten();
    Ok(Json(AuditPage { items: items.into_iter().map(|(seq, entry)| AuditLine { seq, entry }).collect(), next_cursor }))
}
