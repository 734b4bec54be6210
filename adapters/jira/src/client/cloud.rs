//! Jira Cloud's search, and why creates on Cloud are guarded.
//!
//! Cloud removed `GET|POST /rest/api/{2,3}/search` (410 Gone, Atlassian changelog
//! CHANGE-2046; pycontribs/jira #2367) for `/rest/api/{2,3}/search/jql`: a
//! `nextPageToken` cursor and `isLast` instead of `startAt` and `total`, only ids
//! unless `fields` are asked for, and results from an index that is updated after the
//! write — an issue just created may not be found yet (the platform reference,
//! "Search for issues using JQL enhanced search"; pycontribs/jira
//! `enhanced_search_issues` and atlassian-python-api `enhanced_jql` read it the same
//! way). Ids passed in `reconcileIssues` (at most 50) are read consistently.
//!
//! A create is found again by searching for its correlation id, so a retried create
//! could miss an issue the lost first attempt made. The guard: the adapter notes when
//! it last sent a create for each correlation id and refuses (retriably, with
//! `Retry-After`) to send another until that attempt is older than
//! [`JiraConfig::search_consistency`](super::JiraConfig::search_consistency), by which
//! time search shows it. For the first window after the adapter starts every create
//! waits, because an attempt made before a restart is not known. Issues whose create
//! was answered are reconciled in every search, so a retry after a later step failed
//! (the transition after the create) finds them at once. Atlassian gives no bound for
//! the index delay: the window is the operator's bound, and a lag beyond it can still
//! duplicate.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use deskgate_adapter::AdapterError;
use reqwest::Method;

use super::{Deployment, JiraAdapter, decode};
use crate::jql::Query;
use crate::wire::{Issue, JqlSearchRequest, JqlSearchResults};

/// Most issue ids one search asks Jira Cloud to reconcile (the API's limit).
const MAX_RECONCILE: usize = 50;

/// What the adapter tried to create on Jira Cloud lately: when, and what came of it.
pub(super) struct Creates {
    /// Creates for the first window after this instant wait: earlier attempts are unknown.
    started: Instant,
    /// When a create was last sent per correlation id, pruned after the window.
    attempts: BTreeMap<String, Instant>,
    /// Ids of issues created lately, newest last: searched consistently.
    created: VecDeque<u64>,
}

impl Creates {
    pub(super) fn new() -> Self {
        Self { started: Instant::now(), attempts: BTreeMap::new(), created: VecDeque::new() }
    }
}

/// The refusal of a create that must wait `wait` more.
pub(super) fn not_yet(what: &str, correlation: &str, wait: Duration) -> AdapterError {
    // Round up: a Retry-After of 0 would retry before the window is over.
    let retry_after = Duration::from_secs(wait.as_secs() + 1);
    AdapterError::Retriable {
        message: format!(
            "jira {what}: an earlier attempt for {correlation} may not show in Jira Cloud's search yet; \
             not creating again for {}s",
            retry_after.as_secs()
        ),
        status: None,
        retry_after: Some(retry_after),
        body: None,
    }
}

impl JiraAdapter {
    /// Jira Cloud's enhanced search: cursor pages, with the issues created lately
    /// reconciled so that they are found although the index may not have them yet.
    pub(super) async fn search_jql(
        &self,
        query: &Query,
        fields: Vec<String>,
        max_pages: u64,
    ) -> Result<Vec<Issue>, AdapterError> {
        let reconcile_issues: Vec<u64> = self.lock_creates().created.iter().copied().collect();
        let mut issues = Vec::new();
        let mut next_page_token = None;
        for _ in 0..max_pages {
            let request = JqlSearchRequest {
                jql: query.to_string(),
                next_page_token: next_page_token.take(),
                max_results: Some(self.config.page_size),
                fields: fields.clone(),
                reconcile_issues: reconcile_issues.clone(),
            };
            let url = self.api_url(&["search", "jql"]);
            let (_, bytes) = self.call(Method::POST, url, Some(&request), "search").await?;
            let page: JqlSearchResults = decode(&bytes, "search")?;
            let empty = page.issues.is_empty();
            issues.extend(page.issues);
            // Stop on `isLast`, a missing token or an empty page, whichever comes first.
            match page.next_page_token {
                Some(token) if page.is_last != Some(true) && !empty => next_page_token = Some(token),
                _ => break,
            }
        }
        Ok(issues)
    }

    fn lock_creates(&self) -> std::sync::MutexGuard<'_, Creates> {
        // The bookkeeping stays usable after a panic elsewhere: it only ever delays.
        self.creates.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// On Cloud: how long a create of `correlation` must still wait, because an
    /// earlier attempt (or one before the adapter started) may not be searchable yet.
    /// Otherwise the attempt is noted now, before the request goes out.
    pub(super) fn claim_create(&self, correlation: &str) -> Option<Duration> {
        if self.config.deployment != Deployment::Cloud {
            return None;
        }
        let window = self.config.search_consistency;
        let now = Instant::now();
        let mut creates = self.lock_creates();
        creates.attempts.retain(|_, at| now.duration_since(*at) < window);
        let since = creates.attempts.get(correlation).copied().unwrap_or(creates.started);
        let waited = now.duration_since(since);
        if waited < window {
            return Some(window - waited);
        }
        creates.attempts.insert(correlation.to_owned(), now);
        None
    }

    pub(super) fn note_created(&self, id: &str) {
        let Ok(id) = id.parse::<u64>() else { return };
        let mut creates = self.lock_creates();
        creates.created.push_back(id);
        while creates.created.len() > MAX_RECONCILE {
            creates.created.pop_front();
        }
    }
}
