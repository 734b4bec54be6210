//! What an incident keeps of the further reports that refer to it (process step 3:
//! "ved flere henvendelser … oprettes efterfølgende henvendelser som support
//! henvendelser med reference til det eksisterende incident"), and whether their
//! reporters were told of its resolution (step 15).

use serde::{Deserialize, Serialize};

use super::{Incident, IncidentId, Kind, Status};

/// The support requests of one incident, kept on the parent so listing them and
/// telling their reporters costs one read, not a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportRequests {
    /// Their ids, in the order they joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<IncidentId>,
    /// How many of `ids` (from the first) have had the resolution passed to their
    /// reporters: a support request joining later is told too, none twice.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub told: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl SupportRequests {
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.told == 0
    }

    /// Record `id` as a support request; true when it was not listed yet.
    pub fn add(&mut self, id: &IncidentId) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        self.ids.push(id.clone());
        true
    }
}

impl Incident {
    /// Whether this incident is a support request of `parent`.
    pub fn supports(&self, parent: &IncidentId) -> bool {
        self.kind == Kind::SupportRequest && self.parent.as_ref() == Some(parent)
    }

    /// The support requests whose reporters are still to be told the resolution:
    /// none until the incident is resolved or closed (step 15).
    pub fn support_requests_to_tell(&self) -> &[IncidentId] {
        if !matches!(self.status, Status::Resolved | Status::Closed) {
            return &[];
        }
        self.support_requests.ids.get(self.support_requests.told..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_15_support_requests_are_told_once_only_after_resolution() {
        let mut parent = crate::model::testing::incident("region-h", crate::model::DialectId::Servicenow, "T-1");
        let (a, b) = (IncidentId::new(2026, 7), IncidentId::new(2026, 8));
        assert!(parent.support_requests.add(&a) && !parent.support_requests.add(&a));
        assert!(parent.support_requests_to_tell().is_empty(), "not before it is resolved");
        parent.status = Status::Resolved;
        assert_eq!(parent.support_requests_to_tell(), std::slice::from_ref(&a));
        parent.support_requests.told = 1;
        assert!(parent.support_requests_to_tell().is_empty(), "once");
        parent.support_requests.add(&b);
        assert_eq!(parent.support_requests_to_tell(), [b], "a later support request is told too");
        let back: SupportRequests =
            serde_json::from_str(&serde_json::to_string(&parent.support_requests).unwrap()).unwrap();
        assert_eq!(back, parent.support_requests);
    }
}
