//! The Mitz incident process in the use cases (`[gateway.mitz]`): an
//! information-security incident is reported to the security officer and a calamity
//! to the Mitz service desk and the service level manager, as outbox deliveries in
//! the change's transaction; a P1 (or a P2 on the national desk's request) is owed a
//! root-cause analysis due in working days on the national calendar, and its assignee
//! is reminded once before it is due ([`Gateway::remind_rcas`], run by the
//! escalation watch; the reminder is recorded on the incident, so a restart neither
//! repeats nor loses it).

use jiff::{SignedDuration, Timestamp};

use crate::config::{Config, Person};
use crate::gateway::plan::{Planner, Via};
use crate::gateway::{Gateway, GatewayError};
use crate::model::{Actor, Category, Change, DeskId, Incident, Priority, Role, Text, Timer, Visibility};
use crate::outbox::{Action, Alert, AlertTo, Delivery};
use crate::store::{AuditEntry, AuditKind, Effects};

/// The notices a change from `before` (none for a new incident) to `after` calls for.
pub fn alerts(config: &Config, before: Option<&Incident>, after: &Incident) -> Vec<Delivery> {
    let Some(m) = &config.gateway.mitz else { return Vec::new() };
    let mut out = Vec::new();
    if after.category == Category::Security && before.is_none_or(|b| b.category != Category::Security) {
        out.extend(to_person(Alert::Security, AlertTo::SecurityOfficer, &m.security_officer));
    }
    if after.calamity.is_calamity() && before.is_none_or(|b| !b.calamity.is_calamity()) {
        out.extend(to_person(Alert::Calamity, AlertTo::ServiceDesk, &m.service_desk));
        out.extend(to_person(Alert::Calamity, AlertTo::ServiceLevelManager, &m.service_level_manager));
    }
    out
}

/// One delivery per channel the person has.
fn to_person(alert: Alert, to: AlertTo, p: &Person) -> Vec<Delivery> {
    [(false, p.email.is_some()), (true, p.sms.is_some())]
        .into_iter()
        .filter(|(_, has)| *has)
        .map(|(sms, _)| Delivery { desk: lane(to, sms), action: Action::Alert { alert, to, sms } })
        .collect()
}

/// The outbox lane of a person's channel: `notify-mitz-<who>-<mail|sms>`.
pub fn lane(to: AlertTo, sms: bool) -> DeskId {
    let channel = if sms { "sms" } else { "mail" };
    format!("notify-mitz-{}-{channel}", to.as_str()).parse().unwrap_or_else(|_| unreachable!("a valid desk id"))
}

/// A security incident as `actor` may see it: a local desk sees only its own notes.
pub fn redact(mut i: Incident, actor: &Actor) -> Incident {
    if i.text_is_internal() && actor.role == Role::Local {
        let notes = std::mem::take(&mut i.notes);
        i.notes = notes.into_iter().filter(|n| i.shows_note(n, actor)).collect();
    }
    i
}

impl Gateway {
    /// When a root-cause analysis owed from `now` is due: `rca_working_days` working
    /// days later on the national calendar (the escalation ruleset's; Monday to
    /// Friday in UTC without one). `None` without `[gateway.mitz]`.
    pub(crate) fn rca_due(&self, now: Timestamp) -> Option<Timestamp> {
        let days = self.config.gateway.mitz.as_ref()?.rca_working_days;
        let by_calendar = self.escalation.as_ref().and_then(|h| h.working_days_after(now, days));
        Some(by_calendar.unwrap_or_else(|| {
            crate::escalation::working_days::after_working_days(now, &jiff::tz::TimeZone::UTC, None, days)
        }))
    }

    /// `change` with the due date a root-cause analysis it starts would have.
    pub(crate) fn with_rca_due(&self, change: &Change, now: Timestamp) -> Change {
        let mut change = change.clone();
        change.classify.rca_due = self.rca_due(now);
        change
    }

