//! The P1/P2 incident report (process steps 12a–13) and the rules of its workflow:
//! the supplier that solved the incident writes it (a desk and a named person) and
//! submits it; for the suppliers configured so, the operator quality-checks it
//! first; a named FMK/NSP incident manager — never its author — approves it or
//! returns it with comments, and a returned report is reworked and resubmitted.
//! Only an approved report lets a P1/P2 close (the close guard in [`super`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Actor, HistoryEntry, Incident, Role, Text};
use crate::model::{DeskId, ModelError};

/// Where a report is in its workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// Being written by the supplier; nobody reviews it yet.
    Draft,
    /// Sent for review (the quality check or the approval).
    Submitted,
    /// Checked by the operator; waits for the incident manager (step 12b).
    QualityChecked,
    /// Sent back to its author with comments, to be reworked and resubmitted (step 13).
    Returned,
    /// Approved by an FMK/NSP incident manager (step 13): the incident may close.
    Approved,
}

impl ReportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Draft => "draft",
            ReportState::Submitted => "submitted",
            ReportState::QualityChecked => "quality_checked",
            ReportState::Returned => "returned",
            ReportState::Approved => "approved",
        }
    }
}

impl std::fmt::Display for ReportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did a step of the report's workflow: the desk and the person there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signoff {
    pub desk: DeskId,
    pub name: String,
    pub at: Timestamp,
}

/// The last return of a report: who sent it back and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    pub by: Signoff,
    pub comments: Text,
}

/// The P1/P2 incident report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredReport")]
pub struct Report {
    pub url_or_text: Text,
    pub written_by: DeskId,
    /// The person at `written_by` who wrote it (absent for reports written before
    /// reports named their author).
    pub author: Option<String>,
    pub state: ReportState,
    pub quality_checked: Option<Signoff>,
    pub approved_by: Option<DeskId>,
    pub approved_at: Option<Timestamp>,
    /// The incident manager who approved it.
    pub approver: Option<String>,
    pub returned: Option<Returned>,
}

/// A report as stored, old shape included: before the workflow had states a report
/// was submitted, or approved once `approved_by` was set.
#[derive(Deserialize)]
struct StoredReport {
    url_or_text: Text,
    written_by: DeskId,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    state: Option<ReportState>,
    #[serde(default)]
    quality_checked: Option<Signoff>,
    approved_by: Option<DeskId>,
    approved_at: Option<Timestamp>,
    #[serde(default)]
    approver: Option<String>,
    #[serde(default)]
    returned: Option<Returned>,
}

impl From<StoredReport> for Report {
    fn from(s: StoredReport) -> Self {
        let state =
            s.state.unwrap_or(if s.approved_by.is_some() { ReportState::Approved } else { ReportState::Submitted });
        Report {
            url_or_text: s.url_or_text,
            written_by: s.written_by,
            author: s.author,
            state,
            quality_checked: s.quality_checked,
            approved_by: s.approved_by,
            approved_at: s.approved_at,
            approver: s.approver,
            returned: s.returned,
        }
    }
}

impl Report {
    /// A report written and submitted in one step (the incident change's `report`).
    pub fn submitted(text: Text, by: DeskId) -> Self {
        Report {
            url_or_text: text,
            written_by: by,
            author: None,
            state: ReportState::Submitted,
            quality_checked: None,
            approved_by: None,
            approved_at: None,
            approver: None,
            returned: None,
        }
    }

    /// The national desk approves as a desk (the incident change's `approve_report`),
    /// from the state it was in; only a report under review is approved.
    pub fn approve_as(&mut self, desk: &DeskId, now: Timestamp) -> Result<ReportState, ModelError> {
        let from = self.state;
        if !matches!(from, ReportState::Submitted | ReportState::QualityChecked) {
            return Err(conflict(format!("the incident report is {from}: only a submitted report is approved")));
        }
        self.state = ReportState::Approved;
        self.approved_by = Some(desk.clone());
        self.approved_at = Some(now);
        Ok(from)
    }
}

