//! The seam between the incident flow and escalation: [`EscalationHook`].
//!
//! The gateway decides *when* an incident calls for an escalation — a new P1/P2, or
//! a change that upgrades it into P1/P2 ([`super::should_escalate`]) — and asks the
//! hook *what* to open; it also asks when a P3/P4 report is taken up. The
//! [`Engine`] is the real hook; tests of the flow can record the calls instead.
//! Both calls run inside the store's transaction and may run more than once under
//! contention, so they must depend only on their arguments.

use jiff::Timestamp;

use super::{Engine, Escalation, Priority};
use crate::model::Incident;

pub trait EscalationHook: Send + Sync + 'static {
    /// `incident` became (or arrived as) a P1/P2 at `at`, from `previous`: the
    /// escalation to open, with id `id`, or `None` to open none.
    fn escalate(&self, id: &str, incident: &Incident, previous: Option<Priority>, at: Timestamp) -> Option<Escalation>;

    /// When a new report of `priority` arriving at `at` is taken up, if not at once.
    fn defer_until(&self, priority: Priority, at: Timestamp) -> Option<Timestamp>;

    /// `at` on the wall clock staffed hours are kept by (for the desks' tickets).
    fn local(&self, at: Timestamp) -> String {
        at.to_string()
    }

    /// The same time `days` working days after `at` on the national desk's calendar;
    /// `None` when the hook has no calendar (the caller counts Monday to Friday).
    fn working_days_after(&self, _at: Timestamp, _days: u32) -> Option<Timestamp> {
        None
    }
}

impl EscalationHook for Engine {
    fn escalate(
        &self,
        id: &str,
        incident: &Incident,
        _previous: Option<Priority>,
        at: Timestamp,
    ) -> Option<Escalation> {
        let priority = incident.priority?;
        let decision = self.decide(incident.service.as_str(), priority, at);
        Some(Escalation::open(id, incident.id.as_str(), decision))
    }

    fn defer_until(&self, priority: Priority, at: Timestamp) -> Option<Timestamp> {
        self.ruleset().defer_until(priority, at)
    }

    fn local(&self, at: Timestamp) -> String {
        at.to_zoned(self.ruleset().zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    fn working_days_after(&self, at: Timestamp, days: u32) -> Option<Timestamp> {
        let r = self.ruleset();
        Some(super::working_days::after_working_days(at, r.zone(), r.national_calendar(), days))
    }
}
