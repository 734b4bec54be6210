//! The options section of the system a desk runs, as resolved: one value per desk,
//! the section of its own system only (a section of another system is a problem at
//! load). Each section's type and checks are its dialect's (`dialects/<name>/options.rs`).

use super::{ClearQuestOptions, JiraOptions, Secret, ServiceNowOptions, System};

/// A desk's `servicenow = {…}`, `jira = {…}` or `clearquest = {…}`, or none.
#[derive(Clone, Debug, Default)]
pub enum DialectOptions {
    #[default]
    None,
    Servicenow(ServiceNowOptions),
    Jira {
        options: Box<JiraOptions>,
        /// Resolved from `jira.webhook_secret`.
        webhook_secret: Option<Secret>,
    },
    Clearquest(Box<ClearQuestOptions>),
}

impl DialectOptions {
    /// The section of the desk's system, of those written.
    pub(super) fn of_system(
        system: System,
        servicenow: Option<ServiceNowOptions>,
        jira: Option<JiraOptions>,
        jira_webhook_secret: Option<Secret>,
        clearquest: Option<ClearQuestOptions>,
    ) -> Self {
        let section = match system {
            System::Servicenow => servicenow.map(Self::Servicenow),
            System::Jira => jira.map(|o| Self::Jira { options: Box::new(o), webhook_secret: jira_webhook_secret }),
            System::Clearquest => clearquest.map(|o| Self::Clearquest(Box::new(o))),
            System::Native => None,
        };
        section.unwrap_or_default()
    }
}

impl super::Desk {
    pub fn servicenow(&self) -> Option<&ServiceNowOptions> {
        match &self.options {
            DialectOptions::Servicenow(o) => Some(o),
            _ => None,
        }
    }

    pub fn jira(&self) -> Option<&JiraOptions> {
        match &self.options {
            DialectOptions::Jira { options, .. } => Some(options),
            _ => None,
        }
    }

    /// The secret of the Jira desk's webhook signatures.
    pub fn jira_webhook_secret(&self) -> Option<&Secret> {
        match &self.options {
            DialectOptions::Jira { webhook_secret, .. } => webhook_secret.as_ref(),
            _ => None,
        }
    }

    pub fn clearquest(&self) -> Option<&ClearQuestOptions> {
        match &self.options {
            DialectOptions::Clearquest(o) => Some(o),
            _ => None,
        }
    }
}
