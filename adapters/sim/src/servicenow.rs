//! A small, faithful ServiceNow instance: the Table API for `incident`, Basic and
//! OAuth authentication, the resolve data policy, journal fields, and an outbound
//! REST push (a business rule) on every change.
//!
//! # Routes
//!
//! - `GET|POST /api/now/table/incident`, `GET|PATCH|PUT|DELETE /api/now/table/incident/{sys_id}`
//!   with `sysparm_query` (encoded query, see [`deskgate_servicenow::query`]),
//!   `sysparm_limit` (default 10000), `sysparm_offset`, `sysparm_fields`,
//!   `sysparm_display_value=true|false|all` and `sysparm_exclude_reference_link`.
//!   Lists carry `X-Total-Count` and a `Link` header (`first`, `prev`, `next`, `last`).
//! - `POST /oauth_token.do` (form-encoded; `grant_type` `password`, `client_credentials`
//!   or `refresh_token`) → `{"access_token", "refresh_token", "scope", "token_type":
//!   "Bearer", "expires_in"}`; bad credentials → 401 `{"error_description":
//!   "access_denied", "error": "server_error"}`. Client credentials get no refresh token.
//! - `/_sim/faults`, `/_sim/served`: [`crate::faults`].
//!
//! # Behaviour, as the real instance behaves
//!
//! - Every value is a string; numbers and booleans sent are stored as strings.
//! - Fields the table does not have are ignored silently (configure extra `u_` fields
//!   with [`ServiceNowSimConfig::custom_fields`]); `sys_*` fields and `priority` are not
//!   writable: priority is computed as `min(5, impact + urgency − 1)`.
//! - Setting `state` 6 (Resolved) or 7 (Closed) without a valid `close_code` and a
//!   `close_notes` is refused with 403 `{"error": {"message": "Operation Failed",
//!   "detail": "Data Policy Exception: \n\tThe following fields are mandatory: …"}}`.
//!   A `close_code` not in the choice list counts as missing, as in ServiceNow.
//! - `comments` and `work_notes` are write-only: writing them adds a journal entry
//!   ([`ServiceNowSim::journal`]); reads return `""` (or the rendered journal with
//!   `sysparm_display_value=true|all`).
//! - A write that changes nothing does not touch `sys_updated_on`/`sys_mod_count` and
//!   fires no business rule.
//! - Unknown sys_id → 404 `No Record found`; bad JSON → 400 `Exception while reading
//!   request`; missing or wrong credentials → 401 `User Not Authenticated`. Unlike a
//!   real instance, an invalid encoded query is refused with 400 rather than ignored,
//!   so that a client bug shows up in tests.
//!
//! # Outbound REST push
//!
//! When [`ServiceNowSimConfig::webhook`] is set, every insert, change and delete — made
//! through the REST API or the operator API — is POSTed, in order, to the target URL
//! with `Authorization: <configured value>` and `Content-Type: application/json`:
//!
//! ```json
//! {
//!   "table": "incident",
//!   "operation": "insert" | "update" | "delete",
//!   "sys_id": "46d44a5ea9fe198100bb5f2a0b7fea1b",
//!   "number": "INC0010001",
//!   "changed_fields": ["close_code", "state"],
//!   "record": { "number": "INC0010001", "state": "6", "sys_updated_by": "admin", … },
//!   "journal": null | {
//!     "element": "comments" | "work_notes",
//!     "value": "text",
//!     "sys_created_on": "2026-03-01 10:00:00",
//!     "sys_created_by": "beth.anglin"
//!   }
//! }
//! ```
//!
//! `record` holds every field as a string (`comments` and `work_notes` empty);
//! `changed_fields` is sorted, names the fields the write changed (journal fields
//! included, the `sys_updated_*`/`sys_mod_count` bookkeeping not); `journal` is the
//! latest entry the change added, if any. `sys_updated_by` tells who made the change
//! (the REST user, or [`ServiceNowSimConfig::operator`]), which is how a receiver
//! recognises its own writes.
//!
//! # Operator API
//!
//! [`ServiceNowSim::create_as_user`], [`ServiceNowSim::update_as_user`] and
//! [`ServiceNowSim::comment_as_user`] act as a person working in the tool.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use base64::Engine as _;
use deskgate_servicenow::query::EncodedQuery;
use deskgate_servicenow::wire::{self, ErrorEnvelope, Record};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};

