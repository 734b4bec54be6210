//! One desk's effective mapping (base rows plus its overrides) and the pure
//! translations the gateway calls with it.

use std::collections::BTreeMap;

use deskgate_adapter::TicketFields;

use super::{MappingError, MappingSource};
use crate::model::{DeskId, Incident, Priority, Status};

/// The placeholder replaced by the resolution notes in outbound values and notes.
pub(super) const RESOLUTION_PLACEHOLDER: &str = "{resolution}";
/// In an outbound priority field: the process profile's priority name (`P04`), empty
/// without one.
pub(super) const PROCESS_PRIORITY_PLACEHOLDER: &str = "{process_priority}";

/// What the desk that reported an incident is told when the national desk cancels it.
pub const CANCEL_NOTE: &str = "Cancelled by the National Service Desk: the incident will not be pursued nationally. Please close this ticket when you agree.";

/// What to send a desk for a status change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusOutbound {
    /// Update these fields (the status and whatever the remote needs with it).
    Fields(TicketFields),
    /// Update these fields and add this note with the change: the remote keeps
    /// resolution text in its journal rather than in a field.
    FieldsAndNote(TicketFields, String),
    /// Do not change the status; add this note. The desk that reported the incident
    /// closes its own ticket (DESIGN §3 step 11).
    Note(String),
}

impl StatusOutbound {
    /// The fields to update, if the status is to change.
    pub fn fields(&self) -> Option<&TicketFields> {
        match self {
            StatusOutbound::Fields(f) | StatusOutbound::FieldsAndNote(f, _) => Some(f),
            StatusOutbound::Note(_) => None,
        }
    }

    /// The note to add, if any.
    pub fn note(&self) -> Option<&str> {
        match self {
            StatusOutbound::FieldsAndNote(_, n) | StatusOutbound::Note(n) => Some(n),
            StatusOutbound::Fields(_) => None,
        }
    }
}

/// The conditions of an inbound row. `value` is the status (or priority) in the
/// remote's vocabulary; values compare trimmed and without regard to ASCII case
/// (Jira treats status names that way), and `""` matches an empty or absent field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct When {
    pub value: Option<String>,
    /// `Some(true)`: the ticket has an assignee; `Some(false)`: it has none.
    pub assignee: Option<bool>,
    /// Other remote fields by name, read from [`TicketFields::extra`].
    pub fields: BTreeMap<String, String>,
}

impl When {
    fn matches(&self, value: Option<&str>, ticket: &TicketFields) -> bool {
        self.value.as_deref().is_none_or(|want| same_value(want, value))
            && self.assignee.is_none_or(|want| want == present(ticket.assignee.as_deref()))
            && self.fields.iter().all(|(name, want)| same_value(want, ticket.extra.get(name).map(String::as_str)))
    }

    /// Whether every ticket `other` matches is matched by `self` too, so that `other`
    /// can never be reached behind `self`.
    pub fn covers(&self, other: &When) -> bool {
        let value = match (&self.value, &other.value) {
            (None, _) => true,
            (Some(a), Some(b)) => same_value(a, Some(b)),
            (Some(_), None) => false,
        };
        let assignee = self.assignee.is_none() || self.assignee == other.assignee;
        let fields = self.fields.iter().all(|(name, a)| other.fields.get(name).is_some_and(|b| same_value(a, Some(b))));
        value && assignee && fields
    }

    /// The same conditions, compared the way tickets are matched.
    pub fn same_as(&self, other: &When) -> bool {
        self.covers(other) && other.covers(self)
    }
}

fn present(v: Option<&str>) -> bool {
    v.is_some_and(|v| !v.trim().is_empty())
}

fn same_value(want: &str, got: Option<&str>) -> bool {
    let got = got.map(str::trim).unwrap_or("");
    let want = want.trim();
    if want.is_empty() { got.is_empty() } else { got.eq_ignore_ascii_case(want) }
}

