//! The `incident` table: its fields, the write rules and the resolve data policy.
//!
//! # Behaviour, as the real instance behaves
//!
//! - Every value is a string; numbers and booleans sent are stored as strings.
//! - Fields the table does not have are ignored silently (configure extra `u_` fields
//!   with [`ServiceNowSimConfig::custom_fields`](super::ServiceNowSimConfig::custom_fields)); `sys_*` fields and `priority` are not
//!   writable: priority is computed as `min(5, impact + urgency − 1)`.
//! - Setting `state` 6 (Resolved) or 7 (Closed) without a valid `close_code` and a
//!   `close_notes` is refused with 403 `{"error": {"message": "Operation Failed",
//!   "detail": "Data Policy Exception: \n\tThe following fields are mandatory: …"}}`.
//!   A `close_code` not in the choice list counts as missing, as in ServiceNow.
//! - `comments` and `work_notes` are write-only: writing them adds a journal entry
//!   ([`ServiceNowSim::journal`](super::ServiceNowSim::journal)); reads return `""` (or the rendered journal with
//!   `sysparm_display_value=true|all`).
//! - A write that changes nothing does not touch `sys_updated_on`/`sys_mod_count` and
//!   fires no business rule.
//! - Unknown sys_id → 404 `No Record found`; bad JSON → 400 `Exception while reading
//!   request`; missing or wrong credentials → 401 `User Not Authenticated`. Unlike a
//!   real instance, an invalid encoded query is refused with 400 rather than ignored,
//!   so that a client bug shows up in tests.

use std::collections::BTreeSet;

use deskgate_servicenow::wire::{self, Record};
use serde_json::{Map, Value};

use super::{JournalEntry, Shared, SimError};

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
pub(super) const REFERENCES: &[(&str, &str)] = &[
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

pub(super) const JOURNAL_FIELDS: [&str; 2] = ["comments", "work_notes"];

fn wire_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(o) => o.get("value").map(wire_string).unwrap_or_default(),
        other => other.to_string(),
    }
}

impl Shared {
    fn now(&self) -> String {
        wire::format_date(self.clock.now())
    }

    fn has_field(&self, field: &str) -> bool {
        BASE_FIELDS.iter().any(|(f, _)| *f == field)
            || matches!(field, "number" | "opened_at" | "opened_by")
            || self.config.custom_fields.iter().any(|f| f == field)
    }

    pub(super) fn insert(&self, user: &str, body: &Map<String, Value>) -> Result<Record, SimError> {
        let mut inner = self.lock();
        let now = self.now();
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

    pub(super) fn update(&self, user: &str, sys_id: &str, body: &Map<String, Value>) -> Result<Record, SimError> {
        let mut inner = self.lock();
        let now = self.now();
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

    pub(super) fn delete(&self, sys_id: &str) -> Result<(), SimError> {
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
}

fn changed_fields(before: &Record, after: &Record, journal: &[JournalEntry]) -> Vec<String> {
    let mut changed: BTreeSet<String> =
        after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
    changed.extend(journal.iter().map(|j| j.element.clone()));
    changed.into_iter().collect()
}
