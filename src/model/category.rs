//! What kind of incident it is and what follows from that (the Mitz incident process):
//! its category (disruption, information-security incident, fraud), whether it is a
//! calamity and by which criteria, and the root-cause analysis a P1 (or a P2 on the
//! national desk's request) is owed.
//!
//! A security incident's text stays internal: the national desk and the assigned
//! supplier see its description and notes; a local desk sees only what it wrote
//! itself, and no other party's note or resolution text is delivered to its copy
//! ([`Incident::shows_note`]). Pure data and rules; due dates come from the caller
//! (working days are the national calendar's, outside the model).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Actor, DeskId, HistoryEntry, Incident, ModelError, Note, Priority, Role};

/// The classification of the seed: a disruption (*verstoring*), an
/// information-security incident (*informatiebeveiligingsincident*) or fraud
/// (*fraude*, suspected included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    #[default]
    Disruption,
    Security,
    Fraud,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Disruption => "disruption",
            Category::Security => "security",
            Category::Fraud => "fraud",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == Category::Disruption
    }

    /// `disruption`, `security` or `fraud` (any case; the Dutch names too).
    pub fn parse(field: &'static str, s: &str) -> Result<Self, ModelError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disruption" | "verstoring" => Ok(Category::Disruption),
            "security" | "informatiebeveiliging" | "informatiebeveiligingsincident" => Ok(Category::Security),
            "fraud" | "fraude" => Ok(Category::Fraud),
            _ => Err(ModelError::invalid(field, "one of disruption, security, fraud")),
        }
    }
}

/// The seed's criteria for a calamity (*calamiteit*), one code each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalamityCriterion {
    /// The expected disruption outlasts the agreed response times.
    ResponseTimeExceeded,
    /// At least two Mitz Connectors are involved.
    MultipleConnectors,
    /// Direct and serious hindrance.
    SeriousHindrance,
    /// Impact on confidentiality and integrity.
    ConfidentialityIntegrity,
    /// A data breach that must be reported.
    ReportableDataBreach,
    /// Great impact on the image of Mitz and the trust in it.
    ReputationImpact,
    /// The expected disruption or unavailability lasts longer than 4 hours.
    OutageOverFourHours,
    /// Political decisions or implications play a part.
    Political,
    /// A fundamental legal or technical vulnerability of Mitz's design.
    FundamentalVulnerability,
}

/// Whether an incident is a calamity: when any criterion is met, or the national
/// desk declared it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Calamity {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<CalamityCriterion>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared: bool,
}

impl Calamity {
    pub fn is_calamity(&self) -> bool {
        self.declared || !self.criteria.is_empty()
    }

    pub fn is_default(&self) -> bool {
        *self == Calamity::default()
    }
}

/// The root-cause analysis owed for a P1 within five working days, or for a P2 the
/// national desk asked one for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rca {
    #[schema(value_type = String)]
    pub due: Timestamp,
    /// Asked for by the national desk (a P2); a P1's is owed without asking.
    #[serde(default)]
    pub requested: bool,
    #[schema(value_type = Option<String>)]
    pub delivered_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub delivered_by: Option<DeskId>,
    /// When the assignee was reminded (once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reminded_at: Option<Timestamp>,
}

/// The classification part of a change. `None`/`false` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classify {
    pub category: Option<Category>,
    /// The calamity criteria now met (replacing those recorded).
    pub calamity_criteria: Option<Vec<CalamityCriterion>>,
    /// The national desk declares (true) or withdraws (false) a calamity.
    pub declare_calamity: Option<bool>,
    /// The national desk asks for a root-cause analysis of a P2.
    pub request_rca: bool,
    /// The assignee (or the national desk) delivered the root-cause analysis.
    pub rca_delivered: bool,
    /// When an analysis started by this change is due: filled in by the gateway from
    /// the national calendar; without it no analysis starts.
    pub rca_due: Option<Timestamp>,
}

