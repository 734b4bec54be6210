//! A record a ClearQuest supplier created itself (step 18a: the FMK supplier detects
//! an incident and assigns it to itself): the poll sees a record that carries no
//! deskgate incident id and that deskgate does not know, and reads it in as a
//! supplier-detected incident, the supplier its origin and assignee. A supplier
//! reporting a record to the federation reports one that affects users: the national
//! desk gets its record, linked both ways, and a mail (step 18a).

use deskgate_adapter::RemoteTicket;

use crate::gateway::{Gateway, RequestContext};
use crate::model::{DeskId, DialectId, NewIncident, Ref, Role, Text, TicketId, Title, Written};
use crate::store::CreateOutcome;

/// Read `ticket` of supplier `desk` in when it is a record the supplier created
/// itself; true when an incident was created for it.
pub(super) async fn read_in(
    gateway: &Gateway,
    desk: &DeskId,
    remote_id: &TicketId,
    ticket: &RemoteTicket,
    ctx: &RequestContext,
) -> Result<bool, String> {
    let Some(config) = gateway.desk(desk).filter(|d| d.role == Role::Supplier) else { return Ok(false) };
    let correlation = config
        .clearquest()
        .and_then(|c| c.correlation_field.clone())
        .map(|f| if f.contains(':') { f } else { format!("cq:{f}") })
        .unwrap_or_else(|| "cq:deskgate_Incident".into());
    // deskgate's own records carry the incident id from the moment they exist.
    if ticket.fields.extra.get(&correlation).is_some_and(|v| !v.trim().is_empty()) {
        return Ok(false);
    }
    let fields = &ticket.fields;
    let headline = fields.title.as_deref().unwrap_or_default().trim();
    let title =
        Title::parse(&headline.chars().take(Title::MAX_CHARS).collect::<String>()).map_err(|e| e.to_string())?;
    let description = fields.description.as_deref().filter(|d| !d.trim().is_empty()).unwrap_or(title.as_str());
    let description = Text::parse("description", description).map_err(|e| e.to_string())?;
    let Some(service) = config.services.iter().find(|s| s.as_str() != "*") else {
        return Err(format!("{desk} names no service (services) for the records it reports itself"));
    };
    let service = service.parse().map_err(|e: crate::model::ModelError| e.to_string())?;
    let mapping = gateway.mapping(desk);
    let priority = mapping.and_then(|m| m.inbound_priority(fields).ok().flatten());
    let status = mapping.and_then(|m| m.inbound_status(fields).ok().flatten());
    let display_id =
        crate::model::parse_display_id("display_id", &ticket.display_id).unwrap_or_else(|_| remote_id.to_string());
    let url = ticket.url.clone().filter(|u| crate::model::parse_url("url", u).is_ok());
    let origin_ref = Ref {
        // What the record holds now: reading it back is no news.
        written: Written { status, priority, at: None },
        ..Ref::new(desk.clone(), DialectId::Clearquest, remote_id.clone(), display_id).with_url(url)
    };
    let new = NewIncident::reported(title, description, service, priority, origin_ref);
    let outcome = gateway.supplier_detected(desk, new, true, ctx).await.map_err(|e| e.to_string())?;
    if let CreateOutcome::Created(i) = &outcome {
        tracing::info!(%desk, incident = %i.id, record = %ticket.display_id, "supplier-detected record read in");
    }
    Ok(matches!(outcome, CreateOutcome::Created(_)))
}
