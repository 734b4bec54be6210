//! Handing an incident on between suppliers (process steps 5b and 6), by the
//! assigned supplier: to the supplier that solves it (`to`: the operations supplier
//! hands an application issue to the application supplier, which becomes the
//! assignee), and involving a component supplier (`involve`: a party that gets a
//! copy, not the assignee). Which suppliers a desk may name is its configuration
//! (`hand_on = { to, involve }`). The national desk is told by an internal note;
//! every copy follows the assignment: the new supplier's copy is created, the
//! supplier that handed it on is told its copy is no longer kept in step.

use super::plan::{Planner, Via};
use super::{Gateway, GatewayError, RequestContext};
use crate::auth::DeskPrincipal;
use crate::model::{DeskId, Incident, IncidentId, ModelError, Role, Text, TicketId, Visibility};
use crate::store::{AuditKind, Effects};

/// What the assigned supplier asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandOn {
    /// The supplier the incident is handed to.
    pub to: Option<DeskId>,
    /// Suppliers involved (given a copy).
    pub involve: Vec<DeskId>,
    /// Why, for the national desk and the new supplier.
    pub reason: Option<Text>,
}

impl Gateway {
    /// Whether `who` may hand incidents on to `to` / involve `involve`: a refusal
    /// naming the field and the configuration, else `Ok`.
    pub fn check_hand_on(&self, who: &DeskId, h: &HandOn) -> Result<(), ModelError> {
        let desk = self.config.desk(who).filter(|d| d.role == Role::Supplier).ok_or_else(|| {
            ModelError::Forbidden("only the assigned supplier hands an incident on or involves another supplier".into())
        })?;
        if h.to.is_none() && h.involve.is_empty() {
            return Err(ModelError::invalid("to", "the id of the supplier desk to hand the incident to, or involve"));
        }
        let allowed = |list: &[DeskId]| list.iter().map(DeskId::as_str).collect::<Vec<_>>().join(", ");
        if let Some(to) = h.to.as_ref().filter(|to| !desk.process.hand_on_to.contains(to)) {
            return Err(ModelError::Forbidden(format!(
                "to: {who} may not hand incidents on to {to} (its hand_on.to allows: {})",
                allowed(&desk.process.hand_on_to)
            )));
        }
        if let Some(other) = h.involve.iter().find(|d| !desk.process.involve.contains(d)) {
            return Err(ModelError::Forbidden(format!(
                "involve: {who} may not involve {other} (its hand_on.involve allows: {})",
                allowed(&desk.process.involve)
            )));
        }
        Ok(())
    }

    /// The supplier `desk`'s own tool reports its ticket `remote_id` handed on to `to`
    /// (in Jira: assigned to the user that stands for `to`). Applied as
    /// [`Gateway::hand_on`] through the API would be; a refusal is parked for the
    /// national desk. Reported again once handed on: nothing to do.
    pub async fn hand_on_from_tool(
        &self,
        desk: &DeskId,
        remote_id: &TicketId,
        to: &DeskId,
        ctx: &RequestContext,
    ) -> Result<(), GatewayError> {
        let Some(id) = self.store.find_by_ref(desk, remote_id).await? else { return Ok(()) };
        let Some(incident) = self.store.get_incident(&id).await? else { return Ok(()) };
        if incident.assignee.as_ref() != Some(desk) || incident.assignee.as_ref() == Some(to) {
            return Ok(());
        }
        let Some(role) = self.config.desk(desk).map(|d| d.role) else { return Ok(()) };
        let who = DeskPrincipal { desk: desk.clone(), role };
        let h = HandOn { to: Some(to.clone()), ..HandOn::default() };
        match self.hand_on(&who, &id, &h, ctx).await {
            Err(GatewayError::Model(rule @ (ModelError::Forbidden(_) | ModelError::Conflict(_)))) => {
                let now = self.now();
                let reason = format!("not applied: {desk}'s ticket {remote_id} was handed on to {to}: {rule}");
                self.park_reason(&id, desk, reason, now, ctx).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    pub async fn hand_on(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        h: &HandOn,
        ctx: &RequestContext,
    ) -> Result<Incident, GatewayError> {
        self.check_hand_on(&who.desk, h)?;
        let actor = who.actor();
        let now = self.now();
        let name = |d: &DeskId| self.config.desk(d).map_or(d.to_string(), |d| format!("{} ({})", d.name, d.id));
        let mut told = Vec::new();
        if !h.involve.is_empty() {
            let names: Vec<_> = h.involve.iter().map(name).collect();
            told.push(format!("{} involved {} as component supplier (step 6)", name(&who.desk), names.join(", ")));
        }
        if let Some(to) = &h.to {
            told.push(format!("{} handed the incident on to {} (step 5b)", name(&who.desk), name(to)));
        }
        let reason = h.reason.as_ref().map(|r| format!(": {}", r.as_str())).unwrap_or_default();
        let note = Text::parse("reason", &format!("{}{reason}.", told.join("; ")))?;
        let entry = self.entry(AuditKind::Updated, Some(&who.desk), told.join("; "), ctx);
        let mutate = |i: &mut Incident| {
            if !i.is_visible_to(&actor) {
                return Err(ModelError::NOT_PARTY);
            }
            i.ensure_room_for_notes(1, self.config.gateway.limits.notes_per_incident)?;
            let before = i.clone();
            // Involved first: only the assignee involves, and handing on ends that.
            let mut changed = false;
            for desk in &h.involve {
                changed |= i.involve(&actor, desk, now)?;
            }
            if let Some(to) = &h.to {
                changed |= i.hand_on(&actor, to, now)?;
            }
            if !changed {
                return Ok(Effects::unchanged());
            }
            // For the national desk (and every supplier party); not for the reporter.
            i.add_note(&actor, note.clone(), Visibility::Internal, now);
            let deliveries = Planner::new(&self.config).changed(&before, i, &actor.desk, Via::Api);
            Ok(Effects { changed: true, deliveries, ..Effects::default() })
        };
        let updated = self.store_change(id, &mutate, entry).await?;
        tracing::info!(incident = %id, desk = %who.desk, "handed on");
        Ok(updated)
    }
}
