//! The escalation record the gateway stores and shows, and its state transitions.
//!
//! Owns [`Escalation`] and the pure functions that move it on: [`Escalation::open`],
//! [`Escalation::acknowledge`] and [`Escalation::on_timeout`]. They take the time as
//! an argument and return what the caller must do (notify whom), so storage and
//! notification delivery can be wrapped around them without touching this module.
//!
//! States: `pending` (first contact notified, waiting for an acknowledgement) →
//! `re_escalated` (a later contact in the chain notified, waiting) → `exhausted`
//! (the chain ended unacknowledged). `acknowledged` ends it from any waiting state,
//! and also after exhaustion: a late answer is still worth recording. `ended` stops a
//! waiting escalation whose incident no longer calls for one ([`Escalation::end`],
//! with the reason [`end_reason`] gives): nobody is paged for it again.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Priority, decision::Decision, rules::Contact};
use crate::model::Incident;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationState {
    Pending,
    Acknowledged,
    ReEscalated,
    Exhausted,
    /// The incident stopped calling for an escalation (resolved, closed, cancelled,
    /// downgraded below P2, or a support request): nobody is paged for it any more.
    Ended,
}

impl EscalationState {
    /// Waiting for someone to acknowledge.
    pub fn is_waiting(self) -> bool {
        matches!(self, EscalationState::Pending | EscalationState::ReEscalated)
    }
}

/// One contact notified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub contact: Contact,
    pub notified_at: Timestamp,
    pub deadline: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Who acknowledged: a contact id or a desk id, as the caller knows it.
    pub by: String,
    pub at: Timestamp,
}

/// An escalation of one incident: the decision that started it and every contact
/// notified since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub id: String,
    pub incident_id: String,
    pub service: String,
    pub priority: Priority,
    pub decision: Decision,
    pub state: EscalationState,
    /// When the current attempt times out; `None` once acknowledged or exhausted.
    pub deadline: Option<Timestamp>,
    /// Contacts notified, in order; the last is the current one. Never empty.
    pub attempts: Vec<Attempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted_at: Option<Timestamp>,
    /// Why and when the escalation ended without an acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ending>,
}

/// Why an escalation stopped waiting: its incident no longer calls for one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    /// One sentence, e.g. "INC-2026-000042 was resolved".
    pub reason: String,
    pub at: Timestamp,
}

/// Why `incident` no longer calls for an escalation, if it does not: resolved,
/// closed or cancelled, downgraded below P2, or a support request (whose parent is
/// the incident that is escalated).
pub fn end_reason(incident: &Incident) -> Option<String> {
    super::facts::IncidentFacts::of(incident).end_reason()
}

/// What [`Escalation::on_timeout`] did, and so what the caller must do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TimeoutOutcome {
    /// The deadline has not passed; nothing changed.
    NotDue { deadline: Timestamp },
    /// The deadline passed: notify `contact`, who has until `deadline`.
    ReEscalated { contact: Contact, attempt: usize, deadline: Timestamp },
    /// The deadline passed and the chain has no one left. Someone must be told
    /// by other means (the national desk's own queue).
    Exhausted { last: Contact, attempts: usize },
    /// Already acknowledged or exhausted; nothing changed.
    Settled { state: EscalationState },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("escalation {id} was already acknowledged by {by} at {at}")]
    AlreadyAcknowledged { id: String, by: String, at: Timestamp },
    #[error("escalation {id} ended at {at}: {reason}")]
    Ended { id: String, reason: String, at: Timestamp },
}

impl Escalation {
    /// Start an escalation from a decision: the decision's contact is the first
    /// attempt, due by `decision.at + decision.ack_timeout`.
    pub fn open(id: impl Into<String>, incident_id: impl Into<String>, decision: Decision) -> Self {
        let deadline = add(decision.at, decision.ack_timeout);
        Escalation {
            id: id.into(),
            incident_id: incident_id.into(),
            service: decision.service.clone(),
            priority: decision.priority,
            state: EscalationState::Pending,
            deadline: Some(deadline),
            attempts: vec![Attempt { contact: decision.contact.clone(), notified_at: decision.at, deadline }],
            decision,
            acknowledged: None,
            exhausted_at: None,
            ended: None,
        }
    }

    /// Stop a waiting escalation because its incident no longer calls for one.
    /// Returns whether it changed: an acknowledged, exhausted or ended escalation
    /// keeps its state.
    pub fn end(&mut self, reason: impl Into<String>, at: Timestamp) -> bool {
        if !self.state.is_waiting() {
            return false;
        }
        self.state = EscalationState::Ended;
        self.deadline = None;
        self.ended = Some(Ending { reason: reason.into(), at });
        true
    }

    /// The contact notified last.
    pub fn current_contact(&self) -> &Contact {
        self.attempts.last().map_or(&self.decision.contact, |a| &a.contact)
    }

