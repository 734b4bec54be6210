//! Adapters by desk: the outbound client for every desk deskgate delivers to, built
//! from the configuration by the desk's `system` (registry by kind).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deskgate_adapter::Adapter;

use crate::config::{Config, Credentials, Desk, Problem, System};
use crate::model::DeskId;

#[derive(Clone, Default)]
pub struct Adapters {
    by_desk: HashMap<DeskId, Arc<dyn Adapter>>,
}

impl Adapters {
    /// An adapter for every desk with a system other than `native` and an endpoint.
    /// Every problem is reported, with the desk's key path.
    pub fn from_config(config: &Config) -> Result<Self, Vec<Problem>> {
        let mut adapters = Adapters::default();
        let mut problems = Vec::new();
        for desk in config.desks.values() {
            let Some(endpoint) = &desk.endpoint else { continue };
            let built = match desk.system {
                System::Native => continue,
                System::Servicenow => servicenow(desk, endpoint.as_str()),
                System::Jira => jira(desk, endpoint),
                System::Clearquest => clearquest(desk, endpoint.as_str()),
            };
            match built {
                Ok(adapter) => {
                    adapters.by_desk.insert(desk.id.clone(), adapter);
                }
                Err(message) => problems.push(Problem { path: format!("desks.{}", desk.id), message }),
            }
        }
        if problems.is_empty() { Ok(adapters) } else { Err(problems) }
    }

    /// Use `adapter` for `desk` (tests, the demo).
    pub fn insert(&mut self, desk: DeskId, adapter: Arc<dyn Adapter>) {
        self.by_desk.insert(desk, adapter);
    }

    pub fn get(&self, desk: &DeskId) -> Option<Arc<dyn Adapter>> {
        self.by_desk.get(desk).cloned()
    }
}

fn timeout(secs: Option<u64>, default: u64) -> Duration {
    Duration::from_secs(secs.unwrap_or(default).max(1))
}

fn servicenow(desk: &Desk, endpoint: &str) -> Result<Arc<dyn Adapter>, String> {
    use deskgate_servicenow::{Auth, ServiceNowAdapter, ServiceNowConfig};
    let auth = match &desk.credentials {
        Some(Credentials::Basic { username, password }) => {
            Auth::Basic { user: username.clone(), password: password.expose().to_owned() }
        }
        Some(Credentials::OauthPassword { client_id, client_secret, username, password }) => Auth::OAuthPassword {
            client_id: client_id.clone(),
            client_secret: client_secret.expose().to_owned(),
            username: username.clone(),
            password: password.expose().to_owned(),
        },
        Some(Credentials::OauthClientCredentials { client_id, client_secret }) => Auth::OAuthClientCredentials {
            client_id: client_id.clone(),
            client_secret: client_secret.expose().to_owned(),
        },
        Some(Credentials::Bearer { .. }) => {
            return Err("ServiceNow credentials are basic, oauth_password or oauth_client_credentials".into());
        }
        None => return Err("a ServiceNow desk deskgate calls needs credentials".into()),
    };
    let mut config = ServiceNowConfig::new(endpoint, auth).map_err(|e| e.to_string())?;
    let options = desk.servicenow.clone().unwrap_or_default();
    if let Some(t) = options.table {
        config.table = t;
    }
    if let Some(f) = options.correlation_field {
        config.correlation_field = f;
    }
    if let Some(f) = options.link_field {
        config.link_field = f;
    }
    config.timeout = timeout(options.timeout_secs, 30);
    Ok(Arc::new(ServiceNowAdapter::new(config).map_err(|e| e.to_string())?))
}

fn jira(desk: &Desk, endpoint: &url::Url) -> Result<Arc<dyn Adapter>, String> {
    use deskgate_jira::{ApiVersion, Auth, JiraAdapter, JiraConfig};
    let options = desk.jira.as_ref().ok_or("a Jira desk deskgate calls needs jira = { project = \"KEY\" }")?;
    let auth = match &desk.credentials {
        Some(Credentials::Basic { username, password }) => {
            Auth::Basic { email: username.clone(), api_token: password.expose().to_owned() }
        }
        Some(Credentials::Bearer { token }) => Auth::Bearer { token: token.expose().to_owned() },
        _ => return Err("Jira credentials are basic (e-mail + API token) or bearer".into()),
    };
    let version = if options.api_version == 3 { ApiVersion::V3 } else { ApiVersion::V2 };
    let mut config = JiraConfig::new(endpoint.clone(), version, auth, options.project.clone());
    if let Some(t) = &options.issue_type {
        config.issue_type = t.clone();
    }
    if let Some(f) = &options.correlation_field {
        config.correlation_field = Some(f.clone());
    }
    config.link_field = options.link_field.clone();
    config.timeout = timeout(options.timeout_secs, 30);
    Ok(Arc::new(JiraAdapter::new(config).map_err(|e| e.to_string())?))
}

fn clearquest(desk: &Desk, endpoint: &str) -> Result<Arc<dyn Adapter>, String> {
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
    config.timeout = timeout(options.timeout_secs, 10);
    Ok(Arc::new(ClearQuestAdapter::new(config).map_err(|e| e.to_string())?))
}
