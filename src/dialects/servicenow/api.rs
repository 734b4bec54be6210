//! deskgate as a ServiceNow instance: the Table API for `incident`, for desks whose
//! own tool is ServiceNow (`system = "servicenow"`).
//!
//! - `GET  /api/now/table/incident` — incidents the desk is party to, filtered and
//!   ordered by `sysparm_query`, paged by `sysparm_limit`/`sysparm_offset`
//!   (`X-Total-Count`, `Link`), shaped by `sysparm_fields`,
//!   `sysparm_display_value=true|false|all` and `sysparm_exclude_reference_link`.
//! - `POST /api/now/table/incident` — a submission, as the native API's.
//! - `GET|PATCH|PUT /api/now/table/incident/{sys_id}` — one incident; a change goes
//!   through the desk's mapping to the gateway's `update` and `add_note`.
//! - The same under `/api/now/v1/table/…` and `/api/now/v2/table/…` (v1 answers an
//!   empty list page with 404, as ServiceNow's version 1 does).
//! - `POST /api/now/v1/batch` — the Batch API: several of these calls in one request,
//!   each routed to the same handlers with the caller's identity (`api/batch.rs`).
//! - `/api/now/attachment…` — the Attachment API for incidents (`api/attachment.rs`).
//! - Any other `/api/now/…` path: 400 `Invalid table …` or `Requested URI does not
//!   represent any resource`, and 405 for a method a path does not serve.
//!
//! Lenient as ServiceNow is: fields of a body that the caller may not write (computed,
//! fixed at submission, unknown) are ignored, though patient data in any of them is
//! refused; query parameters as `api/query.rs` says. The fields served and where
//! their values come from: `api/record.rs`.
//!
//! Values are strings (references `{"link", "value"}` objects), dates are `YYYY-MM-DD HH:MM:SS` UTC, answers are
//! `{"result": …}` and errors ServiceNow's `{"error":{"message","detail"},"status":"failure"}`
//! (the `render_in` layer). Status and priority are read and written in the desk's
//! vocabulary (`mappings/servicenow.toml` with the desk's overrides).
//!
//! Identities need no storage of their own: an incident's `sys_id` is derived from
//! its id ([`sys_id_of`]: a hash prefix followed by the id's year and sequence in hex,
//! so it can be decoded and checked), and its `number` is `INC` and the sequence.
//!
//! The desk's ticket id (its cross-reference) is the record's `correlation_id` when
//! the POST gives one — what a ServiceNow instance forwarding its own record sends —
//! and otherwise a freshly minted sys_id-shaped id, returned in `correlation_id`.
//! A second POST with the same `correlation_id` is a replay and answers the incident
//! already accepted (201, `idempotent-replayed: true`), as does `Idempotency-Key`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use deskgate_adapter::TicketFields;
use deskgate_servicenow::wire::{self, Record};
use deskgate_servicenow::{EncodedQuery, SysId};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::auth::DeskPrincipal;
use crate::config::System;
use crate::gateway::{GatewayError, RequestContext};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, admit_notes, base_url, idempotency};
use crate::mapping::DeskMapping;
use crate::model::{
    Change, DeskId, DialectId, Incident, IncidentId, Kind, Level, ModelError, NewIncident, Origin, Priority, Ref,
    Status, Text, TicketId, Title, Visibility, parse_display_id, patient_data,
};
use crate::store::CreateOutcome;

mod attachment;
pub use attachment::ATTACHMENT_PREFIXES;
mod batch;
mod plan;
mod query;
mod record;
use query::*;
use record::*;

/// The routes; the caller adds the ServiceNow error-rendering layer.
pub fn router() -> Router<AppState> {
    table_router().route("/api/now/v1/batch", post(batch::batch)).merge(attachment::router())
}

/// The versions of the Table API's paths (`/api/now/table/…` is the latest).
pub const TABLE_PREFIXES: &[&str] = &["/api/now", "/api/now/v1", "/api/now/v2"];

/// The Table API at each of its paths, and ServiceNow's answer for any other
/// `/api/now/…` path: what a batch's requests are routed to.
fn table_router() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in TABLE_PREFIXES {
        router = router
            .route(&format!("{prefix}/table/incident"), get(list).post(create).fallback(method_not_supported))
            .route(
                &format!("{prefix}/table/incident/{{sys_id}}"),
                get(get_one).patch(update).put(update).fallback(method_not_supported),
            );
    }
    router.route("/api/now/{*rest}", any(unserved))
}

