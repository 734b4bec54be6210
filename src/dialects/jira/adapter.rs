//! How the adapter of a jira desk is built from its configuration.

use std::sync::Arc;

use deskgate_adapter::Adapter;

use crate::config::{Credentials, Desk};

pub(super) fn build(desk: &Desk, endpoint: &url::Url) -> Result<Arc<dyn Adapter>, String> {
    use deskgate_jira::{ApiVersion, Auth, Deployment, JiraAdapter, JiraConfig};

    use super::options::JiraDeployment;
    let options = desk.jira().ok_or("a Jira desk deskgate calls needs jira = { project = \"KEY\" }")?;
    let auth = match &desk.credentials {
        Some(Credentials::Basic { username, password }) => {
            Auth::Basic { email: username.clone(), api_token: password.expose().to_owned() }
        }
        Some(Credentials::Bearer { token }) => Auth::Bearer { token: token.expose().to_owned() },
        _ => return Err("Jira credentials are basic (e-mail + API token) or bearer".into()),
    };
    let version = if options.api_version == 3 { ApiVersion::V3 } else { ApiVersion::V2 };
    let mut config = JiraConfig::new(endpoint.clone(), version, auth, options.project.clone());
    config.deployment = match options.deployment() {
        JiraDeployment::Cloud => Deployment::Cloud,
        JiraDeployment::Datacenter => Deployment::DataCenter,
    };
    // Cloud names users by accountId whatever the API version; Data Center by name.
    config.user_ref = match config.deployment {
        Deployment::Cloud => deskgate_jira::UserRef::AccountId,
        Deployment::DataCenter => deskgate_jira::UserRef::Name,
    };
    config.search_consistency = std::time::Duration::from_secs(options.search_consistency_secs());
    if let Some(t) = &options.issue_type {
        config.issue_type = t.clone();
    }
    if let Some(f) = &options.correlation_field {
        config.correlation_field = Some(f.clone());
    }
    config.link_field = options.link_field.clone();
    if let Some(v) = &options.internal_visibility {
        config.internal_comments = match v.kind.as_str() {
            "group" => deskgate_jira::InternalCommentVisibility::Group(v.value.trim().to_owned()),
            _ => deskgate_jira::InternalCommentVisibility::Role(v.value.trim().to_owned()),
        };
    }
    config.integration_user = options.integration_user.as_deref().map(|u| u.trim().to_owned());
    config.timeout = crate::dialects::timeout(options.timeout_secs, 30);
    Ok(Arc::new(JiraAdapter::new(config).map_err(|e| e.to_string())?))
}
