//! One mapping file: reading it, checking it, applying per-desk overrides and
//! proving every desk's result complete.
//!
//! The file is read as a TOML table and then section by section, row by row, so that
//! one bad row does not hide the next: every problem is collected with its key path.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::desk::{DeskMapping, InRow, OutRow, RESOLUTION_PLACEHOLDER, Tables, When, priority_index, status_index};
use super::{MappingProblem, MappingSource};
use crate::model::{DeskId, Priority, Status};

// ---------------------------------------------------------------------------
// Rows as written
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginRaw {
    close_as_note: Option<bool>,
    close_note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolutionRaw {
    default_notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusOutRaw {
    status: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    note: Option<String>,
    label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInRaw {
    status: String,
    assignee: Option<bool>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    canonical: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityOutRaw {
    priority: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityInRaw {
    priority: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    canonical: String,
}

/// Sections a file (and each `[desks.<id>]`) may hold.
const PART_KEYS: [&str; 4] = ["origin", "resolution", "status", "priority"];
const TABLE_KEYS: [&str; 2] = ["outbound", "inbound"];

/// [`super::TicketFields`] members that rows name by their own key; `fields` holds the rest.
const NAMED_FIELDS: [&str; 5] = ["status", "priority", "assignee", "title", "description"];

/// The rows and settings of the base tables or of one desk's overrides, as read;
/// missing settings are `None` so overrides can leave them alone.
#[derive(Clone, Debug, Default)]
struct Draft {
    status_out: BTreeMap<Status, OutRow>,
    status_in: Vec<InRow<Status>>,
    priority_out: BTreeMap<Priority, OutRow>,
    priority_in: Vec<InRow<Priority>>,
    close_as_note: Option<bool>,
    close_note: Option<String>,
    default_notes: Option<String>,
    /// Canonical names of outbound and inbound rows already reported as malformed, so
    /// that the gaps they leave are not reported a second time.
    broken_out: BTreeSet<String>,
    broken_in: BTreeSet<String>,
}

/// Collects problems for one file.
struct Report<'a> {
    file: &'a str,
    problems: Vec<MappingProblem>,
}

impl Report<'_> {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(MappingProblem { file: self.file.to_owned(), key: key.into(), message: message.into() });
    }
}

/// Read, check and apply one system's file for the configured `desks`: the mapping of
/// every desk of `system`, or the problems found.
pub(super) fn compile(
    file: &str,
    text: &str,
    system: &'static MappingSource,
    desks: &[(DeskId, &'static MappingSource)],
) -> (BTreeMap<DeskId, DeskMapping>, Vec<MappingProblem>) {
    let mut report = Report { file, problems: Vec::new() };
    let table = match toml::from_str::<toml::Table>(text) {
        Ok(t) => t,
        Err(e) => {
            let key = e.span().map(|s| line_column(text, s.start)).unwrap_or_default();
            report.add(key, first_line(e.message()));
            return (BTreeMap::new(), report.problems);
        }
    };

    for key in table.keys() {
        // `schema` is a dialect's own section (ClearQuest's workflow), read by its adapter.
        if !PART_KEYS.contains(&key.as_str()) && key != "desks" && key != "schema" && key != "profiles" {
            report.add(key.clone(), unknown_key(key, &["origin", "resolution", "status", "priority", "desks"]));
        }
    }
    let base = read_part(&table, "", &mut report);
    let base_gaps = gaps(&base);
    for (key, message) in &base_gaps {
        report.add(key.clone(), message.clone());
    }

    let mut overrides: BTreeMap<&str, Draft> = BTreeMap::new();
    match table.get("desks") {
        None => {}
        Some(toml::Value::Table(per_desk)) => {
            for (id, value) in per_desk {
                let prefix = format!("desks.{id}");
                let Some(part) = value.as_table() else {
                    report.add(prefix, "expected a table of overrides");
                    continue;
                };
                for key in part.keys() {
                    if !PART_KEYS.contains(&key.as_str()) {
                        report.add(format!("{prefix}.{key}"), unknown_key(key, &PART_KEYS));
                    }
                }
                let draft = read_part(part, &prefix, &mut report);
                match desks.iter().find(|(d, _)| d.as_str() == id) {
                    None => report.add(prefix, format!("desk {id} is not configured")),
                    Some((_, other)) if *other != system => report.add(
                        prefix,
                        format!("desk {id} uses {other}, not {system}; its overrides belong in {}", other.file_name()),
                    ),
                    Some(_) => {
                        let merged = apply(&base, draft);
                        // Gaps the base already has were reported once, at their key.
                        for (key, message) in gaps(&merged).into_iter().filter(|g| !base_gaps.contains(g)) {
                            // Table gaps concern the desk's whole result; a missing setting has its own key.
                            let at_table = key.ends_with(".inbound") || key.ends_with(".outbound");
                            report.add(if at_table { prefix.clone() } else { format!("{prefix}.{key}") }, message);
                        }
                        overrides.insert(id.as_str(), merged);
                    }
                }
            }
        }
        Some(_) => report.add("desks", "expected a table: [desks.<desk id>…]"),
    }

    let mut built = BTreeMap::new();
    if report.problems.is_empty() {
        for (desk, _) in desks.iter().filter(|(_, s)| *s == system) {
            let draft = overrides.get(desk.as_str()).unwrap_or(&base);
            match complete(draft) {
                Some(tables) => {
                    built.insert(desk.clone(), DeskMapping::new(desk.clone(), system, tables));
                }
                None => report.add(format!("desks.{desk}"), "incomplete mapping"),
            }
        }
    }
    (built, report.problems)
}

/// Read the sections of the base (`prefix` empty) or of one desk's overrides.
fn read_part(table: &toml::Table, prefix: &str, report: &mut Report<'_>) -> Draft {
    let at = |key: &str| if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
    let mut draft = Draft::default();

    if let Some(value) = table.get("origin") {
        if let Some(origin) = typed::<OriginRaw>(value, &at("origin"), report) {
            draft.close_as_note = origin.close_as_note;
            draft.close_note = origin.close_note;
        }
    }
    if let Some(value) = table.get("resolution") {
        if let Some(resolution) = typed::<ResolutionRaw>(value, &at("resolution"), report) {
            draft.default_notes = resolution.default_notes;
        }
    }
    if let Some(status) = section(table, &at("status"), report) {
        let key = at("status.outbound");
        outbound(status, &key, "status", &mut draft.broken_out, report, |key, canonical, row: StatusOutRaw, report| {
            if row.status.trim().is_empty() {
                report.add(format!("{key}.status"), "must name the remote status");
            }
            check_fields(&row.fields, &key, report);
            for (k, v) in &row.fields {
                check_placeholders(v, &format!("{key}.fields.{k}"), true, report);
            }
            if let Some(note) = &row.note {
                check_placeholders(note, &format!("{key}.note"), true, report);
            }
            let out = OutRow { value: Some(row.status), fields: row.fields, note: row.note, label: row.label };
            draft.status_out.insert(canonical, out);
        });
        let key = at("status.inbound");
        inbound(status, &key, &mut draft.broken_in, report, |key, row: StatusInRaw, _, report| {
            if row.status.trim().is_empty() {
                report.add(format!("{key}.status"), "must name the remote status");
            }
            check_fields(&row.fields, &key, report);
            let canonical = canonical::<Status>(&row.canonical, &format!("{key}.canonical"), "status", report);
            if let Some(canonical) = canonical {
                let when = When { value: Some(row.status), assignee: row.assignee, fields: row.fields };
                draft.status_in.push(InRow { when, canonical, key });
            }
        });
        check_shadowed(&draft.status_in, report);
    }
    if let Some(priority) = section(table, &at("priority"), report) {
        let key = at("priority.outbound");
        outbound(
            priority,
            &key,
            "priority",
            &mut draft.broken_out,
            report,
            |key, canonical, row: PriorityOutRaw, report| {
                if row.priority.as_deref().is_none_or(|p| p.trim().is_empty()) && row.fields.is_empty() {
                    report.add(key.clone(), "sets nothing: give `priority` or `fields`");
                }
                check_fields(&row.fields, &key, report);
                for (k, v) in &row.fields {
                    check_placeholders(v, &format!("{key}.fields.{k}"), false, report);
                }
                let out = OutRow { value: row.priority, fields: row.fields, note: None, label: row.label };
                draft.priority_out.insert(canonical, out);
            },
        );
        let key = at("priority.inbound");
        inbound(priority, &key, &mut draft.broken_in, report, |key, row: PriorityInRaw, broken, report| {
            if row.priority.is_none() && row.fields.is_empty() {
                // It would match every ticket and hide every row behind it.
                report.add(key.clone(), "has no condition: give `priority` or `fields`");
                broken.insert(row.canonical);
                return;
            }
            check_fields(&row.fields, &key, report);
            let canonical = canonical::<Priority>(&row.canonical, &format!("{key}.canonical"), "priority", report);
            if let Some(canonical) = canonical {
                let when = When { value: row.priority, assignee: None, fields: row.fields };
                draft.priority_in.push(InRow { when, canonical, key });
            }
        });
        check_shadowed(&draft.priority_in, report);
    }
    draft
}

/// Each outbound row of a `status` or `priority` section that reads, to `each`
/// with its key, canonical value and row, in the file's order; a row that does not
/// read is reported and marked `broken` (its gap is not reported again).
fn outbound<'r, C: FromStr, R: DeserializeOwned>(
    section: &toml::Table,
    key: &str,
    what: &str,
    broken: &mut BTreeSet<String>,
    report: &mut Report<'r>,
    mut each: impl FnMut(String, C, R, &mut Report<'r>),
) {
    for (name, value) in rows_by_name(section, key, report) {
        let key = format!("{key}.{name}");
        let canonical = canonical::<C>(name, &key, what, report);
        let row = typed::<R>(value, &key, report);
        if row.is_none() {
            broken.insert(name.clone());
        }
        if let (Some(canonical), Some(row)) = (canonical, row) {
            each(key, canonical, row, report);
        }
    }
}

/// Each inbound row of a `status` or `priority` section that reads, to `each` with
/// its key and row, in the file's order (the first that matches a ticket wins); a
/// row that does not read is reported and its canonical value marked `broken`
/// (its gap is not reported again), as `each` may mark one.
fn inbound<'r, R: DeserializeOwned>(
    section: &toml::Table,
    key: &str,
    broken: &mut BTreeSet<String>,
    report: &mut Report<'r>,
    mut each: impl FnMut(String, R, &mut BTreeSet<String>, &mut Report<'r>),
) {
    for (i, value) in rows_in_order(section, key, report) {
        let key = format!("{key}[{i}]");
        match typed::<R>(value, &key, report) {
            Some(row) => each(key, row, broken, report),
            None => broken.extend(raw_canonical(value)),
        }
    }
}

fn raw_canonical(row: &toml::Value) -> Option<String> {
    row.get("canonical").and_then(toml::Value::as_str).map(str::to_owned)
}

/// `status` or `priority`: a table with `outbound` and `inbound`.
fn section<'t>(table: &'t toml::Table, key: &str, report: &mut Report<'_>) -> Option<&'t toml::Table> {
    let name = key.rsplit('.').next().unwrap_or(key);
    let value = table.get(name)?;
    let Some(section) = value.as_table() else {
        report.add(key, "expected a table with `outbound` and `inbound`");
        return None;
    };
    for k in section.keys() {
        if !TABLE_KEYS.contains(&k.as_str()) {
            report.add(format!("{key}.{k}"), unknown_key(k, &TABLE_KEYS));
        }
    }
    Some(section)
}

fn rows_by_name<'t>(
    section: &'t toml::Table,
    key: &str,
    report: &mut Report<'_>,
) -> Vec<(&'t String, &'t toml::Value)> {
    match section.get("outbound") {
        None => Vec::new(),
        Some(toml::Value::Table(rows)) => rows.iter().collect(),
        Some(_) => {
            report.add(key, "expected a table: one row per canonical value");
            Vec::new()
        }
    }
}

fn rows_in_order<'t>(section: &'t toml::Table, key: &str, report: &mut Report<'_>) -> Vec<(usize, &'t toml::Value)> {
    match section.get("inbound") {
        None => Vec::new(),
        Some(toml::Value::Array(rows)) => rows.iter().enumerate().collect(),
        Some(_) => {
            report.add(key, "expected a list of rows, tried in order");
            Vec::new()
        }
    }
}

fn typed<T: DeserializeOwned>(value: &toml::Value, key: &str, report: &mut Report<'_>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value.clone()) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let key = if inner == "." || inner.is_empty() { key.to_owned() } else { format!("{key}.{inner}") };
            report.add(key, first_line(&e.into_inner().to_string()));
            None
        }
    }
}

