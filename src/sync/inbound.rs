//! Changes made at a remote desk, coming back in: a Jira webhook, a ServiceNow push,
//! a ClearQuest poll. Each is read through the desk's mapping into a canonical
//! [`Change`] made *by that desk*, so the model's rules (who may change what, the
//! status workflow, the close guard) apply exactly as for the native API.
//!
//! Echo suppression (DESIGN §8): a value the remote reports that deskgate itself
//! wrote there last ([`Written`]) is not a change, and a journal entry carrying
//! deskgate's marker is deskgate's own note coming back.

use deskgate_adapter::{RemoteNote, TicketFields};

use crate::config::Config;
use crate::mapping::{DeskMapping, MappingError};
use crate::model::{Change, DeskId, Incident, Role, Status, Text};

/// The marker deskgate puts under every note it writes to a remote desk.
pub const NOTE_MARKER: &str = " via deskgate [";

/// What a remote desk reports about one of its tickets.
#[derive(Clone, Debug, Default)]
pub struct RemoteUpdate {
    /// Current (or changed) field values, in the remote's vocabulary.
    pub fields: TicketFields,
    /// Journal entries the change added.
    pub notes: Vec<RemoteNote>,
}

/// The canonical reading of a remote update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    pub change: Change,
    pub notes: Vec<(Text, bool)>,
    /// Parts that were deskgate's own writes coming back.
    pub echoes: Vec<String>,
}

impl Reading {
    pub fn is_empty(&self) -> bool {
        self.change.is_empty() && self.notes.is_empty()
    }
}

/// Read `update` from `desk` against the incident as it stands.
pub fn read(
    config: &Config,
    mapping: &DeskMapping,
    incident: &Incident,
    desk: &DeskId,
    update: &RemoteUpdate,
) -> Result<Reading, MappingError> {
    let written = incident.ref_for(desk).map(|r| r.written.clone()).unwrap_or_default();
    let role = config.desk(desk).map(|d| d.role);
    let mut reading = Reading::default();

    if let Some(status) = mapping.inbound_status(&update.fields)? {
        if written.status == Some(status) {
            reading.echoes.push(format!("status {status}"));
        } else if status != incident.status {
            reading.change.status = Some(status);
        }
    }
    if let Some(priority) = mapping.inbound_priority(&update.fields)? {
        if written.priority == Some(priority) {
            reading.echoes.push(format!("priority {priority}"));
        } else if Some(priority) != incident.priority {
            reading.change.priority = Some(priority);
        }
    }
    // The national desk assigning in its own tool: the supplier follows from the
    // service (the suppliers' `services`), as the question tree would assign it.
    if role == Some(Role::National)
        && incident.assignee.is_none()
        && matches!(reading.change.status, Some(Status::Assigned | Status::InProgress))
    {
        reading.change.assignee = supplier_for(config, incident.service.as_str());
    }
    for note in &update.notes {
        if note.body.contains(NOTE_MARKER) {
            reading.echoes.push("note".into());
            continue;
        }
        // A polled desk reports its whole journal every time: a note already on the
        // incident is not news.
        if incident.notes.iter().any(|n| n.body.as_str().trim() == note.body.trim()) {
            continue;
        }
        // Patient data typed into a remote tool is refused here too: the note is
        // dropped (and the caller is told), never stored.
        if let Ok(text) = Text::parse("note", &note.body) {
            reading.notes.push((text, note.public));
        }
    }
    // Local desks do not set status or priority nationally: their own ticket is theirs
    // (they close it themselves, step 16); only their notes travel.
    if role == Some(Role::Local) {
        reading.change = Change::default();
    }
    Ok(reading)
}

/// The supplier for a service: one that names it, else one that takes every service.
pub fn supplier_for(config: &Config, service: &str) -> Option<DeskId> {
    let suppliers: Vec<_> = config.desks.values().filter(|d| d.role == Role::Supplier).collect();
    suppliers
        .iter()
        .find(|d| d.services.iter().any(|s| s.eq_ignore_ascii_case(service)))
        .or_else(|| suppliers.iter().find(|d| d.services.iter().any(|s| s == "*")))
        .map(|d| d.id.clone())
}
