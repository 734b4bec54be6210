//! [`JiraAdapter`]: deskgate's outbound client for one Jira desk.
//!
//! Idempotency rests on a correlation marker written at create time — the gateway
//! incident id in a text custom field and/or a label — that
//! [`Adapter::find_by_correlation`] searches for, and on Jira's own upsert of remote
//! links by `globalId`.
//!
//! Cloud and Data Center search differently ([`Deployment`]): Data Center with
//! `POST /rest/api/2/search` (`startAt`, `total`), Cloud with the eventually
//! consistent `/search/jql`, which is why creates on Cloud are guarded (`cloud.rs`).
//!
//! Status changes go through the workflow. The adapter asks which transitions the
//! issue offers now (`GET …/transitions?expand=transitions.fields`, which also lists
//! the fields on each transition's screen) and takes the one whose target status has
//! the wanted name. When none does, it walks: the shortest chain of transitions it
//! knows of (every listing it reads teaches it the transitions out of that status),
//! else a step towards a status it has not seen yet, preferring targets whose status
//! category (`new`, `indeterminate`, `done`) is nearest the wanted status's (read
//! with `GET …/status/{name}`; a status Jira does not know is never walked to); after
//! each step the transitions are read again. At most [`MAX_TRANSITIONS`] steps, never
//! through a status twice; when the walk ends elsewhere the error is permanent and
//! names the statuses passed and what the workflow offers. A field is sent with a
//! transition only when its screen takes it: Jira refuses any other with 400 (`Field
//! 'resolution' cannot be set. It is not on the appropriate screen, or unknown.`).
//!
//! Comments authored by the configured integration user (deskgate itself) are left
//! out of what is read back: they are deskgate's own notes.
//!
//! Only URLs under the configured base URL are called (issue keys are escaped as
//! path segments, `self` links in answers are never followed) and redirects are
//! not followed. Credentials never appear in `Debug` output or errors.

mod attachments;
mod cloud;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use deskgate_adapter::{Adapter, AdapterError, RemoteId, RemoteLink, RemoteNote, RemoteTicket, TicketFields, http};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

mod workflow;

pub use workflow::MAX_TRANSITIONS;

use crate::jql::{self, Clause, Operand, Operator, Query, SortKey, Term};
use crate::wire::{
    ApiVersion, CommentPage, CreatedIssue, ErrorCollection, Issue, NamedRef, NewComment, SearchRequest, SearchResults,
    TextBody, Transition, User, Visibility,
};

/// How the adapter authenticates. Secrets are plain strings here (the gateway
/// resolves them from env or files) and are never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Jira Cloud: account e-mail + API token, sent as HTTP Basic.
    Basic { email: String, api_token: String },
    /// Jira Data Center personal access token, or an OAuth access token.
    Bearer { token: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { email, .. } => {
                f.debug_struct("Basic").field("email", email).field("api_token", &"<redacted>").finish()
            }
            Self::Bearer { .. } => f.debug_struct("Bearer").field("token", &"<redacted>").finish(),
        }
    }
}

/// Which Jira product the desk runs: it decides how issues are searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deployment {
    /// Jira Cloud: `/search/jql`, eventually consistent; REST v2 and v3.
    Cloud,
    /// Jira Data Center (or Server): `/search`; REST v2 only.
    DataCenter,
}

/// How users are addressed in write bodies: Cloud knows only `accountId`,
/// Server/Data Center use the user `name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserRef {
    AccountId,
    Name,
}

/// Who may read a comment deskgate writes for an internal note.
///
/// Jira core restricts comments by project role or group (`visibility`), and it
/// enforces that restriction everywhere; Jira Service Management's "internal"
/// comment property is not used because a Jira without Service Management would
/// store it and show the comment to everyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InternalCommentVisibility {
    /// A project role, e.g. `Administrators`, `Developers`, `Service Desk Team`.
    Role(String),
    /// A group, e.g. `jira-servicedesk-users`.
    Group(String),
}

impl InternalCommentVisibility {
    fn to_wire(&self) -> Visibility {
        match self {
            Self::Role(role) => Visibility { kind: "role".into(), value: role.clone() },
            Self::Group(group) => Visibility { kind: "group".into(), value: group.clone() },
        }
    }
}

