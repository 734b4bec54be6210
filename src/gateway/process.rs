//! The incident process rules applied when a report arrives and while it waits
//! (process step 3): a report without a priority is classified from its urgency and
//! impact (`[gateway.classification]`); a P3/P4 outside staffed hours is deferred to
//! the next working start, which the national desk's copy shows, until the national
//! desk takes it up or the time comes; a P1/P2's reporter is told to also phone the
//! national desk.

use jiff::Timestamp;

use super::Gateway;
use super::plan::Planner;
use crate::model::{Actor, Incident, IncidentId, Role, Status, Text, Timer, Visibility};
use crate::outbox::{Action, Delivery};
use crate::store::{AuditEntry, AuditKind, DueTimer, Effects, TimerQuery};

/// How many due incidents one store call returns to a pass of the watch.
const DUE_PAGE: usize = 500;

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

    /// The incidents whose `timer` is due by `by`, earliest first, page by page from
    /// the store's index of it: what a pass reads grows with what is due, never with
    /// what the store holds.
    pub(super) async fn due(&self, timer: Timer, by: Timestamp) -> Result<Vec<IncidentId>, super::GatewayError> {
        let mut due: Vec<DueTimer> = Vec::new();
        loop {
            let query = TimerQuery { timer, by, after: due.last(), limit: DUE_PAGE };
            let page = self.store.due_timers(&query).await?;
            let last = page.len() < DUE_PAGE;
            due.extend(page);
            if last {
                return Ok(due.into_iter().map(|d| d.incident).collect());
            }
        }
    }

    /// The deferrals due at the clock's now end: the incident is taken up, and the
    /// national desk's copy shows it. Run by the escalation watch; the state is the
    /// incident's own `deferred_until`, so a restart loses nothing. Reads only the
    /// due ones (the store indexes `deferred_until`). Returns how many ended.
    pub async fn end_due_deferrals(&self) -> Result<usize, super::GatewayError> {
        let now = self.now();
        let due = self.due(Timer::Deferral, now).await?;
        let mut ended = 0;
        for id in due {
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
            let after = self.store.update_incident(&id, &end, entry).await?;
            if after.deferred_until.is_none() {
                ended += 1;
            }
        }
        if ended > 0 {
            self.outbox_changed.notify_one();
        }
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::{SignedDuration, Timestamp};

    use super::Gateway;
    use crate::clock::{Clock, TestClock};
    use crate::config::Config;
    use crate::config::testing::{GATEWAY, NATIONAL, env, region_h};
    use crate::model::{DialectId, Incident, Status};
    use crate::store::counting::Counting;
    use crate::store::{AuditEntry, AuditKind, Effects, Store, StoreConfig};

    /// A store with one deferral due at the clock's now, `waiting` deferred to
    /// tomorrow and `waiting` more reports that are not deferred at all; what one
    /// round of ending deferrals reads, and the due report as it is after.
    async fn one_round(waiting: usize) -> (usize, usize, Incident) {
        let dir = tempfile::tempdir().expect("a directory");
        let inner = crate::store::open(&StoreConfig::sled(dir.path().to_owned())).expect("opens");
        let store = Arc::new(Counting::new(inner, false));
        let now: Timestamp = "2026-11-30T07:00:00Z".parse().expect("an instant");
        let clock = TestClock::at(now);
        let federation = format!("{GATEWAY}{NATIONAL}{}", region_h("native"));
        let config = Config::from_toml(&federation, std::path::Path::new("."), &env()).expect("the federation loads");
        let gateway = Gateway::new(Arc::new(config), store.clone(), Arc::new(clock.clone()));
        let submit = |n: usize, until: Option<Timestamp>| {
            let store = store.clone();
            async move {
                let new = crate::model::testing::report("region-h", DialectId::Native, &format!("t-{n}"));
                let plan = move |i: &mut Incident| {
                    i.deferred_until = until;
                    Effects { changed: true, ..Effects::default() }
                };
                let entry = AuditEntry::new(now, AuditKind::Submitted, "submitted");
                store.create_incident(new, None, entry, now, &plan).await.expect("stored").incident().id.clone()
            }
        };
        let due = submit(0, Some(now)).await;
        for n in 1..=waiting {
            submit(n, Some(now + SignedDuration::from_hours(24))).await;
            submit(waiting + n, None).await;
        }
        store.reset();
        assert_eq!(gateway.end_due_deferrals().await.expect("a round"), 1, "the due deferral ends");
        let calls = store.calls();
        assert!(!calls.contains_key("list_incidents"), "no listing of the store: {calls:?}");
        let total = store.total();
        let after = store.get_incident(&due).await.expect("reads").expect("stored");
        assert_eq!(clock.now(), now);
        (total, calls.get("update_incident").copied().unwrap_or(0), after)
    }

    /// Process step 3 (NSP): a P3/P4 reported outside staffed hours is taken up at
    /// the next working start; the watch finds the due ones without reading the rest.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn step_3_ending_due_deferrals_reads_only_the_due_ones() {
        let (few, few_updates, after) = one_round(0).await;
        let (many, many_updates, _) = one_round(40).await;
        assert_eq!(few, many, "the calls of a round grow with reports that are not due");
        assert_eq!((few_updates, many_updates), (1, 1), "only the due report is written");
        assert_eq!(after.deferred_until, None, "its deferral ended");
        assert_eq!(after.status, Status::New, "it waits for the national desk, now in working hours");
        assert_eq!(after.version, 2, "the end is a change of its own");
    }
}