use crate::faults::{self, Faults};

/// Where the outbound REST push goes.
#[derive(Clone, Debug)]
pub struct WebhookTarget {
    pub url: String,
    /// Sent verbatim as the `Authorization` header, e.g. `Bearer …`.
    pub authorization: String,
}

/// The simulated instance's configuration.
#[derive(Clone, Debug)]
pub struct ServiceNowSimConfig {
    /// The REST user (Basic, and the OAuth password grant).
    pub user: String,
    pub password: String,
    pub oauth_client_id: String,
    pub oauth_client_secret: String,
    /// `expires_in` of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// Who the operator API acts as (`sys_updated_by`, journal author).
    pub operator: String,
    pub webhook: Option<WebhookTarget>,
    /// Custom fields the incident table has besides the base ones.
    pub custom_fields: Vec<String>,
}

impl Default for ServiceNowSimConfig {
    fn default() -> Self {
        Self {
            user: "deskgate.integration".to_owned(),
            password: "integration-password".to_owned(),
            oauth_client_id: "3f2b5c1a9d8e4f7a8b6c5d4e3f2a1b0c".to_owned(),
            oauth_client_secret: "oauth-client-secret".to_owned(),
            token_lifetime_secs: 1799,
            operator: "beth.anglin".to_owned(),
            webhook: None,
            custom_fields: vec!["u_deskgate_links".to_owned()],
        }
    }
}

/// A refusal in ServiceNow's shape, from the REST API or the operator API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError {
    pub status: u16,
    pub envelope: ErrorEnvelope,
}

impl SimError {
    fn new(status: u16, message: &str, detail: Option<String>) -> Self {
        Self { status, envelope: ErrorEnvelope::new(message, detail) }
    }

    fn not_found() -> Self {
        Self::new(404, "No Record found", Some("Record doesn't exist or ACL restricts the record retrieval".to_owned()))
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.envelope)
    }
}

impl std::error::Error for SimError {}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.envelope)).into_response()
    }
}

/// One journal entry (`sys_journal_field`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// The record's sys_id.
    pub element_id: String,
    /// `comments` or `work_notes`.
    pub element: String,
    pub value: String,
    pub sys_created_on: String,
    pub sys_created_by: String,
}

/// A write request the instance received, for snapshots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The JSON body, or the raw text when it was not JSON.
    pub body: Value,
}

/// One outbound REST push and how the receiver answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Push {
    pub payload: Value,
    pub status: Option<u16>,
    pub error: Option<String>,
}

struct Token {
    user: String,
    expires_at: Timestamp,
}

#[derive(Default)]
struct Inner {
    records: Vec<Record>,
    journal: Vec<JournalEntry>,
    requests: Vec<RecordedRequest>,
    tokens: HashMap<String, Token>,
    refresh_tokens: HashMap<String, String>,
    next_number: u64,
    clock_offset: SignedDuration,
    pushes: Vec<Push>,
}

struct Shared {
    config: ServiceNowSimConfig,
    inner: Mutex<Inner>,
    push_tx: Option<mpsc::UnboundedSender<Value>>,
    pushes_queued: AtomicU64,
    pushes_done: AtomicU64,
    pushes_notify: Notify,
}