/// Everything [`JiraAdapter`] needs to speak to one Jira desk.
#[derive(Clone)]
pub struct JiraConfig {
    /// The Jira base URL, with its context path if any (`https://jira.example.dk/jira`).
    pub base_url: Url,
    pub api_version: ApiVersion,
    pub deployment: Deployment,
    /// Cloud: how long a created or edited issue may stay out of search results. A
    /// create is not tried again for the same correlation id within this window.
    pub search_consistency: Duration,
    pub auth: Auth,
    /// Project issues are created in and searched within (`DRIFT`).
    pub project_key: String,
    /// Issue type name for created issues (`Incident`, `Task`).
    pub issue_type: String,
    /// Text custom field holding the gateway incident id (`customfield_10042`).
    pub correlation_field: Option<String>,
    /// Label prefix marking the gateway incident id (`deskgate-` gives
    /// `deskgate-INC-2026-000042`). Labels cannot hold spaces; incident ids do not.
    pub correlation_label_prefix: Option<String>,
    /// Text custom field a link also writes the linked ticket's display id into
    /// (`customfield_10043`: the national ClearQuest id on a supplier's issue).
    pub link_field: Option<String>,
    pub internal_comments: InternalCommentVisibility,
    pub user_ref: UserRef,
    /// Time zone Jira reads JQL dates in: the integration user's profile zone.
    pub jql_time_zone: TimeZone,
    /// Per request, connect to last byte.
    pub timeout: Duration,
    /// Issues per search page.
    pub page_size: u64,
    /// Most search pages read by one `changed_since`; the rest come on the next poll.
    pub max_pages: u64,
    /// The user deskgate acts as (`accountId` on Cloud, user name on Data Center):
    /// comments it authored are deskgate's own and not read back as the desk's.
    pub integration_user: Option<String>,
}

impl fmt::Debug for JiraConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_version", &self.api_version)
            .field("deployment", &self.deployment)
            .field("search_consistency", &self.search_consistency)
            .field("auth", &self.auth)
            .field("project_key", &self.project_key)
            .field("issue_type", &self.issue_type)
            .field("correlation_field", &self.correlation_field)
            .field("correlation_label_prefix", &self.correlation_label_prefix)
            .field("link_field", &self.link_field)
            .field("internal_comments", &self.internal_comments)
            .field("user_ref", &self.user_ref)
            .field("jql_time_zone", &self.jql_time_zone.iana_name())
            .field("timeout", &self.timeout)
            .field("integration_user", &self.integration_user)
            .finish_non_exhaustive()
    }
}

impl JiraConfig {
    /// A configuration with the usual defaults: issue type `Incident`, correlation
    /// in `customfield_10042`, internal notes restricted to the `Administrators`
    /// role, Cloud with users by `accountId` on v3 and Data Center with users by
    /// `name` on v2 (only Cloud has v3), a 30 s search consistency window, JQL dates
    /// in UTC, 30 s timeout, 100 issues per page, at most 20 pages per poll.
    pub fn new(base_url: Url, api_version: ApiVersion, auth: Auth, project_key: impl Into<String>) -> Self {
        Self {
            base_url,
            api_version,
            deployment: match api_version {
                ApiVersion::V2 => Deployment::DataCenter,
                ApiVersion::V3 => Deployment::Cloud,
            },
            search_consistency: Duration::from_secs(30),
            auth,
            project_key: project_key.into(),
            issue_type: "Incident".into(),
            correlation_field: Some("customfield_10042".into()),
            correlation_label_prefix: None,
            link_field: None,
            internal_comments: InternalCommentVisibility::Role("Administrators".into()),
            user_ref: match api_version {
                ApiVersion::V2 => UserRef::Name,
                ApiVersion::V3 => UserRef::AccountId,
            },
            jql_time_zone: TimeZone::UTC,
            timeout: Duration::from_secs(30),
            page_size: 100,
            max_pages: 20,
            integration_user: None,
        }
    }

    /// Whether `user` is the configured integration user (by account id, name or key).
    pub fn is_integration_user(&self, user: &User) -> bool {
        self.integration_user
            .as_deref()
            .is_some_and(|me| [&user.account_id, &user.name, &user.key].into_iter().any(|id| id.as_deref() == Some(me)))
    }
}

