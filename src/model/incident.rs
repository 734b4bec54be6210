//! The incident record and the rules for changing it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::patient_data;
use super::{DeskId, IncidentId, Level, ModelError, Priority, Service, Status, TicketId};

/// What kind of record this is (DESIGN §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Incident,
    /// A further report of a known incident; has a `parent`.
    SupportRequest,
    Problem,
    Rfc,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Incident => "incident",
            Kind::SupportRequest => "support_request",
            Kind::Problem => "problem",
            Kind::Rfc => "rfc",
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

/// A copy of the incident held by a desk (DESIGN §2 `refs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ref {
    #[schema(value_type = String)]
    pub desk: DeskId,
    /// `servicenow`, `jira`, `clearquest` or `native`.
    pub system: String,
    /// What the desk's system uses to address the ticket (sys_id, issue key, record URI).
    #[schema(value_type = String)]
    pub remote_id: TicketId,
    /// What people at the desk call it (`INC0010001`, `DRIFT-42`).
    pub display_id: String,
    pub url: Option<String>,
    /// What deskgate last wrote to this copy: a change that comes back from the desk
    /// with these values is deskgate's own echo and is not propagated again.
    #[serde(default, skip_serializing_if = "Written::is_empty")]
    pub written: Written,
    /// The newest version of this copy whose report deskgate applied, and the latest
    /// deliveries it took: an older or repeated report (a replayed webhook) is no news.
    #[serde(default, skip_serializing_if = "Seen::is_empty")]
    pub seen: Seen,
}

/// What deskgate has taken in from a desk's reports about one of its tickets, so a
/// replayed or out-of-date report changes nothing (bounded: three watermarks and the
/// last [`Seen::MAX_DELIVERIES`] delivery ids).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Seen {
    /// The remote's modification time of the newest report applied, in ms since the
    /// epoch (Jira `updated` or the event's `timestamp`, ServiceNow `sys_updated_on`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_ms: Option<i64>,
    /// ServiceNow `sys_mod_count` of the newest report applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mod_count: Option<u64>,
    /// Creation time of the newest comment taken from a comment event, in ms (comment
    /// events carry the comment's time, not the issue's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_ms: Option<i64>,
    /// Identifiers of the latest deliveries (Jira `X-Atlassian-Webhook-Identifier`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<String>,
}

/// How a report identifies itself and the version of the ticket it describes; every
/// part optional (a poll or a bare payload carries none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteVersion {
    pub delivery: Option<String>,
    pub updated_ms: Option<i64>,
    pub mod_count: Option<u64>,
    pub comment_ms: Option<i64>,
}

impl Seen {
    /// Delivery ids kept per ref: enough for a remote's retries, which come within
    /// hours and few at a time.
    pub const MAX_DELIVERIES: usize = 32;

    pub fn is_empty(&self) -> bool {
        self.updated_ms.is_none() && self.mod_count.is_none() && self.comment_ms.is_none() && self.deliveries.is_empty()
    }

    /// Why a report of `v` is a replay, or `None` when it is news: a delivery already
    /// taken, or a version no newer than the newest applied. A modification count
    /// decides when both sides have one (it is exact); otherwise the time does.
    pub fn replay(&self, v: &RemoteVersion) -> Option<String> {
        if let Some(d) = v.delivery.as_ref().filter(|d| self.deliveries.contains(d)) {
            return Some(format!("delivery {d} was already taken"));
        }
        match (v.mod_count, self.mod_count) {
            (Some(new), Some(known)) if new <= known => {
                return Some(format!("modification count {new} is not newer than {known}"));
            }
            (Some(_), Some(_)) => return None,
            _ => {}
        }
        let at = |ms: i64| Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string());
        if let (Some(new), Some(known)) = (v.comment_ms, self.comment_ms) {
            if new <= known {
                return Some(format!("a comment of {} is not newer than {} already taken", at(new), at(known)));
            }
        }
        match (v.updated_ms, self.updated_ms) {
            (Some(new), Some(known)) if new <= known => {
                Some(format!("the ticket's version of {} is not newer than {} already applied", at(new), at(known)))
            }
            _ => None,
        }
    }

    /// Remember `v` as taken; true when anything changed.
    pub fn record(&mut self, v: &RemoteVersion) -> bool {
        let before = self.clone();
        if let Some(d) = &v.delivery {
            if !self.deliveries.contains(d) {
                self.deliveries.push(d.clone());
            }
            let excess = self.deliveries.len().saturating_sub(Self::MAX_DELIVERIES);
            self.deliveries.drain(..excess);
        }
        self.updated_ms = self.updated_ms.max(v.updated_ms);
        self.mod_count = self.mod_count.max(v.mod_count);
        self.comment_ms = self.comment_ms.max(v.comment_ms);
        *self != before
    }
}

