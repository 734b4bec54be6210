//! Changes made at a remote desk, coming back in: a Jira webhook, a ServiceNow push,
//! a ClearQuest poll. Each is read through the desk's mapping into a canonical
//! [`Change`] made *by that desk*, so the model's rules (who may change what, the
//! status workflow, the close guard) apply exactly as for the native API.
//!
//! Echo suppression (DESIGN §8): a value the remote reports that deskgate itself
//! wrote there last ([`Written`]) is not a change, nor is one deskgate is writing
//! there right now — a webhook about a write can arrive before the answer to that
//! write, i.e. before [`Written`] records it, so the desk's deliveries still in the
//! outbox count as written ([`read_with_outbox`]). What the desk itself reported is
//! remembered the same way, so a poll re-reading a record that was edited elsewhere
//! does not replay its old values. A journal entry carrying deskgate's marker is
//! deskgate's own note coming back. A field or note with a patient identifier is
//! taken out of the report before it is read ([`without_patient_data`]).

use deskgate_adapter::{RemoteNote, TicketFields};

use crate::config::Config;
use crate::mapping::{DeskMapping, MappingError};
use crate::model::{Change, DeskId, Incident, ModelError, Priority, Role, Status, Text, Written, patient_data};
use crate::outbox::Action;

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
    /// What the desk's copy holds now, as it reported: remembered on the ref so a
    /// later report of the same values (a poll after an unrelated edit) is no news.
    pub reported: Written,
}

impl Reading {
    pub fn is_empty(&self) -> bool {
        self.change.is_empty() && self.notes.is_empty()
    }
}

/// `update` without the fields and notes that carry a patient identifier, and one
/// [`ModelError::PatientData`] for each of those (it names the field, never the
/// value). Every value a desk reports is read, whether or not deskgate uses it.
pub fn without_patient_data(update: &RemoteUpdate) -> (RemoteUpdate, Vec<ModelError>) {
    let mut refused = Vec::new();
    let mut keep = |field: &'static str, value: &Option<String>| match value {
        Some(v) => match patient_data::check(field, v) {
            Ok(()) => Some(v.clone()),
            Err(e) => {
                refused.push(e);
                None
            }
        },
        None => None,
    };
    let f = &update.fields;
    let mut fields = TicketFields {
        title: keep("title", &f.title),
        description: keep("description", &f.description),
        status: keep("status", &f.status),
        priority: keep("priority", &f.priority),
        assignee: keep("assignee", &f.assignee),
        extra: Default::default(),
    };
    for (name, value) in &f.extra {
        // Field names are the desk's own; the known ones are named, the rest by kind.
        let field = EXTRA_FIELDS.iter().find(|known| **known == name.as_str()).copied().unwrap_or("a custom field");
        if let Some(v) = keep(field, &Some(value.clone())) {
            fields.extra.insert(name.clone(), v);
        }
    }
    let notes = update.notes.iter().filter(|n| keep("note", &Some(n.body.clone())).is_some()).cloned().collect();
    (RemoteUpdate { fields, notes }, refused)
}

/// The extra fields the inbound paths read, by name (ServiceNow's push, Jira's
/// configured fields are `a custom field`).
const EXTRA_FIELDS: &[&str] = &["hold_reason", "impact", "urgency", "close_code", "close_notes", "severity"];

/// Read `update` from `desk` against the incident as it stands.
pub fn read(
    config: &Config,
    mapping: &DeskMapping,
    incident: &Incident,
    desk: &DeskId,
    update: &RemoteUpdate,
) -> Result<Reading, MappingError> {
    read_with_outbox(config, mapping, incident, desk, update, &[], None)
}