/// A configuration the adapter cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("jira base_url {0:?} must be an http or https URL without query or fragment")]
    BaseUrl(String),
    #[error("jira needs a correlation_field or a correlation_label_prefix to find issues it created")]
    NoCorrelation,
    #[error("jira correlation_field {0:?} must look like customfield_10042")]
    CorrelationField(String),
    #[error("jira link_field {0:?} must look like customfield_10043")]
    LinkField(String),
    #[error("jira project_key {0:?} must be letters, digits or underscores")]
    ProjectKey(String),
    #[error("jira {0} must not be empty")]
    Empty(&'static str),
    #[error("jira HTTP client: {0}")]
    Client(String),
    #[error("jira Data Center has no REST API 3: use api_version 2")]
    NoV3OnDataCenter,
}

/// The fields asked for in searches: what [`RemoteTicket`] is made of.
const SEARCH_FIELDS: &[&str] = &[
    "summary",
    "description",
    "status",
    "priority",
    "assignee",
    "labels",
    "resolution",
    "created",
    "updated",
    "comment",
];

/// Outbound adapter for one Jira desk.
pub struct JiraAdapter {
    config: JiraConfig,
    http: reqwest::Client,
    /// What the workflow is known to offer: transitions out of each status (by
    /// lower-case name), as last listed.
    workflow: Mutex<BTreeMap<String, Vec<Transition>>>,
    creates: Mutex<cloud::Creates>,
}

impl fmt::Debug for JiraAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraAdapter").field("config", &self.config).finish_non_exhaustive()
    }
}