/// The values deskgate last wrote to a desk's copy (echo suppression, DESIGN §8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Written {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
}

impl Written {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.priority.is_none()
    }
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

/// The P1/P2 incident report (process steps 12–13).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub url_or_text: Text,
    pub written_by: DeskId,
    pub approved_by: Option<DeskId>,
    pub approved_at: Option<Timestamp>,
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
    /// Detected by the supplier in its own tool and not affecting users (step 18b):
    /// handled there only. The national desk sees it through the API; nothing is
    /// delivered to its tool.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supplier_only: bool,
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
            priority,
            urgency: self.urgency,
            impact: self.impact,
            status: Status::New,
            origin: self.origin,
            assignee: None,
            refs: vec![self.origin_ref],
            notes: Vec::new(),
            parent: None,
            links: Vec::new(),
            external_links: Vec::new(),
            report: None,
            history: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
            deferred_until: None,
            supplier_only: false,
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
        actor.role == Role::National || self.origin.desk == actor.desk || self.assignee.as_ref() == Some(&actor.desk)
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
    /// - the assigned supplier: status, priority, report;
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
            next.report = Some(Report {
                url_or_text: text.clone(),
                written_by: actor.desk.clone(),
                approved_by: None,
                approved_at: None,
            });
            record(&mut next, "report", None, Some("submitted".into()));
        }
        if change.approve_report {
            let Some(report) = next.report.as_mut() else {
                return Err(ModelError::Conflict("there is no incident report to approve yet".into()));
            };
            if report.approved_by.is_none() {
                report.approved_by = Some(actor.desk.clone());
                report.approved_at = Some(now);
                record(&mut next, "report", Some("submitted".into()), Some("approved".into()));
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
            Some(Report { approved_by: Some(_), .. }) => Ok(()),
            Some(_) => Err(ModelError::Conflict(format!(
                "{} is {}: it cannot be closed until the national desk approves its incident report",
                self.id,
                self.priority.map(Priority::as_str).unwrap_or_default()
            ))),
            None => Err(ModelError::Conflict(format!(
                "{} is {}: it cannot be closed until an incident report is attached and approved by the national desk",
                self.id,
                self.priority.map(Priority::as_str).unwrap_or_default()
            ))),
        }
    }

    fn check_permission(&self, actor: &Actor, change: &Change) -> Result<(), ModelError> {
        match actor.role {
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
                ];
                match national_only.iter().find(|(set, _)| *set) {
                    Some((_, field)) => Err(ModelError::Forbidden(format!(
                        "only the national desk may change {field}"
                    ))),
                    None => Ok(()),
                }
            }
            Role::Local => Err(ModelError::Forbidden(
                "local desks add notes; status, priority and assignment are set by the national desk and the assigned supplier".into(),
            )),
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
mod tests {
    use super::*;

    fn desk(id: &str) -> DeskId {
        id.parse().unwrap()
    }

    fn actor(id: &str, role: Role) -> Actor {
        Actor { desk: desk(id), role }
    }

    #[test]
    fn notes_beyond_the_cap_are_refused() {
        let mut i = sample(None);
        let national = actor("sds", Role::National);
        for _ in 0..3 {
            i.ensure_room_for_notes(1, 3).unwrap();
            i.add_note(&national, Text::parse("body", "checked").unwrap(), Visibility::Public, Timestamp::UNIX_EPOCH);
        }
        let full = i.ensure_room_for_notes(1, 3).unwrap_err();
        assert_eq!(full, ModelError::Full { field: "notes", limit: 3 });
        assert!(full.to_string().starts_with("notes: "), "{full}");
        assert!(sample(None).ensure_room_for_notes(4, 3).is_err(), "several at once count together");
    }

