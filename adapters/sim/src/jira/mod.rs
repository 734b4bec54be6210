//! A small, faithful Jira instance: REST v2 and v3 for issues, transitions through a
//! workflow, comments, remote links, issue links and JQL search; Basic and Bearer
//! authentication; webhooks on every change. It is one of two products, chosen by
//! [`JiraSimConfig::profile`]: Jira Data Center (the default; v2 only, `/search`) or
//! Jira Cloud ([`JiraSimConfig::cloud`]; v2 and v3, `/search/jql` over a lagging
//! index, the old `/search` gone). What differs and what it is modelled on is in
//! `profile.rs`.
//!
//! # Routes (`{v}` is `2`, or on Cloud `2` or `3`)
//!
//! - `GET /rest/api/{v}/serverInfo` (anonymous) → `baseUrl`, `version`,
//!   `versionNumbers`, `deploymentType`, … as the Python `jira` package reads them.
//! - `GET …/myself`, `GET …/priority`, `GET …/field` (with `clauseNames`).
//! - `GET …/project` (every configured project), `GET …/project/{idOrKey}` (with its
//!   `issueTypes`; unknown → 404 `No project could be found with key 'x'.`).
//! - `POST …/issue` → 201 `{id,key,self}`; `GET|PUT …/issue/{idOrKey}` (PUT → 204).
//! - `GET|POST …/issue/{k}/transitions` (`?expand=transitions.fields` lists each
//!   transition's screen fields), `GET …/status/{idOrName}`, `GET|POST …/issue/{k}/comment`,
//!   `GET|POST …/issue/{k}/remotelink`, `POST …/issueLink`,
//!   `GET|POST …/search` (Data Center: JQL via [`deskgate_jira::jql`],
//!   `startAt`/`maxResults`/`total`; Cloud: 410 Gone),
//!   `GET|POST …/search/jql` (Cloud: `nextPageToken`/`isLast`, `reconcileIssues`).
//! - `GET …/issue/createmeta/{project}/issuetypes[/{id}]`, `GET /rest/webhooks/1.0/webhook`:
//!   `meta.rs`.
//! - `/_sim/faults`, `/_sim/served`: [`crate::faults`]; `/_sim/jira/index-lag`,
//!   `/_sim/jira/lose-responses`: `profile.rs`.
//!
//! # Behaviour, as Jira behaves
//!
//! - One instance hosts every project in [`JiraSimConfig::projects`] (project ids
//!   10000, 10001, … in that order). Issue ids are the instance's, counting from
//!   10000; keys `PROJ-1`, `PROJ-2`, … count per project; `self`
//!   links point at this server; timestamps look like `2024-01-15T10:30:00.000+0000`.
//! - v3 bodies use ADF for `description` and comment bodies (a plain string is
//!   refused with 400, as in Jira); v2 bodies use plain strings.
//! - Fields that are not on the screen (unknown ids, `status`, `resolution` outside a
//!   transition, `project` on edit) → 400 `{"errorMessages":[],"errors":{field:
//!   "Field 'x' cannot be set. It is not on the appropriate screen, or unknown."}}`.
//! - Status changes only through the workflow ([`WORKFLOW`]): the transitions listed
//!   are those available from the current status, and any other transition id →
//!   400 `Transition id 'x' is not valid for this issue.`. Entering a done status
//!   sets a resolution (`Done`, or `Won't Do`); leaving it clears the resolution. A
//!   transition takes only the fields on its screen (`workflow.rs`).
//! - Jira Service Management comments (`jsdPublic`) and Data Center's
//!   `comment_created` without the issue, when configured: see `comments.rs`.
//! - Remote links are upserted by `globalId`: 201 when created, 200 when updated.
//! - An edit that changes nothing fires no webhook and keeps `updated`.
//! - Unknown issue → 404 `Issue does not exist or you do not have permission to see
//!   it.`; bad JQL → 400 `Error in the JQL Query: …`; an unknown field in JQL → 400
//!   `Field 'x' does not exist or you do not have permission to view it.`; missing or
//!   wrong credentials → 401.
//! - Without `ORDER BY`, searches return the newest issue first (`created DESC`).
//!
//! Webhooks (which events, their payloads and headers) are described in `webhooks.rs`.
//!
//! # Operator API
//!
//! [`JiraSim::create_as_user`], [`JiraSim::edit_as_user`],
//! [`JiraSim::transition_as_user`], [`JiraSim::comment_as_user`],
//! [`JiraSim::set_priority_as_user`], [`JiraSim::service_desk_comment_as_user`] act
//! as a person working in Jira.