/// A running simulated instance on `127.0.0.1`. Dropping it stops the server.
pub struct ServiceNowSim {
    shared: Arc<Shared>,
    faults: Faults,
    router: Router,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ServiceNowSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

const TABLE: &str = "incident";

/// Base incident fields with their values on a new record (`None`: computed).
const BASE_FIELDS: &[(&str, &str)] = &[
    ("active", "true"),
    ("activity_due", ""),
    ("approval", "not requested"),
    ("assigned_to", ""),
    ("assignment_group", ""),
    ("business_service", ""),
    ("caller_id", ""),
    ("category", "inquiry"),
    ("close_code", ""),
    ("close_notes", ""),
    ("closed_at", ""),
    ("closed_by", ""),
    ("cmdb_ci", ""),
    ("comments", ""),
    ("company", ""),
    ("contact_type", ""),
    ("correlation_display", ""),
    ("correlation_id", ""),
    ("description", ""),
    ("escalation", "0"),
    ("hold_reason", ""),
    ("impact", "3"),
    ("incident_state", "1"),
    ("parent_incident", ""),
    ("priority", "5"),
    ("problem_id", ""),
    ("reassignment_count", "0"),
    ("reopen_count", "0"),
    ("resolved_at", ""),
    ("resolved_by", ""),
    ("rfc", ""),
    ("severity", "3"),
    ("short_description", ""),
    ("state", "1"),
    ("subcategory", ""),
    ("sys_class_name", "incident"),
    ("urgency", "3"),
    ("work_notes", ""),
];

/// Reference fields and the table they point to.
const REFERENCES: &[(&str, &str)] = &[
    ("assigned_to", "sys_user"),
    ("assignment_group", "sys_user_group"),
    ("business_service", "cmdb_ci_service"),
    ("caller_id", "sys_user"),
    ("closed_by", "sys_user"),
    ("cmdb_ci", "cmdb_ci"),
    ("company", "core_company"),
    ("opened_by", "sys_user"),
    ("parent_incident", "incident"),
    ("problem_id", "problem"),
    ("resolved_by", "sys_user"),
    ("rfc", "change_request"),
];

/// The base system's `close_code` choices.
const CLOSE_CODES: &[&str] = &[
    "Duplicate",
    "Known error",
    "No resolution provided",
    "Resolved by caller",
    "Resolved by change",
    "Resolved by problem",
    "Resolved by request",
    "Solution provided",
    "Workaround provided",
    "User error",
];

const JOURNAL_FIELDS: [&str; 2] = ["comments", "work_notes"];

fn choice_label(field: &str, value: &str) -> Option<&'static str> {
    Some(match (field, value) {
        ("state" | "incident_state", v) => return wire::state::label(v),
        ("impact" | "urgency", "1") => "1 - High",
        ("impact" | "urgency", "2") => "2 - Medium",
        ("impact" | "urgency", "3") => "3 - Low",
        ("priority", "1") => "1 - Critical",
        ("priority", "2") => "2 - High",
        ("priority", "3") => "3 - Moderate",
        ("priority", "4") => "4 - Low",
        ("priority", "5") => "5 - Planning",
        ("hold_reason", "1") => "Awaiting Caller",
        ("hold_reason", "3") => "Awaiting Problem",
        ("hold_reason", "4") => "Awaiting Vendor",
        ("hold_reason", "5") => "Awaiting Change",
        _ => return None,
    })
}