/// An inbound row: when its conditions hold, the ticket has this canonical value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct InRow<T> {
    pub when: When,
    pub canonical: T,
    /// Where the row was written (`status.inbound[3]`), for messages.
    pub key: String,
}

/// An outbound row: the remote values that express one canonical value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct OutRow {
    pub value: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub note: Option<String>,
    pub label: Option<String>,
}

/// Complete tables: every canonical value has its outbound row (the arrays are in
/// [`Status::ALL`] / [`Priority::ALL`] order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Tables {
    pub status_out: [OutRow; 9],
    pub status_in: Vec<InRow<Status>>,
    pub priority_out: [OutRow; 4],
    pub priority_in: Vec<InRow<Priority>>,
    pub close_as_note: bool,
    pub close_note: String,
    pub default_notes: String,
}

/// The mapping of one configured desk: its system's base rows with its overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskMapping {
    desk: DeskId,
    system: &'static MappingSource,
    pub(super) tables: Tables,
    /// Every remote field an inbound priority row looks at besides `priority`.
    priority_keys: Vec<String>,
}

impl DeskMapping {
    pub(super) fn new(desk: DeskId, system: &'static MappingSource, tables: Tables) -> Self {
        let mut priority_keys: Vec<String> =
            tables.priority_in.iter().flat_map(|r| r.when.fields.keys().cloned()).collect();
        priority_keys.sort();
        priority_keys.dedup();
        Self { desk, system, tables, priority_keys }
    }

    pub fn desk(&self) -> &DeskId {
        &self.desk
    }

    pub fn system(&self) -> &'static MappingSource {
        self.system
    }

    /// The fields of a new remote ticket for `incident`: title, description, status
    /// and priority. When the status would be a note for this desk (the origin's
    /// `closed`), no status is set.
    pub fn create_fields(&self, incident: &Incident, as_origin: bool) -> TicketFields {
        let mut fields = TicketFields {
            title: Some(incident.title.as_str().to_owned()),
            description: Some(incident.description.as_str().to_owned()),
            ..TicketFields::default()
        };
        if let Some(status) = self.status_fields(incident.status, None, as_origin).fields() {
            merge(&mut fields, status.clone());
        }
        if let Some(priority) = incident.priority {
            merge(&mut fields, self.priority_fields_for(priority, incident));
        }
        fields
    }

    /// [`Self::priority_fields`] with `{process_priority}` filled in from `incident`.
    pub fn priority_fields_for(&self, priority: Priority, incident: &Incident) -> TicketFields {
        let mut fields = self.priority_fields(priority);
        let name = incident.process.as_ref().and_then(|p| p.priority.as_deref()).unwrap_or_default();
        for value in fields.extra.values_mut() {
            *value = value.replace(PROCESS_PRIORITY_PLACEHOLDER, name);
        }
        fields
    }

    /// What to send this desk when the incident's status becomes `status`.
    /// `resolution` is the resolution notes (used where the mapping says
    /// `{resolution}`, with the file's default when absent); `as_origin` is whether
    /// this desk reported the incident.
    pub fn status_fields(&self, status: Status, resolution: Option<&str>, as_origin: bool) -> StatusOutbound {
        let notes = resolution.map(str::trim).filter(|r| !r.is_empty()).unwrap_or(&self.tables.default_notes);
        if as_origin && status == Status::Closed && self.tables.close_as_note {
            return StatusOutbound::Note(render(&self.tables.close_note, notes));
        }
        // A cancel never ends the reporter's ticket (step 16): the desk closes its own.
        if as_origin && status == Status::Cancelled {
            return StatusOutbound::Note(CANCEL_NOTE.to_owned());
        }
        let row = &self.tables.status_out[status_index(status)];
        let fields = TicketFields {
            status: row.value.clone(),
            extra: row.fields.iter().map(|(k, v)| (k.clone(), render(v, notes))).collect(),
            ..TicketFields::default()
        };
        match &row.note {
            Some(note) => StatusOutbound::FieldsAndNote(fields, render(note, notes)),
            None => StatusOutbound::Fields(fields),
        }
    }

    /// The fields that set `priority` at this desk.
    pub fn priority_fields(&self, priority: Priority) -> TicketFields {
        let row = &self.tables.priority_out[priority_index(priority)];
        TicketFields { priority: row.value.clone(), extra: row.fields.clone(), ..TicketFields::default() }
    }

    /// The canonical status a remote ticket's fields express: `None` when they carry
    /// no status, an error naming the remote values when no row matches.
    pub fn inbound_status(&self, ticket: &TicketFields) -> Result<Option<Status>, MappingError> {
        let value = ticket.status.as_deref();
        if !present(value) {
            return Ok(None);
        }
        if let Some(row) = self.tables.status_in.iter().find(|r| r.when.matches(value, ticket)) {
            return Ok(Some(row.canonical));
        }
        let keys: Vec<&String> = self.tables.status_in.iter().flat_map(|r| r.when.fields.keys()).collect();
        Err(MappingError::UnmappedStatus {
            desk: self.desk.clone(),
            system: self.system,
            found: describe(self.system.status_field(), value, &keys, ticket),
        })
    }

    /// The canonical priority a remote ticket's fields express: `None` when they carry
    /// none of the fields the inbound rows look at, an error naming the remote values
    /// when no row matches.
    pub fn inbound_priority(&self, ticket: &TicketFields) -> Result<Option<Priority>, MappingError> {
        let value = ticket.priority.as_deref();
        let says_something =
            present(value) || self.priority_keys.iter().any(|k| present(ticket.extra.get(k).map(String::as_str)));
        if !says_something {
            return Ok(None);
        }
        if let Some(row) = self.tables.priority_in.iter().find(|r| r.when.matches(value, ticket)) {
            return Ok(Some(row.canonical));
        }
        let keys: Vec<&String> = self.priority_keys.iter().collect();
        Err(MappingError::UnmappedPriority {
            desk: self.desk.clone(),
            system: self.system,
            found: describe(self.system.priority_field(), value, &keys, ticket),
        })
    }

    /// How people at this desk name `status`, for messages: the row's label, or the
    /// remote status value.
    pub fn remote_status_name(&self, status: Status) -> String {
        let row = &self.tables.status_out[status_index(status)];
        row.label.clone().or_else(|| row.value.clone()).unwrap_or_else(|| status.as_str().to_owned())
    }
}

