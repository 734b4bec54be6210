//! A Jira desk's options: `jira = { project, api_version, … }`, and how its webhooks are trusted.
//! Plain configuration data, read with the rest of a desk by `crate::config`.

use serde::Deserialize;

use crate::dialects::options::{DeskFields, DeskOptions, OptionProblem};
use crate::model::DialectId;
use crate::secret::SecretRef;

/// How deskgate talks to a Jira instance.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraOptions {
    /// The project incidents are created in, e.g. `DRIFT`.
    pub project: String,
    /// REST API version, 2 (default) or 3.
    #[serde(default = "default_jira_api")]
    pub api_version: u8,
    /// Which product the desk runs, `cloud` or `datacenter`: how deskgate searches it
    /// (Cloud `/search/jql`, Data Center `/search`). Default: `cloud` with
    /// `api_version = 3` (only Cloud has v3), else `datacenter`.
    pub deployment: Option<JiraDeployment>,
    /// Cloud: seconds a created issue may stay out of Jira's search results; a create
    /// is not tried again for the same incident within them (default 30).
    pub search_consistency_secs: Option<u64>,
    /// Issue type for new issues (default `Incident`).
    pub issue_type: Option<String>,
    /// Custom field holding deskgate's incident id, e.g. `customfield_10042`.
    pub correlation_field: Option<String>,
    /// Text custom field a link also writes the linked ticket's display id into, e.g.
    /// `customfield_10043`: on a supplier's issue, the national desk's ClearQuest id.
    pub link_field: Option<String>,
    /// Webhook secret for the `X-Hub-Signature` HMAC of `/webhooks/jira/{desk}`.
    pub webhook_secret: Option<SecretRef>,
    /// How the desk's webhooks are trusted (default `signature`: the HMAC, or the
    /// desk's own token). `reread`: a webhook is only a hint naming an issue, which
    /// deskgate reads back through the desk's API before applying anything.
    #[serde(default)]
    pub webhook_verify: WebhookVerify,
    pub timeout_secs: Option<u64>,
    /// Incidents a supplier detects itself (steps 18a/b): the field holding the
    /// service of an issue created in its Jira, e.g. `customfield_10050` (a text or
    /// select field). Without it, or when empty, the desk's first named service.
    pub service_field: Option<String>,
    /// Handing on from the supplier's Jira (steps 5b, 6): Jira users (account id or
    /// name) that stand for another supplier desk, e.g. `{ "fmk-queue" = "fmk" }`.
    /// Assigning an issue to one hands the incident on to that desk, as the desk's
    /// `hand_on.to` allows (otherwise the change is parked for the national desk).
    #[serde(default)]
    pub hand_on_assignees: std::collections::BTreeMap<String, String>,
    /// The label that marks an issue created in the supplier's Jira as affecting users
    /// (default `affects-users`): only then is a ClearQuest record created for the
    /// national desk. Other issues are handled in Jira only.
    pub affects_users_label: Option<String>,
    /// Who may read the comment deskgate writes for an internal note:
    /// `{ type = "role", value = "Service Desk Team" }` or `{ type = "group", value =
    /// "jira-servicedesk-users" }` (default: the `Administrators` project role).
    pub internal_visibility: Option<InternalVisibility>,
    /// The Jira user deskgate acts as (its `accountId` on Cloud, its user name on
    /// Data Center). Webhooks of changes it made, and comments it wrote, are
    /// deskgate's own writes coming back and are not applied.
    pub integration_user: Option<String>,
}

/// `jira.internal_visibility`: a project role or a group, as Jira's comment
/// `visibility` names them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalVisibility {
    /// `role` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl JiraOptions {
    pub const DEFAULT_AFFECTS_USERS_LABEL: &str = "affects-users";
    pub const DEFAULT_SEARCH_CONSISTENCY_SECS: u64 = 30;
    /// The longest consistency window accepted: creates wait this long after a restart.
    pub const MAX_SEARCH_CONSISTENCY_SECS: u64 = 600;

    /// The product, given or implied by the API version.
    pub fn deployment(&self) -> JiraDeployment {
        self.deployment.unwrap_or(if self.api_version == 3 {
            JiraDeployment::Cloud
        } else {
            JiraDeployment::Datacenter
        })
    }

    pub fn search_consistency_secs(&self) -> u64 {
        self.search_consistency_secs.unwrap_or(Self::DEFAULT_SEARCH_CONSISTENCY_SECS)
    }

    /// Whether a Jira user (as payloads name it: `accountId`, `name`, `key`) is the
    /// configured integration user.
    pub fn is_integration_user(&self, ids: &[Option<&str>]) -> bool {
        self.integration_user.as_deref().map(str::trim).is_some_and(|me| ids.contains(&Some(me)))
    }

    pub fn affects_users_label(&self) -> &str {
        self.affects_users_label.as_deref().unwrap_or(Self::DEFAULT_AFFECTS_USERS_LABEL)
    }
}