/// A path under `/api/now/` that deskgate does not serve: 400 as ServiceNow answers,
/// `Invalid table` for a table other than `incident`. Like ServiceNow, only to a
/// caller that authenticated.
async fn unserved(_who: DeskPrincipal, uri: Uri) -> ApiError {
    let path = uri.path().trim_start_matches("/api/now/");
    let path = ["v1/", "v2/"].iter().find_map(|v| path.strip_prefix(v)).unwrap_or(path);
    let table = path.strip_prefix("table/").map(|rest| rest.split('/').next().unwrap_or_default());
    match table {
        Some(table) if table != "incident" => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_table",
            format!("Invalid table {}: deskgate serves the incident table only", shown_field_name(table)),
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "no_resource",
            "Requested URI does not represent any resource: deskgate serves /api/now/table/incident (also under v1 and v2) and /api/now/v1/batch",
        ),
    }
}

async fn method_not_supported(_who: DeskPrincipal) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_supported",
        "Method not Supported: the incident table answers GET and POST, and each record GET, PATCH and PUT",
    )
}

/// The most records one list answer carries (ServiceNow's own default cap).
const MAX_LIMIT: usize = 10_000;

/// Who may write a field through the Table API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writable {
    /// Computed by deskgate or fixed by the federation.
    No,
    /// Set when the incident is submitted (POST) and not changed afterwards.
    OnInsert,
    /// Changed on an incident that exists (PATCH, PUT).
    OnUpdate,
    Always,
}

impl Writable {
    fn allows(self, writing: Writable) -> bool {
        self == Writable::Always || (self != Writable::No && self == writing)
    }
}

/// The fields of the incident view, in answer order, and who may write each. A body's
/// other fields (computed, fixed or unknown) are ignored, as ServiceNow ignores writes
/// to fields the caller may not write; their values are still checked for patient data.
const FIELDS: &[(&str, Writable)] = {
    use Writable::*;
    &[
        ("sys_id", No),
        ("number", No),
        ("sys_class_name", No),
        ("short_description", OnInsert),
        ("description", OnInsert),
        ("state", Always),
        ("incident_state", No),
        ("hold_reason", Always),
        ("impact", Always),
        ("urgency", Always),
        ("priority", No),
        ("category", Always),
        ("business_service", OnInsert),
        ("cmdb_ci", No),
        ("assignment_group", OnUpdate),
        ("caller_id", No),
        ("opened_by", No),
        ("correlation_id", OnInsert),
        ("correlation_display", OnInsert),
        ("u_deskgate_incident", No),
        ("u_reported_by", No),
        ("u_type", OnUpdate),
        ("u_process_priority", No),
        ("parent_incident", No),
        ("active", No),
        ("close_code", Always),
        ("close_notes", Always),
        ("comments", Always),
        ("work_notes", Always),
        ("opened_at", No),
        ("sys_created_by", No),
        ("sys_created_on", No),
        ("sys_updated_by", No),
        ("sys_updated_on", No),
        ("sys_mod_count", No),
    ]
};

/// The names of the incident's fields, in answer order.
fn field_names() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|(name, _)| *name)
}

fn is_field(name: &str) -> bool {
    field_names().any(|f| f == name)
}

// ---------------------------------------------------------------------------
// identities

/// The year and sequence of an incident id (`INC-2026-000042` → 2026, 42).
fn id_parts(id: &IncidentId) -> Option<(i16, u64)> {
    let rest = id.as_str().strip_prefix("INC-")?;
    let (year, seq) = rest.split_once('-')?;
    Some((year.parse().ok()?, seq.parse().ok()?))
}

/// The stable `sys_id` of an incident: 16 hex digits of a SHA-256 of the id, then
/// the year (4 hex digits) and the sequence (12 hex digits), so that a sys_id can
/// be decoded without a lookup table and a made-up one is recognised.
pub fn sys_id_of(id: &IncidentId) -> String {
    let (year, seq) = id_parts(id).unwrap_or((0, 0));
    let digest = Sha256::digest(format!("deskgate/servicenow/incident/{id}").as_bytes());
    format!("{}{:04x}{:012x}", hex::encode(&digest[..8]), year, seq)
}