impl Classify {
    /// What was asked, for the audit log.
    pub fn describe(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(c) = self.category {
            parts.push(format!("category → {}", c.as_str()));
        }
        if let Some(criteria) = &self.calamity_criteria {
            parts.push(format!("calamity criteria → {criteria:?}"));
        }
        if let Some(declared) = self.declare_calamity {
            parts.push(if declared { "calamity declared" } else { "calamity withdrawn" }.to_owned());
        }
        if self.request_rca {
            parts.push("root-cause analysis requested".into());
        }
        if self.rca_delivered {
            parts.push("root-cause analysis delivered".into());
        }
        parts
    }

    /// What only the national desk may change.
    pub fn national_only(&self) -> Option<&'static str> {
        if self.declare_calamity.is_some() {
            Some("calamity")
        } else if self.request_rca {
            Some("request_rca")
        } else {
            None
        }
    }
}

impl Incident {
    /// Whether a root-cause analysis is owed: a P1, or a P2 the national desk asked
    /// one for.
    pub fn owes_rca(&self, requested: bool) -> bool {
        self.priority == Some(Priority::P1) || (requested && self.priority == Some(Priority::P2))
    }

    /// Start the root-cause analysis, due at `due`, when one is owed and none is
    /// tracked yet; true when it started. The caller bumps the version.
    pub fn track_rca(&mut self, due: Timestamp, requested: bool, actor: &DeskId, now: Timestamp) -> bool {
        if self.rca.is_some() || !self.owes_rca(requested) {
            return false;
        }
        let requested = requested && self.priority != Some(Priority::P1);
        self.rca = Some(Rca { due, requested, delivered_at: None, delivered_by: None, reminded_at: None });
        self.history.push(entry(now, actor, "rca", None, Some(format!("due {due}"))));
        true
    }

    /// A new report's category and calamity criteria (a reporter cannot declare a
    /// calamity or ask for an analysis: those are the national desk's).
    pub fn classify_new(&mut self, c: &Classify) {
        self.category = c.category.unwrap_or_default();
        if let Some(criteria) = &c.calamity_criteria {
            let mut criteria = criteria.clone();
            criteria.sort();
            criteria.dedup();
            self.calamity.criteria = criteria;
        }
    }

    /// Whether `note` is shown to (and delivered to the copy of) `actor`: the
    /// visibility rule, and for a security incident a local desk sees only its own.
    pub fn shows_note(&self, note: &Note, actor: &Actor) -> bool {
        Incident::note_visible_to(note, actor)
            && !(self.category == Category::Security && actor.role == Role::Local && note.author_desk != actor.desk)
    }

    /// Whether this incident's text (description, notes, resolution) stays internal.
    pub fn text_is_internal(&self) -> bool {
        self.category == Category::Security
    }
}

fn entry(at: Timestamp, actor: &DeskId, field: &str, from: Option<String>, to: Option<String>) -> HistoryEntry {
    HistoryEntry { at, actor: actor.clone(), field: field.to_owned(), from, to }
}