fn canonical<T: FromStr>(name: &str, key: &str, what: &str, report: &mut Report<'_>) -> Option<T> {
    match name.parse::<T>() {
        Ok(v) => Some(v),
        Err(_) => {
            let expected = match what {
                "status" => Status::ALL.map(Status::as_str).join(", "),
                _ => Priority::ALL.map(Priority::as_str).join(", "),
            };
            report.add(key, format!("unknown canonical {what} `{name}`; expected one of {expected}"));
            None
        }
    }
}

fn check_fields(fields: &BTreeMap<String, String>, key: &str, report: &mut Report<'_>) {
    for name in fields.keys() {
        if name.trim().is_empty() {
            report.add(format!("{key}.fields"), "a field name is empty");
        } else if NAMED_FIELDS.contains(&name.as_str()) {
            report.add(
                format!("{key}.fields.{name}"),
                format!("`{name}` has its own key in a row; `fields` holds the remote's other fields"),
            );
        }
    }
}

/// Only `{resolution}` is replaced, and only in status rows; `{process_priority}` only
/// in priority rows.
fn check_placeholders(value: &str, key: &str, resolution_allowed: bool, report: &mut Report<'_>) {
    let mut rest = value;
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let end = after.find('}').map_or(after.len(), |e| e + 1);
        let placeholder = &after[..end];
        if placeholder == super::desk::PROCESS_PRIORITY_PLACEHOLDER && !resolution_allowed {
            // The process profile's priority name, in a priority row.
        } else if placeholder != RESOLUTION_PLACEHOLDER {
            report.add(key, format!("unknown placeholder `{placeholder}`; only {RESOLUTION_PLACEHOLDER} is replaced"));
        } else if !resolution_allowed {
            report.add(key, format!("{RESOLUTION_PLACEHOLDER} is only replaced in status rows"));
        }
        rest = &after[end..];
    }
}

