//! A report's deferral shown in a desk's copy (process step 3): until when the
//! report waits for the national desk's next working start, and that it no longer
//! does. Where the desk's dialect names a field for it (ClearQuest's
//! `clearquest.deferred_until_field`) the field is set, and emptied at the end;
//! otherwise a note says it.

use deskgate_adapter::{Adapter, AdapterError, RemoteId, RemoteNote, TicketFields};

use crate::config::Desk;
use crate::model::Incident;

pub(super) async fn show(
    adapter: &dyn Adapter,
    desk: Option<&Desk>,
    id: &RemoteId,
    until: Option<&str>,
    incident: &Incident,
) -> Result<(), AdapterError> {
    if let Some(field) = desk.and_then(|d| crate::dialects::get(d.system).deferral_field(d)) {
        let mut fields = TicketFields::default();
        fields.extra.insert(field, until.unwrap_or_default().to_owned());
        adapter.update(id, &fields).await?;
        return Ok(());
    }
    let body = match until {
        Some(until) => format!(
            "Reported outside staffed hours and not urgent: deferred until {until}, the next working start (process step 3)."
        ),
        None => "The deferral has ended: the report is taken up now.".to_owned(),
    };
    // Marked like every note deskgate writes, so it is not read back as news.
    let body = format!("{body}\n\n— via deskgate [{}]", incident.id);
    adapter.add_note(id, &RemoteNote { body, public: false, author: None, at: None }).await
}
