//! How the adapter of a clearquest desk is built from its configuration.

use std::sync::Arc;

use deskgate_adapter::Adapter;

use crate::config::{Credentials, Desk};

pub(super) fn build(desk: &Desk, endpoint: &str) -> Result<Arc<dyn Adapter>, String> {
    use deskgate_clearquest::{ClearQuestAdapter, ClearQuestConfig};
    let options = desk.clearquest.as_ref().ok_or("a ClearQuest desk deskgate calls needs clearquest = { repo, db }")?;
    let Some(Credentials::Basic { username, password }) = &desk.credentials else {
        return Err("ClearQuest credentials are basic".into());
    };
    let mut config =
        ClearQuestConfig::new(endpoint, options.repo.clone(), options.db.clone(), username.clone(), password.expose());
    if let Some(t) = &options.record_type {
        config.record_type = t.clone();
    }
    if let Some(t) = &options.record_type_dbid {
        config.record_type_dbid = t.clone();
    }
    if let Some(f) = &options.correlation_field {
        config.correlation_field = f.clone();
    }
    if let Some(f) = &options.modified_field {
        config.modified_field = f.clone();
    }
    if let Some(f) = &options.note_entry_field {
        config.note_entry_field = f.clone();
    }
    if let Some(n) = options.max_note_chars {
        config.max_note_chars = n;
    }
    if let Some(f) = &options.priority_field {
        config.priority_field = f.clone();
    }
    // The desk's own workflow, else the one shipped in the mapping file.
    config.schema = match options.schema_file() {
        Some(schema) => schema,
        None => deskgate_clearquest::Schema::from_toml(super::MAPPING.text),
    }
    .map_err(|e| format!("clearquest.schema: {e}"))?;
    config.timeout = crate::dialects::timeout(options.timeout_secs, 10);
    Ok(Arc::new(ClearQuestAdapter::new(config).map_err(|e| e.to_string())?))
}
