//! A small, faithful Jira instance: REST v2 and v3 for issues, transitions through a
//! workflow, comments, remote links, issue links and JQL search; Basic and Bearer
//! authentication; webhooks on every change.
//!
//! # Routes (`{v}` is `2` or `3`)
//!
//! - `GET /rest/api/{v}/serverInfo` (anonymous) → `baseUrl`, `version`,
//!   `versionNumbers`, `deploymentType`, … as the Python `jira` package reads them.
//! - `GET …/myself`, `GET …/priority`, `GET …/field` (with `clauseNames`).
//! - `POST …/issue` → 201 `{id,key,self}`; `GET|PUT …/issue/{idOrKey}` (PUT → 204).
//! - `GET|POST …/issue/{k}/transitions`, `GET|POST …/issue/{k}/comment`,
//!   `GET|POST …/issue/{k}/remotelink`, `POST …/issueLink`,
//!   `GET|POST …/search` (JQL via [`deskgate_jira::jql`], `startAt`/`maxResults`/`total`).
//! - `/_sim/faults`, `/_sim/served`: [`crate::faults`].
//!
//! # Behaviour, as Jira behaves
//!
//! - Issue ids count from 10000, keys `PROJ-1`, `PROJ-2`, … per project; `self`
//!   links point at this server; timestamps look like `2024-01-15T10:30:00.000+0000`.
//! - v3 bodies use ADF for `description` and comment bodies (a plain string is
//!   refused with 400, as in Jira); v2 bodies use plain strings.
//! - Fields that are not on the screen (unknown ids, `status`, `resolution` outside a
//!   transition, `project` on edit) → 400 `{"errorMessages":[],"errors":{field:
//!   "Field 'x' cannot be set. It is not on the appropriate screen, or unknown."}}`.
//! - Status changes only through the workflow ([`WORKFLOW`]): the transitions listed
//!   are those available from the current status, and any other transition id →
//!   400 `Transition id 'x' is not valid for this issue.`. Entering a done status
//!   sets a resolution (`Done`, or `Won't Do`); leaving it clears the resolution.
//! - Remote links are upserted by `globalId`: 201 when created, 200 when updated.
//! - An edit that changes nothing fires no webhook and keeps `updated`.
//! - Unknown issue → 404 `Issue does not exist or you do not have permission to see
//!   it.`; bad JQL → 400 `Error in the JQL Query: …`; an unknown field in JQL → 400
//!   `Field 'x' does not exist or you do not have permission to view it.`; missing or
//!   wrong credentials → 401.
//! - Without `ORDER BY`, searches return the newest issue first (`created DESC`).
//!
//! # Webhooks
//!
//! With [`JiraSimConfig::webhook`] set, every change — through REST *or* the
//! operator API, since real Jira fires webhooks for REST changes too — is POSTed in
//! order to the target: `jira:issue_created`, `jira:issue_updated` (with
//! `changelog.items[]` of `field`, `fieldtype`, `fieldId`, `from`, `fromString`,
//! `to`, `toString`; for comments `issue_event_type_name` is `issue_commented` and
//! `comment` is set), and `comment_created`. `user` (issue events) and
//! `comment.author` say who acted: [`JiraSimConfig::api_user`] for REST,
//! [`JiraSimConfig::operator`] for the operator API. Issues in payloads use the v2
//! shape. With a secret, each delivery carries `X-Hub-Signature: sha256=<hex>` over
//! the raw body ([`deskgate_jira::webhook::sign`]), and every delivery carries
//! `X-Atlassian-Webhook-Identifier`, unique to the delivery (the simulator does not
//! retry). Every change gets a later `updated` than the one before (to the
//! millisecond), and `comment_created` carries the issue's `updated` too, so a
//! receiver can tell a replayed event from a newer one.
//!
//! # Operator API
//!
//! [`JiraSim::create_as_user`], [`JiraSim::edit_as_user`],
//! [`JiraSim::transition_as_user`], [`JiraSim::comment_as_user`],
//! [`JiraSim::set_priority_as_user`] act as a person working in Jira.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query as QueryParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use deskgate_jira::adf;
use deskgate_jira::jql::{EvalContext, FieldValue, Query};
use deskgate_jira::webhook;
use deskgate_jira::wire::{ApiVersion, ErrorCollection, Visibility, format_timestamp};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};

use crate::faults::{self, Faults};

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

/// Where webhooks go.
#[derive(Clone)]
pub struct JiraWebhookTarget {
    pub url: String,
    /// When set, deliveries carry `X-Hub-Signature: sha256=<hmac hex>`.
    pub secret: Option<String>,
}

impl std::fmt::Debug for JiraWebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraWebhookTarget")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
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
    /// `Server` (Data Center) or `Cloud`, as `serverInfo.deploymentType` says.
    pub deployment_type: String,
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
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.errors)).into_response()
    }
}

/// One status of the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusDef {
    pub id: &'static str,
    pub name: &'static str,
    /// `new`, `indeterminate` or `done`.
    pub category: &'static str,
}

pub const STATUSES: &[StatusDef] = &[
    StatusDef { id: "1", name: "Open", category: "new" },
    StatusDef { id: "10000", name: "To Do", category: "new" },
    StatusDef { id: "3", name: "In Progress", category: "indeterminate" },
    StatusDef { id: "4", name: "Reopened", category: "new" },
    StatusDef { id: "10002", name: "Waiting for customer", category: "indeterminate" },
    StatusDef { id: "10003", name: "Pending", category: "indeterminate" },
    StatusDef { id: "10004", name: "Pending Release", category: "indeterminate" },
    StatusDef { id: "5", name: "Resolved", category: "done" },
    StatusDef { id: "10001", name: "Done", category: "done" },
    StatusDef { id: "6", name: "Closed", category: "done" },
    StatusDef { id: "10005", name: "Won't Do", category: "done" },
];

/// One workflow transition: its id, name, the statuses it is available from, its target.
#[derive(Clone, Copy, Debug)]
pub struct TransitionDef {
    pub id: &'static str,
    pub name: &'static str,
    pub from: &'static [&'static str],
    pub to: &'static str,
}

const WORKING: &[&str] = &["Open", "To Do", "Reopened", "In Progress"];

/// The workflow: To Do/Open → In Progress → Resolved/Done → Closed, with waiting
/// states, Pending Release and Won't Do. Closed is left only by Reopen.
pub const WORKFLOW: &[TransitionDef] = &[
    TransitionDef {
        id: "11",
        name: "Start Progress",
        from: &["Open", "To Do", "Reopened", "Waiting for customer", "Pending", "Pending Release"],
        to: "In Progress",
    },
    TransitionDef { id: "21", name: "Stop Progress", from: &["In Progress"], to: "Open" },
    TransitionDef { id: "31", name: "Wait for customer", from: WORKING, to: "Waiting for customer" },
    TransitionDef { id: "41", name: "Pend", from: WORKING, to: "Pending" },
    TransitionDef { id: "51", name: "Await release", from: &["In Progress", "Pending"], to: "Pending Release" },
    TransitionDef {
        id: "61",
        name: "Resolve Issue",
        from: &["Open", "To Do", "Reopened", "In Progress", "Waiting for customer", "Pending", "Pending Release"],
        to: "Resolved",
    },
    TransitionDef { id: "71", name: "Done", from: &["In Progress", "To Do"], to: "Done" },
    TransitionDef { id: "81", name: "Close Issue", from: &["Resolved", "Done"], to: "Closed" },
    TransitionDef { id: "91", name: "Reopen Issue", from: &["Resolved", "Done", "Closed", "Won't Do"], to: "Reopened" },
    TransitionDef {
        id: "101",
        name: "Won't Do",
        from: &["Open", "To Do", "Reopened", "In Progress", "Waiting for customer", "Pending"],
        to: "Won't Do",
    },
];

