//! Which Jira product the simulator is — Jira Cloud or Jira Data Center — and what
//! that changes on the wire: the API versions served, how issues are searched, how
//! users are named, and Cloud's eventually consistent search index.
//!
//! # Modelled on
//!
//! - Atlassian changelog CHANGE-2046 ("Removal of the legacy search APIs"): on Cloud,
//!   `GET|POST /rest/api/{2,3}/search` answer `410 Gone` with
//!   `{"errorMessages":["The requested API has been removed. Please migrate to the
//!   /rest/api/3/search/jql API. …"],"errors":{}}` — the body as users report it
//!   (pycontribs/jira #2367, adyscorpius/logseq-jira #34, dapplo/Dapplo.Jira #79).
//! - The Cloud platform reference, "Search for issues using JQL enhanced search"
//!   (`GET|POST /rest/api/3/search/jql`, also under `/rest/api/2`): parameters `jql`,
//!   `nextPageToken`, `maxResults`, `fields`, `expand`, `properties`, `fieldsByKeys`,
//!   `failFast`, `reconcileIssues`; the answer holds `issues`, `nextPageToken` (absent
//!   on the last page) and `isLast`, and no `total`; only `id` is returned per issue
//!   unless `fields` asks for more; a body with `startAt` is refused (400), as
//!   clients migrating to it report. The clients that implement it read it the same
//!   way (pycontribs/jira `enhanced_search_issues`, atlassian-python-api
//!   `enhanced_jql`). The mirrored OpenAPI description in `specs/jira-platform.v3.json`
//!   predates the change and has no `/search/jql`.
//! - The same reference on consistency: search results come from an index updated
//!   after the write, so an issue just created or edited may not be found (or be
//!   found as it was); ids passed in `reconcileIssues` (at most 50) are read
//!   consistently. Atlassian gives no bound for the delay: the simulator's
//!   [`JiraSim::set_index_lag`](super::JiraSim::set_index_lag) is one fixed delay.
//! - Cloud identifies users by `accountId` only (the GDPR API migration guide: `name`
//!   and `key` are gone from user objects and refused in writes); Data Center by
//!   `name` (and `key`), without `accountId`.
//! - Jira Data Center has only REST v2 (`/rest/api/2`, `latest`); `/rest/api/3/…`
//!   answers 404. DC's exact 404 body for an unknown REST resource was not found in
//!   the docs; the simulator answers Jira's usual `errorMessages` shape. DC keeps
//!   `/search` with `startAt`/`total` and has no `/search/jql` (404). Data Center
//!   reports `deploymentType: "Server"` in `serverInfo` (what clients such as
//!   pycontribs/jira compare against `"Cloud"`); Cloud reports `"Cloud"`.
//!
//! Unclear in the docs and not modelled: whether Cloud refuses unbounded JQL on
//! `/search/jql` (clients report a 400 for an empty `jql`, e.g. nextcloud/integration_jira
//! #169; the simulator refuses an empty `jql` only, with a message of its own wording),
//! and how long a `nextPageToken` stays valid (here: until the
//! issue set changes order, the token being an offset).
//!
//! # Operator API
//!
//! `PUT /_sim/jira/index-lag` `{"millis": n}` sets the index lag;
//! `POST /_sim/jira/lose-responses` `{"method": "POST", "path_suffix": "/issue",
//! "count": 1}` makes the next matching requests be served (their change applied)
//! and their answer lost: the connection breaks off before the body is complete,
//! as when a proxy or the network drops it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use deskgate_jira::wire::{ApiVersion, ErrorCollection};
use serde::{Deserialize, Serialize};

use super::http::AppState;
use super::{JiraIssue, Shared, SimError};
use crate::core::record::Log;

/// The Jira product the simulator behaves as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JiraProfile {
    /// Jira Cloud: REST v2 and v3, `/search/jql` with an index lag, users by `accountId`.
    Cloud,
    /// Jira Data Center: REST v2 only, `/search` with `startAt`/`total`, users by `name`.
    #[default]
    DataCenter,
}

impl JiraProfile {
    pub fn serves(self, version: ApiVersion) -> bool {
        self == Self::Cloud || version == ApiVersion::V2
    }

    /// The properties a user reference in a write body may name the user by.
    pub(super) fn user_keys(self) -> &'static [&'static str] {
        match self {
            Self::Cloud => &["accountId"],
            Self::DataCenter => &["name", "key"],
        }
    }

    pub(super) fn user_keys_expected(self) -> &'static str {
        match self {
            Self::Cloud => "expected 'accountId' property",
            Self::DataCenter => "expected 'name' property",
        }
    }
}

/// The body Jira Cloud answers the removed search resources with.
pub const SEARCH_REMOVED: &str = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. \
     A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

/// Every request the REST API received (reads too), without bodies: what a contract
/// check compares with the published API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    /// Query parameter names, in the order sent.
    pub query_names: Vec<String>,
}

/// Requests whose answer is lost after they were served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoseResponses {
    pub method: String,
    /// The path must end with this (`/issue` matches `POST /rest/api/3/issue`).
    pub path_suffix: String,
    pub count: u32,
}