/// A person's name as a report step gives it: one line, 1 to 100 characters, no
/// patient data.
pub fn parse_person(field: &'static str, s: &str) -> Result<String, ModelError> {
    let t = s.trim();
    let text = Text::parse(field, t)?;
    if t.chars().count() > 100 || t.contains(['\n', '\r', '\t']) {
        return Err(ModelError::invalid(field, "a person's name: one line of at most 100 characters"));
    }
    Ok(text.as_str().to_owned())
}

/// One step of the report's workflow, already parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportStep {
    /// Write or rework the report (a draft); `by` is the author.
    Write { text: Text, by: String },
    /// Send the draft, or the reworked report, for review.
    Submit,
    /// The operator's quality check passed (step 12b).
    QualityCheck { by: String },
    /// An incident manager approves (step 13).
    Approve { by: String },
    /// Back to the author with what must change (step 13; the operator too, in its check).
    Return { by: String, comments: Text },
}

impl ReportStep {
    pub fn describe(&self) -> String {
        match self {
            ReportStep::Write { by, .. } => format!("incident report written by {by}"),
            ReportStep::Submit => "incident report submitted".into(),
            ReportStep::QualityCheck { by } => format!("incident report quality-checked by {by}"),
            ReportStep::Approve { by } => format!("incident report approved by {by}"),
            ReportStep::Return { by, .. } => format!("incident report returned by {by}"),
        }
    }
}

/// The configured side of the rules: who the incident managers and the operator
/// are, and whose reports the operator checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportPolicy {
    /// The FMK/NSP incident managers by name; empty: any person at the national desk.
    pub incident_managers: Vec<String>,
    /// The desk that quality-checks reports (the national desk when not configured).
    pub operator: Option<DeskId>,
    /// Suppliers whose reports are quality-checked before approval.
    pub quality_checked: Vec<DeskId>,
}

impl ReportPolicy {
    /// Whether the national desk may approve `incident`'s report as a desk, without
    /// naming the incident manager (the incident change's `approve_report`): only
    /// when no incident managers are configured, and after any quality check due.
    pub fn admits_desk_approval(&self, incident: &Incident) -> Result<(), ModelError> {
        if !self.incident_managers.is_empty() {
            return Err(forbidden(
                "approve_report: an incident manager approves by name: POST /api/v1/incidents/{id}/report/approve with \"by\"",
            ));
        }
        match &incident.report {
            Some(r) if r.state == ReportState::Submitted && self.needs_quality_check(&r.written_by) => {
                Err(conflict(format!(
                    "the incident report is submitted: a report by {} is quality-checked by the operator before it is approved",
                    r.written_by
                )))
            }
            _ => Ok(()),
        }
    }

    pub fn needs_quality_check(&self, author: &DeskId) -> bool {
        self.quality_checked.contains(author)
    }

    fn is_operator(&self, actor: &Actor) -> bool {
        match &self.operator {
            Some(desk) => desk == &actor.desk,
            None => actor.role == Role::National,
        }
    }

    fn is_incident_manager(&self, actor: &Actor, name: &str) -> bool {
        actor.role == Role::National
            && (self.incident_managers.is_empty()
                || self.incident_managers.iter().any(|m| m.eq_ignore_ascii_case(name)))
    }
}

/// Why the national desk may not write an incident report (steps 12a–13).
pub const NATIONAL_WRITES: &str = "report: the supplier that solved the incident writes its incident report; the national desk reviews and approves it";

fn forbidden(s: impl Into<String>) -> ModelError {
    ModelError::Forbidden(s.into())
}

fn conflict(s: impl Into<String>) -> ModelError {
    ModelError::Conflict(s.into())
}

impl Incident {
    /// The state of the incident's report, if it has one.
    pub fn report_state(&self) -> Option<ReportState> {
        self.report.as_ref().map(|r| r.state)
    }

