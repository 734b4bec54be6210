//! What the operator console reads, with the desk's visibility (the API's): a page
//! of incidents by the store's indexed query, and one incident with its escalations
//! and its deliveries (waiting and dead).

use super::operations::sees_lane;
use super::{Gateway, GatewayError, redact};
use crate::auth::DeskPrincipal;
use crate::escalation::Escalation;
use crate::model::{Incident, IncidentId};
use crate::outbox::{DeadLetter, OutboxItem};
use crate::store::{ListQuery, Viewer};

/// The most dead letters read to find one incident's (they are few: each holds
/// its lane until replayed).
const DEAD_LETTERS_READ: usize = 1000;

/// One incident and what is under way about it.
#[derive(Clone, Debug)]
pub struct IncidentView {
    pub incident: Incident,
    pub escalations: Vec<Escalation>,
    /// Deliveries waiting in the outbox, in lane order.
    pub waiting: Vec<OutboxItem>,
    pub dead: Vec<DeadLetter>,
}

impl Gateway {
    /// The incidents `query` asks for that the desk may see. A national desk's query
    /// may narrow the view to one desk's incidents (`Viewer::PartyTo`); any other
    /// desk's view is its own, whatever the query says.
    pub async fn browse(&self, who: &DeskPrincipal, query: &ListQuery) -> Result<Vec<Incident>, GatewayError> {
        let actor = who.actor();
        let mut query = query.clone();
        if Viewer::of(&actor) != Viewer::Everything {
            query.viewer = Viewer::of(&actor);
        }
        Ok(self.store.list_incidents(&query).await?.into_iter().map(|i| redact(i, &actor)).collect())
    }

    /// Incident `id` as the desk sees it, with its escalations and the deliveries on
    /// the lanes the desk sees (all for the national desk, its own for another).
    /// Not found for an incident the desk is not party to.
    pub async fn incident_view(&self, who: &DeskPrincipal, id: &IncidentId) -> Result<IncidentView, GatewayError> {
        let incident = self.get(who, id).await?;
        let escalations = self.store.escalations_of(id).await?;
        let waiting = self.store.outbox_for(id, None).await?.into_iter().filter(|i| sees_lane(who, &i.desk)).collect();
        let dead = self
            .store
            .dead_letters(DEAD_LETTERS_READ)
            .await?
            .into_iter()
            .filter(|d| &d.item.incident == id && sees_lane(who, &d.item.desk))
            .collect();
        Ok(IncidentView { incident, escalations, waiting, dead })
    }
}
