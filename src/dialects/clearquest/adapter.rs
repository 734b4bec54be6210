//! How the adapter of a clearquest desk is built from its configuration.

use std::sync::Arc;

use deskgate_adapter::Adapter;

use crate::config::{Credentials, Desk};

pub(super) fn build(desk: &Desk, endpoint: &str) -> Result<Arc<dyn Adapter>, String> {
    let config = config_of(desk, endpoint)?;
    Ok(Arc::new(deskgate_clearquest::ClearQuestAdapter::new(config).map_err(|e| e.to_string())?))
}

/// The adapter's settings for `desk` at `endpoint` (also what `deskgate probe` discovers with).
pub(super) fn config_of(desk: &Desk, endpoint: &str) -> Result<deskgate_clearquest::ClearQuestConfig, String> {
    use deskgate_clearquest::ClearQuestConfig;
    let options = desk.clearquest().ok_or("a ClearQuest desk deskgate calls needs clearquest = { repo, db }")?;
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
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use deskgate_adapter::TicketFields;
    use deskgate_clearquest::{Schema, StateAction};
    use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};

    use crate::config::{Config, MapEnv};

    /// A desk whose schema names its assign action differently gets its own table
    /// from its `clearquest.schema` file, the same table its server runs.
    #[tokio::test]
    async fn a_desk_schema_file_replaces_the_shipped_workflow() {
        let mut schema = Schema::stock();
        schema.actions.retain(|a| a.action != "Assign");
        schema.actions.push(StateAction::new("Triage", &["Submitted"], "Assigned"));
        let sim =
            ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), schema, ..Default::default() }).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sds-schema.toml");
        let shipped = include_str!("../../../mappings/clearquest.toml");
        std::fs::write(&file, shipped.replace("{ action = \"Assign\",", "{ action = \"Triage\",")).unwrap();
        let text = format!(
            r#"
            [gateway]
            listen = "127.0.0.1:0"

            [desks.sds]
            name = "National Service Desk"
            role = "national"
            system = "clearquest"
            endpoint = "{}"
            clearquest = {{ repo = "7.0.0", db = "SDS", schema = {:?} }}
            credentials = {{ kind = "basic", username = "deskgate", password = {{ env = "T_PW" }} }}
            auth = {{ issuer = "sds", algorithm = "HS256", secret = {{ env = "T_SDS" }} }}
            "#,
            sim.base_url(),
            file.display().to_string()
        );
        let env = MapEnv::new(false).with("T_SDS", "sds-secret").with("T_PW", "deskgate-secret");
        let config = Config::from_toml(&text, Path::new("."), &env).unwrap();
        let desk = config.desk(&"sds".parse().unwrap()).unwrap();
        let adapter = super::build(desk, sim.base_url()).unwrap();
        let created = adapter
            .create(&TicketFields { title: Some("triage me".into()), ..TicketFields::default() }, "INC-1")
            .await
            .unwrap();
        let assigned = adapter
            .update(&created.id, &TicketFields { status: Some("Assigned".into()), ..TicketFields::default() })
            .await
            .unwrap();
        assert_eq!(assigned.fields.status.as_deref(), Some("Assigned"));
        let put = sim.received().into_iter().rfind(|r| r.method == "PUT").unwrap();
        assert!(put.target.contains("rcm.action=Triage"), "{}", put.target);
    }
}
