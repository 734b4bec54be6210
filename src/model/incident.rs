//! The incident record and the rules for changing it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

mod copies;
pub mod report;
mod reported;
mod timers;

pub use copies::{Ref, RemoteVersion, Seen, Written};
pub use timers::Timer;

use self::report::{Report, ReportState};
use super::patient_data;
use super::{DeskId, DialectId, IncidentId, Level, ModelError, Priority, Service, Status, TicketId};

/// What kind of record this is (DESIGN §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Incident,
    /// A further report of a known incident; has a `parent`.
    SupportRequest,
    Problem,
    Rfc,
    /// A request for a service (information, access, a new project), not a
    /// disturbance; the national desk reclassifies between it and an incident.
    ServiceRequest,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Incident => "incident",
            Kind::SupportRequest => "support_request",
            Kind::Problem => "problem",
            Kind::Rfc => "rfc",
            Kind::ServiceRequest => "service_request",
        }
    }
}

/// The role a desk plays in the federation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Regions, municipalities, GP practices, pharmacies, portals: forward incidents up.
    Local,
    /// The national service desk: triages and assigns.
    National,
    /// Resolves incidents assigned to it and syncs status back.
    Supplier,
}

/// A short, one-sentence summary: required, at most 160 characters, no patient data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 160;

    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let t = s.trim();
        // Patient data first: whatever else is wrong, that is what the desk must hear.
        refuse_patient_data("title", t)?;
        if t.contains(['\n', '\r']) || !visible(t) || t.chars().count() > Self::MAX_CHARS {
            return Err(ModelError::invalid("title", "one sentence of 1 to 160 characters, without line breaks"));
        }
        if t.chars().any(|c| c.is_control() || patient_data::is_bidi_control(c)) {
            return Err(ModelError::invalid(
                "title",
                "one line of printable text, without control characters or bidirectional overrides",
            ));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Title {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Title> for String {
    fn from(t: Title) -> String {
        t.0
    }
}

/// Free text: required, at most 64 KiB, no patient data. Used for descriptions and notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Text(String);

impl Text {
    pub const MAX_BYTES: usize = 64 * 1024;

    pub fn parse(field: &'static str, s: &str) -> Result<Self, ModelError> {
        refuse_patient_data(field, s)?;
        if !visible(s) || s.len() > Self::MAX_BYTES {
            return Err(ModelError::invalid(field, "non-empty text of at most 64 KiB"));
        }
        // Refused rather than stripped: what the sender wrote is what every party
        // sees, and a bidi override makes text read differently from what it says.
        if s.chars().any(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || patient_data::is_bidi_control(c)) {
            return Err(ModelError::invalid(
                field,
                "text without control characters (other than tab and line breaks) or bidirectional overrides",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text {
    /// Stored text was checked when it came in; reading it back does not re-check.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Text)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}

fn refuse_patient_data(field: &'static str, text: &str) -> Result<(), ModelError> {
    patient_data::check(field, text)
}

/// Whether `s` shows anything: not empty once whitespace and invisible format
/// characters (zero-width spaces, joiners, BOM) are left out.
fn visible(s: &str) -> bool {
    s.chars().any(|c| !c.is_whitespace() && !patient_data::is_format(c))
}

/// What people at a desk call a ticket (`INC0010001`, `DRIFT-42`, `SAMPL00000042`):
/// 1 to 64 letters, digits and `-_.:/#`, no patient data. It is shown to every
/// party, so nothing that could be markup, a control character or invisible.
pub fn parse_display_id(field: &'static str, s: &str) -> Result<String, ModelError> {
    let t = s.trim();
    refuse_patient_data(field, t)?;
    let ok = !t.is_empty()
        && t.chars().count() <= 64
        && t.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '#'));
    if !ok {
        return Err(ModelError::invalid(
            field,
            "a ticket number like INC0010001 or DRIFT-42: 1 to 64 letters, digits and - _ . : / #",
        ));
    }
    Ok(t.to_owned())
}

/// A link to a ticket or record: an absolute `http` or `https` URL with a host, at
/// most 2048 characters, no patient data (queries and paths are read too).
pub fn parse_url(field: &'static str, s: &str) -> Result<String, ModelError> {
    let t = s.trim();
    refuse_patient_data(field, t)?;
    let invalid = || ModelError::invalid(field, "an absolute http(s) URL of at most 2048 characters");
    if t.len() > 2048 || t.chars().any(|c| c.is_whitespace() || c.is_control() || patient_data::is_format(c)) {
        return Err(invalid());
    }
    let url = url::Url::parse(t).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid());
    }
    Ok(t.to_owned())
}

/// Where an incident was first reported: the desk and its own ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub desk: DeskId,
    pub ticket: TicketId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Seen by every desk party to the incident, the reporter included.
    Public,
    /// Seen by the national desk, the assigned supplier and the author.
    Internal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub author_desk: DeskId,
    pub visibility: Visibility,
    pub body: Text,
    pub at: Timestamp,
}

/// What an SDS-Jira record linked to an incident is (process step 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Rfc,
    Problem,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Rfc => "rfc",
            LinkKind::Problem => "problem",
        }
    }

    /// How people call it: `RFC`, `problem`.
    pub fn label(self) -> &'static str {
        match self {
            LinkKind::Rfc => "RFC",
            LinkKind::Problem => "problem",
        }
    }
}