    /// Take `step` of the report's workflow as `actor` under `policy`: the report
    /// changes and the step is recorded in the history, or nothing changes.
    pub fn report_step(
        &mut self,
        actor: &Actor,
        step: &ReportStep,
        policy: &ReportPolicy,
        now: Timestamp,
    ) -> Result<(), ModelError> {
        let id = self.id.clone();
        let from = self.report_state();
        let state_name = from.map_or("not written", ReportState::as_str);
        let in_state = |what: &str| conflict(format!("the incident report of {id} is {state_name}: {what}"));
        let mut next = self.report.clone();
        let to = match step {
            ReportStep::Write { text, by } => {
                if actor.role == Role::National {
                    return Err(forbidden(NATIONAL_WRITES));
                }
                if actor.role != Role::Supplier || self.assignee.as_ref() != Some(&actor.desk) {
                    return Err(forbidden(format!(
                        "{id} is not assigned to {}: its supplier writes the report",
                        actor.desk
                    )));
                }
                if !matches!(from, None | Some(ReportState::Draft | ReportState::Returned)) {
                    return Err(in_state("it can be rewritten only as a draft or once returned"));
                }
                let returned = next.as_ref().and_then(|r| r.returned.clone());
                next = Some(Report {
                    url_or_text: text.clone(),
                    written_by: actor.desk.clone(),
                    author: Some(by.clone()),
                    state: if from == Some(ReportState::Returned) { ReportState::Returned } else { ReportState::Draft },
                    quality_checked: None,
                    approved_by: None,
                    approved_at: None,
                    approver: None,
                    returned,
                });
                next.as_ref().map_or(ReportState::Draft, |r| r.state)
            }
            ReportStep::Submit => {
                let report = next.as_mut().ok_or_else(|| in_state("write it first"))?;
                if report.written_by != actor.desk {
                    return Err(forbidden(format!(
                        "only its author, {}, submits the incident report",
                        report.written_by
                    )));
                }
                if !matches!(report.state, ReportState::Draft | ReportState::Returned) {
                    return Err(in_state("only a draft or a returned report is submitted"));
                }
                report.state = ReportState::Submitted;
                ReportState::Submitted
            }
            ReportStep::QualityCheck { by } => {
                if !policy.is_operator(actor) {
                    return Err(forbidden(format!(
                        "only the operator quality-checks incident reports, not {}",
                        actor.desk
                    )));
                }
                let report = next.as_mut().ok_or_else(|| in_state("nothing to check"))?;
                if !policy.needs_quality_check(&report.written_by) {
                    return Err(conflict(format!(
                        "a report by {} goes to the incident manager without a quality check",
                        report.written_by
                    )));
                }
                if report.state != ReportState::Submitted {
                    return Err(in_state("only a submitted report is quality-checked"));
                }
                refuse_author(report, by)?;
                report.quality_checked = Some(Signoff { desk: actor.desk.clone(), name: by.clone(), at: now });
                report.state = ReportState::QualityChecked;
                ReportState::QualityChecked
            }
            ReportStep::Approve { by } => {
                if !policy.is_incident_manager(actor, by) {
                    return Err(forbidden(format!(
                        "an incident report is approved by a configured FMK/NSP incident manager at the national desk; {by} at {} is not one",
                        actor.desk
                    )));
                }
                let report = next.as_mut().ok_or_else(|| in_state("nothing to approve"))?;
                refuse_author(report, by)?;
                if report.written_by == actor.desk {
                    return Err(forbidden("the desk that wrote an incident report does not approve it"));
                }
                let checked = policy.needs_quality_check(&report.written_by);
                match report.state {
                    ReportState::QualityChecked => {}
                    ReportState::Submitted if !checked => {}
                    ReportState::Submitted => {
                        return Err(in_state(&format!(
                            "a report by {} is quality-checked by the operator before it is approved",
                            report.written_by
                        )));
                    }
                    _ => return Err(in_state("only a submitted report is approved")),
                }
                report.state = ReportState::Approved;
                report.approved_by = Some(actor.desk.clone());
                report.approved_at = Some(now);
                report.approver = Some(by.clone());
                ReportState::Approved
            }
            ReportStep::Return { by, comments } => {
                let report = next.as_mut().ok_or_else(|| in_state("nothing to return"))?;
                let may = match report.state {
                    ReportState::Submitted if policy.needs_quality_check(&report.written_by) => {
                        policy.is_operator(actor)
                    }
                    ReportState::Submitted | ReportState::QualityChecked => policy.is_incident_manager(actor, by),
                    _ => return Err(in_state("only a report under review is returned")),
                };
                if !may {
                    return Err(forbidden(format!(
                        "{by} at {} does not review this incident report now (the operator checks, an incident manager approves)",
                        actor.desk
                    )));
                }
                refuse_author(report, by)?;
                report.state = ReportState::Returned;
                report.quality_checked = None;
                report.returned = Some(Returned {
                    by: Signoff { desk: actor.desk.clone(), name: by.clone(), at: now },
                    comments: comments.clone(),
                });
                ReportState::Returned
            }
        };
        // A second submission after a return is a resubmission: named so in the history.
        let to_name = match (step, from) {
            (ReportStep::Submit, Some(ReportState::Returned)) => "resubmitted".to_owned(),
            (ReportStep::Write { .. }, Some(_)) => format!("{} (rewritten)", to.as_str()),
            _ => to.as_str().to_owned(),
        };
        self.report = next;
        self.history.push(HistoryEntry {
            at: now,
            actor: actor.desk.clone(),
            field: "report".into(),
            from: from.map(|s| s.as_str().to_owned()),
            to: Some(to_name),
        });
        self.updated_at = now;
        self.version += 1;
        Ok(())
    }
}