/// Which Jira product a desk runs (`jira.deployment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JiraDeployment {
    Cloud,
    Datacenter,
}

/// How a Jira desk's webhooks are trusted (`jira.webhook_verify`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookVerify {
    /// The body must carry a valid `X-Hub-Signature`, or the request the desk's token.
    #[default]
    Signature,
    /// The payload is a hint: only its issue key is taken, and the issue (with its
    /// comments) is read back through the desk's API.
    Reread,
}

impl DeskOptions for JiraOptions {
    const SYSTEM: DialectId = DialectId::Jira;

    fn check(&self, path: &str, _desk: &DeskFields<'_>, problems: &mut Vec<OptionProblem>) {
        if !matches!(self.api_version, 2 | 3) {
            problems.push((format!("{path}.jira.api_version"), "expected 2 or 3".into()));
        }
        for (user, desk) in &self.hand_on_assignees {
            if desk.parse::<crate::model::DeskId>().is_err() {
                problems.push((
                    format!("{path}.jira.hand_on_assignees.{user}"),
                    format!("expected a desk id, got {desk:?}"),
                ));
            }
        }
        if let Some(visibility) = &self.internal_visibility {
            if !matches!(visibility.kind.as_str(), "role" | "group") {
                problems.push((
                    format!("{path}.jira.internal_visibility.type"),
                    format!("expected \"role\" or \"group\", got {:?}", visibility.kind),
                ));
            }
            if visibility.value.trim().is_empty() {
                problems.push((
                    format!("{path}.jira.internal_visibility.value"),
                    "expected the name of a project role or group, e.g. \"Service Desk Team\"".into(),
                ));
            }
        }
        if self.integration_user.as_deref().is_some_and(|u| u.trim().is_empty()) {
            problems.push((
                format!("{path}.jira.integration_user"),
                "expected the integration user's accountId (Cloud) or user name (Data Center)".into(),
            ));
        }
        if self.api_version == 3 && self.deployment() == JiraDeployment::Datacenter {
            problems.push((
                format!("{path}.jira.api_version"),
                "Jira Data Center has no REST API 3: expected api_version = 2 with deployment = \"datacenter\"".into(),
            ));
        }
        if self.search_consistency_secs.is_some_and(|s| s > Self::MAX_SEARCH_CONSISTENCY_SECS) {
            problems.push((
                format!("{path}.jira.search_consistency_secs"),
                format!("expected at most {} seconds", Self::MAX_SEARCH_CONSISTENCY_SECS),
            ));
        }
        if let Some(field) = &self.link_field {
            let digits = field.strip_prefix("customfield_").unwrap_or("");
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                problems.push((
                    format!("{path}.jira.link_field"),
                    format!("expected a custom field id like customfield_10043, got {field:?}"),
                ));
            }
        }
    }

    /// A Jira desk deskgate calls sends its changes as webhooks, which must be
    /// authenticated: a secret for their signature, or `webhook_verify = "reread"`
    /// (which needs the desk's endpoint to read back from).
    fn check_desk(options: Option<&Self>, path: &str, desk: &DeskFields<'_>, problems: &mut Vec<OptionProblem>) {
        let verify = options.map(|j| j.webhook_verify).unwrap_or_default();
        let secret = options.is_some_and(|j| j.webhook_secret.is_some());
        if verify == WebhookVerify::Signature && desk.endpoint_given && !secret {
            problems.push((
                format!("{path}.jira.webhook_secret"),
                "a Jira desk's webhooks must be authenticated: expected webhook_secret = { env = \"…\" } \
                 (the secret of the desk's webhook), or webhook_verify = \"reread\""
                    .into(),
            ));
        }
        if verify == WebhookVerify::Reread && (!desk.endpoint_given || !desk.has_credentials) {
            problems.push((
                format!("{path}.jira.webhook_verify"),
                "\"reread\" reads issues back through the desk's API: expected the desk's endpoint and credentials"
                    .into(),
            ));
        }
        if desk.endpoint_given && options.is_none() {
            problems
                .push((format!("{path}.jira"), "a Jira desk deskgate calls needs jira = { project = \"KEY\" }".into()));
        }
    }
}

fn default_jira_api() -> u8 {
    2
}

#[cfg(test)]
mod tests {
    use super::JiraDeployment::{Cloud, Datacenter};
    use super::JiraOptions;

    #[test]
    fn the_deployment_follows_the_api_version_unless_given() {
        let options = |text: &str| -> JiraOptions { toml::from_str(text).unwrap() };
        assert_eq!(options("project = \"D\"").deployment(), Datacenter);
        assert_eq!(options("project = \"D\"\napi_version = 3").deployment(), Cloud);
        assert_eq!(options("project = \"D\"\ndeployment = \"cloud\"").deployment(), Cloud);
        assert_eq!(options("project = \"D\"\napi_version = 3\ndeployment = \"datacenter\"").deployment(), Datacenter);
        assert_eq!(options("project = \"D\"").search_consistency_secs(), 30);
    }
}
