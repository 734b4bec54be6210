//! [`IncidentFacts`]: the few fields of an incident the escalation watch decides on,
//! so a store can hand them over with a due escalation (one query, one read) instead
//! of the whole incident.

use serde::{Deserialize, Serialize};

use crate::model::{Incident, IncidentId, Kind, Priority, Service, Status};

/// What an escalation's incident is now, as far as the escalation is concerned:
/// whether it still calls for one ([`IncidentFacts::end_reason`]). Field names are
/// the incident's own, so a store can take them out of a stored incident as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFacts {
    pub id: IncidentId,
    pub kind: Kind,
    pub status: Status,
    pub priority: Option<Priority>,
    pub service: Service,
}

impl IncidentFacts {
    pub fn of(incident: &Incident) -> Self {
        Self {
            id: incident.id.clone(),
            kind: incident.kind,
            status: incident.status,
            priority: incident.priority,
            service: incident.service.clone(),
        }
    }

    /// Why the incident no longer calls for an escalation, if it does not: resolved,
    /// closed or cancelled, downgraded below P2, or a support request (whose parent is
    /// the incident that is escalated).
    pub fn end_reason(&self) -> Option<String> {
        let id = self.id.as_str();
        if self.kind == Kind::SupportRequest {
            return Some(format!("{id} became a support request"));
        }
        match self.status {
            Status::Resolved | Status::Closed | Status::Cancelled => {
                return Some(format!("{id} was {}", self.status));
            }
            _ => {}
        }
        match self.priority {
            Some(p) if p.is_major() => None,
            Some(p) => Some(format!("{id} was downgraded to {p}")),
            None => Some(format!("{id} has no priority")),
        }
    }
}