/// The author of a report never reviews it.
fn refuse_author(report: &Report, by: &str) -> Result<(), ModelError> {
    if report.author.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(by)) {
        return Err(forbidden(format!("{by} wrote this incident report and may not review it")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IncidentId, Priority, Status};

    fn incident() -> Incident {
        let mut i = crate::model::testing::incident("region-h", crate::model::DialectId::Servicenow, "INC1");
        i.priority = Some(Priority::P1);
        i.assignee = Some("drift".parse().unwrap());
        i.status = Status::Resolved;
        i.id = IncidentId::new(2026, 7);
        i
    }

    fn actor(desk: &str, role: Role) -> Actor {
        Actor { desk: desk.parse().unwrap(), role }
    }

    #[test]
    fn an_old_report_loads_in_the_state_it_was_in() {
        let old = r#"{"url_or_text":"r","written_by":"fmk","approved_by":null,"approved_at":null}"#;
        let r: Report = serde_json::from_str(old).unwrap();
        assert_eq!(r.state, ReportState::Submitted);
        let old = r#"{"url_or_text":"r","written_by":"fmk","approved_by":"sds","approved_at":"2026-01-01T00:00:00Z"}"#;
        let r: Report = serde_json::from_str(old).unwrap();
        assert_eq!(r.state, ReportState::Approved);
    }

    #[test]
    fn a_refused_step_changes_nothing() {
        let mut i = incident();
        let before = i.clone();
        let policy = ReportPolicy { quality_checked: vec!["drift".parse().unwrap()], ..ReportPolicy::default() };
        let sds = actor("sds", Role::National);
        let text = Text::parse("text", "Root cause").unwrap();
        let write = ReportStep::Write { text: text.clone(), by: "Ole".into() };
        assert!(matches!(i.report_step(&sds, &write, &policy, Timestamp::UNIX_EPOCH), Err(ModelError::Forbidden(_))));
        assert_eq!(i, before);
        let drift = actor("drift", Role::Supplier);
        i.report_step(&drift, &write, &policy, Timestamp::UNIX_EPOCH).unwrap();
        i.report_step(&drift, &ReportStep::Submit, &policy, Timestamp::UNIX_EPOCH).unwrap();
        let before = i.clone();
        let approve = ReportStep::Approve { by: "Mette".into() };
        let err = i.report_step(&sds, &approve, &policy, Timestamp::UNIX_EPOCH).unwrap_err();
        assert!(err.to_string().contains("is submitted"), "{err}");
        assert_eq!(i, before);
    }
}
