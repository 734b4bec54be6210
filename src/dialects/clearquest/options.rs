//! A ClearQuest desk's options: `clearquest = { repo, db, record_type, …, poll_ms }`.
//! Plain configuration data, read with the rest of a desk by `crate::config`.

use serde::Deserialize;

use crate::dialects::options::{DeskFields, DeskOptions, OptionProblem};
use crate::model::DialectId;

/// How deskgate talks to a ClearQuest OSLC server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearQuestOptions {
    pub repo: String,
    pub db: String,
    /// Record type (default `Defect`) and its type dbid (default `16777224`).
    pub record_type: Option<String>,
    pub record_type_dbid: Option<String>,
    /// The field holding deskgate's incident id (default `cq:deskgate_Incident`).
    pub correlation_field: Option<String>,
    pub timeout_secs: Option<u64>,
    /// The longest wait between polls, in milliseconds (default 30000): an idle desk
    /// is polled this often.
    pub poll_ms: Option<u64>,
    /// The shortest wait between polls, in milliseconds (default 1000, at most
    /// `poll_ms`): used while changes flow or deliveries to the desk are under way.
    pub poll_min_ms: Option<u64>,
    /// The property change capture queries by and reads modification times from
    /// (default `cq:history{cq:action_timestamp}`: ClearQuest's default OSLC mappings
    /// have no `dcterms:modified`, the history has the times).
    pub modified_field: Option<String>,
    /// The field a new note is written to (default `cq:Note_Entry`); ClearQuest
    /// appends it to the read-only `cq:Notes_Log`.
    pub note_entry_field: Option<String>,
    /// The longest multi-line value the server keeps, in characters (ClearQuest's
    /// `max.multiline.text.length`, default 2000); longer notes are split.
    pub max_note_chars: Option<usize>,
    /// The field that carries the priority (default `cq:Priority`).
    pub priority_field: Option<String>,
    /// On the national desk: the field in which its people name the incident a record
    /// is a further report of (step 3), e.g. `ParentIncident`: a deskgate incident id or
    /// another record's ClearQuest id makes the record's incident a support request of
    /// that one. Unset: support requests are made through the API only.
    pub support_request_parent_field: Option<String>,
    /// The date-time field that shows until when a report is deferred (the next
    /// working day 08:00 local, process step 3), emptied when the deferral ends;
    /// without it a note on the record says so.
    pub deferred_until_field: Option<String>,
    /// A TOML file with a `[schema]` section (states, actions, required fields) for a
    /// record type that differs from the shipped one in `mappings/clearquest.toml`.
    pub schema: Option<std::path::PathBuf>,
}

/// The shortest poll interval deskgate accepts, in milliseconds.
pub const POLL_FLOOR_MS: u64 = 50;

impl ClearQuestOptions {
    /// The poll interval's bounds (`poll_min_ms`, `poll_ms`) with their defaults; a
    /// `poll_ms` under the default minimum lowers the minimum to it.
    pub fn poll_bounds(&self) -> (std::time::Duration, std::time::Duration) {
        let max = self.poll_ms.unwrap_or(30_000).max(POLL_FLOOR_MS);
        let min = self.poll_min_ms.unwrap_or(1_000).clamp(POLL_FLOOR_MS, max);
        (std::time::Duration::from_millis(min), std::time::Duration::from_millis(max))
    }

    /// [`Self::support_request_parent_field`] as records name it (`cq:ParentIncident`).
    pub fn parent_field(&self) -> Option<String> {
        let f = self.support_request_parent_field.as_deref()?;
        Some(if f.contains(':') { f.to_owned() } else { format!("cq:{f}") })
    }

    /// The desk's own workflow file (`schema`), read and checked, when it names one.
    pub fn schema_file(&self) -> Option<Result<deskgate_clearquest::Schema, String>> {
        let path = self.schema.as_ref()?;
        Some(std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display())).and_then(
            |text| deskgate_clearquest::Schema::from_toml(&text).map_err(|e| format!("{}: {e}", path.display())),
        ))
    }
}

impl DeskOptions for ClearQuestOptions {
    const SYSTEM: DialectId = DialectId::Clearquest;

    fn check(&self, path: &str, _desk: &DeskFields<'_>, problems: &mut Vec<OptionProblem>) {
        for (key, value) in [
            ("modified_field", &self.modified_field),
            ("note_entry_field", &self.note_entry_field),
            ("priority_field", &self.priority_field),
            ("correlation_field", &self.correlation_field),
            ("support_request_parent_field", &self.support_request_parent_field),
            ("deferred_until_field", &self.deferred_until_field),
        ] {
            let Some(value) = value else { continue };
            let name = if value.contains(':') { value.clone() } else { format!("cq:{value}") };
            let checked = if key == "modified_field" {
                deskgate_clearquest::oslc::check_property(&name)
            } else {
                deskgate_clearquest::oslc::check_name(&name).map(|_| ())
            };
            if let Err(e) = checked {
                problems.push((
                    format!("{path}.clearquest.{key}"),
                    format!("expected a field name such as cq:Severity: {e}"),
                ));
            }
        }
        if self.max_note_chars.is_some_and(|n| n < 200) {
            problems.push((
                format!("{path}.clearquest.max_note_chars"),
                "expected at least 200 (ClearQuest's max.multiline.text.length, 2000 by default)".into(),
            ));
        }
        for (key, value) in [("poll_ms", self.poll_ms), ("poll_min_ms", self.poll_min_ms)] {
            if value.is_some_and(|ms| ms < POLL_FLOOR_MS) {
                problems.push((format!("{path}.clearquest.{key}"), format!("expected at least {POLL_FLOOR_MS}")));
            }
        }
        if let Some(min) = self.poll_min_ms {
            let max = self.poll_ms.unwrap_or(30_000);
            if min > max {
                problems.push((
                    format!("{path}.clearquest.poll_min_ms"),
                    format!("expected at most poll_ms ({max}): the shortest wait between polls"),
                ));
            }
        }
        if let Some(Err(e)) = self.schema_file() {
            problems.push((format!("{path}.clearquest.schema"), e));
        }
    }

    fn check_desk(options: Option<&Self>, path: &str, desk: &DeskFields<'_>, problems: &mut Vec<OptionProblem>) {
        if desk.endpoint_given && options.is_none() {
            problems.push((
                format!("{path}.clearquest"),
                "a ClearQuest desk deskgate calls needs clearquest = { repo = \"…\", db = \"…\" }".into(),
            ));
        }
        // The adapter builds `{endpoint}/cqweb/oslc/…`: an endpoint that already ends in
        // `/cqweb` would send every call to `/cqweb/cqweb/oslc/…`.
        if let Some(e) = desk.endpoint {
            if e.path().trim_end_matches('/').ends_with("/cqweb") {
                let base = e.as_str().trim_end_matches('/').trim_end_matches("/cqweb");
                problems.push((
                    format!("{path}.endpoint"),
                    format!(
                        "give the ClearQuest server's base URL without /cqweb (deskgate adds /cqweb/oslc/…): {base}"
                    ),
                ));
            }
        }
    }
}
