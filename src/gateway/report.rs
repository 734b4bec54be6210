//! The P1/P2 incident report's use cases (process steps 12a–13): each step of its
//! workflow, audited, recorded in the incident's history and planned for delivery in
//! one write. A returned report's comments reach its author's ticket as an internal
//! note; a report written by another step-12b supplier than the operations supplier
//! asks the operations supplier to coordinate it.

use super::{Gateway, GatewayError, RequestContext};
use crate::auth::DeskPrincipal;
use crate::gateway::plan::{Planner, Via};
use crate::model::{Incident, IncidentId, ModelError, ReportStep, Text, Visibility};
use crate::outbox::{Action, Delivery};
use crate::store::{AuditKind, Effects};

impl Gateway {
    /// Take `step` of the incident report's workflow as `who`.
    pub async fn report_step(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        step: &ReportStep,
        ctx: &RequestContext,
    ) -> Result<Incident, GatewayError> {
        let actor = who.actor();
        let now = self.now();
        let settings = &self.config.gateway.report;
        let policy = &settings.policy;
        // The operator checks reports of incidents it need not otherwise be party to.
        let operator = policy.operator.as_ref() == Some(&actor.desk);
        let returned_note = match step {
            ReportStep::Return { by, comments } => Some(Text::parse(
                "comments",
                &format!(
                    "Incident report returned for rework by {by} ({}). What must change:\n\n{}",
                    who.desk,
                    comments.as_str()
                ),
            )?),
            _ => None,
        };
        let entry = self.entry(AuditKind::Updated, Some(&who.desk), step.describe(), ctx);
        let mutate = |i: &mut Incident| {
            if !i.is_visible_to(&actor) && !operator {
                return Err(ModelError::NOT_PARTY);
            }
            if returned_note.is_some() {
                i.ensure_room_for_notes(1, self.config.gateway.limits.notes_per_incident)?;
            }
            let before = i.clone();
            i.report_step(&actor, step, policy, now)?;
            let planner = Planner::new(&self.config);
            let mut deliveries = Vec::new();
            if let Some(note) = &returned_note {
                i.add_note(&actor, note.clone(), Visibility::Internal, now);
                deliveries = planner.changed(&before, i, &actor.desk, Via::Api);
            }
            // Step 12b: the operations supplier coordinates a report another supplier
            // of that step writes (those quality-checked; the FMK supplier's, 12a, not).
            if let (ReportStep::Write { .. }, None, Some(ops)) = (step, &before.report, &settings.operations_supplier) {
                if ops != &actor.desk && policy.needs_quality_check(&actor.desk) && planner.delivers_to(ops) {
                    let action = Action::Coordinate { solved_by: actor.desk.clone() };
                    deliveries.push(Delivery { desk: ops.clone(), action });
                }
            }
            Ok(Effects { changed: true, deliveries, ..Effects::default() })
        };
        self.store_change(id, &mutate, entry).await
    }
}
