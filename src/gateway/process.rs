//! The incident process rules applied when a report arrives and while it waits
//! (process step 3): a report without a priority is classified from its urgency and
//! impact (`[gateway.classification]`); a P3/P4 outside staffed hours is deferred to
//! the next working start, which the national desk's copy shows, until the national
//! desk takes it up or the time comes; a P1/P2's reporter is told to also phone the
//! national desk.

use jiff::Timestamp;

use super::Gateway;
use super::plan::Planner;
use crate::model::{Actor, Incident, Role, Status, Text, Visibility};
use crate::outbox::{Action, Delivery};
use crate::store::{AuditEntry, AuditKind, Effects, ListQuery};

impl Gateway {
    /// A priority the model derived from urgency × impact is the configured matrix's.
    pub(super) fn classify(&self, i: &mut Incident) {
        if let (true, Some(urgency), Some(impact)) = (i.priority_classified, i.urgency, i.impact) {
            i.priority = Some(self.config.gateway.classification.classify(urgency, impact));
        }
    }

    /// What the national desk's copy must show of `i`'s deferral, when it changed
    /// from `before` (the national desk's copy only: it is the one that takes it up).
    pub(super) fn deferral_shown(&self, before: Option<Timestamp>, i: &Incident) -> Option<Delivery> {
        if before == i.deferred_until || i.supplier_only {
            return None;
        }
        let planner = Planner::new(&self.config);
        let national = self.config.national_desk().map(|d| d.id.clone())?;
        if national == i.origin.desk || !planner.delivers_to(&national) {
            return None;
        }
        let until = match (i.deferred_until, &self.escalation) {
            (Some(t), Some(hook)) => Some(hook.local(t)),
            (Some(t), None) => Some(t.to_string()),
            (None, _) => None,
        };
        Some(Delivery { desk: national, action: Action::Deferral { until } })
    }

    /// Inside a submission's transaction, after classification, deferral and
    /// escalation: the deferral shown to the national desk, and an urgent report's
    /// reporter told the number to phone as well (a public note from the national
    /// desk, which reaches the reporter's ticket and the answer).
    pub(super) fn after_created(&self, i: &mut Incident, now: Timestamp, effects: &mut Effects) {
        effects.deliveries.extend(self.deferral_shown(None, i));
        let Some(national) = self.config.national_desk() else { return };
        let Some(priority) = i.priority.filter(|p| p.is_major()) else { return };
        let phone = national.process.urgent_phone.as_ref().or(national.contact.as_ref().and_then(|c| c.phone.as_ref()));
        // The reporter phones: a local desk (a supplier's own detection is its business).
        let reporter = self.config.desk(&i.origin.desk).is_some_and(|d| d.role == Role::Local);
        let Some(phone) = phone.filter(|_| reporter) else { return };
        let classified = if i.priority_classified { " (classified from urgency and impact)" } else { "" };
        let text = format!(
            "Urgent: this report is {priority}{classified}. Please also phone {} on {phone} now (process step 3).",
            national.name
        );
        let Ok(body) = Text::parse("note", &text) else { return };
        let actor = Actor { desk: national.id.clone(), role: Role::National };
        i.add_note(&actor, body, Visibility::Public, now);
        if Planner::new(&self.config).delivers_to(&i.origin.desk) {
            let index = i.notes.len() - 1;
            effects.deliveries.push(Delivery { desk: i.origin.desk.clone(), action: Action::Note { index } });
        }
    }

    /// Inside a change's transaction: the national desk set the priority (no longer
    /// a suggestion), or took the report up (it left `new`): its deferral ends.
    pub(super) fn after_changed(&self, before: &Incident, i: &mut Incident, actor: &Actor, effects: &mut Effects) {
        if actor.role == Role::National && i.priority != before.priority {
            i.priority_classified = false;
        }
        if i.status != Status::New {
            i.deferred_until = None;
        }
        effects.deliveries.extend(self.deferral_shown(before.deferred_until, i));
    }

    /// The deferrals due at the clock's now end: the incident is taken up, and the
    /// national desk's copy shows it. Run by the escalation watch; the state is the
    /// incident's own `deferred_until`, so a restart loses nothing. Returns how many ended.
    pub async fn end_due_deferrals(&self) -> Result<usize, super::GatewayError> {
        let now = self.now();
        // Deferred reports are new ones (taking one up ends its deferral).
        let query = ListQuery { status: Some(Status::New), ..ListQuery::all(usize::MAX) };
        let due: Vec<_> = self
            .store
            .list_incidents(&query)
            .await?
            .into_iter()
            .filter(|i| i.deferred_until.is_some_and(|t| t <= now))
            .collect();
        let mut ended = 0;
        for incident in due {
            let entry = AuditEntry::new(now, AuditKind::Updated, "deferral ended: the next working start came");
            let end = |i: &mut Incident| {
                let before = i.deferred_until.take();
                if before.is_none_or(|t| t > now) {
                    i.deferred_until = before;
                    return Ok(Effects::unchanged());
                }
                i.updated_at = now;
                i.version += 1;
                let deliveries = self.deferral_shown(before, i).into_iter().collect();
                Ok(Effects { changed: true, deliveries, ..Effects::default() })
            };
            self.store.update_incident(&incident.id, &end, entry).await?;
            ended += 1;
        }
        if ended > 0 {
            self.outbox_changed.notify_one();
        }
        Ok(ended)
    }
}