/// A row behind one that matches everything it matches can never match: as written,
/// that is a mistake.
fn check_shadowed<T>(rows: &[InRow<T>], report: &mut Report<'_>) {
    for (i, row) in rows.iter().enumerate() {
        if let Some(first) = rows[..i].iter().find(|earlier| earlier.when.covers(&row.when)) {
            report.add(row.key.clone(), format!("never matches: {} matches every ticket it would", first.key));
        }
    }
}

/// The base with one desk's overrides applied. Outbound rows replace the row of the
/// same canonical value. An inbound row with the same conditions as a base row
/// replaces that row's canonical value in place; other inbound rows go before the
/// base rows, in the order written, so they win.
fn apply(base: &Draft, over: Draft) -> Draft {
    let mut out = base.clone();
    out.status_out.extend(over.status_out);
    out.priority_out.extend(over.priority_out);
    out.status_in = merge_inbound(&base.status_in, over.status_in);
    out.priority_in = merge_inbound(&base.priority_in, over.priority_in);
    out.close_as_note = over.close_as_note.or(base.close_as_note);
    out.close_note = over.close_note.or_else(|| base.close_note.clone());
    out.default_notes = over.default_notes.or_else(|| base.default_notes.clone());
    out.broken_out.extend(over.broken_out);
    out.broken_in.extend(over.broken_in);
    out
}