const PRIORITIES: &[(&str, &str)] = &[("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")];

const LINK_TYPES: &[(&str, &str, &str, &str)] = &[
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
    ("10004", "Problem/Incident", "is caused by", "causes"),
];

fn status_def(name: &str) -> Option<&'static StatusDef> {
    STATUSES.iter().find(|s| s.name.eq_ignore_ascii_case(name))
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
    pub created: Timestamp,
}

/// A write request the instance received, for snapshots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The JSON body, or the raw text when it was not JSON.
    pub body: Value,
}

/// One webhook delivery and how the receiver answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub payload: Value,
    pub signature: Option<String>,
    /// The `X-Atlassian-Webhook-Identifier` it carried.
    pub identifier: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Default)]
struct Inner {
    issues: Vec<JiraIssue>,
    next_issue_id: u64,
    next_number: BTreeMap<String, u64>,
    next_comment_id: u64,
    next_link_id: u64,
    next_changelog_id: u64,
    requests: Vec<RecordedRequest>,
    deliveries: Vec<Delivery>,
    clock_offset: SignedDuration,
}

struct Shared {
    config: JiraSimConfig,
    addr: SocketAddr,
    inner: Mutex<Inner>,
    hook_tx: Option<mpsc::UnboundedSender<Value>>,
    hooks_queued: AtomicU64,
    hooks_done: AtomicU64,
    hooks_notify: Notify,
    /// The last instant handed out, in ms: every change gets a later `updated` than
    /// the one before, as in Jira, so receivers can order them.
    last_ms: AtomicI64,
}