/// A requested link to an RFC or problem in SDS-Jira, already parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseLink {
    pub kind: LinkKind,
    /// The SDS-Jira issue key, e.g. `SDSJIRA-123`.
    pub key: String,
    pub url: Option<String>,
}

impl ReleaseLink {
    /// `key` must be a Jira issue key (`PROJECT-123`); `url`, when given, http(s).
    pub fn parse(kind: LinkKind, key: &str, url: Option<&str>) -> Result<Self, ModelError> {
        let key = key.trim();
        refuse_patient_data("rfc.key", key)?;
        let valid_key = key.split_once('-').is_some_and(|(project, number)| {
            project.len() <= 32
                && project.starts_with(|c: char| c.is_ascii_uppercase())
                && project.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !number.is_empty()
                && number.len() <= 12
                && number.chars().all(|c| c.is_ascii_digit())
        });
        if !valid_key {
            return Err(ModelError::invalid("rfc.key", "a Jira issue key like SDSJIRA-123"));
        }
        let url = url.map(str::trim).filter(|u| !u.is_empty()).map(|u| parse_url("rfc.url", u)).transpose()?;
        Ok(Self { kind, key: key.to_owned(), url })
    }
}

/// An RFC or problem in SDS-Jira the incident waits on; linked by the national desk
/// or the assigned supplier (process step 11).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExternalLink {
    pub kind: LinkKind,
    pub key: String,
    pub url: Option<String>,
    #[schema(value_type = String)]
    pub linked_by: DeskId,
    #[schema(value_type = String)]
    pub at: Timestamp,
}

/// One recorded change of status, priority, assignee or kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub actor: DeskId,
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The canonical incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub kind: Kind,
    pub title: Title,
    pub description: Text,
    pub service: Service,
    pub priority: Option<Priority>,
    pub urgency: Option<Level>,
    pub impact: Option<Level>,
    pub status: Status,
    pub origin: Origin,
    pub assignee: Option<DeskId>,
    pub refs: Vec<Ref>,
    pub notes: Vec<Note>,
    pub parent: Option<IncidentId>,
    /// The support requests referring to this incident (steps 3 and 15).
    #[serde(default, skip_serializing_if = "super::SupportRequests::is_empty")]
    pub support_requests: super::SupportRequests,
    pub links: Vec<IncidentId>,
    /// RFCs and problems in SDS-Jira this incident waits on (step 11).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<ExternalLink>,
    pub report: Option<Report>,
    pub history: Vec<HistoryEntry>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Bumped on every change; the basis of ETags and optimistic concurrency.
    pub version: u64,
    /// A P3/P4 report that arrived outside the national desk's staffed hours is
    /// taken up at this instant (the next working day 08:00); it is kept and
    /// forwarded as usual meanwhile, never dropped (DESIGN §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_until: Option<Timestamp>,
    /// The priority was classified from urgency × impact (step 3): a suggestion until set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub priority_classified: bool,
    /// Component suppliers the assigned supplier involved (step 6): parties, not assignees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub involved: Vec<DeskId>,
    /// Detected by the supplier in its own tool and not affecting users (step 18b):
    /// handled there only. The national desk sees it through the API; nothing is
    /// delivered to its tool.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supplier_only: bool,
    /// Files attached, oldest first (their content is in the store by hash).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<super::Attachment>,
    /// Disruption, security incident or fraud; calamity; the root-cause analysis owed.
    #[serde(default, skip_serializing_if = "super::Category::is_default")]
    pub category: super::Category,
    #[serde(default, skip_serializing_if = "super::Calamity::is_default")]
    pub calamity: super::Calamity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rca: Option<super::Rca>,
    /// The process profile's state (its priority name, hold reason, auto-close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<super::ProcessState>,
}

