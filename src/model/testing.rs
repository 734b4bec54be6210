//! Values unit tests across the crate build incidents from: one report, written once.

use super::*;
use jiff::Timestamp;

pub(crate) fn desk(id: &str) -> DeskId {
    id.parse().expect("a desk id")
}

pub(crate) fn ticket(id: &str) -> TicketId {
    id.parse().expect("a ticket id")
}

/// A desk's first report: FMK does not answer, no priority given, ticket `remote` at
/// desk `from` (a `system` desk).
pub(crate) fn report(from: &str, system: DialectId, remote: &str) -> NewIncident {
    NewIncident {
        kind: Kind::Incident,
        title: Title::parse("Receptserver svarer ikke").expect("a title"),
        description: Text::parse("description", "Ingen recepter siden 08:00").expect("a description"),
        service: "FMK".parse().expect("a service"),
        priority: None,
        urgency: None,
        impact: None,
        origin: Origin { desk: desk(from), ticket: ticket(remote) },
        origin_ref: Ref::new(desk(from), system, ticket(remote), remote),
    }
}

/// [`report`] as stored: `INC-2026-000001`, created at the epoch.
pub(crate) fn incident(from: &str, system: DialectId, remote: &str) -> Incident {
    report(from, system, remote).into_incident(IncidentId::new(2026, 1), Timestamp::UNIX_EPOCH)
}