/// A running simulated Jira on `127.0.0.1`. Dropping it stops the server.
pub struct JiraSim {
    shared: Arc<Shared>,
    faults: Faults,
    router: Router,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for JiraSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// ---------------------------------------------------------------------------
// state and rules

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock can only come from a bug here; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn now(&self, inner: &Inner) -> Timestamp {
        let wall = Timestamp::now().checked_add(inner.clock_offset).unwrap_or_else(|_| Timestamp::now());
        let wall_ms = wall.as_millisecond();
        let previous = self
            .last_ms
            .fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |last| Some(wall_ms.max(last + 1)))
            .unwrap_or(wall_ms);
        Timestamp::from_millisecond(wall_ms.max(previous + 1)).unwrap_or(wall)
    }

    fn user_by_handle(&self, handle: &str) -> Option<&SimUser> {
        [&self.config.api_user, &self.config.operator]
            .into_iter()
            .find(|u| u.account_id == handle || u.name == handle || u.email == handle)
    }

    fn user_json(&self, handle: &str) -> Value {
        let base = self.base_url();
        match self.user_by_handle(handle) {
            Some(u) => json!({
                "self": format!("{base}/rest/api/2/user?accountId={}", u.account_id),
                "accountId": u.account_id,
                "name": u.name,
                "key": u.name,
                "displayName": u.display_name,
                "emailAddress": u.email,
                "active": true,
                "timeZone": "UTC",
                "accountType": "atlassian",
            }),
            // Unknown assignees are kept as given, as a deactivated user would be.
            None => json!({
                "self": format!("{base}/rest/api/2/user?accountId={handle}"),
                "accountId": handle,
                "name": handle,
                "key": handle,
                "displayName": handle,
                "active": false,
            }),
        }
    }

    fn status_json(&self, name: &str) -> Value {
        let base = self.base_url();
        let def = status_def(name).copied().unwrap_or(STATUSES[0]);
        let (cat_id, cat_name, color) = match def.category {
            "new" => (2, "To Do", "blue-gray"),
            "done" => (3, "Done", "green"),
            _ => (4, "In Progress", "yellow"),
        };
        json!({
            "self": format!("{base}/rest/api/2/status/{}", def.id),
            "description": "",
            "iconUrl": format!("{base}/images/icons/statuses/generic.png"),
            "name": def.name,
            "id": def.id,
            "statusCategory": {
                "self": format!("{base}/rest/api/2/statuscategory/{cat_id}"),
                "id": cat_id,
                "key": def.category,
                "colorName": color,
                "name": cat_name,
            }
        })
    }

    fn priority_json(&self, name: &str) -> Value {
        let base = self.base_url();
        let (id, name) =
            PRIORITIES.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).copied().unwrap_or(("3", "Medium"));
        json!({
            "self": format!("{base}/rest/api/2/priority/{id}"),
            "iconUrl": format!("{base}/images/icons/priorities/{}.svg", name.to_lowercase()),
            "name": name,
            "id": id,
        })
    }

    fn comment_json(&self, issue: &JiraIssue, c: &JiraComment, version: ApiVersion) -> Value {
        let base = self.base_url();
        let body = match version {
            ApiVersion::V2 => json!(c.body),
            ApiVersion::V3 => json!(adf::from_text(&c.body)),
        };
        let mut out = json!({
            "self": format!("{base}/rest/api/{}/issue/{}/comment/{}", version.as_str(), issue.id, c.id),
            "id": c.id.to_string(),
            "author": self.user_json(&c.author),
            "body": body,
            "updateAuthor": self.user_json(&c.author),
            "created": format_timestamp(c.created),
            "updated": format_timestamp(c.created),
        });
        if let Some(v) = &c.visibility {
            out["visibility"] = json!(v);
        }
        out
    }

    fn custom_name(&self, id: &str) -> Option<&str> {
        self.config.custom_fields.iter().find(|(fid, _)| fid == id).map(|(_, name)| name.as_str())
    }

    /// The issue in a version's shape, keeping only `only` fields when given.
    fn issue_json(&self, issue: &JiraIssue, version: ApiVersion, only: Option<&[String]>) -> Value {
        let base = self.base_url();
        let v = version.as_str();
        let description = match (&issue.description, version) {
            (None, _) => Value::Null,
            (Some(d), ApiVersion::V2) => json!(d),
            (Some(d), ApiVersion::V3) => json!(adf::from_text(d)),
        };
        let comments: Vec<Value> = issue.comments.iter().map(|c| self.comment_json(issue, c, version)).collect();
        let issue_links: Vec<Value> = issue
            .issue_links
            .iter()
            .map(|(kind, outward)| {
                let (id, name, inward, out) = LINK_TYPES.iter().find(|t| t.1 == kind).copied().unwrap_or(LINK_TYPES[3]);
                json!({
                    "type": {"id": id, "name": name, "inward": inward, "outward": out},
                    "outwardIssue": {"key": outward, "self": format!("{base}/rest/api/{v}/issue/{outward}")},
                })
            })
            .collect();
        let mut fields = json!({
            "summary": issue.summary,
            "description": description,
            "status": self.status_json(&issue.status),
            "priority": self.priority_json(&issue.priority),
            "assignee": issue.assignee.as_deref().map_or(Value::Null, |a| self.user_json(a)),
            "reporter": self.user_json(&issue.reporter),
            "creator": self.user_json(&issue.reporter),
            "labels": issue.labels,
            "issuetype": {
                "self": format!("{base}/rest/api/{v}/issuetype/{}", issue.issue_type),
                "name": issue.issue_type,
                "subtask": false,
            },
            "project": {
                "self": format!("{base}/rest/api/{v}/project/{}", issue.project),
                "key": issue.project,
                "name": issue.project,
                "projectTypeKey": "software",
            },
            "resolution": issue.resolution.as_deref().map_or(Value::Null, |r| json!({
                "self": format!("{base}/rest/api/{v}/resolution/{}", if r == "Done" { 10000 } else { 10001 }),
                "name": r,
            })),
            "created": format_timestamp(issue.created),
            "updated": format_timestamp(issue.updated),
            "issuelinks": issue_links,
            "comment": {
                "comments": comments,
                "maxResults": issue.comments.len(),
                "total": issue.comments.len(),
                "startAt": 0,
            },
        });
        if let Some(map) = fields.as_object_mut() {
            for (id, _) in &self.config.custom_fields {
                map.insert(id.clone(), issue.custom.get(id).cloned().unwrap_or(Value::Null));
            }
            if let Some(only) = only {
                let all = only.iter().any(|f| f == "*all" || f == "*navigable");
                if !all {
                    map.retain(|k, _| only.iter().any(|f| f == k));
                }
            }
        }
        json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id.to_string(),
            "self": format!("{base}/rest/api/{v}/issue/{}", issue.id),
            "key": issue.key,
            "fields": fields,
        })
    }

    fn find<'a>(inner: &'a mut Inner, id_or_key: &str) -> Result<&'a mut JiraIssue, SimError> {
        inner
            .issues
            .iter_mut()
            .find(|i| i.key.eq_ignore_ascii_case(id_or_key) || i.id.to_string() == id_or_key)
            .ok_or_else(SimError::no_issue)
    }

    fn enqueue(&self, payload: Value) {
        if let Some(tx) = &self.hook_tx {
            self.hooks_queued.fetch_add(1, AtomicOrdering::SeqCst);
            if tx.send(payload).is_err() {
                self.hooks_done.fetch_add(1, AtomicOrdering::SeqCst);
            }
        }
    }

    /// Queue an issue webhook; `(event, type_name)` is e.g.
    /// `("jira:issue_updated", "issue_generic")`.
    fn issue_event(
        &self,
        inner: &mut Inner,
        key: &str,
        (event, type_name): (&str, &str),
        actor: &SimUser,
        items: Vec<Value>,
        comment: Option<Value>,
    ) {
        if self.hook_tx.is_none() {
            return;
        }
        let Some(issue) = inner.issues.iter().find(|i| i.key == key).cloned() else {
            return;
        };
        let now = self.now(inner);
        let mut payload = json!({
            "timestamp": now.as_millisecond(),
            "webhookEvent": event,
            "issue_event_type_name": type_name,
            "user": self.user_json(&actor.account_id),
            "issue": self.issue_json(&issue, ApiVersion::V2, None),
        });
        if !items.is_empty() {
            inner.next_changelog_id += 1;
            payload["changelog"] = json!({
                "id": (10000 + inner.next_changelog_id).to_string(),
                "items": items,
            });
        }
        if let Some(comment) = comment {
            payload["comment"] = comment;
        }
        self.enqueue(payload);
    }

    /// Validate and apply `fields` (create/edit screen) to `issue`; returns changelog items.
    fn apply_fields(
        &self,
        issue: &mut JiraIssue,
        fields: &Map<String, Value>,
        version: ApiVersion,
        creating: bool,
    ) -> Result<Vec<Value>, SimError> {
        let mut errors = ErrorCollection::default();
        let mut items = Vec::new();
        let mut item =
            |field: &str, fieldtype: &str, field_id: &str, from: Value, from_s: Value, to: Value, to_s: Value| {
                items.push(json!({
                    "field": field, "fieldtype": fieldtype, "fieldId": field_id,
                    "from": from, "fromString": from_s, "to": to, "toString": to_s,
                }));
            };
        let not_on_screen =
            |name: &str| format!("Field '{name}' cannot be set. It is not on the appropriate screen, or unknown.");
        for (name, value) in fields {
            match name.as_str() {
                "project" | "issuetype" if creating => {}
                "summary" => match value.as_str().map(str::trim) {
                    Some(s) if !s.is_empty() => {
                        if issue.summary != s {
                            item(
                                "summary",
                                "jira",
                                "summary",
                                Value::Null,
                                json!(issue.summary),
                                Value::Null,
                                json!(s),
                            );
                            issue.summary = s.to_owned();
                        }
                    }
                    _ => {
                        errors.errors.insert("summary".into(), "You must specify a summary of the issue.".into());
                    }
                },
                "description" => {
                    let text = match (value, version) {
                        (Value::Null, _) => Ok(None),
                        (Value::String(s), ApiVersion::V2) => Ok(Some(s.clone())),
                        (Value::Object(_), ApiVersion::V3) => {
                            serde_json::from_value::<adf::Node>(value.clone()).map(|n| Some(adf::to_text(&n))).map_err(
                                |_| "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
                            )
                        }
                        (_, ApiVersion::V3) => {
                            Err("Operation value must be an Atlassian Document (see the Atlassian Document Format)")
                        }
                        (_, ApiVersion::V2) => Err("Operation value must be a string"),
                    };
                    match text {
                        Ok(text) => {
                            let text = text.filter(|t| !t.is_empty());
                            if issue.description != text {
                                item(
                                    "description",
                                    "jira",
                                    "description",
                                    Value::Null,
                                    json!(issue.description),
                                    Value::Null,
                                    json!(text),
                                );
                                issue.description = text;
                            }
                        }
                        Err(message) => {
                            errors.errors.insert("description".into(), message.into());
                        }
                    }
                }
                "priority" => {
                    let wanted = value
                        .get("name")
                        .and_then(Value::as_str)
                        .map(|n| ("name", n))
                        .or_else(|| value.get("id").and_then(Value::as_str).map(|i| ("id", i)));
                    let found = wanted.and_then(|(by, v)| {
                        PRIORITIES.iter().find(
                            |(id, name)| {
                                if by == "id" { *id == v } else { name.eq_ignore_ascii_case(v) }
                            },
                        )
                    });
                    match found {
                        Some((id, name)) => {
                            if issue.priority != *name {
                                let from_id = PRIORITIES.iter().find(|(_, n)| *n == issue.priority).map(|p| p.0);
                                item(
                                    "priority",
                                    "jira",
                                    "priority",
                                    json!(from_id),
                                    json!(issue.priority),
                                    json!(id),
                                    json!(name),
                                );
                                issue.priority = (*name).to_owned();
                            }
                        }
                        None => {
                            errors.errors.insert("priority".into(), "The priority selected is invalid.".into());
                        }
                    }
                }
                "assignee" => {
                    let handle = if value.is_null() {
                        Ok(None)
                    } else {
                        ["accountId", "name", "id"]
                            .iter()
                            .find_map(|k| value.get(*k).and_then(Value::as_str))
                            .map(|h| Some(self.user_by_handle(h).map_or(h.to_owned(), |u| u.account_id.clone())))
                            .ok_or(())
                    };
                    match handle {
                        Ok(handle) => {
                            if issue.assignee != handle {
                                let name = |h: &Option<String>| {
                                    h.as_deref().map(|h| {
                                        self.user_by_handle(h).map_or(h.to_owned(), |u| u.display_name.clone())
                                    })
                                };
                                item(
                                    "assignee",
                                    "jira",
                                    "assignee",
                                    json!(issue.assignee),
                                    json!(name(&issue.assignee)),
                                    json!(handle),
                                    json!(name(&handle)),
                                );
                                issue.assignee = handle;
                            }
                        }
                        Err(()) => {
                            errors.errors.insert("assignee".into(), "expected 'accountId' or 'name' property".into());
                        }
                    }
                }
                "labels" => match serde_json::from_value::<Vec<String>>(value.clone()) {
                    Ok(labels) => {
                        if let Some(bad) = labels.iter().find(|l| l.contains(char::is_whitespace) || l.is_empty()) {
                            errors.errors.insert(
                                "labels".into(),
                                format!("The label '{bad}' contains spaces which is invalid."),
                            );
                        } else if issue.labels != labels {
                            item(
                                "labels",
                                "jira",
                                "labels",
                                Value::Null,
                                json!(issue.labels.join(" ")),
                                Value::Null,
                                json!(labels.join(" ")),
                            );
                            issue.labels = labels;
                        }
                    }
                    Err(_) => {
                        errors.errors.insert("labels".into(), "data was not an array".into());
                    }
                },
                custom if self.custom_name(custom).is_some() => {
                    let old = issue.custom.get(custom).cloned().unwrap_or(Value::Null);
                    if old != *value {
                        let as_text = |v: &Value| match v {
                            Value::Null => Value::Null,
                            Value::String(s) => json!(s),
                            other => json!(other.to_string()),
                        };
                        item(
                            self.custom_name(custom).unwrap_or(custom),
                            "custom",
                            custom,
                            Value::Null,
                            as_text(&old),
                            Value::Null,
                            as_text(value),
                        );
                        if value.is_null() {
                            issue.custom.remove(custom);
                        } else {
                            issue.custom.insert(custom.to_owned(), value.clone());
                        }
                    }
                }
                other => {
                    errors.errors.insert(other.to_owned(), not_on_screen(other));
                }
            }
        }
        if errors.errors.is_empty() && errors.error_messages.is_empty() {
            Ok(items)
        } else {
            Err(SimError::bad(errors))
        }
    }

    fn create(&self, actor: &SimUser, version: ApiVersion, body: &Value) -> Result<Value, SimError> {
        let fields = body
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| SimError::bad(ErrorCollection::field("project", "project is required")))?;
        let mut errors = ErrorCollection::default();
        let project = fields.get("project").and_then(|p| {
            p.get("key").and_then(Value::as_str).map(str::to_owned).or_else(|| {
                p.get("id").and_then(Value::as_str).and_then(|id| {
                    let n: usize = id.parse().ok()?;
                    self.config.projects.get(n.checked_sub(10000)?).cloned()
                })
            })
        });
        let project = match project {
            Some(p) if self.config.projects.iter().any(|k| k.eq_ignore_ascii_case(&p)) => Some(p.to_uppercase()),
            Some(_) => {
                errors.errors.insert("project".into(), "valid project is required".into());
                None
            }
            None => {
                errors.errors.insert("project".into(), "project is required".into());
                None
            }
        };
        let issue_type = fields
            .get("issuetype")
            .and_then(|t| t.get("name").and_then(Value::as_str))
            .and_then(|n| self.config.issue_types.iter().find(|t| t.eq_ignore_ascii_case(n)).cloned());
        if issue_type.is_none() {
            let message = if fields.contains_key("issuetype") {
                "valid issue type is required"
            } else {
                "issue type is required"
            };
            errors.errors.insert("issuetype".into(), message.into());
        }
        if !fields.contains_key("summary") {
            errors.errors.insert("summary".into(), "You must specify a summary of the issue.".into());
        }
        let mut inner = self.lock();
        let now = self.now(&inner);
        let mut issue = JiraIssue {
            id: 0,
            key: String::new(),
            project: project.clone().unwrap_or_default(),
            issue_type: issue_type.clone().unwrap_or_default(),
            summary: String::new(),
            description: None,
            status: self.config.initial_status.clone(),
            priority: "Medium".to_owned(),
            assignee: None,
            reporter: actor.account_id.clone(),
            labels: Vec::new(),
            custom: BTreeMap::new(),
            resolution: None,
            created: now,
            updated: now,
            comments: Vec::new(),
            remote_links: Vec::new(),
            issue_links: Vec::new(),
        };
        let applied = self.apply_fields(&mut issue, fields, version, true);
        if let Err(e) = &applied {
            errors.errors.extend(e.errors.errors.clone());
        }
        if !errors.errors.is_empty() {
            return Err(SimError::bad(errors));
        }
        let Some(project) = project else {
            return Err(SimError::bad(errors));
        };
        inner.next_issue_id += 1;
        issue.id = 9_999 + inner.next_issue_id;
        let number = inner.next_number.entry(project.clone()).or_insert(0);
        *number += 1;
        issue.key = format!("{project}-{number}");
        let key = issue.key.clone();
        let id = issue.id;
        inner.issues.push(issue);
        self.issue_event(&mut inner, &key, (webhook::ISSUE_CREATED, "issue_created"), actor, Vec::new(), None);
        Ok(json!({
            "id": id.to_string(),
            "key": key,
            "self": format!("{}/rest/api/{}/issue/{id}", self.base_url(), version.as_str()),
        }))
    }

    fn edit(&self, actor: &SimUser, version: ApiVersion, key: &str, body: &Value) -> Result<(), SimError> {
        let mut inner = self.lock();
        let now = self.now(&inner);
        let issue = Self::find(&mut inner, key)?;
        let mut draft = issue.clone();
        let mut fields = body.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut comment = None;
        if let Some(update) = body.get("update").and_then(Value::as_object) {
            for (name, ops) in update {
                let Some(ops) = ops.as_array() else {
                    return Err(SimError::bad(ErrorCollection::field(name, "Operation value must be an array")));
                };
                for op in ops {
                    match (name.as_str(), op.as_object().and_then(|o| o.iter().next())) {
                        ("labels", Some((verb, value))) => {
                            let label = value.as_str().unwrap_or_default().to_owned();
                            let mut labels: Vec<String> = fields
                                .get("labels")
                                .and_then(|l| serde_json::from_value(l.clone()).ok())
                                .unwrap_or_else(|| draft.labels.clone());
                            match verb.as_str() {
                                "add" if !labels.contains(&label) => labels.push(label),
                                "remove" => labels.retain(|l| *l != label),
                                "set" => labels = serde_json::from_value(value.clone()).unwrap_or_default(),
                                _ => {}
                            }
                            fields.insert("labels".into(), json!(labels));
                        }
                        ("comment", Some((verb, value))) if verb == "add" => comment = Some(value.clone()),
                        (_, Some((verb, value))) if verb == "set" => {
                            fields.insert(name.clone(), value.clone());
                        }
                        _ => {
                            return Err(SimError::bad(ErrorCollection::field(
                                name,
                                format!(
                                    "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                                ),
                            )));
                        }
                    }
                }
            }
        }
        if fields.contains_key("project") {
            return Err(SimError::bad(ErrorCollection::field(
                "project",
                "Field 'project' cannot be set. It is not on the appropriate screen, or unknown.",
            )));
        }
        if let Some(t) = fields.remove("issuetype") {
            match t
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| self.config.issue_types.iter().find(|x| x.eq_ignore_ascii_case(n)))
            {
                Some(t) => draft.issue_type = t.clone(),
                None => {
                    return Err(SimError::bad(ErrorCollection::field("issuetype", "valid issue type is required")));
                }
            }
        }
        let items = self.apply_fields(&mut draft, &fields, version, false)?;
        let changed = !items.is_empty() || draft.issue_type != issue.issue_type;
        if changed {
            draft.updated = now;
        }
        *issue = draft;
        let key = issue.key.clone();
        if changed {
            self.issue_event(&mut inner, &key, (webhook::ISSUE_UPDATED, "issue_generic"), actor, items, None);
        }
        drop(inner);
        if let Some(comment) = comment {
            self.add_comment(actor, version, &key, &comment)?;
        }
        Ok(())
    }

    fn transitions_json(&self, version: ApiVersion, status: &str) -> Value {
        let transitions: Vec<Value> = WORKFLOW
            .iter()
            .filter(|t| t.from.iter().any(|f| f.eq_ignore_ascii_case(status)))
            .map(|t| {
                let mut to = self.status_json(t.to);
                if let Some(o) = to.as_object_mut() {
                    o.insert(
                        "self".into(),
                        json!(format!(
                            "{}/rest/api/{}/status/{}",
                            self.base_url(),
                            version.as_str(),
                            status_def(t.to).map_or("", |s| s.id)
                        )),
                    );
                }
                json!({
                    "id": t.id, "name": t.name, "to": to,
                    "hasScreen": false, "isGlobal": false, "isInitial": false,
                    "isAvailable": true, "isConditional": false, "isLooped": false,
                })
            })
            .collect();
        json!({ "expand": "transitions", "transitions": transitions })
    }

    fn transition(&self, actor: &SimUser, version: ApiVersion, key: &str, body: &Value) -> Result<(), SimError> {
        let id = body
            .get("transition")
            .and_then(|t| t.get("id"))
            .and_then(|id| id.as_str().map(str::to_owned).or_else(|| id.as_u64().map(|n| n.to_string())))
            .ok_or_else(|| SimError::bad_message("Missing 'transition' identifier"))?;
        let mut inner = self.lock();
        let now = self.now(&inner);
        let issue = Self::find(&mut inner, key)?;
        let Some(t) =
            WORKFLOW.iter().find(|t| t.id == id && t.from.iter().any(|f| f.eq_ignore_ascii_case(&issue.status)))
        else {
            return Err(SimError::bad_message(format!("Transition id '{id}' is not valid for this issue.")));
        };
        let target = status_def(t.to).copied().unwrap_or(STATUSES[0]);
        let mut resolution = match (target.category, target.name) {
            ("done", "Won't Do") => Some("Won't Do".to_owned()),
            ("done", _) => issue.resolution.clone().or_else(|| Some("Done".to_owned())),
            _ => None,
        };
        if let Some(fields) = body.get("fields").and_then(Value::as_object) {
            for (name, value) in fields {
                match name.as_str() {
                    "resolution" if target.category == "done" => {
                        resolution = value.get("name").and_then(Value::as_str).map(str::to_owned);
                    }
                    other => {
                        return Err(SimError::bad(ErrorCollection::field(
                            other,
                            format!("Field '{other}' cannot be set. It is not on the appropriate screen, or unknown."),
                        )));
                    }
                }
            }
        }
        let from = status_def(&issue.status).copied().unwrap_or(STATUSES[0]);
        let mut items = vec![json!({
            "field": "status", "fieldtype": "jira", "fieldId": "status",
            "from": from.id, "fromString": from.name, "to": target.id, "toString": target.name,
        })];
        if issue.resolution != resolution {
            items.push(json!({
                "field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                "from": Value::Null, "fromString": issue.resolution, "to": Value::Null, "toString": resolution,
            }));
        }
        issue.status = target.name.to_owned();
        issue.resolution = resolution;
        issue.updated = now;
        let key = issue.key.clone();
        self.issue_event(&mut inner, &key, (webhook::ISSUE_UPDATED, "issue_generic"), actor, items, None);
        drop(inner);
        if let Some(comment) = body.pointer("/update/comment/0/add") {
            self.add_comment(actor, version, &key, comment)?;
        }
        Ok(())
    }

    fn add_comment(&self, actor: &SimUser, version: ApiVersion, key: &str, body: &Value) -> Result<Value, SimError> {
        let text = match (body.get("body"), version) {
            (Some(Value::String(s)), ApiVersion::V2) => s.clone(),
            (Some(node @ Value::Object(_)), ApiVersion::V3) => {
                serde_json::from_value::<adf::Node>(node.clone()).map(|n| adf::to_text(&n)).map_err(|_| {
                    SimError::bad(ErrorCollection::field("comment", "Comment body is not a valid Atlassian Document"))
                })?
            }
            (Some(Value::String(_)), ApiVersion::V3) => {
                return Err(SimError::bad(ErrorCollection::field(
                    "comment",
                    "Comment body is not a valid Atlassian Document",
                )));
            }
            _ => String::new(),
        };
        if text.trim().is_empty() {
            return Err(SimError::bad(ErrorCollection::field("comment", "Comment body can not be empty!")));
        }
        let visibility = match body.get("visibility") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let v: Visibility = serde_json::from_value(v.clone())
                    .map_err(|_| SimError::bad(ErrorCollection::field("commentLevel", "Invalid visibility")))?;
                let known = match v.kind.as_str() {
                    "role" => self.config.roles.iter().any(|r| r.eq_ignore_ascii_case(&v.value)),
                    "group" => self.config.groups.iter().any(|g| g.eq_ignore_ascii_case(&v.value)),
                    _ => false,
                };
                if !known {
                    return Err(SimError::bad(ErrorCollection::field(
                        "commentLevel",
                        format!("You are currently not a member of the project role: {}.", v.value),
                    )));
                }
                Some(v)
            }
        };
        let mut inner = self.lock();
        let now = self.now(&inner);
        inner.next_comment_id += 1;
        let comment_id = 10_000 + inner.next_comment_id;
        let issue = Self::find(&mut inner, key)?;
        let comment =
            JiraComment { id: comment_id, author: actor.account_id.clone(), body: text, visibility, created: now };
        issue.comments.push(comment.clone());
        issue.updated = now;
        let snapshot = issue.clone();
        let answer = self.comment_json(&snapshot, &comment, version);
        if self.hook_tx.is_some() {
            let v2 = self.comment_json(&snapshot, &comment, ApiVersion::V2);
            self.issue_event(
                &mut inner,
                &snapshot.key,
                (webhook::ISSUE_UPDATED, "issue_commented"),
                actor,
                Vec::new(),
                Some(v2.clone()),
            );
            self.enqueue(json!({
                "timestamp": now.as_millisecond(),
                "webhookEvent": webhook::COMMENT_CREATED,
                "comment": v2,
                "issue": {
                    "id": snapshot.id.to_string(),
                    "self": format!("{}/rest/api/2/issue/{}", self.base_url(), snapshot.id),
                    "key": snapshot.key,
                    "fields": {
                        "summary": snapshot.summary,
                        "status": self.status_json(&snapshot.status),
                        "priority": self.priority_json(&snapshot.priority),
                        "issuetype": {"name": snapshot.issue_type, "subtask": false},
                        "updated": format_timestamp(snapshot.updated),
                    }
                },
            }));
        }
        Ok(answer)
    }

    fn remote_link(&self, version: ApiVersion, key: &str, body: &Value) -> Result<(StatusCode, Value), SimError> {
        let mut errors = ErrorCollection::default();
        for (field, message) in [("url", "'url' is required."), ("title", "'title' is required.")] {
            if body.pointer(&format!("/object/{field}")).and_then(Value::as_str).is_none_or(str::is_empty) {
                errors.errors.insert(field.into(), message.into());
            }
        }
        if !errors.errors.is_empty() {
            return Err(SimError::bad(errors));
        }
        let base = self.base_url();
        let mut inner = self.lock();
        inner.next_link_id += 1;
        let fresh_id = 10_000 + inner.next_link_id;
        let issue = Self::find(&mut inner, key)?;
        let global_id = body.get("globalId").and_then(Value::as_str);
        let existing = global_id
            .and_then(|g| issue.remote_links.iter().position(|l| l.get("globalId").and_then(Value::as_str) == Some(g)));
        let (status, id, index) = match existing {
            Some(i) => (StatusCode::OK, issue.remote_links[i]["id"].as_u64().unwrap_or(fresh_id), i),
            None => {
                issue.remote_links.push(Value::Null);
                (StatusCode::CREATED, fresh_id, issue.remote_links.len() - 1)
            }
        };
        let self_url = format!("{base}/rest/api/{}/issue/{}/remotelink/{id}", version.as_str(), issue.key);
        let mut stored = body.clone();
        if let Some(o) = stored.as_object_mut() {
            o.insert("id".into(), json!(id));
            o.insert("self".into(), json!(self_url));
        }
        issue.remote_links[index] = stored;
        Ok((status, json!({ "id": id, "self": self_url })))
    }

    fn issue_link(&self, body: &Value) -> Result<(), SimError> {
        let kind = body.pointer("/type/name").and_then(Value::as_str).unwrap_or_default();
        let Some(link_type) = LINK_TYPES.iter().find(|t| t.1.eq_ignore_ascii_case(kind)) else {
            return Err(SimError::not_found(format!("No issue link type with name '{kind}' found.")));
        };
        let inward = body.pointer("/inwardIssue/key").and_then(Value::as_str).unwrap_or_default().to_owned();
        let outward = body.pointer("/outwardIssue/key").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut inner = self.lock();
        let outward_key = Self::find(&mut inner, &outward)?.key.clone();
        let issue = Self::find(&mut inner, &inward)?;
        let link = (link_type.1.to_owned(), outward_key);
        if !issue.issue_links.contains(&link) {
            issue.issue_links.push(link);
        }
        Ok(())
    }

    /// The value of a JQL field for one issue; `Err` when Jira has no such field.
    fn jql_value(&self, issue: &JiraIssue, field: &str) -> Result<Option<FieldValue>, String> {
        let text = |s: &str| Some(FieldValue::text(s));
        let user = |h: &str| {
            let mut names = vec![h.to_owned()];
            if let Some(u) = self.user_by_handle(h) {
                names.extend([u.name.clone(), u.display_name.clone(), u.email.clone()]);
            }
            Some(FieldValue::List(names))
        };
        let lower = field.to_lowercase();
        let custom_id = lower
            .strip_prefix("cf[")
            .and_then(|r| r.strip_suffix(']'))
            .map(|n| format!("customfield_{n}"))
            .or_else(|| lower.starts_with("customfield_").then(|| lower.clone()))
            .or_else(|| {
                self.config
                    .custom_fields
                    .iter()
                    .find(|(_, name)| name.eq_ignore_ascii_case(field))
                    .map(|(id, _)| id.clone())
            });
        Ok(match lower.as_str() {
            "project" => text(&issue.project),
            "key" | "issuekey" | "issue" => text(&issue.key),
            "id" => text(&issue.id.to_string()),
            "summary" => text(&issue.summary),
            "description" => issue.description.as_deref().and_then(text),
            "comment" => (!issue.comments.is_empty())
                .then(|| FieldValue::List(issue.comments.iter().map(|c| c.body.clone()).collect())),
            "text" => {
                let mut all = vec![issue.summary.clone()];
                all.extend(issue.description.clone());
                all.extend(issue.comments.iter().map(|c| c.body.clone()));
                Some(FieldValue::List(all))
            }
            "status" => text(&issue.status),
            "statuscategory" => status_def(&issue.status).map(|s| {
                FieldValue::text(match s.category {
                    "new" => "To Do",
                    "done" => "Done",
                    _ => "In Progress",
                })
            }),
            "priority" => text(&issue.priority),
            "assignee" => issue.assignee.as_deref().and_then(user),
            "reporter" | "creator" => user(&issue.reporter),
            "labels" => Some(FieldValue::List(issue.labels.clone())),
            "type" | "issuetype" => text(&issue.issue_type),
            "resolution" => issue.resolution.as_deref().and_then(text),
            "created" | "createddate" => Some(FieldValue::Time(issue.created)),
            "updated" | "updateddate" => Some(FieldValue::Time(issue.updated)),
            _ => match custom_id {
                Some(id) if self.custom_name(&id).is_some() => issue.custom.get(&id).map(|v| match v {
                    Value::String(s) => FieldValue::text(s.clone()),
                    other => FieldValue::text(other.to_string()),
                }),
                _ => {
                    return Err(format!("Field '{field}' does not exist or you do not have permission to view it."));
                }
            },
        })
    }

    fn search(
        &self,
        version: ApiVersion,
        jql: &str,
        start_at: u64,
        max_results: Option<u64>,
        fields: Option<Vec<String>>,
    ) -> Result<Value, SimError> {
        let query = Query::parse(jql).map_err(|e| SimError::bad_message(e.to_string()))?;
        let inner = self.lock();
        let ctx = EvalContext { now: self.now(&inner), time_zone: jiff::tz::TimeZone::UTC };
        // Unknown fields are refused up front, as Jira does, even when no issue exists.
        let probe = inner.issues.first().cloned().unwrap_or_else(|| JiraIssue {
            id: 0,
            key: String::new(),
            project: String::new(),
            issue_type: String::new(),
            summary: String::new(),
            description: None,
            status: String::new(),
            priority: String::new(),
            assignee: None,
            reporter: String::new(),
            labels: Vec::new(),
            custom: BTreeMap::new(),
            resolution: None,
            created: ctx.now,
            updated: ctx.now,
            comments: Vec::new(),
            remote_links: Vec::new(),
            issue_links: Vec::new(),
        });
        let unknown: Vec<String> = query.fields().into_iter().filter_map(|f| self.jql_value(&probe, f).err()).collect();
        if !unknown.is_empty() {
            return Err(SimError::bad(ErrorCollection { error_messages: unknown, errors: BTreeMap::new() }));
        }
        fn getter<'a>(shared: &'a Shared, issue: &'a JiraIssue) -> impl Fn(&str) -> Option<FieldValue> + 'a {
            move |f: &str| shared.jql_value(issue, f).ok().flatten()
        }
        let get = |issue| getter(self, issue);
        let mut hits: Vec<&JiraIssue> = inner.issues.iter().filter(|i| query.matches_with(&ctx, get(i))).collect();
        if query.order_by.is_empty() {
            hits.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        } else {
            hits.sort_by(|a, b| query.compare(get(a), get(b)).then(a.id.cmp(&b.id)));
        }
        let max_results = max_results.unwrap_or(50).min(100);
        let total = hits.len() as u64;
        let issues: Vec<Value> = hits
            .into_iter()
            .skip(usize::try_from(start_at).unwrap_or(usize::MAX))
            .take(usize::try_from(max_results).unwrap_or(usize::MAX))
            .map(|i| self.issue_json(i, version, fields.as_deref()))
            .collect();
        Ok(json!({
            "expand": "schema,names",
            "startAt": start_at,
            "maxResults": max_results,
            "total": total,
            "issues": issues,
        }))
    }
}