fn merge_inbound<T: Clone>(base: &[InRow<T>], over: Vec<InRow<T>>) -> Vec<InRow<T>> {
    let mut kept = base.to_vec();
    let mut first = Vec::new();
    for row in over {
        match kept.iter_mut().find(|b| b.when.same_as(&row.when)) {
            Some(existing) => *existing = row,
            None => first.push(row),
        }
    }
    first.extend(kept);
    first
}

/// What keeps `draft` from being a complete mapping, as (key, message) pairs:
/// canonical values without an outbound row, canonical values no reachable inbound
/// row yields, and missing settings.
fn gaps(draft: &Draft) -> Vec<(String, String)> {
    let mut gaps = Vec::new();
    for status in Status::ALL {
        if !draft.status_out.contains_key(&status) && !draft.broken_out.contains(status.as_str()) {
            gaps.push(("status.outbound".to_owned(), format!("no outbound row for status {status}")));
        }
    }
    for priority in Priority::ALL {
        if !draft.priority_out.contains_key(&priority) && !draft.broken_out.contains(priority.as_str()) {
            gaps.push(("priority.outbound".to_owned(), format!("no outbound row for priority {priority}")));
        }
    }
    unreachable(&draft.status_in, &Status::ALL, &draft.broken_in, "status.inbound", &mut gaps);
    unreachable(&draft.priority_in, &Priority::ALL, &draft.broken_in, "priority.inbound", &mut gaps);
    match draft.close_as_note {
        None => gaps.push(("origin.close_as_note".to_owned(), "missing: true or false".to_owned())),
        Some(true) if draft.close_note.as_deref().is_none_or(|n| n.trim().is_empty()) => gaps.push((
            "origin.close_note".to_owned(),
            "missing: the note the originating desk gets instead of a close".to_owned(),
        )),
        Some(_) => {}
    }
    if draft.default_notes.as_deref().is_none_or(|n| n.trim().is_empty()) {
        gaps.push((
            "resolution.default_notes".to_owned(),
            "missing: the resolution notes sent when the resolving desk gave none".to_owned(),
        ));
    }
    gaps
}

