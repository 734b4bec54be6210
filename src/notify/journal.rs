//! Journalising a closed incident (process step 17): its report and timeline as one
//! JSON document, written to the configured sink (`[gateway.journal]`). Each sink is
//! idempotent — a file named by the incident id, a webhook with an idempotency key,
//! a mail with a fixed Message-ID — because the outbox delivers at least once.

use std::io::Write;
use std::path::Path;

use deskgate_adapter::AdapterError;
use serde_json::{Value, json};

use super::{Notifier, answered, host_of};
use crate::config::Journal;
use crate::model::{Incident, IncidentId};

/// The journal entry of `incident`: what the report says and who reviewed it, and
/// the timeline (every recorded change and every note).
pub fn entry(incident: &Incident) -> Value {
    let report = incident.report.as_ref().map(|r| {
        json!({
            "state": r.state,
            "url_or_text": r.url_or_text.as_str(),
            "written_by": r.written_by.as_str(),
            "author": r.author,
            "quality_checked_by": r.quality_checked.as_ref().map(|q| json!({"desk": q.desk.as_str(), "name": q.name, "at": q.at.to_string()})),
            "approved_by": r.approved_by.as_ref().map(|d| d.as_str()),
            "approver": r.approver,
            "approved_at": r.approved_at.map(|t| t.to_string()),
        })
    });
    let history: Vec<Value> = incident
        .history
        .iter()
        .map(|h| json!({"at": h.at.to_string(), "actor": h.actor.as_str(), "field": h.field, "from": h.from, "to": h.to}))
        .collect();
    let notes: Vec<Value> = incident
        .notes
        .iter()
        .map(|n| json!({"at": n.at.to_string(), "author_desk": n.author_desk.as_str(), "visibility": n.visibility, "body": n.body.as_str()}))
        .collect();
    let attachments: Vec<Value> = incident
        .attachments
        .iter()
        .map(|a| json!({"file_name": a.file_name, "content_type": a.content_type, "sha256": a.sha256}))
        .collect();
    json!({
        "type": "incident_journal",
        "incident": incident.id.as_str(),
        "title": incident.title.as_str(),
        "service": incident.service.as_str(),
        "priority": incident.priority,
        "status": incident.status,
        "origin": {"desk": incident.origin.desk.as_str(), "ticket": incident.origin.ticket.as_str()},
        "assignee": incident.assignee.as_ref().map(|d| d.as_str()),
        "created_at": incident.created_at.to_string(),
        "closed_at": incident.updated_at.to_string(),
        "report": report,
        "timeline": history,
        "notes": notes,
        "attachments": attachments,
    })
}

/// `<dir>/<id>.json`, once: an existing file is the entry journalised before. The
/// content goes to a temporary file, synced, then renamed into place and the
/// directory synced, so a crash leaves either no entry or the whole entry.
pub fn write_once(dir: &Path, id: &IncidentId, body: &[u8]) -> std::io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join(format!("{id}.json"));
    if target.exists() {
        return Ok(false);
    }
    let temp = dir.join(format!(".{id}.json.partial"));
    {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(body)?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, &target)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(true)
}

impl Notifier {
    /// Journalise `incident` in `sink`.
    pub async fn journal(&self, sink: &Journal, incident: &Incident) -> Result<(), AdapterError> {
        let entry = entry(incident);
        match sink {
            Journal::Directory(dir) => {
                let mut body = serde_json::to_vec_pretty(&entry).map_err(|e| AdapterError::permanent(e.to_string()))?;
                body.push(b'\n');
                let (dir, id) = (dir.clone(), incident.id.clone());
                let written = tokio::task::spawn_blocking(move || write_once(&dir, &id, &body))
                    .await
                    .map_err(|e| AdapterError::retriable(format!("journal directory: {e}")))?;
                match written {
                    Ok(fresh) => {
                        tracing::info!(incident = %incident.id, fresh, "journalised");
                        Ok(())
                    }
                    Err(e) => Err(AdapterError::retriable(format!("journal directory: {}", e.kind()))),
                }
            }
            Journal::Webhook(url) => {
                let res = self
                    .http
                    .post(url.as_str())
                    .header("Idempotency-Key", format!("journal-{}", incident.id))
                    .json(&entry)
                    .send()
                    .await
                    .map_err(|err| {
                        AdapterError::retriable(format!("journal {}: {}", host_of(url.as_str()), err.without_url()))
                    })?;
                answered(&format!("journal {}", host_of(url.as_str())), res).await
            }
            Journal::Mail(to) => {
                let subject = format!("Journal: {} {}", incident.id, incident.title.as_str());
                let body = serde_json::to_string_pretty(&entry).map_err(|e| AdapterError::permanent(e.to_string()))?;
                self.mail(to, &subject, body, format!("<{}.journal@deskgate>", incident.id)).await
            }
        }
    }
}

/// The note that asks the operations supplier to coordinate the report another
/// supplier writes (step 12b). It names only the incident and the suppliers: the
/// operations supplier may not be party to the incident.
pub fn coordination_note(
    config: &crate::config::Config,
    incident: &Incident,
    solved_by: &crate::model::DeskId,
) -> String {
    let name = config.desk(solved_by).map_or(solved_by.as_str(), |d| d.name.as_str());
    let priority = incident.priority.map(|p| format!(" ({p})")).unwrap_or_default();
    format!(
        "{}{priority} was solved by {name}, which writes its incident report. As the operations supplier, coordinate the report with {name} before it goes to the national desk for approval.\n\n— via deskgate [{}]",
        incident.id, incident.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_17_a_journal_file_is_written_once_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("journal");
        let id = IncidentId::new(2026, 3);
        assert!(write_once(&journal, &id, b"first").unwrap(), "written");
        assert!(!write_once(&journal, &id, b"second").unwrap(), "a repeated delivery writes nothing");
        assert_eq!(std::fs::read(journal.join(format!("{id}.json"))).unwrap(), b"first");
        let names: Vec<_> = std::fs::read_dir(&journal).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
    }
}