fn wire_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(o) => o.get("value").map(wire_string).unwrap_or_default(),
        other => other.to_string(),
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock can only come from a bug here; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(inner: &Inner) -> String {
        wire::format_date(Timestamp::now() + inner.clock_offset)
    }

    fn has_field(&self, field: &str) -> bool {
        BASE_FIELDS.iter().any(|(f, _)| *f == field)
            || matches!(field, "number" | "opened_at" | "opened_by")
            || self.config.custom_fields.iter().any(|f| f == field)
    }

    fn insert(&self, user: &str, body: &Map<String, Value>) -> Result<Record, SimError> {
        let mut inner = self.lock();
        let now = Self::now(&inner);
        let mut record: Record = BASE_FIELDS.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        for field in &self.config.custom_fields {
            record.insert(field.clone(), String::new());
        }
        let sys_id = body
            .get("sys_id")
            .map(wire_string)
            .filter(|id| wire::is_sys_id(id) && !inner.records.iter().any(|r| r["sys_id"] == *id))
            .unwrap_or_else(|| wire::SysId::generate().to_string());
        inner.next_number = inner.next_number.max(10000) + 1;
        let number = body
            .get("number")
            .map(wire_string)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| wire::format_number("INC", inner.next_number));
        for (k, v) in [
            ("sys_id", sys_id),
            ("number", number),
            ("opened_at", now.clone()),
            ("opened_by", user.to_owned()),
            ("sys_created_on", now.clone()),
            ("sys_created_by", user.to_owned()),
            ("sys_updated_on", now.clone()),
            ("sys_updated_by", user.to_owned()),
            ("sys_mod_count", "0".to_owned()),
        ] {
            record.insert(k.to_owned(), v);
        }
        let before = Record::new();
        let journal = self.apply(&mut record, body, user, &now, true)?;
        let changed = changed_fields(&before, &record, &journal);
        inner.journal.extend(journal.iter().cloned());
        inner.records.push(record.clone());
        drop(inner);
        self.push("insert", &record, changed, journal.last());
        Ok(record)
    }

    fn update(&self, user: &str, sys_id: &str, body: &Map<String, Value>) -> Result<Record, SimError> {
        let mut inner = self.lock();
        let now = Self::now(&inner);
        let index = inner.records.iter().position(|r| r["sys_id"] == sys_id).ok_or_else(SimError::not_found)?;
        let before = inner.records[index].clone();
        let mut record = before.clone();
        let journal = self.apply(&mut record, body, user, &now, false)?;
        let changed = changed_fields(&before, &record, &journal);
        if changed.is_empty() {
            return Ok(before);
        }
        let count = record.get("sys_mod_count").and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
        record.insert("sys_mod_count".to_owned(), (count + 1).to_string());
        record.insert("sys_updated_on".to_owned(), now);
        record.insert("sys_updated_by".to_owned(), user.to_owned());
        inner.records[index] = record.clone();
        inner.journal.extend(journal.iter().cloned());
        drop(inner);
        self.push("update", &record, changed, journal.last());
        Ok(record)
    }

    fn delete(&self, sys_id: &str) -> Result<(), SimError> {
        let mut inner = self.lock();
        let index = inner.records.iter().position(|r| r["sys_id"] == sys_id).ok_or_else(SimError::not_found)?;
        let record = inner.records.remove(index);
        drop(inner);
        self.push("delete", &record, Vec::new(), None);
        Ok(())
    }

    /// Apply a write to `record`: the field rules, state side effects and data policy.
    /// Returns the journal entries the write adds (not yet stored).
    fn apply(
        &self,
        record: &mut Record,
        body: &Map<String, Value>,
        user: &str,
        now: &str,
        insert: bool,
    ) -> Result<Vec<JournalEntry>, SimError> {
        let old_state = record.get("state").cloned().unwrap_or_default();
        let mut journal = Vec::new();
        for (field, value) in body {
            let value = wire_string(value);
            if JOURNAL_FIELDS.contains(&field.as_str()) {
                if !value.trim().is_empty() {
                    journal.push(JournalEntry {
                        element_id: record["sys_id"].clone(),
                        element: field.clone(),
                        value,
                        sys_created_on: now.to_owned(),
                        sys_created_by: user.to_owned(),
                    });
                }
                continue;
            }
            let writable = self.has_field(field)
                && !field.starts_with("sys_")
                && field != "priority"
                && (insert || field != "number")
                && !(insert && field == "opened_by");
            if writable {
                record.insert(field.clone(), value);
            }
        }
        let state = record.get("state").cloned().unwrap_or_default();
        record.insert("incident_state".to_owned(), state.clone());
        if let Ok(p) = wire::priority_of(record) {
            record.insert("priority".to_owned(), p.to_string());
        }
        if state != old_state {
            let set_if_empty = |record: &mut Record, field: &str, value: &str| {
                if record.get(field).is_none_or(|v| v.is_empty()) {
                    record.insert(field.to_owned(), value.to_owned());
                }
            };
            match state.as_str() {
                wire::state::RESOLVED => {
                    set_if_empty(record, "resolved_at", now);
                    set_if_empty(record, "resolved_by", user);
                }
                wire::state::CLOSED => {
                    set_if_empty(record, "resolved_at", now);
                    set_if_empty(record, "resolved_by", user);
                    set_if_empty(record, "closed_at", now);
                    set_if_empty(record, "closed_by", user);
                    record.insert("active".to_owned(), "false".to_owned());
                }
                wire::state::CANCELED => {
                    record.insert("active".to_owned(), "false".to_owned());
                }
                _ if old_state == wire::state::RESOLVED => {
                    // Reopened: the resolution no longer holds.
                    let n = record.get("reopen_count").and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
                    record.insert("reopen_count".to_owned(), (n + 1).to_string());
                    record.insert("resolved_at".to_owned(), String::new());
                    record.insert("resolved_by".to_owned(), String::new());
                    record.insert("active".to_owned(), "true".to_owned());
                }
                _ => {}
            }
        }
        if matches!(state.as_str(), wire::state::RESOLVED | wire::state::CLOSED) {
            let mut missing = Vec::new();
            let code = record.get("close_code").map(String::as_str).unwrap_or("");
            if !CLOSE_CODES.contains(&code) {
                missing.push("Resolution code");
            }
            if record.get("close_notes").is_none_or(|n| n.trim().is_empty()) {
                missing.push("Resolution notes");
            }
            if !missing.is_empty() {
                return Err(SimError::new(
                    403,
                    "Operation Failed",
                    Some(format!(
                        "Data Policy Exception: \n\tThe following fields are mandatory: {}",
                        missing.join(", ")
                    )),
                ));
            }
        }
        Ok(journal)
    }

    fn push(&self, operation: &str, record: &Record, changed: Vec<String>, journal: Option<&JournalEntry>) {
        let Some(tx) = &self.push_tx else { return };
        let payload = json!({
            "table": TABLE,
            "operation": operation,
            "sys_id": record.get("sys_id"),
            "number": record.get("number"),
            "changed_fields": changed,
            "record": record,
            "journal": journal.map(|j| json!({
                "element": j.element,
                "value": j.value,
                "sys_created_on": j.sys_created_on,
                "sys_created_by": j.sys_created_by,
            })),
        });
        self.pushes_queued.fetch_add(1, AtomicOrdering::SeqCst);
        if tx.send(payload).is_err() {
            self.pushes_done.fetch_add(1, AtomicOrdering::SeqCst);
        }
    }

    fn authenticate(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        if let Some(encoded) = value.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            return (user == self.config.user && password == self.config.password).then(|| user.to_owned());
        }
        let token = value.strip_prefix("Bearer ")?.trim();
        let inner = self.lock();
        let now = Timestamp::now() + inner.clock_offset;
        inner.tokens.get(token).filter(|t| t.expires_at > now).map(|t| t.user.clone())
    }
}