fn unreachable<T: Copy + Eq + std::fmt::Display>(
    rows: &[InRow<T>],
    all: &[T],
    broken: &BTreeSet<String>,
    key: &str,
    gaps: &mut Vec<(String, String)>,
) {
    let live: Vec<bool> =
        rows.iter().enumerate().map(|(i, row)| !rows[..i].iter().any(|e| e.when.covers(&row.when))).collect();
    for value in all.iter().filter(|v| !broken.contains(&v.to_string())) {
        let yielding: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].canonical == *value).collect();
        if yielding.iter().any(|&i| live[i]) {
            continue;
        }
        let mut message = format!("no inbound row yields {value}");
        if let Some(&i) = yielding.first() {
            let shadow = rows[..i].iter().find(|e| e.when.covers(&rows[i].when)).map_or("", |e| e.key.as_str());
            message.push_str(&format!(" ({} is never reached: {shadow} comes first)", rows[i].key));
        }
        gaps.push((key.to_owned(), message));
    }
}

/// The tables of a draft without gaps.
fn complete(draft: &Draft) -> Option<Tables> {
    let status_out: Vec<OutRow> =
        Status::ALL.iter().map(|s| draft.status_out.get(s).cloned()).collect::<Option<_>>()?;
    let priority_out: Vec<OutRow> =
        Priority::ALL.iter().map(|p| draft.priority_out.get(p).cloned()).collect::<Option<_>>()?;
    debug_assert!(Status::ALL.iter().enumerate().all(|(i, s)| status_index(*s) == i));
    debug_assert!(Priority::ALL.iter().enumerate().all(|(i, p)| priority_index(*p) == i));
    let close_as_note = draft.close_as_note?;
    Some(Tables {
        status_out: status_out.try_into().ok()?,
        status_in: draft.status_in.clone(),
        priority_out: priority_out.try_into().ok()?,
        priority_in: draft.priority_in.clone(),
        close_as_note,
        close_note: draft.close_note.clone().unwrap_or_default(),
        default_notes: draft.default_notes.clone()?,
    })
}

fn unknown_key(key: &str, known: &[&str]) -> String {
    let known: BTreeSet<&str> = known.iter().copied().collect();
    let known: Vec<String> = known.into_iter().map(|k| format!("`{k}`")).collect();
    format!("unknown key `{key}`, expected one of {}", known.join(", "))
}

fn line_column(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

/// TOML errors end with a line repeating the key path, which the problem already names.
fn first_line(message: &str) -> String {
    message.trim().lines().next().unwrap_or_default().to_owned()
}
