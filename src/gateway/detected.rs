//! Incidents a supplier detected itself (steps 18a/b): read in with the supplier as
//! origin and assignee; one handled in the supplier's tool only gets its national
//! record once the supplier marks it as affecting users (the process's "N/A – Opret incident i ClearQuest" row).

use super::plan::Planner;
use super::{Gateway, GatewayError, RequestContext, support};
use crate::model::{DeskId, HistoryEntry, Incident, ModelError, NewIncident, Role, Status, TicketId};
use crate::outbox::{Action, Delivery};
use crate::store::{AuditKind, CreateOutcome, Effects};

impl Gateway {
    /// An incident a supplier detected itself and created in its own tool (steps
    /// 18a/b): stored with the supplier as origin and assignee. Only when it affects
    /// users does the national desk get a record in its tool (created and linked both
    /// ways, as for an assignment); otherwise it is handled in the supplier's tool
    /// only, and the national desk sees it through the API and the audit log. A second
    /// report of the same ticket is a replay.
    pub async fn supplier_detected(
        &self,
        supplier: &DeskId,
        new: NewIncident,
        affects_users: bool,
        ctx: &RequestContext,
    ) -> Result<CreateOutcome, GatewayError> {
        if self.config.desk(supplier).is_none_or(|d| d.role != Role::Supplier) {
            return Err(ModelError::Forbidden(format!("{supplier} is not a supplier desk")).into());
        }
        let ticket = new.origin.ticket.clone();
        let reason = if affects_users {
            format!("detected by {supplier} in {ticket}; affects users: a record is created for the national desk")
        } else {
            format!(
                "detected by {supplier} in {ticket}; does not affect users: handled in {supplier}'s tool only, visible to the national desk through the API"
            )
        };
        let entry = self.entry(AuditKind::Submitted, Some(supplier), reason, ctx);
        let planner = Planner::new(&self.config);
        let now = self.now();
        let plan = |i: &mut Incident| {
            i.assignee = Some(supplier.clone());
            i.status = Status::Assigned;
            i.supplier_only = !affects_users;
            for (field, from, to) in
                [("assignee", None, supplier.to_string()), ("status", Some("new"), "assigned".into())]
            {
                i.history.push(HistoryEntry {
                    at: now,
                    actor: supplier.clone(),
                    field: field.into(),
                    from: from.map(str::to_owned),
                    to: Some(to),
                });
            }
            let mut effects = Effects { changed: true, ..Effects::default() };
            if affects_users {
                effects.deliveries = created_and_linked(&planner, i, supplier);
                self.on_created(i, now, &mut effects);
            }
            effects.deliveries.extend(support::detected_mail(&self.config));
            self.after_classified(None, i, supplier, now, &mut effects);
            effects
        };
        let outcome = self.store.create_incident(new, None, entry, now, &plan).await?;
        if let CreateOutcome::Created(i) = &outcome {
            self.outbox_changed.notify_one();
            metrics::counter!("deskgate_incidents_accepted_total", "desk" => supplier.to_string()).increment(1);
            tracing::info!(incident = %i.id, desk = %supplier, affects_users, "supplier-detected incident accepted");
        }
        Ok(outcome)
    }

    /// The supplier marked its ticket `ticket` as affecting users: when its incident
    /// was handled in the supplier's tool only, the national desk's record is created
    /// now and linked both ways, as when it affected users from the start; once (the
    /// incident stops being supplier-only). True when that happened.
    pub async fn affects_users_now(
        &self,
        supplier: &DeskId,
        ticket: &TicketId,
        ctx: &RequestContext,
    ) -> Result<bool, GatewayError> {
        let Some(id) = self.store.find_by_ref(supplier, ticket).await? else { return Ok(false) };
        match self.store.get_incident(&id).await? {
            Some(i) if i.supplier_only && &i.origin.desk == supplier => {}
            _ => return Ok(false),
        }
        let reason =
            format!("{supplier} marked {ticket} as affecting users: a record is created for the national desk");
        let entry = self.entry(AuditKind::Updated, Some(supplier), reason, ctx);
        let planner = Planner::new(&self.config);
        let now = self.now();
        let mutate = |i: &mut Incident| {
            if !i.supplier_only {
                return Ok(Effects::unchanged());
            }
            i.supplier_only = false;
            i.history.push(HistoryEntry {
                at: now,
                actor: supplier.clone(),
                field: "affects_users".into(),
                from: Some("false".into()),
                to: Some("true".into()),
            });
            i.updated_at = now;
            i.version += 1;
            let deliveries = created_and_linked(&planner, i, supplier);
            let mut effects = Effects { changed: true, deliveries, ..Effects::default() };
            self.escalate(None, i, now, &mut effects);
            Ok(effects)
        };
        self.store.update_incident(&id, &mutate, entry).await?;
        self.outbox_changed.notify_one();
        tracing::info!(incident = %id, desk = %supplier, "supplier-detected incident now affects users");
        Ok(true)
    }
}

/// The national desk's record of a supplier-detected incident, linked both ways: the
/// national desk's ticket to the supplier's, and the supplier's (when deskgate calls
/// it) to the national desk's.
fn created_and_linked(planner: &Planner<'_>, i: &Incident, supplier: &DeskId) -> Vec<Delivery> {
    let mut deliveries = planner.created(i);
    if let Some(national) = deliveries.first().map(|d| d.desk.clone()) {
        if planner.delivers_to(supplier) {
            let with = national.clone();
            deliveries.push(Delivery { desk: supplier.clone(), action: Action::Link { with } });
        }
        let with = supplier.clone();
        deliveries.push(Delivery { desk: national, action: Action::Link { with } });
    }
    deliveries
}