fn changed_fields(before: &Record, after: &Record, journal: &[JournalEntry]) -> Vec<String> {
    let mut changed: BTreeSet<String> =
        after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
    changed.extend(journal.iter().map(|j| j.element.clone()));
    changed.into_iter().collect()
}

/// The user a request was authenticated as.
#[derive(Clone)]
struct User(String);

async fn require_auth(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    match shared.authenticate(request.headers()) {
        Some(user) => {
            request.extensions_mut().insert(User(user));
            next.run(request).await
        }
        None => SimError::new(401, "User Not Authenticated", Some("Required to provide Auth information".to_owned()))
            .into_response(),
    }
}

/// Keep the body of every write the instance receives, for snapshots.
async fn record_writes(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if request.method() == Method::GET {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return SimError::new(400, "Exception while reading request", Some("Rejected large REST payload".to_owned()))
            .into_response();
    };
    let recorded_body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    shared.lock().requests.push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body: recorded_body,
    });
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

fn check_table(table: &str) -> Result<(), SimError> {
    if table == TABLE { Ok(()) } else { Err(SimError::new(400, &format!("Invalid table {table}"), None)) }
}

fn parse_body(bytes: &Bytes) -> Result<Map<String, Value>, SimError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SimError::new(
            400,
            "Exception while reading request",
            Some("The payload is not valid JSON.".to_owned()),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DisplayMode {
    Value,
    Display,
    All,
}

struct Render<'a> {
    mode: DisplayMode,
    links: bool,
    fields: Option<Vec<String>>,
    base: String,
    journal: &'a [JournalEntry],
}

