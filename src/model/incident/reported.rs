//! A report that names no urgency or impact (a desk's own ticket read in as it
//! stands), whose origin is the ticket it was read from.

use super::{Kind, NewIncident, Origin, Ref, Text, Title};
use crate::model::{Priority, Service};

impl NewIncident {
    /// An incident reported by `origin_ref`'s desk as that ticket: it is the origin
    /// and the first cross-reference.
    pub fn reported(
        title: Title,
        description: Text,
        service: Service,
        priority: Option<Priority>,
        origin_ref: Ref,
    ) -> Self {
        let origin = Origin { desk: origin_ref.desk.clone(), ticket: origin_ref.remote_id.clone() };
        Self {
            kind: Kind::Incident,
            title,
            description,
            service,
            priority,
            urgency: None,
            impact: None,
            origin,
            origin_ref,
        }
    }
}