/// A new report from a local desk, already parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncident {
    pub kind: Kind,
    pub title: Title,
    pub description: Text,
    pub service: Service,
    pub priority: Option<Priority>,
    pub urgency: Option<Level>,
    pub impact: Option<Level>,
    pub origin: Origin,
    /// The origin desk's copy, recorded as the first cross-reference.
    pub origin_ref: Ref,
}

impl NewIncident {
    /// The incident as first stored. The priority, if the reporter gave none, follows
    /// from urgency and impact when both are known (DESIGN §5).
    pub fn into_incident(self, id: IncidentId, now: Timestamp) -> Incident {
        let priority = self.priority.or(match (self.impact, self.urgency) {
            (Some(i), Some(u)) => Some(Priority::from_impact_urgency(i, u)),
            _ => None,
        });
        Incident {
            id,
            kind: self.kind,
            title: self.title,
            description: self.description,
            service: self.service,
            priority_classified: self.priority.is_none() && priority.is_some(),
            priority,
            urgency: self.urgency,
            impact: self.impact,
            status: Status::New,
            origin: self.origin,
            assignee: None,
            refs: vec![self.origin_ref],
            notes: Vec::new(),
            parent: None,
            support_requests: Default::default(),
            links: Vec::new(),
            external_links: Vec::new(),
            report: None,
            history: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
            deferred_until: None,
            involved: Vec::new(),
            supplier_only: false,
            attachments: Vec::new(),
            category: super::Category::default(),
            calamity: super::Calamity::default(),
            rca: None,
            process: None,
        }
    }
}

/// The desk acting, as the rules need to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub desk: DeskId,
    pub role: Role,
}

/// A requested change to an incident. `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee: Option<DeskId>,
    pub kind: Option<Kind>,
    pub parent: Option<IncidentId>,
    /// A supplier (or the national desk) submits the P1/P2 incident report.
    pub report: Option<Text>,
    /// The national desk approves the submitted report.
    pub approve_report: bool,
    /// An RFC/problem in SDS-Jira the incident now waits on: linked, and the incident
    /// becomes `pending_release` unless `status` says otherwise (step 11).
    pub rfc: Option<ReleaseLink>,
    /// Category, calamity and root-cause analysis (`category`).
    pub classify: super::Classify,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        *self == Change::default()
    }
}

impl Incident {
    /// Whether `desk` is party to this incident and may see it: the origin, the
    /// national desk, and the assigned supplier (DESIGN §8).
    pub fn is_visible_to(&self, actor: &Actor) -> bool {
        actor.role == Role::National || self.has_party(&actor.desk)
    }

    /// Whether `desk` is party to this incident: it reported it, is assigned it or is
    /// involved in it (step 6).
    pub fn has_party(&self, desk: &DeskId) -> bool {
        &self.origin.desk == desk || self.assignee.as_ref() == Some(desk) || self.involved.contains(desk)
    }

    /// The cross-reference to `desk`'s copy, if it has one.
    pub fn ref_for(&self, desk: &DeskId) -> Option<&Ref> {
        self.refs.iter().find(|r| &r.desk == desk)
    }