impl Render<'_> {
    fn from_params<'j>(
        params: &HashMap<String, String>,
        headers: &HeaderMap,
        journal: &'j [JournalEntry],
    ) -> Render<'j> {
        let mode = match params.get("sysparm_display_value").map(String::as_str) {
            Some("true") => DisplayMode::Display,
            Some("all") => DisplayMode::All,
            _ => DisplayMode::Value,
        };
        let links = params.get("sysparm_exclude_reference_link").is_none_or(|v| v != "true");
        let fields = params
            .get("sysparm_fields")
            .filter(|f| !f.trim().is_empty())
            .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect());
        Render { mode, links, fields, base: base_of(headers), journal }
    }

    fn record(&self, record: &Record) -> Value {
        let mut out = Map::new();
        let names: Vec<&str> = match &self.fields {
            Some(fields) => fields.iter().map(String::as_str).collect(),
            None => record.keys().map(String::as_str).collect(),
        };
        for name in names {
            let Some(value) = record.get(name) else {
                continue;
            };
            out.insert(name.to_owned(), self.field(record, name, value));
        }
        Value::Object(out)
    }

    fn field(&self, record: &Record, name: &str, value: &str) -> Value {
        let display = if JOURNAL_FIELDS.contains(&name) {
            self.rendered_journal(&record["sys_id"], name)
        } else {
            choice_label(name, value).map(str::to_owned).unwrap_or_else(|| value.to_owned())
        };
        let link = REFERENCES
            .iter()
            .find(|(f, _)| *f == name)
            .filter(|_| self.links && !value.is_empty())
            .map(|(_, table)| format!("{}/api/now/table/{table}/{value}", self.base));
        match (self.mode, link) {
            (DisplayMode::Value, None) => Value::String(value.to_owned()),
            (DisplayMode::Value, Some(link)) => json!({"link": link, "value": value}),
            (DisplayMode::Display, None) => Value::String(display),
            (DisplayMode::Display, Some(link)) => json!({"link": link, "display_value": display}),
            (DisplayMode::All, None) => json!({"display_value": display, "value": value}),
            (DisplayMode::All, Some(link)) => {
                json!({"display_value": display, "link": link, "value": value})
            }
        }
    }

    fn rendered_journal(&self, sys_id: &str, element: &str) -> String {
        let label = if element == "comments" { "Additional comments" } else { "Work notes" };
        self.journal
            .iter()
            .rev()
            .filter(|j| j.element_id == sys_id && j.element == element)
            .map(|j| format!("{} - {} ({label})\n{}\n\n", j.sys_created_on, j.sys_created_by, j.value))
            .collect()
    }
}