    /// Inside a change's transaction, after the change: a P1 starts its root-cause
    /// analysis, and the notices the change calls for are queued with it.
    pub(crate) fn after_classified(
        &self,
        before: Option<&Incident>,
        i: &mut Incident,
        actor: &DeskId,
        now: Timestamp,
        effects: &mut Effects,
    ) {
        if let Some(due) = self.rca_due(now) {
            i.track_rca(due, false, actor, now);
        }
        effects.deliveries.extend(alerts(&self.config, before, i));
    }

    /// One pass: every root-cause analysis due within `rca_reminder_hours` that is
    /// neither delivered nor reminded gets an internal note for the assignee (in its
    /// tool too) and a mail to the assignee desk's contact. Returns how many.
    pub async fn remind_rcas(&self) -> Result<usize, GatewayError> {
        let Some(m) = &self.config.gateway.mitz else { return Ok(0) };
        let now = self.now();
        let lead = SignedDuration::from_hours(i64::from(m.rca_reminder_hours));
        let Some(national) = self.config.national_desk().map(|d| d.id.clone()) else { return Ok(0) };
        let actor = Actor { desk: national.clone(), role: Role::National };
        let mut reminded = 0;
        // Only the analyses due within the lead that nobody delivered or was reminded
        // of (the store indexes their due instants); each is checked again, as it is
        // now, inside its change.
        for id in self.due(Timer::RcaDue, now + lead).await? {
            let entry = AuditEntry::new(now, AuditKind::Updated, format!("root-cause analysis reminder for {id}"))
                .with_desk(&national);
            let mutate = |i: &mut Incident| {
                // A P1/P2's (the analysis is owed for those only).
                let major = i.priority.is_some_and(|p| matches!(p, Priority::P1 | Priority::P2));
                let Some(due) = i.rca.as_ref().map(|r| r.due).filter(|_| major && needs_reminder(i, now, lead)) else {
                    return Ok(Effects::unchanged());
                };
                let text = Text::parse(
                    "note",
                    &format!(
                        "Reminder: the root-cause analysis of {} is due {due}. Deliver it to the national desk and mark it delivered (rca_delivered).",
                        i.id
                    ),
                )?;
                let before = i.clone();
                i.add_note(&actor, text, Visibility::Internal, now);
                if let Some(rca) = i.rca.as_mut() {
                    rca.reminded_at = Some(now);
                }
                let mut deliveries = Planner::new(&self.config).changed(&before, i, &national, Via::Api);
                // The note reaches the assignee's tool; its desk's contact is also
                // mailed, when it has an address and there is a mail server.
                let mailable = i.assignee.as_ref().and_then(|a| self.config.desk(a)?.contact.as_ref()?.email.as_ref());
                if mailable.is_some() && self.config.gateway.smtp.is_some() {
                    deliveries.push(Delivery {
                        desk: lane(AlertTo::Assignee, false),
                        action: Action::Alert { alert: Alert::RcaDue, to: AlertTo::Assignee, sms: false },
                    });
                }
                Ok(Effects { changed: true, deliveries, ..Effects::default() })
            };
            let after = self.store.update_incident(&id, &mutate, entry).await?;
            if after.rca.as_ref().and_then(|r| r.reminded_at) == Some(now) {
                reminded += 1;
                tracing::info!(incident = %after.id, "root-cause analysis reminder sent");
            }
        }
        if reminded > 0 {
            self.outbox_changed.notify_one();
        }
        Ok(reminded)
    }
}

/// An analysis due within `lead` of `now`, not delivered, not reminded, with an assignee.
fn needs_reminder(i: &Incident, now: Timestamp, lead: SignedDuration) -> bool {
    i.assignee.is_some()
        && i.status != crate::model::Status::Cancelled
        && i.rca.as_ref().is_some_and(|r| r.delivered_at.is_none() && r.reminded_at.is_none() && now + lead >= r.due)
}