mod attachments;
mod comments;
mod http;
mod issues;
mod links;
mod meta;
mod profile;
mod render;
mod search;
mod webhooks;
mod workflow;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deskgate_jira::wire::{ApiVersion, ErrorCollection, Visibility};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::core::clock::SimClock;
use crate::core::push::PushQueue;
use crate::core::record::{Log, WriteRecorder};
use crate::core::server::{Bound, SimServer};
use crate::faults::{self, Faults};

pub use crate::core::record::RecordedRequest;
pub use profile::{JiraProfile, LoseResponses, SEARCH_REMOVED, SeenRequest};
pub use webhooks::{Delivery, JiraWebhookTarget, signature_of};
pub use workflow::{STATUSES, StatusDef, TransitionDef, WORKFLOW};

/// A Jira user, as the simulator knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimUser {
    /// Cloud-style id.
    pub account_id: String,
    /// Server/Data Center user name.
    pub name: String,
    pub display_name: String,
    pub email: String,
}

impl SimUser {
    pub fn new(account_id: &str, name: &str, display_name: &str, email: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            name: name.to_owned(),
            display_name: display_name.to_owned(),
            email: email.to_owned(),
        }
    }
}

/// The simulated instance's configuration.
#[derive(Clone, Debug)]
pub struct JiraSimConfig {
    /// Project keys; issues can be created in any of them.
    pub projects: Vec<String>,
    /// Issue type names; the first is used when the operator API names none.
    pub issue_types: Vec<String>,
    /// Basic credentials: account e-mail and API token.
    pub email: String,
    pub api_token: String,
    /// Accepted as `Authorization: Bearer …` (a personal access token).
    pub bearer_token: String,
    /// Who REST calls act as.
    pub api_user: SimUser,
    /// Who the operator API acts as.
    pub operator: SimUser,
    pub webhook: Option<JiraWebhookTarget>,
    /// Custom fields by id and name (text fields).
    pub custom_fields: Vec<(String, String)>,
    /// Project roles a comment may be restricted to.
    pub roles: Vec<String>,
    /// Groups a comment may be restricted to.
    pub groups: Vec<String>,
    /// Status of new issues: `Open` or `To Do`.
    pub initial_status: String,
    /// What a Data Center profile's `serverInfo.deploymentType` says (`Server`); the
    /// Cloud profile always says `Cloud`.
    pub deployment_type: String,
    /// Jira Service Management on the project: every comment carries `jsdPublic`,
    /// `false` for an internal one (see `comments.rs`).
    pub service_management: bool,
    /// `comment_created` without the `issue` object, as Jira Server/Data Center sends
    /// it (the issue is named only by the id in `comment.self`).
    pub comment_events_without_issue: bool,
    /// Jira Cloud or Jira Data Center (the default): see `profile.rs`.
    pub profile: JiraProfile,
    /// Cloud: how long a change takes to reach the search index.
    pub index_lag: Duration,
    /// Names of [`WORKFLOW`] transitions this instance's workflow lacks (an
    /// administrator's edit), e.g. `["Reopen Issue"]` leaves Closed a dead end.
    pub removed_transitions: Vec<String>,
}

impl JiraSimConfig {
    /// A Jira Cloud site: REST v2 and v3, `/search/jql`, users by `accountId`.
    pub fn cloud() -> Self {
        Self { profile: JiraProfile::Cloud, deployment_type: "Cloud".to_owned(), ..Self::default() }
    }
}

impl Default for JiraSimConfig {
    fn default() -> Self {
        let api_user = SimUser::new(
            "557058:deskgate-integration",
            "deskgate",
            "deskgate integration",
            "deskgate@drift.example.dk",
        );
        Self {
            projects: vec!["DRIFT".to_owned()],
            issue_types: ["Incident", "Task", "Bug", "Problem", "Change"].map(str::to_owned).to_vec(),
            email: api_user.email.clone(),
            api_token: "jira-api-token".to_owned(),
            bearer_token: "jira-personal-access-token".to_owned(),
            api_user,
            operator: SimUser::new("5b10ac8d82e05b22cc7d4ef5", "mette.drift", "Mette Hansen", "mette@drift.example.dk"),
            webhook: None,
            custom_fields: vec![("customfield_10042".to_owned(), "deskgate incident".to_owned())],
            roles: ["Administrators", "Developers", "Users", "Service Desk Team"].map(str::to_owned).to_vec(),
            groups: vec!["jira-administrators".to_owned(), "jira-software-users".to_owned()],
            initial_status: "Open".to_owned(),
            deployment_type: "Server".to_owned(),
            service_management: false,
            comment_events_without_issue: false,
            profile: JiraProfile::DataCenter,
            index_lag: Duration::ZERO,
            removed_transitions: Vec::new(),
        }
    }
}

/// A refusal, in Jira's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError {
    pub status: u16,
    pub errors: ErrorCollection,
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.errors.summary())
    }
}