/// What the search index holds of one issue: the version searches see, and later
/// versions not indexed yet.
#[derive(Default)]
struct Indexed {
    visible: Option<JiraIssue>,
    pending: Vec<(Instant, JiraIssue)>,
}

#[derive(Default)]
struct IndexInner {
    lag: Duration,
    issues: BTreeMap<u64, Indexed>,
}

/// Cloud's search index and the profile's fault and request state.
#[derive(Default)]
pub(super) struct ProfileState {
    index: Mutex<IndexInner>,
    lose: Mutex<Vec<LoseResponses>>,
    pub(super) seen: Log<SeenRequest>,
}

impl ProfileState {
    pub(super) fn set_lag(&self, lag: Duration) {
        crate::core::lock(&self.index).lag = lag;
    }

    pub(super) fn lose(&self, rule: LoseResponses) {
        crate::core::lock(&self.lose).push(rule);
    }

    fn take_lost(&self, method: &str, path: &str) -> bool {
        let mut rules = crate::core::lock(&self.lose);
        let Some(rule) = rules
            .iter_mut()
            .find(|r| r.count > 0 && r.method.eq_ignore_ascii_case(method) && path.ends_with(&r.path_suffix))
        else {
            return false;
        };
        rule.count -= 1;
        rules.retain(|r| r.count > 0);
        true
    }
}

impl Shared {
    /// Note every issue that changed since the last look: its new version reaches the
    /// index after the lag. Called after every request and operator action.
    pub(super) fn observe_changes(&self) {
        let inner = self.lock();
        let mut index = crate::core::lock(&self.profile.index);
        let lag = index.lag;
        let now = Instant::now();
        for issue in &inner.issues {
            let entry = index.issues.entry(issue.id).or_default();
            let latest = entry.pending.last().map(|(_, i)| i).or(entry.visible.as_ref());
            if latest == Some(issue) {
                continue;
            }
            if lag.is_zero() {
                entry.pending.clear();
                entry.visible = Some(issue.clone());
            } else {
                entry.pending.push((now + lag, issue.clone()));
            }
        }
    }

    /// The issues a Cloud search sees: each as last indexed, except those named in
    /// `reconcile`, read as they are now. Issues not indexed yet are missing.
    pub(super) fn indexed_issues(&self, reconcile: &BTreeSet<u64>) -> Vec<JiraIssue> {
        self.observe_changes();
        let inner = self.lock();
        let mut index = crate::core::lock(&self.profile.index);
        let now = Instant::now();
        let mut out = Vec::new();
        for issue in &inner.issues {
            if reconcile.contains(&issue.id) {
                out.push(issue.clone());
                continue;
            }
            let Some(entry) = index.issues.get_mut(&issue.id) else { continue };
            let due = entry.pending.iter().take_while(|(at, _)| *at <= now).count();
            if let Some((_, newest)) = entry.pending.drain(..due).next_back() {
                entry.visible = Some(newest);
            }
            out.extend(entry.visible.clone());
        }
        out
    }
}

fn not_found() -> Response {
    SimError::not_found("The requested resource could not be found.").into_response()
}

/// Middleware: what this product does not serve, it answers as the product does;
/// every request is recorded; changes are handed to the index; lost answers break off.
pub(super) async fn gate(State(s): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query_names = request
        .uri()
        .query()
        .map(|q| {
            q.split('&').filter(|p| !p.is_empty()).map(|p| p.split('=').next().unwrap_or_default().to_owned()).collect()
        })
        .unwrap_or_default();
    s.profile.seen.push(SeenRequest { method: method.clone(), path: path.clone(), query_names });
    let profile = s.config.profile;
    let rest = path.strip_prefix("/rest/api/").unwrap_or_default();
    let (version, resource) = rest.split_once('/').unwrap_or((rest, ""));
    if profile == JiraProfile::DataCenter && (version == "3" || resource == "search/jql") {
        return not_found();
    }
    if profile == JiraProfile::Cloud && resource == "search" {
        return (StatusCode::GONE, Json(ErrorCollection::message(SEARCH_REMOVED))).into_response();
    }
    let lost = s.profile.take_lost(&method, &path);
    let response = next.run(request).await;
    s.observe_changes();
    if lost { break_off(response).await } else { response }
}

/// The answer's status and headers, then a body that breaks off before its end: the
/// client sees the answer fail after the change was made.
async fn break_off(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::new(BrokenBody))
}

/// A body whose first read fails.
struct BrokenBody;

impl hyper::body::Body for BrokenBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "answer lost"))))
    }
}

#[derive(Deserialize)]
struct LagBody {
    millis: u64,
}

/// `/_sim/jira/…`: the index lag and lost answers.
pub(super) fn operator_routes(shared: AppState) -> axum::Router {
    use axum::routing::{post, put};
    axum::Router::new()
        .route(
            "/_sim/jira/index-lag",
            put(|State(s): State<AppState>, Json(body): Json<LagBody>| async move {
                s.profile.set_lag(Duration::from_millis(body.millis));
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_sim/jira/lose-responses",
            post(|State(s): State<AppState>, Json(rule): Json<LoseResponses>| async move {
                s.profile.lose(rule);
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(shared)
}