/// The incident a sys_id names, if it is one [`sys_id_of`] made.
pub fn incident_of_sys_id(sys_id: &str) -> Option<IncidentId> {
    if !wire::is_sys_id(sys_id) {
        return None;
    }
    let year = u16::from_str_radix(&sys_id[16..20], 16).ok()?;
    let seq = u64::from_str_radix(&sys_id[20..32], 16).ok()?;
    if year > 9999 || seq > 999_999_999_999 {
        return None;
    }
    let id = IncidentId::new(i16::try_from(year).ok()?, seq);
    (sys_id_of(&id) == sys_id).then_some(id)
}

/// The record number: `INC` and the incident's sequence (`INC0000042`).
pub fn number_of(id: &IncidentId) -> String {
    wire::format_number("INC", id_parts(id).map(|(_, seq)| seq).unwrap_or(0))
}

// ---------------------------------------------------------------------------
// the calling desk

/// A ServiceNow desk and its vocabulary.
struct SnDesk<'a> {
    who: DeskPrincipal,
    mapping: &'a DeskMapping,
}

impl<'a> SnDesk<'a> {
    fn of(state: &'a AppState, who: DeskPrincipal) -> Result<Self, ApiError> {
        let system = state.gateway.desk(&who.desk).map(|d| d.system);
        let mapping = state.gateway.mapping(&who.desk).filter(|_| system == Some(System::Servicenow));
        match mapping {
            Some(mapping) => Ok(Self { who, mapping }),
            None => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_dialect",
                format!(
                    "desk {} is configured as a {} desk; the ServiceNow Table API is for desks with system = \"servicenow\" (use /api/v1 or the desk's own dialect)",
                    who.desk,
                    system.map(System::as_str).unwrap_or("unknown")
                ),
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// errors in ServiceNow's vocabulary

/// Canonical field names and what the Table API calls them.
const FIELD_NAMES: &[(&str, &str)] = &[
    ("title", "short_description"),
    ("service", "business_service"),
    ("ticket_id", "correlation_id"),
    ("status", "state"),
    ("priority", "impact"),
    ("assignee", "assignment_group"),
];

/// The same error, naming the ServiceNow field instead of the canonical one.
fn in_sn_terms(e: ApiError) -> ApiError {
    e.naming_fields(FIELD_NAMES)
}

/// A model error about `field` (a note's text), named as `sn_field`.
fn note_error(e: ModelError, sn_field: &str) -> ApiError {
    let mut err = ApiError::from(e);
    if let Some(f) = err.field.take() {
        if let Some(rest) = err.message.strip_prefix(f.as_str()) {
            err.message = format!("{sn_field}{rest}");
        }
    }
    err.with_field(sn_field)
}

fn gateway_error(e: GatewayError, mapping: &DeskMapping) -> ApiError {
    match e {
        GatewayError::Model(ModelError::IllegalTransition { from, to }) => ApiError::new(
            StatusCode::CONFLICT,
            "illegal_transition",
            format!(
                "state cannot change from {} to {} (the workflow does not allow {from} → {to})",
                mapping.remote_status_name(from),
                mapping.remote_status_name(to)
            ),
        )
        .with_field("state"),
        GatewayError::NotFound(_) => no_record(),
        other => in_sn_terms(other.into()),
    }
}

fn no_record() -> ApiError {
    ApiError::not_found("No Record found: the record does not exist or this desk is not party to it")
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::bad_request(field.to_owned(), format!("{field}: {message}"))
}

// ---------------------------------------------------------------------------
// handlers

/// `GET /api/now/table/incident`
async fn list(
    State(state): State<AppState>,
    who: DeskPrincipal,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    let params = Params::parse(raw.as_deref())?;
    let base = base_url(&state, &headers);
    let (page, total) = plan::page(&state, &desk, &params, &base).await?;
    // Version 1 of the Table API answers an empty page with 404; later versions with [].
    if page.is_empty() && uri.path().starts_with("/api/now/v1/") {
        return Err(ApiError::not_found(
            "No Record found: no records match the query at this offset (v1 of the Table API answers an empty page with 404)",
        ));
    }
    let mut response = result(StatusCode::OK, Value::Array(page));
    let h = response.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    if params.pagination_header {
        if let Ok(v) = HeaderValue::from_str(&link_header(&base, uri.path(), &params, total)) {
            h.insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `GET /api/now/table/incident/{sys_id}`
async fn get_one(
    State(state): State<AppState>,
    who: DeskPrincipal,
    headers: HeaderMap,
    Path(sys_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    let params = Params::parse(raw.as_deref())?;
    let id = incident_of_sys_id(&sys_id).ok_or_else(no_record)?;
    let incident = state.gateway.get(&desk.who, &id).await.map_err(|e| gateway_error(e, desk.mapping))?;
    let view = View::new(&state, &desk, &incident, &base_url(&state, &headers));
    Ok(result(StatusCode::OK, view.render(&params.rendering)))
}

/// The fields of a POST (`OnInsert`) or PATCH/PUT (`OnUpdate`) body the caller may
/// write, every value a string. Every value is checked for patient data first, also
/// of the fields that are then ignored; fields that are used are checked in full.
fn read_record(body: &Value, writing: Writable) -> Result<Record, ApiError> {
    let mut record = wire::record_from_json(body).map_err(|e| bad("(body)", format!("expected a record: {e}")))?;
    // In the order the fields are documented, so the first named is the one people look at.
    for (field, writable) in FIELDS {
        match record.get(*field) {
            Some(value) if writable.allows(writing) => check_value(field, value)?,
            Some(value) => patient_data::check(field, value)?,
            None => {}
        }
    }
    for (key, value) in record.iter().filter(|(k, _)| !is_field(k)) {
        let named = shown_field_name(key);
        patient_data::check("field", key).map_err(|e| note_error(e, named))?;
        patient_data::check("field", value).map_err(|e| note_error(e, named))?;
    }
    record.retain(|k, _| FIELDS.iter().any(|(f, w)| f == k && w.allows(writing)));
    Ok(record)
}

/// A field name the incident does not have, as an error may show it: only a plain
/// column name is repeated, anything else could be data.
fn shown_field_name(key: &str) -> &str {
    let plain = (1..=80).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain && patient_data::find(key).is_none() { key } else { "(a field name)" }
}

/// Every value a record carries, whatever deskgate does with it: no patient data,
/// no control characters (tab and line breaks only in free text), no bidi overrides.
fn check_value(field: &'static str, value: &str) -> Result<(), ApiError> {
    patient_data::check(field, value)?;
    let free_text = matches!(field, "description" | "close_notes" | "work_notes" | "comments");
    let hostile = |c: char| {
        (c.is_control() && !(free_text && matches!(c, '\t' | '\n' | '\r'))) || patient_data::is_bidi_control(c)
    };
    if value.chars().any(hostile) {
        let expected = if free_text {
            "text without control characters (other than tab and line breaks) or bidirectional overrides"
        } else {
            "one line of printable text, without control characters or bidirectional overrides"
        };
        return Err(bad(field, format!("expected {expected}")));
    }
    Ok(())
}

fn text<'r>(record: &'r Record, field: &str) -> Option<&'r str> {
    record.get(field).map(String::as_str).filter(|v| !v.trim().is_empty())
}

fn level(record: &Record, field: &'static str) -> Result<Option<u8>, ApiError> {
    text(record, field)
        .map(|v| wire::parse_level(field, v).map_err(|e| ApiError::bad_request(field, e.to_string())))
        .transpose()
}

/// The notes a record carries: `work_notes` (internal) and `comments` (public).
fn notes(record: &Record) -> Result<Vec<(Text, Visibility)>, ApiError> {
    let mut out = Vec::new();
    for (field, visibility) in [("work_notes", Visibility::Internal), ("comments", Visibility::Public)] {
        if let Some(body) = text(record, field) {
            out.push((Text::parse("note", body).map_err(|e| note_error(e, field))?, visibility));
        }
    }
    Ok(out)
}

/// The canonical status a record's `state` (with `hold_reason`) names, in the desk's mapping.
fn read_state(
    mapping: &DeskMapping,
    state: Option<&str>,
    hold_reason: Option<&str>,
    assignee: Option<&str>,
) -> Result<Option<Status>, ApiError> {
    let mut fields = TicketFields {
        status: state.map(str::to_owned),
        assignee: assignee.map(str::to_owned),
        ..TicketFields::default()
    };
    if let Some(h) = hold_reason {
        fields.extra.insert("hold_reason".into(), h.to_owned());
    }
    mapping.inbound_status(&fields).map_err(|e| ApiError::bad_request("state", format!("state: {e}")))
}

/// `POST /api/now/table/incident`
async fn create(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    JsonBody(body, bytes): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    let params = Params::parse(raw.as_deref())?;
    let parsed = read_record(&body, Writable::OnInsert).and_then(|r| Ok((parse_submission(&state, &desk, &r)?, r)));
    let (new, record) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return Err(e.audit_patient_data(&state, &desk.who.desk, &ctx).await),
    };
    let notes = notes(&record)?;
    admit_notes(&state, &desk.who, None, notes.len(), "comments")?;
    let idempotency = idempotency(&headers, &bytes)?;
    let category = record.get("category").map(|c| category_value(c)).transpose()?;
    let classify = crate::model::Classify { category, ..Default::default() };
    let outcome = state
        .gateway
        .submit_classified(&desk.who, new, &classify, idempotency, &ctx)
        .await
        .map_err(|e| gateway_error(e, desk.mapping))?;
    let (mut incident, replayed) = match outcome {
        CreateOutcome::Created(i) => (i, false),
        CreateOutcome::Replayed(i) => (i, true),
    };
    if !replayed {
        for (body, visibility) in notes {
            incident = state
                .gateway
                .add_note(&desk.who, &incident.id, body, visibility, &ctx)
                .await
                .map_err(|e| gateway_error(e, desk.mapping))?;
        }
    }
    let base = base_url(&state, &headers);
    let view = View::new(&state, &desk, &incident, &base);
    // ServiceNow answers every insert with 201; clients such as pysnc require it.
    let mut response = result(StatusCode::CREATED, view.render(&params.rendering));
    let location = format!("{base}/api/now/table/incident/{}", sys_id_of(&incident.id));
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn parse_submission(state: &AppState, desk: &SnDesk<'_>, record: &Record) -> Result<NewIncident, ApiError> {
    let title = text(record, "short_description")
        .ok_or_else(|| bad("short_description", "required: one sentence saying what is wrong"))?;
    let title = Title::parse(title).map_err(|e| in_sn_terms(e.into()))?;
    // ServiceNow makes the description optional; the canonical incident does not.
    let description = text(record, "description").unwrap_or(title.as_str());
    let description = Text::parse("description", description).map_err(|e| in_sn_terms(e.into()))?;
    let service = text(record, "business_service")
        .ok_or_else(|| bad("business_service", "required: the service concerned, e.g. FMK or NSP"))?;
    let service = service.parse().map_err(|e: ModelError| in_sn_terms(e.into()))?;
    let (impact, urgency) = (level(record, "impact")?, level(record, "urgency")?);
    // Either level alone: the other is the base system's default, 3 (Low).
    let (impact, urgency) = match (impact, urgency) {
        (None, None) => (None, None),
        (i, u) => (Level::from_rank(i.unwrap_or(3)), Level::from_rank(u.unwrap_or(3))),
    };
    // The state of the desk's own record is checked against its mapping; nationally
    // every incident starts `new` (a local desk's ticket state is its own).
    read_state(desk.mapping, text(record, "state"), text(record, "hold_reason"), None)?;
    let ticket: TicketId = match text(record, "correlation_id") {
        Some(t) => t.parse().map_err(|e: ModelError| in_sn_terms(e.into()))?,
        None => SysId::generate().as_str().parse().map_err(|e: ModelError| in_sn_terms(e.into()))?,
    };
    // Shown to every party; without a display value the correlation id is shown.
    let display_id = match text(record, "correlation_display") {
        Some(d) => parse_display_id("correlation_display", d)?,
        None => ticket.to_string(),
    };
    let system = state.gateway.desk(&desk.who.desk).map_or(DialectId::Servicenow, |d| d.system);
    Ok(NewIncident {
        kind: Kind::Incident,
        title,
        description,
        service,
        priority: None,
        urgency,
        impact,
        origin: Origin { desk: desk.who.desk.clone(), ticket: ticket.clone() },
        origin_ref: Ref {
            desk: desk.who.desk.clone(),
            system,
            display_id,
            remote_id: ticket,
            url: None,
            written: Default::default(),
            seen: Default::default(),
        },
    })
}

/// `PATCH|PUT /api/now/table/incident/{sys_id}`
async fn update(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    headers: HeaderMap,
    Path(sys_id): Path<String>,
    RawQuery(raw): RawQuery,
    JsonBody(body, _): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let desk = SnDesk::of(&state, who)?;
    let params = Params::parse(raw.as_deref())?;
    let id = incident_of_sys_id(&sys_id).ok_or_else(no_record)?;
    let current = state.gateway.get(&desk.who, &id).await.map_err(|e| gateway_error(e, desk.mapping))?;
    let base = base_url(&state, &headers);
    let before = View::new(&state, &desk, &current, &base);
    let record = read_record(&body, Writable::OnUpdate)?;
    let change = read_change(&desk, &current, &before, &record)?;
    let notes = notes(&record)?;
    admit_notes(&state, &desk.who, Some(&current), notes.len(), "comments")?;
    let mut incident = current;
    if !change.is_empty() {
        incident =
            state.gateway.update(&desk.who, &id, &change, &ctx).await.map_err(|e| gateway_error(e, desk.mapping))?;
    }
    for (body, visibility) in notes {
        incident = state
            .gateway
            .add_note(&desk.who, &id, body, visibility, &ctx)
            .await
            .map_err(|e| gateway_error(e, desk.mapping))?;
    }
    let view = View::new(&state, &desk, &incident, &base);
    Ok(result(StatusCode::OK, view.render(&params.rendering)))
}

/// The canonical change a PATCH or PUT asks for (`record` holds only the fields an
/// update may write). Fields given with the value they already have change nothing
/// (so a whole record sent back is harmless).
fn read_change(desk: &SnDesk<'_>, current: &Incident, view: &View, record: &Record) -> Result<Change, ApiError> {
    let mut change = Change::default();
    let given = |f: &str| record.get(f).map(String::as_str);
    if given("state").is_some() || given("hold_reason").is_some() {
        let state_value = given("state").or(view.value("state"));
        // A new state without a hold reason has none; the same state keeps its own.
        let hold_reason = given("hold_reason").or_else(|| {
            if given("state").is_none_or(|s| Some(s) == view.value("state")) { view.value("hold_reason") } else { None }
        });
        let assignee = given("assignment_group").or(view.value("assignment_group"));
        if let Some(status) = read_state(desk.mapping, state_value, hold_reason, assignee)? {
            if status != current.status {
                change.status = Some(status);
            }
        }
    }
    if given("impact").is_some() || given("urgency").is_some() {
        let impact = level(record, "impact")?.map(|v| v.to_string()).or(view.value("impact").map(str::to_owned));
        let urgency = level(record, "urgency")?.map(|v| v.to_string()).or(view.value("urgency").map(str::to_owned));
        let mut fields = TicketFields::default();
        fields.extra.insert("impact".into(), impact.unwrap_or_else(|| "3".into()));
        fields.extra.insert("urgency".into(), urgency.unwrap_or_else(|| "3".into()));
        let priority = desk
            .mapping
            .inbound_priority(&fields)
            .map_err(|e| ApiError::bad_request("impact", format!("impact: {e}")))?;
        if let Some(p) = priority.filter(|p| Some(*p) != current.priority) {
            change.priority = Some(p);
        }
    }
    if let Some(category) = given("category").map(category_value).transpose()? {
        change.classify.category = Some(category).filter(|c| *c != current.category);
    }
    if let Some(group) = given("assignment_group") {
        if Some(group) != view.value("assignment_group") {
            let desk_id: DeskId =
                group.parse().map_err(|_| bad("assignment_group", "expected the desk id of a supplier, e.g. fmk"))?;
            change.assignee = Some(desk_id);
        }
    }
    // Reclassification between incident and service request (the national desk's).
    if let Some(kind) = given("u_type").filter(|k| Some(*k) != view.value("u_type")) {
        change.kind = Some(match kind.trim() {
            "incident" => crate::model::Kind::Incident,
            "service_request" => crate::model::Kind::ServiceRequest,
            _ => return Err(bad("u_type", "expected incident or service_request")),
        });
    }
    Ok(change)
}