impl JiraAdapter {
    pub fn new(config: JiraConfig) -> Result<Self, ConfigError> {
        let base = &config.base_url;
        if !matches!(base.scheme(), "http" | "https")
            || base.cannot_be_a_base()
            || base.query().is_some()
            || base.fragment().is_some()
        {
            return Err(ConfigError::BaseUrl(base.to_string()));
        }
        if config.project_key.is_empty() || !config.project_key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConfigError::ProjectKey(config.project_key.clone()));
        }
        if config.issue_type.trim().is_empty() {
            return Err(ConfigError::Empty("issue_type"));
        }
        if config.correlation_field.is_none() && config.correlation_label_prefix.is_none() {
            return Err(ConfigError::NoCorrelation);
        }
        if let Some(field) = &config.correlation_field {
            if custom_field_number(field).is_none() {
                return Err(ConfigError::CorrelationField(field.clone()));
            }
        }
        if let Some(field) = &config.link_field {
            if custom_field_number(field).is_none() {
                return Err(ConfigError::LinkField(field.clone()));
            }
        }
        if config.page_size == 0 || config.max_pages == 0 {
            return Err(ConfigError::Empty("page_size / max_pages"));
        }
        if config.deployment == Deployment::DataCenter && config.api_version == ApiVersion::V3 {
            return Err(ConfigError::NoV3OnDataCenter);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirect would send credentials somewhere not configured.
            .redirect(reqwest::redirect::Policy::none())
            // Only the configured endpoint is called, never an environment-chosen proxy.
            .no_proxy()
            .user_agent(concat!("deskgate-jira/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Self { config, http, workflow: Mutex::new(BTreeMap::new()), creates: Mutex::new(cloud::Creates::new()) })
    }

    pub fn config(&self) -> &JiraConfig {
        &self.config
    }

    /// `{base}/rest/api/{v}/{segments…}`, each segment escaped.
    fn api_url(&self, segments: &[&str]) -> Url {
        let mut url = self.config.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["rest", "api", self.config.api_version.as_str()]).extend(segments);
        }
        url
    }

    /// Where a person opens the issue: `{base}/browse/{key}`.
    fn browse_url(&self, key: &str) -> String {
        let mut url = self.config.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["browse", key]);
        }
        url.to_string()
    }

    /// Send one request; any non-2xx answer becomes a classified [`AdapterError`].
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + Sync)>,
        what: &str,
    ) -> Result<(StatusCode, Vec<u8>), AdapterError> {
        let mut request = self.http.request(method, url).header(reqwest::header::ACCEPT, "application/json");
        request = match &self.config.auth {
            Auth::Basic { email, api_token } => request.basic_auth(email, Some(api_token)),
            Auth::Bearer { token } => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = http::send("jira", what, request, http::DEFAULT_MAX_ANSWER_BYTES).await?;
        if answer.status.is_success() {
            return Ok((answer.status, answer.body));
        }
        let detail = match serde_json::from_slice::<ErrorCollection>(&answer.body) {
            Ok(errors) if !errors.summary().is_empty() => errors.summary(),
            _ => answer.text().chars().take(200).collect::<String>(),
        };
        let mut message = format!("jira {what}: HTTP {}", answer.status.as_u16());
        if !detail.trim().is_empty() {
            message.push_str(": ");
            message.push_str(detail.trim());
        }
        tracing::debug!(status = answer.status.as_u16(), what, "jira answered with an error");
        Err(answer.error(message))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url, what: &str) -> Result<T, AdapterError> {
        let (_, bytes) = self.call(Method::GET, url, None::<&()>, what).await?;
        decode(&bytes, what)
    }

    async fn fetch_issue(&self, key: &str) -> Result<Issue, AdapterError> {
        self.get_json(self.api_url(&["issue", key]), &format!("get issue {key}")).await
    }

    /// Search with JQL, following pages up to `max_pages`.
    async fn search(&self, query: &Query, max_pages: u64) -> Result<Vec<Issue>, AdapterError> {
        let mut fields: Vec<String> = SEARCH_FIELDS.iter().map(|s| (*s).to_owned()).collect();
        fields.extend(self.config.correlation_field.clone());
        if self.config.deployment == Deployment::Cloud {
            return self.search_jql(query, fields, max_pages).await;
        }
        let mut issues = Vec::new();
        let mut start_at = 0;
        for _ in 0..max_pages {
            let request = SearchRequest {
                jql: query.to_string(),
                start_at,
                max_results: Some(self.config.page_size),
                fields: fields.clone(),
            };
            let (_, bytes) = self.call(Method::POST, self.api_url(&["search"]), Some(&request), "search").await?;
            let page: SearchResults = decode(&bytes, "search")?;
            let got = page.issues.len() as u64;
            issues.extend(page.issues);
            start_at += got;
            if got == 0 || start_at >= page.total {
                break;
            }
        }
        Ok(issues)
    }

    fn user_value(&self, handle: &str) -> Value {
        match self.config.user_ref {
            UserRef::AccountId => json!({ "accountId": handle }),
            UserRef::Name => json!({ "name": handle }),
        }
    }

    /// Fields for create/edit bodies; `status` and `resolution` go through transitions.
    fn write_fields(&self, fields: &TicketFields) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        if let Some(title) = &fields.title {
            out.insert("summary".into(), json!(title));
        }
        if let Some(description) = &fields.description {
            let body = TextBody::for_version(description, self.config.api_version);
            out.insert("description".into(), json!(body));
        }
        if let Some(priority) = &fields.priority {
            out.insert("priority".into(), json!(NamedRef::by_name(priority)));
        }
        if let Some(assignee) = &fields.assignee {
            let value = if assignee.is_empty() { Value::Null } else { self.user_value(assignee) };
            out.insert("assignee".into(), value);
        }
        for (name, value) in &fields.extra {
            if name != "resolution" {
                out.insert(name.clone(), json!(value));
            }
        }
        out
    }

    fn correlation_label(&self, correlation: &str) -> Option<String> {
        self.config.correlation_label_prefix.as_ref().map(|prefix| format!("{prefix}{correlation}"))
    }

    fn ticket(&self, issue: Issue) -> RemoteTicket {
        let f = issue.fields;
        let mut extra = std::collections::BTreeMap::new();
        if let Some(field) = &self.config.correlation_field {
            if let Some(value) = f.extra.get(field).and_then(scalar_text) {
                extra.insert(field.clone(), value);
            }
        }
        if let Some(labels) = f.labels.as_ref().filter(|l| !l.is_empty()) {
            extra.insert("labels".into(), labels.join(","));
        }
        if let Some(resolution) = f.resolution.as_ref().and_then(|r| r.name.clone()) {
            extra.insert("resolution".into(), resolution);
        }
        let notes = f
            .comment
            .map(|page| page.comments)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !self.own_comment(c))
            .map(|c| RemoteNote {
                body: c.body.to_text(),
                public: c.is_public(),
                author: c
                    .author
                    .as_ref()
                    .and_then(|a| a.display_name.clone().or_else(|| a.handle().map(str::to_owned))),
                at: c.created.as_deref().and_then(crate::wire::parse_timestamp),
            })
            .collect();
        RemoteTicket {
            url: Some(self.browse_url(&issue.key)),
            display_id: issue.key.clone(),
            id: RemoteId(issue.key),
            etag: None,
            updated_at: f.updated.as_deref().and_then(crate::wire::parse_timestamp),
            fields: TicketFields {
                title: f.summary,
                description: f.description.map(|d| d.to_text()).filter(|d| !d.is_empty()),
                status: f.status.map(|s| s.name),
                priority: f.priority.and_then(|p| p.name),
                assignee: f.assignee.and_then(|a| a.handle().map(str::to_owned)),
                extra,
            },
            notes,
        }
    }

    /// A comment deskgate itself wrote, as the integration user.
    fn own_comment(&self, comment: &crate::wire::Comment) -> bool {
        comment.author.as_ref().is_some_and(|a| self.config.is_integration_user(a))
    }

    fn project_term(&self) -> Clause {
        Clause::Term(Term {
            field: "project".into(),
            op: Operator::Eq,
            operand: Operand::Value(self.config.project_key.clone()),
        })
    }

    /// Whether an issue found by a correlation search really carries `correlation`
    /// (a `~` search is a text match and can find near-misses).
    fn carries(&self, issue: &Issue, correlation: &str) -> bool {
        let by_field =
            self.config.correlation_field.as_ref().is_some_and(|field| {
                issue.fields.extra.get(field).and_then(scalar_text).as_deref() == Some(correlation)
            });
        let by_label = self
            .correlation_label(correlation)
            .is_some_and(|label| issue.fields.labels.as_ref().is_some_and(|labels| labels.contains(&label)));
        by_field || by_label
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The issue key or numeric id in `id`, checked before it becomes a path segment:
/// a key is `PROJECT-123`, an id is digits. Anything else (`..`, `a/b`) is refused
/// rather than escaped, because `..` would climb out of `/rest/api/{v}/issue/`.
fn issue_ref(id: &RemoteId) -> Result<&str, AdapterError> {
    let s = id.0.as_str();
    let is_id = !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_digit());
    let is_key = s.len() <= 255
        && s.rsplit_once('-').is_some_and(|(project, number)| {
            project.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && project.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
        });
    if is_id || is_key {
        Ok(s)
    } else {
        Err(AdapterError::permanent(format!("jira: {s:?} is not an issue key (PROJECT-123) or issue id")))
    }
}