    /// Whether a note is shown to `actor`.
    pub fn note_visible_to(note: &Note, actor: &Actor) -> bool {
        note.visibility == Visibility::Public || actor.role != Role::Local || note.author_desk == actor.desk
    }

    /// Apply `change` as `actor`, enforcing who may change what, the status workflow and
    /// the P1/P2 close guard. On error nothing is changed.
    ///
    /// - national desk: priority, status, assignee, kind/parent, report approval;
    /// - the assigned supplier: status (up to resolved: only the national desk closes
    ///   or cancels, step 15), priority, report;
    /// - local desks: nothing here (they add notes).
    pub fn apply(&mut self, actor: &Actor, change: &Change, now: Timestamp) -> Result<bool, ModelError> {
        self.check_permission(actor, change)?;
        let mut next = self.clone();
        let mut changed = false;
        let mut record = |next: &mut Incident, field: &str, from: Option<String>, to: Option<String>| {
            if from != to {
                next.history.push(HistoryEntry {
                    at: now,
                    actor: actor.desk.clone(),
                    field: field.to_owned(),
                    from,
                    to,
                });
                changed = true;
            }
        };
        if let Some(kind) = change.kind {
            let from = next.kind.as_str().to_owned();
            next.kind = kind;
            record(&mut next, "kind", Some(from), Some(kind.as_str().to_owned()));
        }
        if let Some(parent) = &change.parent {
            if parent == &next.id {
                return Err(ModelError::invalid("parent", "another incident's id"));
            }
            let from = next.parent.replace(parent.clone());
            record(&mut next, "parent", from.map(String::from), Some(parent.to_string()));
        }
        if next.kind == Kind::SupportRequest && next.parent.is_none() {
            return Err(ModelError::invalid("parent", "the incident this support request refers to"));
        }
        if let Some(priority) = change.priority {
            let from = next.priority.replace(priority);
            record(&mut next, "priority", from.map(|p| p.to_string()), Some(priority.to_string()));
        }
        if let Some(assignee) = &change.assignee {
            let from = next.assignee.replace(assignee.clone());
            record(&mut next, "assignee", from.map(String::from), Some(assignee.to_string()));
            if next.status == Status::New && change.status.is_none() {
                next.status = Status::Assigned;
                record(&mut next, "status", Some("new".into()), Some("assigned".into()));
            }
        }
        if let Some(text) = &change.report {
            next.report = Some(Report::submitted(text.clone(), actor.desk.clone()));
            record(&mut next, "report", None, Some("submitted".into()));
        }
        if change.approve_report {
            let Some(report) = next.report.as_mut() else {
                return Err(ModelError::Conflict("there is no incident report to approve yet".into()));
            };
            if report.state != ReportState::Approved {
                let from = report.approve_as(&actor.desk, now)?;
                record(&mut next, "report", Some(from.to_string()), Some("approved".into()));
            }
        }
        if let Some(link) = &change.rfc {
            if !next.external_links.iter().any(|l| l.key == link.key) {
                next.external_links.push(ExternalLink {
                    kind: link.kind,
                    key: link.key.clone(),
                    url: link.url.clone(),
                    linked_by: actor.desk.clone(),
                    at: now,
                });
                record(&mut next, link.kind.as_str(), None, Some(link.key.clone()));
            }
            if change.status.is_none() && next.status != Status::PendingRelease {
                let from = next.status;
                if !from.can_become(Status::PendingRelease) {
                    return Err(ModelError::IllegalTransition { from, to: Status::PendingRelease });
                }
                next.status = Status::PendingRelease;
                record(&mut next, "status", Some(from.to_string()), Some(Status::PendingRelease.to_string()));
            }
        }
        if let Some(to) = change.status {
            let from = next.status;
            if !from.can_become(to) {
                return Err(ModelError::IllegalTransition { from, to });
            }
            if to == Status::Closed && from != Status::Closed {
                next.close_guard()?;
            }
            next.status = to;
            record(&mut next, "status", Some(from.to_string()), Some(to.to_string()));
        }
        let changed = super::category::apply(&mut next, actor, &change.classify, now)? || changed;
        if changed {
            next.updated_at = now;
            next.version += 1;
            *self = next;
        }
        Ok(changed)
    }

