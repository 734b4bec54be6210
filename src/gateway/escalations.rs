//! The escalation use cases behind `/api/v1/escalations`: listing, reading and
//! acknowledging, with the same visibility as incidents (a desk sees the
//! escalations of incidents it is party to; the national desk sees all), and ending
//! the escalations of an incident that no longer calls for one.

use crate::escalation::{Escalation, IncidentFacts};
use crate::model::ModelError;
use crate::outbox::Delivery;
use crate::store::{EscalationQuery, StoreError, Viewer};

impl crate::gateway::Gateway {
    async fn escalation_visible(&self, who: &crate::auth::DeskPrincipal, e: &Escalation) -> bool {
        let Ok(id) = e.incident_id.parse::<crate::model::IncidentId>() else { return false };
        matches!(self.store.get_incident(&id).await, Ok(Some(i)) if i.is_visible_to(&who.actor()))
    }

    /// Escalations the desk may see, oldest incident first.
    pub async fn escalations(
        &self,
        who: &crate::auth::DeskPrincipal,
        limit: usize,
    ) -> Result<Vec<Escalation>, crate::gateway::GatewayError> {
        self.escalations_page(who, None, limit).await
    }

    /// A page of [`Self::escalations`]: those with an id after `after`, at most `limit`.
    pub async fn escalations_page(
        &self,
        who: &crate::auth::DeskPrincipal,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<Escalation>, crate::gateway::GatewayError> {
        let query = EscalationQuery { viewer: Viewer::of(&who.actor()), after, ..EscalationQuery::all(limit) };
        Ok(self.store.escalations(&query).await?)
    }

    pub async fn escalation(
        &self,
        who: &crate::auth::DeskPrincipal,
        id: &str,
    ) -> Result<Escalation, crate::gateway::GatewayError> {
        match self.store.escalation(id).await? {
            Some(e) if self.escalation_visible(who, &e).await => Ok(e),
            _ => Err(crate::gateway::GatewayError::NotFound(format!("escalation {id}"))),
        }
    }

    /// Record that `who` took the escalation: the chain stops. A second
    /// acknowledgement is a conflict naming the first.
    pub async fn acknowledge(
        &self,
        who: &crate::auth::DeskPrincipal,
        id: &str,
        ctx: &crate::gateway::RequestContext,
    ) -> Result<Escalation, crate::gateway::GatewayError> {
        self.escalation(who, id).await?;
        let now = self.clock.now();
        let by = who.desk.to_string();
        let change = |e: &mut Escalation, _: Option<&IncidentFacts>| -> Result<Vec<Delivery>, ModelError> {
            e.acknowledge(&by, now).map_err(|err| ModelError::Conflict(err.to_string()))?;
            Ok(Vec::new())
        };
        let entry = crate::store::AuditEntry {
            at: now,
            ..self.entry(
                crate::store::AuditKind::Updated,
                Some(&who.desk),
                format!("escalation {id} acknowledged"),
                ctx,
            )
        };
        let e = self.store.update_escalation(id, now, &change, Some(entry)).await.map_err(|e| match e {
            StoreError::NoEscalation(id) => crate::gateway::GatewayError::NotFound(format!("escalation {id}")),
            other => other.into(),
        })?;
        metrics::counter!("deskgate_escalations_total", "outcome" => "acknowledged").increment(1);
        tracing::info!(escalation = %e.id, incident = %e.incident_id, by = %who.desk, "escalation acknowledged");
        Ok(e)
    }

    /// After a change to `incident`: when it no longer calls for an escalation
    /// ([`crate::escalation::end_reason`]), its waiting escalations end, with the
    /// reason, so nobody is paged for it. A failure here is logged, not returned:
    /// the change is already durable, and the watch ends them once they are due,
    /// instead of paging.
    pub(crate) async fn end_escalations(&self, incident: &crate::model::Incident) {
        let Some(reason) = crate::escalation::end_reason(incident) else { return };
        let waiting = match self.store.escalations_of(&incident.id).await {
            Ok(all) => all.into_iter().filter(|e| e.state.is_waiting()),
            Err(e) => {
                tracing::error!(incident = %incident.id, error = %e, "ending escalations failed");
                return;
            }
        };
        for e in waiting.collect::<Vec<_>>() {
            if let Err(err) = end_escalation(&*self.store, &e.id, &reason, self.clock.now()).await {
                tracing::error!(escalation = %e.id, error = %err, "ending an escalation failed");
            }
        }
    }
}

/// End escalation `id` with `reason` at `now`, audited; nothing happens to one that
/// is no longer waiting.
pub async fn end_escalation(
    store: &dyn crate::store::Store,
    id: &str,
    reason: &str,
    now: jiff::Timestamp,
) -> Result<Escalation, StoreError> {
    let change = |e: &mut Escalation, _: Option<&IncidentFacts>| -> Result<Vec<Delivery>, ModelError> {
        e.end(reason, now);
        Ok(Vec::new())
    };
    let entry = crate::store::AuditEntry::new(
        now,
        crate::store::AuditKind::Updated,
        format!("escalation {id} ended: {reason}"),
    );
    let e = store.update_escalation(id, now, &change, Some(entry)).await?;
    if e.ended.as_ref().is_some_and(|end| end.at == now) {
        metrics::counter!("deskgate_escalations_total", "outcome" => "ended").increment(1);
        tracing::info!(escalation = %e.id, incident = %e.incident_id, %reason, "escalation ended");
    }
    Ok(e)
}
