//! A change and the comments that came with it (a Jira transition's `update.comment`),
//! written as one change.

use super::{Gateway, GatewayError, RequestContext, describe_change};
use crate::auth::DeskPrincipal;
use crate::gateway::plan::{Planner, Via};
use crate::model::{Change, Incident, IncidentId, Text, Visibility};
use crate::outbox::{Action, Delivery};
use crate::store::{AuditKind, Effects};

impl Gateway {
    /// `change` and public `notes` by `who` in one transaction: all or nothing. The
    /// notes are added first, so a change that resolves the incident takes the
    /// resolver's comment as its resolution text; that comment then reaches each
    /// party as the resolution, not a second time as a note.
    pub async fn update_with_notes(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        change: &Change,
        notes: &[Text],
        ctx: &RequestContext,
    ) -> Result<Incident, GatewayError> {
        // Assignments, joins and RFC links write notes of their own (`update`).
        let plain = change.assignee.is_none() && change.parent.is_none() && change.rfc.is_none();
        if !plain || notes.is_empty() {
            let mut updated = None;
            if !change.is_empty() {
                updated = Some(self.update(who, id, change, ctx).await?);
            }
            for note in notes {
                updated = Some(self.add_note(who, id, note.clone(), Visibility::Public, ctx).await?);
            }
            return match updated {
                Some(i) => Ok(i),
                None => self.get(who, id).await,
            };
        }
        let actor = who.actor();
        let now = self.now();
        let entry = self.entry(AuditKind::Updated, Some(&who.desk), describe_change(change), ctx);
        let mutate = |i: &mut Incident| {
            if !i.is_visible_to(&actor) {
                return Err(crate::model::ModelError::NOT_PARTY);
            }
            i.ensure_room_for_notes(notes.len(), self.config.gateway.limits.notes_per_incident)?;
            let before = i.clone();
            for note in notes {
                i.add_note(&actor, note.clone(), Visibility::Public, now);
            }
            // An empty change is no change: a local desk may send comments alone.
            if !change.is_empty() {
                i.apply(&actor, change, now)?;
                super::profile::after_change(&self.config, &actor, &before, i, now);
            }
            let mut deliveries = Planner::new(&self.config).changed(&before, i, &actor.desk, Via::Api);
            drop_resolution_notes(&mut deliveries, i);
            let mut effects = Effects { changed: true, deliveries, ..Effects::default() };
            self.escalate(before.priority, i, now, &mut effects);
            Ok(effects)
        };
        let updated = self.store_change(id, &mutate, entry).await?;
        self.end_escalations(&updated).await;
        Ok(updated)
    }
}

/// Leave out the note a desk is told as the resolution of the same change.
fn drop_resolution_notes(deliveries: &mut Vec<Delivery>, incident: &Incident) {
    let resolutions: Vec<(crate::model::DeskId, String)> = deliveries
        .iter()
        .filter_map(|d| match &d.action {
            Action::Status { resolution: Some(text), .. } => Some((d.desk.clone(), text.clone())),
            _ => None,
        })
        .collect();
    deliveries.retain(|d| match d.action {
        Action::Note { index } => {
            let body = incident.notes.get(index).map(|n| n.body.as_str());
            !resolutions.iter().any(|(desk, text)| desk == &d.desk && Some(text.as_str()) == body)
        }
        _ => true,
    });
}