/// `customfield_10042` → `10042`.
fn custom_field_number(field: &str) -> Option<&str> {
    let number = field.strip_prefix("customfield_")?;
    (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit())).then_some(number)
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, AdapterError> {
    serde_json::from_slice(bytes).map_err(|e| AdapterError::Permanent {
        message: format!("jira {what}: answer is not what Jira sends: {e}"),
        status: None,
        body: Some(String::from_utf8_lossy(bytes).chars().take(deskgate_adapter::MAX_ERROR_BODY).collect()),
    })
}

/// `yyyy/MM/dd HH:mm` in the zone Jira reads JQL dates in, rounded down to the
/// minute (JQL has no seconds), so the search window only ever grows.
pub fn jql_minute(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).strftime("%Y/%m/%d %H:%M").to_string()
}

#[async_trait]
impl Adapter for JiraAdapter {
    async fn create(&self, fields: &TicketFields, correlation: &str) -> Result<RemoteTicket, AdapterError> {
        if fields.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(AdapterError::permanent("jira create: a Jira issue needs a summary (title is empty)"));
        }
        let mut body = self.write_fields(fields);
        body.insert("project".into(), json!({ "key": self.config.project_key }));
        body.insert("issuetype".into(), json!({ "name": self.config.issue_type }));
        if let Some(field) = &self.config.correlation_field {
            body.insert(field.clone(), json!(correlation));
        }
        if let Some(label) = self.correlation_label(correlation) {
            body.insert("labels".into(), json!([label]));
        }
        let what = format!("create issue in {}", self.config.project_key);
        if let Some(wait) = self.claim_create(correlation) {
            return Err(cloud::not_yet(&what, correlation, wait));
        }
        let (_, bytes) =
            self.call(Method::POST, self.api_url(&["issue"]), Some(&json!({ "fields": body })), &what).await?;
        let created: CreatedIssue = decode(&bytes, &what)?;
        self.note_created(&created.id);
        if let Some(wanted) = &fields.status {
            let issue = self.fetch_issue(&created.key).await?;
            let current = issue.fields.status.as_ref().map(|s| s.name.clone());
            self.transition_to(&created.key, current.as_deref(), wanted, fields).await?;
        }
        Ok(self.ticket(self.fetch_issue(&created.key).await?))
    }

    async fn find_by_correlation(&self, correlation: &str) -> Result<Option<RemoteTicket>, AdapterError> {
        let mut markers = Vec::new();
        if let Some(number) = self.config.correlation_field.as_deref().and_then(custom_field_number) {
            // Text fields only support `~`; quoting the id asks for it as a phrase.
            markers.push(Clause::Term(Term {
                field: format!("cf[{number}]"),
                op: Operator::Contains,
                operand: Operand::Value(format!("\"{correlation}\"")),
            }));
        }
        if let Some(label) = self.correlation_label(correlation) {
            markers.push(Clause::Term(Term {
                field: "labels".into(),
                op: Operator::Eq,
                operand: Operand::Value(label),
            }));
        }
        let marker = if markers.len() == 1 { markers.remove(0) } else { Clause::Or(markers) };
        let query = Query {
            filter: Some(Clause::And(vec![self.project_term(), marker])),
            order_by: vec![SortKey { field: "created".into(), descending: false }],
        };
        let found = self.search(&query, 1).await?;
        Ok(found.into_iter().find(|issue| self.carries(issue, correlation)).map(|issue| self.ticket(issue)))
    }

    async fn get(&self, id: &RemoteId) -> Result<RemoteTicket, AdapterError> {
        Ok(self.ticket(self.fetch_issue(issue_ref(id)?).await?))
    }

    async fn update(&self, id: &RemoteId, fields: &TicketFields) -> Result<RemoteTicket, AdapterError> {
        let key = issue_ref(id)?;
        let edit = self.write_fields(fields);
        if !edit.is_empty() {
            self.call(
                Method::PUT,
                self.api_url(&["issue", key]),
                Some(&json!({ "fields": edit })),
                &format!("edit issue {key}"),
            )
            .await?;
        }
        if let Some(wanted) = &fields.status {
            let issue = self.fetch_issue(key).await?;
            let current = issue.fields.status.as_ref().map(|s| s.name.clone());
            self.transition_to(key, current.as_deref(), wanted, fields).await?;
        }
        Ok(self.ticket(self.fetch_issue(key).await?))
    }

    async fn add_note(&self, id: &RemoteId, note: &RemoteNote) -> Result<(), AdapterError> {
        let key = issue_ref(id)?;
        let body = NewComment {
            body: TextBody::for_version(&note.body, self.config.api_version),
            visibility: (!note.public).then(|| self.config.internal_comments.to_wire()),
        };
        self.call(Method::POST, self.api_url(&["issue", key, "comment"]), Some(&body), &format!("comment on {key}"))
            .await?;
        Ok(())
    }

    async fn link(&self, id: &RemoteId, link: &RemoteLink) -> Result<(), AdapterError> {
        let key = issue_ref(id)?;
        // Jira requires an object URL; without one the global id (a URI by
        // convention) stands in, so the link still opens somewhere meaningful.
        let url = link.url.clone().unwrap_or_else(|| link.global_id.clone());
        let body = crate::wire::RemoteLink {
            global_id: Some(link.global_id.clone()),
            application: Some(crate::wire::RemoteLinkApplication {
                kind: Some("deskgate".into()),
                name: Some("deskgate".into()),
            }),
            relationship: Some("mirrored by".into()),
            object: crate::wire::RemoteLinkObject {
                url,
                title: link.display_id.clone(),
                summary: Some(link.title.clone()),
                extra: Default::default(),
            },
            ..Default::default()
        };
        self.call(
            Method::POST,
            self.api_url(&["issue", key, "remotelink"]),
            Some(&body),
            &format!("link {key} to {}", link.display_id),
        )
        .await?;
        // The linked ticket's id in a field of its own, where Jira users search and
        // report on it; written only when it differs, so a retry changes nothing.
        if let Some(field) = &self.config.link_field {
            let issue = self.fetch_issue(key).await?;
            if issue.fields.extra.get(field).and_then(scalar_text).as_deref() != Some(link.display_id.as_str()) {
                self.call(
                    Method::PUT,
                    self.api_url(&["issue", key]),
                    Some(&json!({ "fields": { field.as_str(): link.display_id } })),
                    &format!("set {field} of {key} to {}", link.display_id),
                )
                .await?;
            }
        }
        Ok(())
    }

    fn attachment_api(&self) -> Option<&dyn deskgate_adapter::Attachments> {
        Some(self)
    }

    async fn changed_since(&self, since: Timestamp) -> Result<Vec<RemoteTicket>, AdapterError> {
        // Cloud's index may show a change late: look back over the window as well
        // (the caller skips versions it has seen).
        let since = match self.config.deployment {
            Deployment::Cloud => jiff::SignedDuration::try_from(self.config.search_consistency)
                .ok()
                .and_then(|d| since.checked_sub(d).ok())
                .unwrap_or(since),
            Deployment::DataCenter => since,
        };
        let query = Query {
            filter: Some(Clause::And(vec![
                self.project_term(),
                Clause::Term(Term {
                    field: "updated".into(),
                    op: Operator::Ge,
                    operand: Operand::Value(jql_minute(since, &self.config.jql_time_zone)),
                }),
            ])),
            order_by: vec![SortKey { field: "updated".into(), descending: false }],
        };
        let issues = self.search(&query, self.config.max_pages).await?;
        Ok(issues.into_iter().map(|issue| self.ticket(issue)).collect())
    }
}

