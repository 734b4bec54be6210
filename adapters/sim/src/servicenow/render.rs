//! How records are answered: `sysparm_display_value`, reference links, selected
//! fields, rendered journals, and the `Link` header of a list.

use std::collections::HashMap;

use axum::http::{HeaderMap, Uri};
use deskgate_servicenow::wire::{self, Record};
use serde_json::{Map, Value, json};

use super::JournalEntry;
use super::table::{JOURNAL_FIELDS, REFERENCES};

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum DisplayMode {
    Value,
    Display,
    All,
}

pub(super) struct Render<'a> {
    mode: DisplayMode,
    links: bool,
    fields: Option<Vec<String>>,
    pub(super) base: String,
    journal: &'a [JournalEntry],
}

impl Render<'_> {
    pub(super) fn from_params<'j>(
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

    pub(super) fn record(&self, record: &Record) -> Value {
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

pub(super) fn base_of(headers: &HeaderMap) -> String {
    crate::core::http::base_of(headers, "localhost")
}

pub(super) fn link_header(
    base: &str,
    uri: &Uri,
    params: &HashMap<String, String>,
    offset: usize,
    limit: usize,
    total: usize,
) -> String {
    let at = |offset: usize| {
        let mut pairs: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| *k != "sysparm_offset" && *k != "sysparm_limit")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("sysparm_limit".to_owned(), limit.to_string()));
        pairs.push(("sysparm_offset".to_owned(), offset.to_string()));
        reqwest::Url::parse_with_params(&format!("{base}{}", uri.path()), &pairs)
            .map(|u| u.to_string())
            .unwrap_or_default()
    };
    wire::page_links(total, limit, offset, at)
}
