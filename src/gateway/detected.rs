//! Incidents a supplier detected itself (steps 18a/b) after they were first read in:
//! one handled in the supplier's tool only gets its national record once the supplier
//! marks it as affecting users (the process's "N/A – Opret incident i ClearQuest" row).

use super::plan::Planner;
use super::{Gateway, GatewayError, RequestContext};
use crate::model::{DeskId, HistoryEntry, Incident, TicketId};
use crate::outbox::{Action, Delivery};
use crate::store::{AuditKind, Effects};

impl Gateway {
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
            let mut effects = Effects { changed: true, deliveries: planner.created(i), ..Effects::default() };
            if let Some(national) = effects.deliveries.first().map(|d| d.desk.clone()) {
                if planner.delivers_to(supplier) {
                    let with = national.clone();
                    effects.deliveries.push(Delivery { desk: supplier.clone(), action: Action::Link { with } });
                }
                let with = supplier.clone();
                effects.deliveries.push(Delivery { desk: national, action: Action::Link { with } });
            }
            self.escalate(None, i, now, &mut effects);
            Ok(effects)
        };
        self.store.update_incident(&id, &mutate, entry).await?;
        self.outbox_changed.notify_one();
        tracing::info!(incident = %id, desk = %supplier, "supplier-detected incident now affects users");
        Ok(true)
    }
}