impl JiraAdapter {
    /// Comments of an issue, oldest first (the issue GET carries them too, but
    /// paged; this reads the comment resource directly).
    pub async fn comments(&self, id: &RemoteId) -> Result<Vec<RemoteNote>, AdapterError> {
        let key = issue_ref(id)?;
        let page: CommentPage =
            self.get_json(self.api_url(&["issue", key, "comment"]), &format!("list comments of {key}")).await?;
        Ok(page
            .comments
            .into_iter()
            .filter(|c| !self.own_comment(c))
            .map(|c| RemoteNote {
                body: c.body.to_text(),
                public: c.is_public(),
                author: c.author.and_then(|a| a.display_name),
                at: c.created.as_deref().and_then(crate::wire::parse_timestamp),
            })
            .collect())
    }
}

/// JQL quoting, re-exported for callers that build queries by hand.
pub use jql::quote as quote_jql;

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(base: &str) -> JiraAdapter {
        let config =
            JiraConfig::new(Url::parse(base).unwrap(), ApiVersion::V3, Auth::Bearer { token: "t".into() }, "DRIFT");
        JiraAdapter::new(config).unwrap()
    }

    #[test]
    fn urls_stay_under_the_base_url() {
        let a = adapter("https://jira.example.dk/jira/");
        assert_eq!(
            a.api_url(&["issue", "DRIFT-1", "transitions"]).as_str(),
            "https://jira.example.dk/jira/rest/api/3/issue/DRIFT-1/transitions"
        );
        for hostile in ["..", ".", "../../admin", "a/b", "x?y#z", "%2e%2e", "", "DRIFT-", "-1", "1A-2"] {
            let err = issue_ref(&RemoteId(hostile.into())).unwrap_err();
            assert!(!err.is_retriable(), "{hostile}");
        }
        for fine in ["DRIFT-1", "drift-12", "A_B2-7", "10042"] {
            assert_eq!(issue_ref(&RemoteId(fine.into())).unwrap(), fine);
        }
        assert_eq!(adapter("https://jira.example.dk").browse_url("DRIFT-7"), "https://jira.example.dk/browse/DRIFT-7");
    }

    #[test]
    fn jql_dates_are_minutes_in_the_configured_zone() {
        let at: Timestamp = "2024-03-31T01:30:59Z".parse().unwrap();
        assert_eq!(jql_minute(at, &TimeZone::UTC), "2024/03/31 01:30");
        let cph = TimeZone::get("Europe/Copenhagen").unwrap();
        assert_eq!(jql_minute(at, &cph), "2024/03/31 03:30");
    }
}