// ---------------------------------------------------------------------------
// HTTP

type AppState = Arc<Shared>;

fn version(v: &str) -> Result<ApiVersion, SimError> {
    match v {
        "2" | "latest" => Ok(ApiVersion::V2),
        "3" => Ok(ApiVersion::V3),
        _ => Err(SimError::not_found(format!("No REST API version {v}"))),
    }
}

fn parse_body(bytes: &Bytes) -> Result<Value, SimError> {
    serde_json::from_slice(bytes)
        .map_err(|e| SimError::bad_message(format!("Unexpected character in request body: {e}")))
}

async fn require_auth(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let config = &shared.config;
    let ok = if let Some(basic) = header.strip_prefix("Basic ") {
        base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .is_some_and(|pair| pair == format!("{}:{}", config.email, config.api_token))
    } else if let Some(token) = header.strip_prefix("Bearer ") {
        token.trim() == config.bearer_token
    } else {
        false
    };
    let anonymous_ok = request.uri().path().ends_with("/serverInfo") && header.is_empty();
    if ok || anonymous_ok {
        next.run(request).await
    } else {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            Json(ErrorCollection::message(
                "You are not authenticated. Authentication required to perform this operation.",
            )),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"protected-area\""));
        response
    }
}

async fn record_writes(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 10 * 1024 * 1024).await.unwrap_or_default();
    let recorded =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    shared.lock().requests.push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body: recorded,
    });
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