    fn sample(priority: Option<Priority>) -> Incident {
        NewIncident {
            kind: Kind::Incident,
            title: Title::parse("FMK: recepter kan ikke læses").unwrap(),
            description: Text::parse("description", "Ingen recepter vises i FMK-klienten").unwrap(),
            service: "FMK".parse().unwrap(),
            priority,
            urgency: None,
            impact: None,
            origin: Origin { desk: desk("region-h"), ticket: "INC0010001".parse().unwrap() },
            origin_ref: Ref {
                desk: desk("region-h"),
                system: "servicenow".into(),
                remote_id: "INC0010001".parse().unwrap(),
                display_id: "INC0010001".into(),
                url: None,
                written: Default::default(),
                seen: Default::default(),
            },
        }
        .into_incident(IncidentId::new(2026, 1), Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn title_refuses_patient_data_and_names_the_field() {
        let err = Title::parse("Borger 010203-1234 kan ikke logge ind").unwrap_err();
        assert_eq!(err.field(), Some("title"));
        assert!(!err.to_string().contains("010203"), "the value must not be echoed: {err}");
        let err = Text::parse("description", "NISS 85.07.30-033.28").unwrap_err();
        assert_eq!(err.field(), Some("description"));
    }

    #[test]
    fn hostile_characters_are_refused_in_titles_and_text() {
        for title in
            ["FMK \u{202e}nede", "FMK\u{0}nede", "FMK\u{7}", "\u{200b}\u{2060}\u{feff}", "FMK\u{2066}x\u{2069}"]
        {
            let err = Title::parse(title).unwrap_err();
            assert_eq!(err.field(), Some("title"), "{title:?}");
        }
        assert!(Text::parse("description", "line one\n\tline two\r\n").is_ok(), "tab and line breaks are text");
        for text in ["a\u{0}b", "a\u{1b}[31mred", "abc \u{202e}fed", "\u{200b}\u{200b}"] {
            let err = Text::parse("description", text).unwrap_err();
            assert_eq!(err.field(), Some("description"), "{text:?}");
        }
    }

    #[test]
    fn display_ids_and_urls_are_limited_to_what_desks_use() {
        for ok in ["INC0010001", "DRIFT-42", "SAMPL00000042", "cq:SAMPL00000042", "RITM0012345#2", "a.b_c/d"] {
            assert_eq!(parse_display_id("display_id", ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in ["<script>", "INC 1", "", "x\u{202e}", &"A".repeat(65), "a\"b", "DRIFT-42\u{200b}"] {
            assert_eq!(parse_display_id("display_id", bad).unwrap_err().field(), Some("display_id"), "{bad:?}");
        }
        assert!(matches!(
            parse_display_id("display_id", "CPR-0102031047"),
            Err(ModelError::PatientData { field: "display_id", .. })
        ));
        for ok in ["https://desk.example/ticket/1", "http://10.0.0.1:8080/x?y=1"] {
            assert!(parse_url("ticket_url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,x",
            "//desk.example/x",
            "/x",
            "ftp://x/y",
            "https://",
            "https://a b/",
        ] {
            assert_eq!(parse_url("ticket_url", bad).unwrap_err().field(), Some("ticket_url"), "{bad:?}");
        }
        assert!(matches!(
            parse_url("rfc.url", "https://jira.example/browse/X?cpr=010203-1047"),
            Err(ModelError::PatientData { field: "rfc.url", .. })
        ));
    }

    #[test]
    fn title_length_limit() {
        assert!(Title::parse(&"x".repeat(160)).is_ok());
        assert!(Title::parse(&"x".repeat(161)).is_err());
        assert!(Title::parse("  ").is_err());
    }

    #[test]
    fn priority_follows_impact_and_urgency_when_not_given() {
        let mut n = sample(None);
        assert_eq!(n.priority, None);
        n = NewIncident {
            kind: Kind::Incident,
            title: n.title,
            description: n.description,
            service: n.service,
            priority: None,
            urgency: Some(Level::High),
            impact: Some(Level::Medium),
            origin: n.origin,
            origin_ref: n.refs[0].clone(),
        }
        .into_incident(n.id, n.created_at);
        assert_eq!(n.priority, Some(Priority::P2));
    }

    #[test]
    fn illegal_transition_names_from_and_to_and_changes_nothing() {
        let mut inc = sample(Some(Priority::P3));
        let before = inc.clone();
        let err = inc
            .apply(
                &actor("sds", Role::National),
                &Change { status: Some(Status::Closed), ..Change::default() },
                Timestamp::UNIX_EPOCH,
            )
            .unwrap_err();
        assert_eq!(err, ModelError::IllegalTransition { from: Status::New, to: Status::Closed });
        assert_eq!(inc, before);
    }

    #[test]
    fn assignment_moves_new_to_assigned_and_is_recorded() {
        let mut inc = sample(Some(Priority::P3));
        let changed = inc
            .apply(
                &actor("sds", Role::National),
                &Change { assignee: Some(desk("fmk")), ..Change::default() },
                Timestamp::UNIX_EPOCH,
            )
            .unwrap();
        assert!(changed);
        assert_eq!(inc.status, Status::Assigned);
        assert_eq!(inc.version, 2);
        assert_eq!(inc.history.len(), 2);
    }

    #[test]
    fn suppliers_change_only_incidents_assigned_to_them_and_never_the_assignee() {
        let mut inc = sample(Some(Priority::P3));
        let fmk = actor("fmk", Role::Supplier);
        let status = Change { status: Some(Status::InProgress), ..Change::default() };
        assert!(matches!(inc.apply(&fmk, &status, Timestamp::UNIX_EPOCH), Err(ModelError::Forbidden(_))));
        inc.apply(
            &actor("sds", Role::National),
            &Change { assignee: Some(desk("fmk")), ..Change::default() },
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        assert!(inc.apply(&fmk, &status, Timestamp::UNIX_EPOCH).unwrap());
        let reassign = Change { assignee: Some(desk("drift")), ..Change::default() };
        assert!(matches!(inc.apply(&fmk, &reassign, Timestamp::UNIX_EPOCH), Err(ModelError::Forbidden(_))));
        let local = actor("region-h", Role::Local);
        assert!(matches!(inc.apply(&local, &status, Timestamp::UNIX_EPOCH), Err(ModelError::Forbidden(_))));
    }

    #[test]
    fn major_incidents_close_only_with_an_approved_report() {
        let sds = actor("sds", Role::National);
        let t = Timestamp::UNIX_EPOCH;
        for (priority, needs_report) in [(Priority::P1, true), (Priority::P2, true), (Priority::P3, false)] {
            let mut inc = sample(Some(priority));
            inc.apply(&sds, &Change { status: Some(Status::Resolved), ..Change::default() }, t).unwrap();
            let close = Change { status: Some(Status::Closed), ..Change::default() };
            let result = inc.apply(&sds, &close, t);
            assert_eq!(result.is_err(), needs_report, "{priority}");
            if needs_report {
                let report = Text::parse("report", "Root cause: expired certificate").unwrap();
                inc.apply(&sds, &Change { report: Some(report), ..Change::default() }, t).unwrap();
                assert!(matches!(inc.apply(&sds, &close, t), Err(ModelError::Conflict(_))), "unapproved");
                inc.apply(&sds, &Change { approve_report: true, ..Change::default() }, t).unwrap();
                inc.apply(&sds, &close, t).unwrap();
            }
            assert_eq!(inc.status, Status::Closed);
        }
    }

    #[test]
    fn linking_an_rfc_records_it_and_makes_open_work_pending_release() {
        assert!(ReleaseLink::parse(LinkKind::Rfc, "sdsjira-1", None).is_err());
        assert!(ReleaseLink::parse(LinkKind::Rfc, "SDSJIRA-", None).is_err());
        assert!(ReleaseLink::parse(LinkKind::Rfc, "SDSJIRA-1", Some("ftp://x")).is_err());
        let link = ReleaseLink::parse(LinkKind::Problem, " SDSJIRA-7 ", None).unwrap();
        assert_eq!(link.key, "SDSJIRA-7");
        let t = Timestamp::UNIX_EPOCH;
        let mut inc = sample(Some(Priority::P3));
        inc.apply(&actor("sds", Role::National), &Change { assignee: Some(desk("drift")), ..Change::default() }, t)
            .unwrap();
        let change = Change { rfc: Some(link), ..Change::default() };
        assert!(matches!(inc.apply(&actor("region-h", Role::Local), &change, t), Err(ModelError::Forbidden(_))));
        assert!(inc.apply(&actor("drift", Role::Supplier), &change, t).unwrap());
        assert_eq!(inc.status, Status::PendingRelease);
        assert_eq!(inc.external_links.len(), 1);
        assert_eq!(inc.external_links[0].linked_by, desk("drift"));
        assert!(inc.history.iter().any(|h| h.field == "problem" && h.to.as_deref() == Some("SDSJIRA-7")));
        assert!(!inc.apply(&actor("drift", Role::Supplier), &change, t).unwrap(), "the same link again is no change");
        let mut done = sample(Some(Priority::P3));
        done.status = Status::Cancelled;
        let err = done.apply(&actor("sds", Role::National), &change, t).unwrap_err();
        assert_eq!(err, ModelError::IllegalTransition { from: Status::Cancelled, to: Status::PendingRelease });
    }

    #[test]
    fn visibility_is_origin_national_and_assignee() {
        let mut inc = sample(None);
        assert!(inc.is_visible_to(&actor("region-h", Role::Local)));
        assert!(inc.is_visible_to(&actor("sds", Role::National)));
        assert!(!inc.is_visible_to(&actor("region-m", Role::Local)));
        assert!(!inc.is_visible_to(&actor("fmk", Role::Supplier)));
        inc.assignee = Some(desk("fmk"));
        assert!(inc.is_visible_to(&actor("fmk", Role::Supplier)));
        assert!(!inc.is_visible_to(&actor("drift", Role::Supplier)));
    }

    fn version(delivery: Option<&str>, updated_ms: Option<i64>, mod_count: Option<u64>) -> RemoteVersion {
        RemoteVersion { delivery: delivery.map(str::to_owned), updated_ms, mod_count, comment_ms: None }
    }

    #[test]
    fn a_report_no_newer_than_the_newest_applied_is_a_replay() {
        let mut seen = Seen::default();
        assert_eq!(seen.replay(&version(Some("d1"), Some(1_000), None)), None);
        assert!(seen.record(&version(Some("d1"), Some(1_000), None)));
        assert!(seen.replay(&version(Some("d1"), Some(2_000), None)).is_some(), "same delivery");
        assert!(seen.replay(&version(Some("d2"), Some(1_000), None)).is_some(), "same version");
        assert!(seen.replay(&version(Some("d2"), Some(999), None)).is_some(), "older version");
        assert_eq!(seen.replay(&version(Some("d2"), Some(1_001), None)), None);
        assert_eq!(seen.replay(&version(None, None, None)), None, "nothing to compare");
    }

    #[test]
    fn a_modification_count_decides_over_the_time_when_both_sides_have_one() {
        let mut seen = Seen::default();
        seen.record(&version(None, Some(5_000), Some(3)));
        // ServiceNow's time has whole seconds: two writes in one second differ only by count.
        assert_eq!(seen.replay(&version(None, Some(5_000), Some(4))), None);
        assert!(seen.replay(&version(None, Some(9_000), Some(3))).is_some());
    }

    #[test]
    fn comments_are_ordered_by_their_own_time_not_the_issues() {
        let mut seen = Seen::default();
        seen.record(&version(None, Some(9_000), None));
        let comment = |ms| RemoteVersion { comment_ms: Some(ms), ..RemoteVersion::default() };
        assert_eq!(seen.replay(&comment(5_000)), None, "a comment event carries no issue version");
        seen.record(&comment(5_000));
        assert!(seen.replay(&comment(5_000)).is_some());
        assert_eq!(seen.replay(&comment(5_001)), None);
    }

    #[test]
    fn delivery_ids_are_bounded_and_the_oldest_go_first() {
        let mut seen = Seen::default();
        for n in 0..(Seen::MAX_DELIVERIES + 5) {
            seen.record(&version(Some(&format!("d{n}")), None, None));
        }
        assert_eq!(seen.deliveries.len(), Seen::MAX_DELIVERIES);
        assert_eq!(seen.deliveries[0], "d5");
        let newest = format!("d{}", Seen::MAX_DELIVERIES + 4);
        assert!(!seen.record(&version(Some(&newest), None, None)), "an id already kept changes nothing");
    }

    #[test]
    fn a_ref_stored_before_seen_existed_still_reads() {
        let stored = r#"{"desk":"drift","system":"jira","remote_id":"DRIFT-1","display_id":"DRIFT-1","url":null}"#;
        let r: Ref = serde_json::from_str(stored).unwrap();
        assert!(r.seen.is_empty());
    }
}
