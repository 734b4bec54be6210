//! JQL search (`GET|POST …/search`): the value of each JQL field for an issue, paging
//! with `startAt`/`maxResults`/`total`, and Jira's errors for bad JQL and unknown
//! fields. Without `ORDER BY`, the newest issue comes first (`created DESC`).

use std::collections::BTreeMap;

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
        let query = Query::parse(jql).map_err(|e| SimError::bad_message(e.to_string()))?;
        let inner = self.lock();
        let ctx = EvalContext { now: self.now(), time_zone: jiff::tz::TimeZone::UTC };
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