async fn server_info(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let now = format_timestamp(s.now(&s.lock()));
    Ok(Json(json!({
        "baseUrl": s.base_url(),
        "version": "9.12.2",
        "versionNumbers": [9, 12, 2],
        "deploymentType": s.config.deployment_type,
        "buildNumber": 9_120_002,
        "buildDate": "2024-01-15T00:00:00.000+0000",
        "serverTime": now,
        "scmInfo": "deskgate-jira-simulator",
        "serverTitle": "Jira (deskgate simulator)",
    })))
}

async fn myself(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let mut me = s.user_json(&s.config.api_user.account_id);
    me["locale"] = json!("en_US");
    Ok(Json(me))
}

async fn priorities(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let colors = ["#d04437", "#f15C75", "#f79232", "#707070", "#999999"];
    Ok(Json(Value::Array(
        PRIORITIES
            .iter()
            .zip(colors)
            .map(|((_, name), color)| {
                let mut p = s.priority_json(name);
                p["statusColor"] = json!(color);
                p["description"] = json!(format!("{name} priority"));
                p
            })
            .collect(),
    )))
}

async fn fields(State(s): State<AppState>, Path(v): Path<String>) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let system = [
        ("summary", "Summary", "string"),
        ("description", "Description", "string"),
        ("status", "Status", "status"),
        ("priority", "Priority", "priority"),
        ("assignee", "Assignee", "user"),
        ("reporter", "Reporter", "user"),
        ("labels", "Labels", "array"),
        ("issuetype", "Issue Type", "issuetype"),
        ("project", "Project", "project"),
        ("resolution", "Resolution", "resolution"),
        ("created", "Created", "datetime"),
        ("updated", "Updated", "datetime"),
        ("comment", "Comment", "comments-page"),
        ("issuekey", "Key", "string"),
    ];
    let mut out: Vec<Value> = system
        .iter()
        .map(|(id, name, kind)| {
            let clauses: Vec<&str> = match *id {
                "issuekey" => vec!["id", "issue", "issuekey", "key"],
                "issuetype" => vec!["issuetype", "type"],
                other => vec![other],
            };
            json!({
                "id": id, "key": id, "name": name, "custom": false, "orderable": true,
                "navigable": true, "searchable": true, "clauseNames": clauses,
                "schema": {"type": kind, "system": id},
            })
        })
        .collect();
    for (id, name) in &s.config.custom_fields {
        let number = id.trim_start_matches("customfield_");
        out.push(json!({
            "id": id, "key": id, "name": name, "custom": true, "orderable": true,
            "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{number}]"), name],
            "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield", "customId": number.parse::<u64>().unwrap_or(0)},
        }));
    }
    Ok(Json(Value::Array(out)))
}