    /// A P1/P2 incident closes only with an approved incident report (steps 12–15).
    pub fn close_guard(&self) -> Result<(), ModelError> {
        if !self.priority.is_some_and(Priority::is_major) {
            return Ok(());
        }
        match &self.report {
            Some(Report { state: ReportState::Approved, .. }) => Ok(()),
            Some(r) => Err(ModelError::Conflict(format!(
                "{} is {}: it cannot be closed until the national desk approves its incident report (it is {})",
                self.id,
                self.priority.map(Priority::as_str).unwrap_or_default(),
                r.state
            ))),
            None => Err(ModelError::Conflict(format!(
                "{} is {}: it cannot be closed until an incident report is attached and approved by the national desk",
                self.id,
                self.priority.map(Priority::as_str).unwrap_or_default()
            ))),
        }
    }

    /// Whether `change` by `actor` is a close or cancel the model refuses because
    /// only the national desk ends a national incident (step 15): the gateway parks
    /// it and tells the national desk rather than only refusing it.
    pub fn is_close_by_supplier(actor: &Actor, change: &Change) -> bool {
        actor.role == Role::Supplier && matches!(change.status, Some(Status::Closed | Status::Cancelled))
    }

    /// Why a supplier's close or cancel is refused (step 15): the supplier resolves.
    pub fn close_refusal(end: Status) -> String {
        let verb = if end == Status::Closed { "closes" } else { "cancels" };
        format!("status: only the national desk {verb} an incident; the assigned supplier sets it to resolved")
    }

    fn check_permission(&self, actor: &Actor, change: &Change) -> Result<(), ModelError> {
        match actor.role {
            // Steps 12a–13: the supplier writes the report; the national desk reviews it.
            Role::National if change.report.is_some() => Err(ModelError::Forbidden(report::NATIONAL_WRITES.into())),
            Role::National => Ok(()),
            Role::Supplier => {
                if self.assignee.as_ref() != Some(&actor.desk) {
                    return Err(ModelError::Forbidden(format!(
                        "{} is not assigned to {}",
                        self.id, actor.desk
                    )));
                }
                let national_only = [
                    (change.assignee.is_some(), "assignee"),
                    (change.kind.is_some(), "kind"),
                    (change.parent.is_some(), "parent"),
                    (change.approve_report, "approve_report"),
                    (change.classify.national_only().is_some(), change.classify.national_only().unwrap_or_default()),
                ];
                if let Some(end) = change.status.filter(|s| matches!(s, Status::Closed | Status::Cancelled)) {
                    return Err(ModelError::Forbidden(Incident::close_refusal(end)));
                }
                match national_only.iter().find(|(set, _)| *set) {
                    Some((_, field)) => Err(ModelError::Forbidden(format!(
                        "only the national desk may change {field}"
                    ))),
                    None => Ok(()),
                }
            }
            // Where the process profile lets the reporter reopen its resolved incident.
            Role::Local => self.reporter_reopen(&actor.desk, change).unwrap_or_else(|| Err(ModelError::Forbidden(
                "local desks add notes; status, priority and assignment are set by the national desk and the assigned supplier".into(),
            ))),
        }
    }

    /// Whether `adding` more notes fit under `max` notes per incident: the note that
    /// would exceed it is refused, so one incident cannot grow without bound.
    pub fn ensure_room_for_notes(&self, adding: usize, max: usize) -> Result<(), ModelError> {
        if self.notes.len().saturating_add(adding) > max {
            return Err(ModelError::Full { field: "notes", limit: max });
        }
        Ok(())
    }

    /// Add a note as `actor`. Local desks may only add public notes.
    pub fn add_note(&mut self, actor: &Actor, body: Text, visibility: Visibility, now: Timestamp) {
        let visibility = if actor.role == Role::Local { Visibility::Public } else { visibility };
        self.notes.push(Note { author_desk: actor.desk.clone(), visibility, body, at: now });
        self.updated_at = now;
        self.version += 1;
    }
}

#[cfg(test)]
mod tests;
