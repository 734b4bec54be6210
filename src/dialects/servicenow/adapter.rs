//! How the adapter of a servicenow desk is built from its configuration.

use std::sync::Arc;

use deskgate_adapter::Adapter;

use crate::config::{Credentials, Desk};

pub(super) fn build(desk: &Desk, endpoint: &str) -> Result<Arc<dyn Adapter>, String> {
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
    let options = desk.servicenow().cloned().unwrap_or_default();
    if let Some(t) = options.table {
        config.table = t;
    }
    if let Some(f) = options.correlation_field {
        config.correlation_field = f;
    }
    if let Some(f) = options.link_field {
        config.link_field = f;
    }
    config.timeout = crate::dialects::timeout(options.timeout_secs, 30);
    Ok(Arc::new(ServiceNowAdapter::new(config).map_err(|e| e.to_string())?))
}