impl std::error::Error for SimError {}

impl SimError {
    fn bad(errors: ErrorCollection) -> Self {
        Self { status: 400, errors }
    }

    fn bad_message(message: impl Into<String>) -> Self {
        Self::bad(ErrorCollection::message(message))
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self { status: 404, errors: ErrorCollection::message(message) }
    }

    fn no_issue() -> Self {
        Self::not_found("Issue does not exist or you do not have permission to see it.")
    }
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        crate::core::http::json_error(self.status, StatusCode::BAD_REQUEST, self.errors)
    }
}

/// An issue as the simulator holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JiraIssue {
    pub id: u64,
    pub key: String,
    pub project: String,
    pub issue_type: String,
    pub summary: String,
    pub description: Option<String>,
    pub status: String,
    pub priority: String,
    /// Account id of the assignee.
    pub assignee: Option<String>,
    pub reporter: String,
    pub labels: Vec<String>,
    /// Custom field values by id.
    pub custom: BTreeMap<String, Value>,
    pub resolution: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub comments: Vec<JiraComment>,
    pub remote_links: Vec<Value>,
    /// `(link type name, outward issue key)` for links where this issue is inward.
    pub issue_links: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JiraComment {
    pub id: u64,
    /// Account id of the author.
    pub author: String,
    pub body: String,
    pub visibility: Option<Visibility>,
    /// Jira Service Management's `jsdPublic`: `Some(false)` for an internal comment.
    pub jsd_public: Option<bool>,
    pub created: Timestamp,
}

#[derive(Default)]
struct Inner {
    issues: Vec<JiraIssue>,
    next_issue_id: u64,
    next_number: BTreeMap<String, u64>,
    next_comment_id: u64,
    next_link_id: u64,
    next_changelog_id: u64,
}

struct Shared {
    config: JiraSimConfig,
    addr: SocketAddr,
    inner: Mutex<Inner>,
    /// Every change gets a later `updated` than the one before, as in Jira, so
    /// receivers can order them.
    clock: SimClock,
    requests: WriteRecorder,
    hooks: PushQueue,
    deliveries: Log<Delivery>,
    profile: profile::ProfileState,
    attachments: Mutex<Vec<attachments::Stored>>,
}

/// A running simulated Jira on `127.0.0.1`. Dropping it stops the server.
pub struct JiraSim {
    shared: Arc<Shared>,
    faults: Faults,
    router: Router,
    _server: SimServer,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::core::lock(&self.inner)
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next instant for a change: later than every one before.
    fn now(&self) -> Timestamp {
        self.clock.tick()
    }
}

impl JiraSim {
    /// Start an instance on `127.0.0.1:0`.
    pub async fn spawn(config: JiraSimConfig) -> std::io::Result<JiraSim> {
        let bound = Bound::loopback().await?;
        let (hooks, hook_rx) = PushQueue::new(config.webhook.is_some());
        let shared = Arc::new(Shared {
            config,
            addr: bound.addr(),
            inner: Mutex::new(Inner::default()),
            clock: SimClock::default(),
            requests: WriteRecorder::new(http::WRITES),
            hooks,
            deliveries: Log::default(),
            profile: profile::ProfileState::default(),
            attachments: Mutex::new(Vec::new()),
        });
        shared.profile.set_lag(shared.config.index_lag);
        if let Some(rx) = hook_rx {
            tokio::spawn(webhooks::deliver_webhooks(shared.clone(), rx));
        }
        let faults = Faults::new();
        let routes = http::routes(shared.clone()).merge(profile::operator_routes(shared.clone()));
        let router = faults::wrap(routes, &faults);
        let server = bound.serve("jira", router.clone());
        Ok(JiraSim { shared, faults, router, _server: server })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    pub fn config(&self) -> &JiraSimConfig {
        &self.shared.config
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The instance's routes, sharing this instance's state, to mount elsewhere.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Every issue, in creation order.
    pub fn issues(&self) -> Vec<JiraIssue> {
        self.shared.lock().issues.clone()
    }

    /// The issue with this key (case-insensitive) or numeric id.
    pub fn issue(&self, key: &str) -> Option<JiraIssue> {
        Shared::find(&mut self.shared.lock(), key).ok().cloned()
    }

    /// The issue as `GET /rest/api/{v}/issue/{key}` answers it.
    pub fn issue_json(&self, key: &str, version: ApiVersion) -> Option<Value> {
        let issue = self.issue(key)?;
        Some(self.shared.issue_json(&issue, version, None))
    }

    pub fn comments(&self, key: &str) -> Vec<JiraComment> {
        self.issue(key).map(|i| i.comments).unwrap_or_default()
    }

    /// Remote links of an issue as `GET …/remotelink` answers them.
    pub fn remote_links(&self, key: &str) -> Vec<Value> {
        self.issue(key).map(|i| i.remote_links).unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.shared.lock().issues.len()
    }

    /// Write requests (POST, PUT, DELETE) received on the REST API, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.log.all()
    }

    /// Every request received on the REST API (reads too), in order: method, path and
    /// query parameter names.
    pub fn seen_requests(&self) -> Vec<SeenRequest> {
        self.shared.profile.seen.all()
    }

    /// Cloud: from now on, a change reaches the search index only after `lag`.
    pub fn set_index_lag(&self, lag: Duration) {
        self.shared.profile.set_lag(lag)
    }

    /// Serve the next `rule.count` matching requests, then lose their answers.
    pub fn lose_responses(&self, rule: LoseResponses) {
        self.shared.profile.lose(rule)
    }

    /// Webhook deliveries made so far (or failed), in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.all()
    }