async fn create_issue(State(s): State<AppState>, Path(v): Path<String>, body: Bytes) -> Result<Response, SimError> {
    let version = version(&v)?;
    let created = s.create(&s.config.api_user, version, &parse_body(&body)?)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(serde::Deserialize)]
struct FieldsParam {
    fields: Option<String>,
}

fn split_fields(fields: Option<String>) -> Option<Vec<String>> {
    fields.map(|f| f.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect())
}

async fn get_issue(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    QueryParams(params): QueryParams<FieldsParam>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let mut inner = s.lock();
    let issue = Shared::find(&mut inner, &key)?.clone();
    drop(inner);
    Ok(Json(s.issue_json(&issue, version, split_fields(params.fields).as_deref())))
}

async fn edit_issue(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, SimError> {
    let version = version(&v)?;
    s.edit(&s.config.api_user, version, &key, &parse_body(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_transitions(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let status = Shared::find(&mut s.lock(), &key)?.status.clone();
    Ok(Json(s.transitions_json(version, &status)))
}

async fn do_transition(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, SimError> {
    let version = version(&v)?;
    s.transition(&s.config.api_user, version, &key, &parse_body(&body)?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_comments(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let issue = Shared::find(&mut s.lock(), &key)?.clone();
    let comments: Vec<Value> = issue.comments.iter().map(|c| s.comment_json(&issue, c, version)).collect();
    Ok(Json(json!({
        "startAt": 0,
        "maxResults": 5000,
        "total": comments.len(),
        "comments": comments,
    })))
}

async fn post_comment(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SimError> {
    let version = version(&v)?;
    let answer = s.add_comment(&s.config.api_user, version, &key, &parse_body(&body)?)?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn get_remote_links(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
) -> Result<Json<Value>, SimError> {
    version(&v)?;
    let links = Shared::find(&mut s.lock(), &key)?.remote_links.clone();
    Ok(Json(Value::Array(links)))
}

async fn post_remote_link(
    State(s): State<AppState>,
    Path((v, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SimError> {
    let version = version(&v)?;
    let (status, answer) = s.remote_link(version, &key, &parse_body(&body)?)?;
    Ok((status, Json(answer)).into_response())
}

async fn post_issue_link(
    State(s): State<AppState>,
    Path(v): Path<String>,
    body: Bytes,
) -> Result<StatusCode, SimError> {
    version(&v)?;
    s.issue_link(&parse_body(&body)?)?;
    Ok(StatusCode::CREATED)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchParams {
    jql: Option<String>,
    start_at: Option<u64>,
    max_results: Option<u64>,
    fields: Option<String>,
}

async fn search_get(
    State(s): State<AppState>,
    Path(v): Path<String>,
    QueryParams(p): QueryParams<SearchParams>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    s.search(
        version,
        p.jql.as_deref().unwrap_or_default(),
        p.start_at.unwrap_or(0),
        p.max_results,
        split_fields(p.fields),
    )
    .map(Json)
}

async fn search_post(State(s): State<AppState>, Path(v): Path<String>, body: Bytes) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let body = parse_body(&body)?;
    let fields = body.get("fields").and_then(|f| serde_json::from_value::<Vec<String>>(f.clone()).ok());
    s.search(
        version,
        body.get("jql").and_then(Value::as_str).unwrap_or_default(),
        body.get("startAt").and_then(Value::as_u64).unwrap_or(0),
        body.get("maxResults").and_then(Value::as_u64),
        fields,
    )
    .map(Json)
}

async fn deliver_webhooks(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Value>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let Some(target) = shared.config.webhook.clone() else {
        return;
    };
    // Unique within the site and across restarts, as Jira's are.
    let site = uuid::Uuid::new_v4();
    let mut delivery_number = 0u64;
    while let Some(payload) = rx.recv().await {
        delivery_number += 1;
        let identifier = format!("{site}-{delivery_number}");
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let signature = target.secret.as_ref().map(|secret| webhook::sign(secret.as_bytes(), &body));
        let (status, error) = match &client {
            Ok(client) => {
                let mut request = client
                    .post(&target.url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(webhook::IDENTIFIER_HEADER, identifier.as_str())
                    .header("X-Atlassian-Webhook-Flow", "Primary");
                if let Some(signature) = &signature {
                    request = request.header(webhook::SIGNATURE_HEADER, signature);
                }
                match request.body(body).send().await {
                    Ok(response) => (Some(response.status().as_u16()), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
            Err(e) => (None, Some(e.to_string())),
        };
        shared.lock().deliveries.push(Delivery { payload, signature, identifier, status, error });
        shared.hooks_done.fetch_add(1, AtomicOrdering::SeqCst);
        shared.hooks_notify.notify_waiters();
    }
}

impl JiraSim {
    /// Start an instance on `127.0.0.1:0`.
    pub async fn spawn(config: JiraSimConfig) -> std::io::Result<JiraSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (hook_tx, hook_rx) = match config.webhook {
            Some(_) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            config,
            addr,
            inner: Mutex::new(Inner::default()),
            hook_tx,
            hooks_queued: AtomicU64::new(0),
            hooks_done: AtomicU64::new(0),
            hooks_notify: Notify::new(),
            last_ms: AtomicI64::new(0),
        });
        if let Some(rx) = hook_rx {
            tokio::spawn(deliver_webhooks(shared.clone(), rx));
        }
        let faults = Faults::new();
        let api = Router::new()
            .route("/rest/api/{v}/serverInfo", get(server_info))
            .route("/rest/api/{v}/myself", get(myself))
            .route("/rest/api/{v}/priority", get(priorities))
            .route("/rest/api/{v}/field", get(fields))
            .route("/rest/api/{v}/issue", post(create_issue))
            .route("/rest/api/{v}/issue/{key}", get(get_issue).put(edit_issue))
            .route("/rest/api/{v}/issue/{key}/transitions", get(get_transitions).post(do_transition))
            .route("/rest/api/{v}/issue/{key}/comment", get(get_comments).post(post_comment))
            .route("/rest/api/{v}/issue/{key}/remotelink", get(get_remote_links).post(post_remote_link))
            .route("/rest/api/{v}/issueLink", post(post_issue_link))
            .route("/rest/api/{v}/search", get(search_get).post(search_post))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), record_writes))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), require_auth));
        let router = Router::new()
            .merge(api)
            .with_state(shared.clone())
            .merge(faults::control_routes().with_state(faults.clone()))
            .layer(axum::middleware::from_fn_with_state(faults.clone(), faults::apply));
        let app = router.clone();
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "jira simulator stopped");
            }
        });
        Ok(JiraSim { shared, faults, router, server })
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
        self.shared.lock().requests.clone()
    }

    /// Webhook deliveries made so far (or failed), in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// Wait until every webhook queued so far has been delivered or has failed.
    pub async fn webhooks_settled(&self) {
        loop {
            let notified = self.shared.hooks_notify.notified();
            let queued = self.shared.hooks_queued.load(AtomicOrdering::SeqCst);
            if self.shared.hooks_done.load(AtomicOrdering::SeqCst) >= queued {
                return;
            }
            notified.await;
        }
    }

    /// Move the instance's clock forward: later changes get later timestamps.
    /// Nothing sleeps.
    pub fn advance_clock(&self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        let mut inner = self.shared.lock();
        inner.clock_offset = inner.clock_offset.saturating_add(by);
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
        let created = self.shared.create(&config.operator, ApiVersion::V2, &json!({ "fields": fields }))?;
        Ok(created["key"].as_str().unwrap_or_default().to_owned())
    }

    /// Edit fields as the operator (v2 `fields` object); the REST rules apply.
    pub fn edit_as_user(&self, key: &str, fields: Value) -> Result<(), SimError> {
        self.shared.edit(&self.shared.config.operator, ApiVersion::V2, key, &json!({ "fields": fields }))
    }

    /// Move the issue to `target_status` as the operator, through the workflow.
    pub fn transition_as_user(&self, key: &str, target_status: &str) -> Result<(), SimError> {
        let status = Shared::find(&mut self.shared.lock(), key)?.status.clone();
        let transition = WORKFLOW
            .iter()
            .find(|t| {
                t.to.eq_ignore_ascii_case(target_status) && t.from.iter().any(|f| f.eq_ignore_ascii_case(&status))
            })
            .ok_or_else(|| SimError::bad_message(format!("No transition from '{status}' to '{target_status}'")))?;
        self.shared.transition(
            &self.shared.config.operator,
            ApiVersion::V2,
            key,
            &json!({ "transition": { "id": transition.id } }),
        )
    }

    /// Add a public comment as the operator; returns the comment id.
    pub fn comment_as_user(&self, key: &str, text: &str) -> Result<String, SimError> {
        let answer =
            self.shared.add_comment(&self.shared.config.operator, ApiVersion::V2, key, &json!({ "body": text }))?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Add a comment restricted to a project role as the operator.
    pub fn internal_comment_as_user(&self, key: &str, text: &str, role: &str) -> Result<String, SimError> {
        let answer = self.shared.add_comment(
            &self.shared.config.operator,
            ApiVersion::V2,
            key,
            &json!({ "body": text, "visibility": { "type": "role", "value": role } }),
        )?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Change the priority (by name) as the operator.
    pub fn set_priority_as_user(&self, key: &str, name: &str) -> Result<(), SimError> {
        self.edit_as_user(key, json!({ "priority": { "name": name } }))
    }
}

/// Headers a webhook receiver gets, for tests that inspect them.
pub fn signature_of(headers: &HeaderMap) -> Option<String> {
    headers.get(webhook::SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}