/// Apply the classification part of a change to `next` (permission already checked);
/// true when anything changed.
pub(super) fn apply(next: &mut Incident, actor: &Actor, c: &Classify, now: Timestamp) -> Result<bool, ModelError> {
    let mut history = Vec::new();
    if let Some(category) = c.category.filter(|c| *c != next.category) {
        history.push(entry(
            now,
            &actor.desk,
            "category",
            Some(next.category.as_str().into()),
            Some(category.as_str().into()),
        ));
        next.category = category;
    }
    let was = next.calamity.is_calamity();
    if let Some(criteria) = &c.calamity_criteria {
        let mut criteria = criteria.clone();
        criteria.sort();
        criteria.dedup();
        next.calamity.criteria = criteria;
    }
    if let Some(declared) = c.declare_calamity {
        next.calamity.declared = declared;
    }
    if next.calamity.is_calamity() != was {
        let yes_no = |b: bool| Some(if b { "yes" } else { "no" }.to_owned());
        history.push(entry(now, &actor.desk, "calamity", yes_no(was), yes_no(!was)));
    }
    if c.request_rca && !matches!(next.priority, Some(Priority::P1 | Priority::P2)) {
        return Err(ModelError::invalid("request_rca", "a P2 incident (a P1 is owed its root-cause analysis anyway)"));
    }
    // Recorded in the history by `track_rca` itself.
    let started = c.rca_due.is_some_and(|due| next.track_rca(due, c.request_rca, &actor.desk, now));
    if c.rca_delivered {
        let Some(rca) = next.rca.as_mut() else {
            return Err(ModelError::Conflict(format!("{} has no root-cause analysis to deliver", next.id)));
        };
        if rca.delivered_at.is_none() {
            rca.delivered_at = Some(now);
            rca.delivered_by = Some(actor.desk.clone());
            history.push(entry(now, &actor.desk, "rca", Some("due".into()), Some("delivered".into())));
        }
    }
    let changed = started || !history.is_empty();
    next.history.extend(history);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{desk, incident};
    use crate::model::{Change, DialectId, Status};

    fn actor(id: &str, role: Role) -> Actor {
        Actor { desk: desk(id), role }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn mitz_classificatie_categories_read_the_dutch_names_and_refuse_others() {
        assert_eq!(Category::parse("category", "Informatiebeveiliging"), Ok(Category::Security));
        assert_eq!(Category::parse("category", "fraude"), Ok(Category::Fraud));
        assert_eq!(Category::parse("category", "verstoring"), Ok(Category::Disruption));
        assert_eq!(Category::parse("category", "weather").unwrap_err().field(), Some("category"));
    }

    #[test]
    fn mitz_calamiteit_only_the_national_desk_declares_and_criteria_make_it_one() {
        let mut i = incident("region-h", DialectId::Servicenow, "INC1");
        let national = actor("sds", Role::National);
        i.apply(&national, &Change { assignee: Some(desk("drift")), ..Change::default() }, at("2026-01-01T00:00:00Z"))
            .unwrap();
        let declare =
            Change { classify: Classify { declare_calamity: Some(true), ..Classify::default() }, ..Change::default() };
        let refused = i.apply(&actor("drift", Role::Supplier), &declare, at("2026-01-01T01:00:00Z")).unwrap_err();
        assert!(refused.to_string().contains("calamity"), "{refused}");
        assert!(!i.calamity.is_calamity());
        let criteria =
            Classify { calamity_criteria: Some(vec![CalamityCriterion::OutageOverFourHours]), ..Classify::default() };
        let by_supplier = Change { classify: criteria, ..Change::default() };
        assert!(i.apply(&actor("drift", Role::Supplier), &by_supplier, at("2026-01-01T02:00:00Z")).unwrap());
        assert!(i.calamity.is_calamity());
        assert_eq!(i.history.last().map(|h| h.field.as_str()), Some("calamity"));
    }

    #[test]
    fn an_incident_stored_before_classification_reads_as_a_disruption() {
        let i = incident("region-h", DialectId::Servicenow, "INC1");
        let stored = serde_json::to_value(&i).unwrap();
        for field in ["category", "calamity", "rca"] {
            assert!(stored.get(field).is_none(), "{field} is left out until set: {stored}");
        }
        let read: Incident = serde_json::from_value(stored).unwrap();
        assert_eq!((read.category, read.calamity.is_calamity(), read.rca), (Category::Disruption, false, None));
    }

    #[test]
    fn mitz_rca_is_owed_by_a_p1_and_delivered_once() {
        let mut i = incident("region-h", DialectId::Servicenow, "INC1");
        let national = actor("sds", Role::National);
        let due = at("2026-01-08T00:00:00Z");
        let p3 = Change { priority: Some(Priority::P3), ..Change::default() };
        let p3 = Change { classify: Classify { rca_due: Some(due), ..Classify::default() }, ..p3 };
        i.apply(&national, &p3, at("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(i.rca, None, "a P3 owes none");
        let p1 = Change { priority: Some(Priority::P1), ..p3.clone() };
        i.apply(&national, &p1, at("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(i.rca.as_ref().map(|r| (r.due, r.requested)), Some((due, false)));
        let delivered =
            Change { classify: Classify { rca_delivered: true, ..Classify::default() }, ..Change::default() };
        assert!(i.apply(&national, &delivered, at("2026-01-05T00:00:00Z")).unwrap());
        assert!(!i.apply(&national, &delivered, at("2026-01-06T00:00:00Z")).unwrap(), "once");
        assert_eq!(i.rca.as_ref().and_then(|r| r.delivered_at), Some(at("2026-01-05T00:00:00Z")));
        assert_eq!(i.status, Status::New);
    }
}
