//! JQL search: the value of each JQL field for an issue, Jira's errors for bad JQL
//! and unknown fields, and the two search resources — Data Center's `GET|POST …/search`
//! (paging with `startAt`/`maxResults`/`total`) and Cloud's `GET|POST …/search/jql`
//! (cursor pages with `nextPageToken`/`isLast`, no `total`, over the lagging index
//! except the issues named in `reconcileIssues`; see `profile.rs`). Without
//! `ORDER BY`, the newest issue comes first (`created DESC`).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query as QueryParams, State};
use deskgate_jira::jql::{EvalContext, FieldValue, Query};
use deskgate_jira::wire::{ApiVersion, ErrorCollection};
use serde_json::{Value, json};

use super::http::{AppState, parse_body, split_fields, version};
use super::workflow::status_def;
use super::{JiraIssue, Shared, SimError};

impl Shared {
    pub(super) fn jql_value(&self, issue: &JiraIssue, field: &str) -> Result<Option<FieldValue>, String> {
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

    pub(super) fn search(
        &self,
        version: ApiVersion,
        jql: &str,
        start_at: u64,
        max_results: Option<u64>,
        fields: Option<Vec<String>>,
    ) -> Result<Value, SimError> {
        let issues = self.lock().issues.clone();
        let hits = self.matching(jql, &issues)?;
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

    /// Cloud's enhanced search: a page after `token` of what the index shows.
    pub(super) fn search_jql(&self, version: ApiVersion, request: JqlSearch) -> Result<Value, SimError> {
        if request.jql.trim().is_empty() {
            return Err(SimError::bad_message(
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
            ));
        }
        let start = match request.next_page_token.as_deref() {
            None => 0,
            Some(token) => token
                .strip_prefix("sim-page-")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| SimError::bad_message(format!("Invalid nextPageToken: {token}")))?,
        };
        let issues = self.indexed_issues(&request.reconcile_issues);
        let hits = self.matching(&request.jql, &issues)?;
        // Fewer issues per page when fields are asked for, as Cloud answers.
        let cap = if request.fields.is_some() { 100 } else { 5000 };
        let max_results = usize::try_from(request.max_results.unwrap_or(50).clamp(1, cap)).unwrap_or(50);
        let page: Vec<Value> = hits
            .iter()
            .skip(start)
            .take(max_results)
            .map(|i| match &request.fields {
                Some(fields) => self.issue_json(i, version, Some(fields)),
                // Without `fields`, only the id.
                None => json!({ "id": i.id.to_string() }),
            })
            .collect();
        let next = start + page.len();
        let mut answer = json!({ "issues": page, "isLast": next >= hits.len() });
        if next < hits.len() {
            answer["nextPageToken"] = json!(format!("sim-page-{next}"));
        }
        Ok(answer)
    }

    /// The issues among `issues` that `jql` matches, in the query's order.
    fn matching<'a>(&self, jql: &str, issues: &'a [JiraIssue]) -> Result<Vec<&'a JiraIssue>, SimError> {
        let query = Query::parse(jql).map_err(|e| SimError::bad_message(e.to_string()))?;
        let ctx = EvalContext { now: self.now(), time_zone: jiff::tz::TimeZone::UTC };
        // Unknown fields are refused up front, as Jira does, even when no issue exists.
        let probe = issues.first().cloned().unwrap_or_else(|| JiraIssue {
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
        let mut hits: Vec<&JiraIssue> = issues.iter().filter(|i| query.matches_with(&ctx, get(i))).collect();
        if query.order_by.is_empty() {
            hits.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        } else {
            hits.sort_by(|a, b| query.compare(get(a), get(b)).then(a.id.cmp(&b.id)));
        }
        Ok(hits)
    }
}

/// The parameters of an enhanced search, from the query string or the body.
#[derive(Default)]
pub(super) struct JqlSearch {
    jql: String,
    next_page_token: Option<String>,
    max_results: Option<u64>,
    fields: Option<Vec<String>>,
    reconcile_issues: BTreeSet<u64>,
}

pub(super) async fn search_jql_get(
    State(s): State<AppState>,
    Path(v): Path<String>,
    QueryParams(params): QueryParams<Vec<(String, String)>>,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let mut request = JqlSearch::default();
    for (name, value) in params {
        match name.as_str() {
            "jql" => request.jql = value,
            "nextPageToken" => request.next_page_token = Some(value),
            "maxResults" => {
                request.max_results =
                    Some(value.parse().map_err(|_| SimError::bad_message(format!("Invalid maxResults: {value}")))?)
            }
            "fields" => {
                request.fields.get_or_insert_with(Vec::new).extend(split_fields(Some(value)).unwrap_or_default())
            }
            "reconcileIssues" => {
                for id in value.split(',').filter(|x| !x.is_empty()) {
                    let id = id
                        .trim()
                        .parse()
                        .map_err(|_| SimError::bad_message(format!("Invalid reconcileIssues: {id}")))?;
                    request.reconcile_issues.insert(id);
                }
            }
            _ => {}
        }
    }
    s.search_jql(version, request).map(Json)
}

pub(super) async fn search_jql_post(
    State(s): State<AppState>,
    Path(v): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, SimError> {
    let version = version(&v)?;
    let body = parse_body(&body)?;
    if body.get("startAt").is_some() {
        return Err(SimError::bad_message(
            "Invalid request payload. Refer to the REST API documentation and try again.",
        ));
    }
    let request = JqlSearch {
        jql: body.get("jql").and_then(Value::as_str).unwrap_or_default().to_owned(),
        next_page_token: body.get("nextPageToken").and_then(Value::as_str).map(str::to_owned),
        max_results: body.get("maxResults").and_then(Value::as_u64),
        fields: body.get("fields").and_then(|f| serde_json::from_value::<Vec<String>>(f.clone()).ok()),
        reconcile_issues: body
            .get("reconcileIssues")
            .and_then(|r| serde_json::from_value::<BTreeSet<u64>>(r.clone()).ok())
            .unwrap_or_default(),
    };
    s.search_jql(version, request).map(Json)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchParams {
    jql: Option<String>,
    start_at: Option<u64>,
    max_results: Option<u64>,
    fields: Option<String>,
}

pub(super) async fn search_get(
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

pub(super) async fn search_post(
    State(s): State<AppState>,
    Path(v): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, SimError> {
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