/// Position of `status` in [`Status::ALL`] (declaration order, checked by a test).
pub(super) fn status_index(status: Status) -> usize {
    status as usize
}

/// Position of `priority` in [`Priority::ALL`] (declaration order, checked by a test).
pub(super) fn priority_index(priority: Priority) -> usize {
    priority as usize
}

fn render(template: &str, resolution: &str) -> String {
    template.replace(RESOLUTION_PLACEHOLDER, resolution)
}

fn merge(into: &mut TicketFields, from: TicketFields) {
    let TicketFields { title, description, status, priority, assignee, extra } = from;
    for (slot, value) in [
        (&mut into.title, title),
        (&mut into.description, description),
        (&mut into.status, status),
        (&mut into.priority, priority),
        (&mut into.assignee, assignee),
    ] {
        if value.is_some() {
            *slot = value;
        }
    }
    into.extra.extend(extra);
}

/// `state "3", hold_reason "2"`: the remote values a failed match looked at.
fn describe(primary: &str, value: Option<&str>, keys: &[&String], ticket: &TicketFields) -> String {
    let mut parts = Vec::new();
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        parts.push(format!("{primary} {v:?}"));
    }
    let mut seen: Vec<&str> = Vec::new();
    for key in keys {
        if seen.contains(&key.as_str()) {
            continue;
        }
        seen.push(key);
        if let Some(v) = ticket.extra.get(key.as_str()).filter(|v| !v.trim().is_empty()) {
            parts.push(format!("{key} {v:?}"));
        }
    }
    if parts.is_empty() { format!("{primary} (none)") } else { parts.join(", ") }
}