fn base_of(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Path(table): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let query = EncodedQuery::parse(params.get("sysparm_query").map(String::as_str).unwrap_or(""))
        .map_err(|e| SimError::new(400, "Invalid query", Some(e.to_string())))?;
    let limit = params.get("sysparm_limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0).unwrap_or(10_000);
    let offset = params.get("sysparm_offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
    let inner = shared.lock();
    let mut matching: Vec<&Record> =
        inner.records.iter().filter(|r| query.matches(|f| r.get(f).map(String::as_str))).collect();
    // A stable sort keeps insertion order among equal keys, like a table scan.
    matching.sort_by(|a, b| query.compare(|f| a.get(f).map(String::as_str), |f| b.get(f).map(String::as_str)));
    let total = matching.len();
    let render = Render::from_params(&params, &headers, &inner.journal);
    let page: Vec<Value> = matching.iter().skip(offset).take(limit).map(|r| render.record(r)).collect();
    let link = link_header(&render.base, &uri, &params, offset, limit, total);
    drop(inner);
    let mut response = Json(json!({ "result": page })).into_response();
    let h = response.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    if let Ok(v) = HeaderValue::from_str(&link) {
        h.insert(header::LINK, v);
    }
    Ok(response)
}

fn link_header(
    base: &str,
    uri: &Uri,
    params: &HashMap<String, String>,
    offset: usize,
    limit: usize,
    total: usize,
) -> String {
    let at = |rel: &str, offset: usize| {
        let mut pairs: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| *k != "sysparm_offset" && *k != "sysparm_limit")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("sysparm_limit".to_owned(), limit.to_string()));
        pairs.push(("sysparm_offset".to_owned(), offset.to_string()));
        let url = reqwest::Url::parse_with_params(&format!("{base}{}", uri.path()), &pairs)
            .map(|u| u.to_string())
            .unwrap_or_default();
        format!("<{url}>;rel=\"{rel}\"")
    };
    let last = if total == 0 { 0 } else { (total - 1) / limit * limit };
    let mut links = vec![at("first", 0)];
    if offset > 0 {
        links.push(at("prev", offset.saturating_sub(limit)));
    }
    if offset + limit < total {
        links.push(at("next", offset + limit));
    }
    links.push(at("last", last));
    links.join(",")
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(table): Path<String>,
    Extension(User(user)): Extension<User>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let body = parse_body(&body)?;
    let record = shared.insert(&user, &body)?;
    let inner = shared.lock();
    let render = Render::from_params(&params, &headers, &inner.journal);
    let location = format!("{}/api/now/table/{TABLE}/{}", render.base, record["sys_id"]);
    let result = render.record(&record);
    drop(inner);
    let mut response = (StatusCode::CREATED, Json(json!({ "result": result }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path((table, sys_id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let inner = shared.lock();
    let record = inner.records.iter().find(|r| r["sys_id"] == sys_id).ok_or_else(SimError::not_found)?;
    let render = Render::from_params(&params, &headers, &inner.journal);
    Ok(Json(json!({ "result": render.record(record) })).into_response())
}

async fn modify(
    State(shared): State<Arc<Shared>>,
    Path((table, sys_id)): Path<(String, String)>,
    Extension(User(user)): Extension<User>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let body = parse_body(&body)?;
    let record = shared.update(&user, &sys_id, &body)?;
    let inner = shared.lock();
    let render = Render::from_params(&params, &headers, &inner.journal);
    Ok(Json(json!({ "result": render.record(&record) })).into_response())
}

async fn remove(
    State(shared): State<Arc<Shared>>,
    Path((table, sys_id)): Path<(String, String)>,
) -> Result<StatusCode, SimError> {
    check_table(&table)?;
    shared.delete(&sys_id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn oauth_token(State(shared): State<Arc<Shared>>, Form(form): Form<HashMap<String, String>>) -> Response {
    let denied = || {
        (StatusCode::UNAUTHORIZED, Json(json!({"error_description": "access_denied", "error": "server_error"})))
            .into_response()
    };
    let config = &shared.config;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("client_id") != config.oauth_client_id || field("client_secret") != config.oauth_client_secret {
        return denied();
    }
    let (user, refresh) = match field("grant_type") {
        "password" => {
            if field("username") != config.user || field("password") != config.password {
                return denied();
            }
            (config.user.clone(), Some(random_token()))
        }
        "client_credentials" => (config.user.clone(), None),
        "refresh_token" => {
            let given = field("refresh_token");
            match shared.lock().refresh_tokens.get(given) {
                Some(user) => (user.clone(), Some(given.to_owned())),
                None => return denied(),
            }
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error_description": "unsupported grant_type", "error": "invalid_request"})),
            )
                .into_response();
        }
    };
    let access = random_token();
    let lifetime = config.token_lifetime_secs;
    let mut inner = shared.lock();
    let expires_at = Timestamp::now() + inner.clock_offset + SignedDuration::from_secs(lifetime as i64);
    inner.tokens.insert(access.clone(), Token { user: user.clone(), expires_at });
    let mut answer = json!({
        "access_token": access,
        "scope": "useraccount",
        "token_type": "Bearer",
        "expires_in": lifetime,
    });
    if let Some(refresh) = refresh {
        inner.refresh_tokens.insert(refresh.clone(), user);
        answer["refresh_token"] = Value::String(refresh);
    }
    Json(answer).into_response()
}

fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

async fn deliver_pushes(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Value>) {
    let Some(target) = shared.config.webhook.clone() else {
        return;
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(_) => return,
    };
    while let Some(payload) = rx.recv().await {
        let result = client
            .post(&target.url)
            .header(header::AUTHORIZATION.as_str(), &target.authorization)
            .json(&payload)
            .send()
            .await;
        let push = match result {
            Ok(r) => Push { payload, status: Some(r.status().as_u16()), error: None },
            Err(e) => Push { payload, status: None, error: Some(e.to_string()) },
        };
        shared.lock().pushes.push(push);
        shared.pushes_done.fetch_add(1, AtomicOrdering::SeqCst);
        shared.pushes_notify.notify_waiters();
    }
}

fn pairs_to_body(fields: &[(&str, &str)]) -> Map<String, Value> {
    fields.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect()
}

impl ServiceNowSim {
    /// Start an instance on `127.0.0.1:0`.
    pub async fn spawn(config: ServiceNowSimConfig) -> std::io::Result<ServiceNowSim> {
        let (push_tx, push_rx) = match config.webhook {
            Some(_) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            config,
            inner: Mutex::new(Inner::default()),
            push_tx,
            pushes_queued: AtomicU64::new(0),
            pushes_done: AtomicU64::new(0),
            pushes_notify: Notify::new(),
        });
        if let Some(rx) = push_rx {
            tokio::spawn(deliver_pushes(shared.clone(), rx));
        }
        let faults = Faults::new();
        let table = Router::new()
            .route("/api/now/table/{table}", get(list).post(create))
            .route("/api/now/table/{table}/{sys_id}", get(read).patch(modify).put(modify).delete(remove))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), record_writes))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), require_auth));
        let router = Router::new()
            .merge(table)
            .route("/oauth_token.do", post(oauth_token))
            .with_state(shared.clone())
            .merge(faults::control_routes().with_state(faults.clone()))
            .layer(axum::middleware::from_fn_with_state(faults.clone(), faults::apply));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = router.clone();
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "servicenow simulator stopped");
            }
        });
        Ok(ServiceNowSim { shared, faults, router, addr, server })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> &ServiceNowSimConfig {
        &self.shared.config
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The instance's routes, sharing this instance's state, to mount elsewhere.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Every record, in creation order.
    pub fn records(&self) -> Vec<Record> {
        self.shared.lock().records.clone()
    }

    pub fn record(&self, sys_id: &str) -> Option<Record> {
        self.shared.lock().records.iter().find(|r| r["sys_id"] == sys_id).cloned()
    }

    /// The record with this `number` (`INC0010001`).
    pub fn record_by_number(&self, number: &str) -> Option<Record> {
        self.shared.lock().records.iter().find(|r| r["number"] == number).cloned()
    }

    /// The journal of one record, oldest first.
    pub fn journal(&self, sys_id: &str) -> Vec<JournalEntry> {
        self.shared.lock().journal.iter().filter(|j| j.element_id == sys_id).cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.shared.lock().records.len()
    }

    /// Write requests (POST, PATCH, PUT, DELETE) received on the Table API, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Outbound pushes delivered so far (or failed), in order.
    pub fn pushes(&self) -> Vec<Push> {
        self.shared.lock().pushes.clone()
    }

    /// Wait until every push queued so far has been delivered or has failed.
    pub async fn pushes_settled(&self) {
        loop {
            let notified = self.shared.pushes_notify.notified();
            let queued = self.shared.pushes_queued.load(AtomicOrdering::SeqCst);
            if self.shared.pushes_done.load(AtomicOrdering::SeqCst) >= queued {
                return;
            }
            notified.await;
        }
    }

    /// Move the instance's clock forward: later records get later timestamps and
    /// access tokens may expire. Nothing sleeps.
    pub fn advance_clock(&self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        let mut inner = self.shared.lock();
        inner.clock_offset = inner.clock_offset.saturating_add(by);
    }

    /// Invalidate every access token issued so far (refresh tokens stay valid).
    pub fn revoke_access_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Invalidate every refresh token issued so far.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.lock().refresh_tokens.clear();
    }

    /// Create a record as [`ServiceNowSimConfig::operator`] working in the tool.
    pub fn create_as_user(&self, fields: &[(&str, &str)]) -> Result<Record, SimError> {
        self.shared.insert(&self.shared.config.operator, &pairs_to_body(fields))
    }

    /// Change fields as the operator; the same rules as the REST API apply.
    pub fn update_as_user(&self, sys_id: &str, fields: &[(&str, &str)]) -> Result<Record, SimError> {
        self.shared.update(&self.shared.config.operator, sys_id, &pairs_to_body(fields))
    }

    /// Add an additional comment (`public`) or a work note as the operator.
    pub fn comment_as_user(&self, sys_id: &str, text: &str, public: bool) -> Result<Record, SimError> {
        let field = if public { "comments" } else { "work_notes" };
        self.update_as_user(sys_id, &[(field, text)])
    }
}