/// [`read`], with `outbox`: the actions for `desk` about this incident that are
/// queued or under way. A status or priority one of them writes is an echo too. A
/// report read (at `read_at`) before the desk answered deskgate's latest status or
/// priority write there may show the values that write replaced: its status and
/// priority are not news, and are not remembered as what the copy holds.
pub fn read_with_outbox(
    config: &Config,
    mapping: &DeskMapping,
    incident: &Incident,
    desk: &DeskId,
    update: &RemoteUpdate,
    outbox: &[Action],
    read_at: Option<jiff::Timestamp>,
) -> Result<Reading, MappingError> {
    let written = incident.ref_for(desk).map(|r| r.written.clone()).unwrap_or_default();
    let read_before_write = written.is_newer_than(read_at);
    // Compared in the desk's own vocabulary: several canonical statuses may share one
    // remote status (assigned and new are both Jira's "Open").
    let same_remote = |s: Status| {
        mapping.status_fields(s, None, false).fields().is_some_and(|f| {
            f.status.is_some()
                && f.status == update.fields.status
                && f.extra.iter().all(|(k, v)| update.fields.extra.get(k) == Some(v))
        })
    };
    let writing_status = |s: Status| {
        outbox.iter().any(|a| matches!(a, Action::Status { status, .. } if *status == s || same_remote(*status)))
    };
    let writing_priority =
        |p: Priority| outbox.iter().any(|a| matches!(a, Action::Priority { priority } if *priority == p));
    let role = config.desk(desk).map(|d| d.role);
    let mut reading = Reading::default();

    let status = mapping.inbound_status(&update.fields)?;
    let priority = mapping.inbound_priority(&update.fields)?;
    if read_before_write {
        reading.echoes.extend(status.map(|s| format!("status {s} (read before deskgate's latest write)")));
        reading.echoes.extend(priority.map(|p| format!("priority {p} (read before deskgate's latest write)")));
    }
    let (status, priority) = if read_before_write { (None, None) } else { (status, priority) };
    reading.reported = Written { status, priority, at: None };
    if let Some(status) = status {
        if written.status.is_some_and(|w| w == status || same_remote(w)) || writing_status(status) {
            reading.echoes.push(format!("status {status}"));
        } else if status != incident.status {
            reading.change.status = Some(status);
        }
    }
    if let Some(priority) = priority {
        if written.priority == Some(priority) || writing_priority(priority) {
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
        // Patient data was taken out before ([`without_patient_data`], parked for the
        // national desk); a note that is otherwise not text (control characters, bidi
        // overrides) is dropped, never stored.
        if let Ok(text) = Text::parse("note", &note.body) {
            reading.notes.push((text, note.public));
        }
    }
    // Local desks do not set status or priority nationally: their own ticket is theirs
    // (they close it themselves, step 16); only their notes travel.
    // The one exception: the reporter reopening, where the process profile lets it (the
    // model refuses it after close, with the reason).
    if role == Some(Role::Local) {
        let reopen = reading.change.status.filter(|s| super::profile::is_reporter_reopen(incident, *s));
        reading.change = Change { status: reopen, ..Change::default() };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_notes_with_patient_data_are_taken_out_and_named() {
        let note = |body: &str| RemoteNote { body: body.into(), public: true, author: None, at: None };
        let mut fields = TicketFields {
            title: Some("FMK nede".into()),
            description: Some("cpr=0102031047".into()),
            status: Some("Resolved".into()),
            ..TicketFields::default()
        };
        fields.extra.insert("close_notes".into(), "NISS 85.07.30-033.28".into());
        fields.extra.insert("customfield_10050".into(), "@0102031047".into());
        fields.extra.insert("impact".into(), "2".into());
        let update = RemoteUpdate { fields, notes: vec![note("ring 0102031047, tak"), note("logget ind igen")] };
        let (clean, refused) = without_patient_data(&update);
        assert_eq!(clean.fields.title.as_deref(), Some("FMK nede"));
        assert_eq!(clean.fields.status.as_deref(), Some("Resolved"));
        assert_eq!(clean.fields.description, None);
        assert_eq!(clean.fields.extra.keys().collect::<Vec<_>>(), ["impact"]);
        assert_eq!(clean.notes, vec![note("logget ind igen")]);
        let named: Vec<_> = refused.iter().filter_map(ModelError::field).collect();
        assert_eq!(named, ["description", "close_notes", "a custom field", "note"]);
        assert!(refused.iter().all(|e| !e.to_string().contains("0102031047")));
    }
}