    /// Record an acknowledgement. Acknowledging twice is an error that names the
    /// first acknowledgement, so the caller can answer "already taken by …".
    pub fn acknowledge(&mut self, by: &str, at: Timestamp) -> Result<(), TransitionError> {
        if let Some(a) = &self.acknowledged {
            return Err(TransitionError::AlreadyAcknowledged { id: self.id.clone(), by: a.by.clone(), at: a.at });
        }
        if let Some(end) = &self.ended {
            return Err(TransitionError::Ended { id: self.id.clone(), reason: end.reason.clone(), at: end.at });
        }
        self.acknowledged = Some(Acknowledgement { by: by.to_string(), at });
        self.state = EscalationState::Acknowledged;
        self.deadline = None;
        Ok(())
    }

    /// Move on if the current attempt's deadline has passed by `now`: notify the
    /// next contact in the decision's chain, or declare the chain exhausted. One
    /// step per call; the next contact gets a full acknowledgement window from
    /// `now`, even when `now` is well past the deadline (e.g. after a restart).
    pub fn on_timeout(&mut self, now: Timestamp) -> TimeoutOutcome {
        let deadline = match (self.state.is_waiting(), self.deadline) {
            (true, Some(d)) => d,
            _ => return TimeoutOutcome::Settled { state: self.state },
        };
        if now < deadline {
            return TimeoutOutcome::NotDue { deadline };
        }
        // attempts[0] is the decision's contact, attempts[n] is chain[n - 1].
        match self.decision.chain.get(self.attempts.len().saturating_sub(1)).cloned() {
            Some(contact) => {
                let deadline = add(now, self.decision.ack_timeout);
                self.attempts.push(Attempt { contact: contact.clone(), notified_at: now, deadline });
                self.state = EscalationState::ReEscalated;
                self.deadline = Some(deadline);
                TimeoutOutcome::ReEscalated { contact, attempt: self.attempts.len(), deadline }
            }
            None => {
                self.state = EscalationState::Exhausted;
                self.deadline = None;
                self.exhausted_at = Some(now);
                TimeoutOutcome::Exhausted { last: self.current_contact().clone(), attempts: self.attempts.len() }
            }
        }
    }
}

fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    // Saturates at jiff's maximum instant, far beyond any real deadline.
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Kind, Status};
    use crate::{
        clock::TestClock,
        escalation::{
            Engine,
            testkit::{local, shipped},
        },
    };

    fn engine_at(when: &str) -> (Engine, TestClock) {
        let clock = TestClock::at(local(when));
        (Engine::new(Arc::new(shipped().clone()), Arc::new(clock.clone())), clock)
    }

    #[test]
    fn unacknowledged_escalation_walks_the_chain_then_says_it_is_exhausted() {
        // Saturday night: NSP System Owner first, 30 minutes to acknowledge.
        let (engine, clock) = engine_at("2026-03-07T03:00");
        let mut esc = engine.open("ESC-1", "INC-2026-000042", "NSP", Priority::P1);
        assert_eq!(esc.state, EscalationState::Pending);
        assert_eq!(esc.current_contact().id, "nsp-system-owner");
        assert_eq!(esc.deadline, Some(local("2026-03-07T03:30")));
        assert_eq!(esc.decision.rule, "nsp-weekend");

        let min = |m| SignedDuration::from_mins(m);
        // Each step: advance the clock, then what on_timeout must answer.
        let steps: Vec<(SignedDuration, TimeoutOutcome, EscalationState)> = vec![
            (min(0), TimeoutOutcome::NotDue { deadline: local("2026-03-07T03:30") }, EscalationState::Pending),
            (min(29), TimeoutOutcome::NotDue { deadline: local("2026-03-07T03:30") }, EscalationState::Pending),
            (
                min(1),
                TimeoutOutcome::ReEscalated {
                    contact: shipped().contact("nsp-incident-manager").unwrap().clone(),
                    attempt: 2,
                    deadline: local("2026-03-07T04:00"),
                },
                EscalationState::ReEscalated,
            ),
            (
                // Late by 10 minutes (say the gateway restarted): the next contact
                // still gets a full window from now.
                min(40),
                TimeoutOutcome::ReEscalated {
                    contact: shipped().contact("national-service-desk").unwrap().clone(),
                    attempt: 3,
                    deadline: local("2026-03-07T04:40"),
                },
                EscalationState::ReEscalated,
            ),
            (
                min(30),
                TimeoutOutcome::Exhausted {
                    last: shipped().contact("national-service-desk").unwrap().clone(),
                    attempts: 3,
                },
                EscalationState::Exhausted,
            ),
            (min(60), TimeoutOutcome::Settled { state: EscalationState::Exhausted }, EscalationState::Exhausted),
        ];
        for (i, (advance, want, state)) in steps.into_iter().enumerate() {
            clock.advance(advance);
            assert_eq!(engine.on_timeout(&mut esc), want, "step {i}");
            assert_eq!(esc.state, state, "step {i}");
        }
        assert_eq!(esc.attempts.len(), 3);
        assert_eq!(esc.deadline, None);
        assert_eq!(esc.exhausted_at, Some(local("2026-03-07T04:40")));

        // A late acknowledgement is still recorded.
        engine.acknowledge(&mut esc, "nsp-system-owner").unwrap();
        assert_eq!(esc.state, EscalationState::Acknowledged);
    }

    #[test]
    fn acknowledged_in_time_stops_the_chain() {
        let (engine, clock) = engine_at("2026-03-09T10:00");
        let mut esc = engine.open("ESC-2", "INC-2026-000043", "FMK", Priority::P2);
        assert_eq!(esc.current_contact().id, "fmk-incident-manager");
        assert_eq!(esc.deadline, Some(local("2026-03-09T10:15")));
        clock.advance(SignedDuration::from_mins(14));
        engine.acknowledge(&mut esc, "fmk-incident-manager").unwrap();
        assert_eq!(esc.state, EscalationState::Acknowledged);
        assert_eq!(
            esc.acknowledged,
            Some(Acknowledgement { by: "fmk-incident-manager".into(), at: local("2026-03-09T10:14") })
        );
        clock.advance(SignedDuration::from_mins(60));
        assert_eq!(engine.on_timeout(&mut esc), TimeoutOutcome::Settled { state: EscalationState::Acknowledged });
        assert_eq!(esc.attempts.len(), 1);
        let again = engine.acknowledge(&mut esc, "someone-else").unwrap_err();
        assert_eq!(
            again,
            TransitionError::AlreadyAcknowledged {
                id: "ESC-2".into(),
                by: "fmk-incident-manager".into(),
                at: local("2026-03-09T10:14"),
            }
        );
    }

    #[test]
    fn a_contact_without_a_chain_is_exhausted_at_the_first_timeout() {
        let decision = shipped().decide("NSP", Priority::P3, local("2026-03-09T10:00"));
        assert!(decision.chain.is_empty());
        let mut esc = Escalation::open("ESC-3", "INC-3", decision);
        assert!(matches!(esc.on_timeout(local("2026-03-09T10:15")), TimeoutOutcome::Exhausted { attempts: 1, .. }));
    }

    #[test]
    fn an_ended_escalation_pages_nobody_and_takes_no_acknowledgement() {
        let (engine, clock) = engine_at("2026-03-07T03:00");
        let mut esc = engine.open("ESC-5", "INC-2026-000005", "NSP", Priority::P1);
        clock.advance(SignedDuration::from_mins(5));
        assert!(esc.end("INC-2026-000005 was resolved", crate::clock::Clock::now(&clock)));
        assert_eq!((esc.state, esc.deadline), (EscalationState::Ended, None));
        assert!(!esc.end("again", crate::clock::Clock::now(&clock)), "ends once");
        clock.advance(SignedDuration::from_mins(60));
        assert_eq!(engine.on_timeout(&mut esc), TimeoutOutcome::Settled { state: EscalationState::Ended });
        assert_eq!(esc.attempts.len(), 1);
        assert!(matches!(engine.acknowledge(&mut esc, "nsp-system-owner"), Err(TransitionError::Ended { .. })));
        let text = toml::to_string(&esc).unwrap();
        assert_eq!(toml::from_str::<Escalation>(&text).unwrap(), esc);
    }

    #[test]
    fn what_ends_an_escalation() {
        use crate::model::{Change, IncidentId};
        let national = crate::model::Actor { desk: "sds".parse().unwrap(), role: crate::model::Role::National };
        let mut report = crate::model::testing::report("region-h", crate::model::DialectId::Servicenow, "INC1");
        report.priority = Some(Priority::P1);
        let open = report.into_incident(IncidentId::new(2026, 7), Timestamp::UNIX_EPOCH);
        assert_eq!(end_reason(&open), None);
        let after = |change: Change| {
            let mut i = open.clone();
            i.apply(&national, &change, Timestamp::UNIX_EPOCH).unwrap();
            end_reason(&i).unwrap_or_default()
        };
        assert!(after(Change { priority: Some(Priority::P2), ..Change::default() }).is_empty(), "still major");
        assert!(after(Change { priority: Some(Priority::P3), ..Change::default() }).contains("downgraded to P3"));
        for status in [Status::Resolved, Status::Cancelled] {
            let reason = after(Change { status: Some(status), ..Change::default() });
            assert!(reason.contains(status.as_str()), "{reason}");
        }
        let support =
            Change { kind: Some(Kind::SupportRequest), parent: Some(IncidentId::new(2026, 1)), ..Change::default() };
        assert!(after(support).contains("support request"));
    }

    #[test]
    fn records_round_trip_through_serde() {
        let (engine, clock) = engine_at("2026-10-25T02:30+01:00");
        let mut esc = engine.open("ESC-4", "INC-4", "SOSI", Priority::P1);
        clock.advance(SignedDuration::from_mins(31));
        engine.on_timeout(&mut esc);
        let text = toml::to_string(&esc).unwrap();
        assert!(text.contains("state = \"re_escalated\""), "{text}");
        let back: Escalation = toml::from_str(&text).unwrap();
        assert_eq!(back, esc);
        // The repeated hour's second 02:30 survives as +01:00.
        assert_eq!(back.decision.local.offset().seconds(), 3600);
    }
}