    /// Wait until every webhook queued so far has been delivered or has failed.
    pub async fn webhooks_settled(&self) {
        self.shared.hooks.settled().await
    }

    /// Move the instance's clock forward: later changes get later timestamps.
    /// Nothing sleeps.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by)
    }

    /// Create an issue as [`JiraSimConfig::operator`]. `fields` is a v2 `fields`
    /// object; `project` and `issuetype` default to the first configured ones.
    pub fn create_as_user(&self, fields: Value) -> Result<String, SimError> {
        let mut fields = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let config = &self.shared.config;
        if let Some(project) = config.projects.first() {
            fields.entry("project").or_insert_with(|| json!({ "key": project }));
        }
        if let Some(kind) = config.issue_types.first() {
            fields.entry("issuetype").or_insert_with(|| json!({ "name": kind }));
        }
        let created =
            self.observed(self.shared.create(&config.operator, ApiVersion::V2, &json!({ "fields": fields })))?;
        Ok(created["key"].as_str().unwrap_or_default().to_owned())
    }

    /// Edit fields as the operator (v2 `fields` object); the REST rules apply.
    pub fn edit_as_user(&self, key: &str, fields: Value) -> Result<(), SimError> {
        self.observed(self.shared.edit(&self.shared.config.operator, ApiVersion::V2, key, &json!({ "fields": fields })))
    }

    /// Move the issue to `target_status` as the operator, through the workflow.
    pub fn transition_as_user(&self, key: &str, target_status: &str) -> Result<(), SimError> {
        let status = Shared::find(&mut self.shared.lock(), key)?.status.clone();
        let transition = self
            .shared
            .workflow()
            .find(|t| {
                t.to.eq_ignore_ascii_case(target_status) && t.from.iter().any(|f| f.eq_ignore_ascii_case(&status))
            })
            .ok_or_else(|| SimError::bad_message(format!("No transition from '{status}' to '{target_status}'")))?;
        self.observed(self.shared.transition(
            &self.shared.config.operator,
            ApiVersion::V2,
            key,
            &json!({ "transition": { "id": transition.id } }),
        ))
    }

    /// Add a public comment as the operator; returns the comment id.
    pub fn comment_as_user(&self, key: &str, text: &str) -> Result<String, SimError> {
        let answer = self.observed(self.shared.add_comment(
            &self.shared.config.operator,
            ApiVersion::V2,
            key,
            &json!({ "body": text }),
        ))?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Add a comment restricted to a project role as the operator.
    pub fn internal_comment_as_user(&self, key: &str, text: &str, role: &str) -> Result<String, SimError> {
        let answer = self.observed(self.shared.add_comment(
            &self.shared.config.operator,
            ApiVersion::V2,
            key,
            &json!({ "body": text, "visibility": { "type": "role", "value": role } }),
        ))?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Add a Jira Service Management comment as the operator: internal (agents only,
    /// `jsdPublic: false`, no `visibility`) unless `public`. Set through the
    /// `sd.public.comment` property, as JSM's own UI and API do.
    pub fn service_desk_comment_as_user(&self, key: &str, text: &str, public: bool) -> Result<String, SimError> {
        let answer = self.shared.add_comment(
            &self.shared.config.operator,
            ApiVersion::V2,
            key,
            &json!({ "body": text, "properties": [{ "key": "sd.public.comment", "value": { "internal": !public } }] }),
        )?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// `result` of an operator action, after its change was handed to the search index.
    fn observed<T>(&self, result: T) -> T {
        self.shared.observe_changes();
        result
    }

    /// Change the priority (by name) as the operator.
    pub fn set_priority_as_user(&self, key: &str, name: &str) -> Result<(), SimError> {
        self.edit_as_user(key, json!({ "priority": { "name": name } }))
    }
}
