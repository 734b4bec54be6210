//! `/search` (offsets) and `/search/jql` (Jira Cloud's, pages by `nextPageToken`):
//! the JQL subset Jira clients send, over the calling desk's incidents.

use super::*;

pub(super) struct Search {
    pub(super) jql: String,
    pub(super) start_at: u64,
    pub(super) max_results: u64,
    pub(super) fields: Vec<String>,
}

/// A JSON number that is a whole number, `978.0` included: JSON does not tell them
/// apart, and Jira reads both.
fn whole(name: &str, value: &Value) -> Result<u64, ApiError> {
    let float = || value.as_f64().filter(|f| f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(f));
    // Within 2^53 a whole f64 is exactly an integer.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let number = value.as_u64().or_else(|| float().map(|f| f as u64));
    number.ok_or_else(|| field_error(name, format!("{name}: expected a whole number")))
}

pub(super) fn number(name: &str, value: &str) -> Result<u64, ApiError> {
    value.trim().parse().map_err(|_| field_error(name, format!("{name}: expected a whole number")))
}

pub(super) async fn search_get(call: Call, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let state = &call.state;
    let desk = call.desk()?;
    let mut search = Search { jql: String::new(), start_at: 0, max_results: 50, fields: Vec::new() };
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "jql" => search.jql = value.into_owned(),
            "startAt" => search.start_at = number("startAt", &value)?,
            "maxResults" => search.max_results = number("maxResults", &value)?,
            "fields" => search.fields.extend(value.split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty())),
            "validateQuery" | "expand" | "properties" | "fieldsByKeys" => {}
            other => return Err(field_error(other, format!("{other}: unknown parameter"))),
        }
    }
    run_search(state, &desk, search).await
}

pub(super) async fn search_post(Write { call, body, .. }: Write) -> Result<Response, ApiError> {
    let state = &call.state;
    let desk = call.desk()?;
    let object = body.as_object().ok_or_else(|| ApiError::bad_request("(body)", "expected a JSON object"))?;
    let mut search = Search { jql: String::new(), start_at: 0, max_results: 50, fields: Vec::new() };
    for (key, value) in object {
        match key.as_str() {
            "jql" => search.jql = value.as_str().unwrap_or_default().to_owned(),
            "startAt" => search.start_at = whole("startAt", value)?,
            "maxResults" => search.max_results = whole("maxResults", value)?,
            "fields" => {
                search.fields =
                    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
            }
            "validateQuery" | "expand" | "properties" | "fieldsByKeys" => {}
            other => return Err(field_error(other, format!("Unrecognized field \"{other}\""))),
        }
    }
    run_search(state, &desk, search).await
}

/// JQL names deskgate's issues answer to, and the canonical field each reads.
pub(super) fn jql_field(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "project" => "project",
        "key" | "issuekey" | "issue" | "id" => "key",
        "summary" => "summary",
        "description" => "description",
        "text" => "text",
        "status" => "status",
        "statuscategory" => "statusCategory",
        "priority" => "priority",
        "assignee" => "assignee",
        "reporter" | "creator" => "reporter",
        "created" | "createddate" => "created",
        "updated" | "updateddate" => "updated",
        "component" | "components" => "component",
        "labels" => "labels",
        "resolution" => "resolution",
        "issuetype" | "type" => "issuetype",
        "cf[10100]" | "desk ticket" | "customfield_10100" => TICKET_FIELD,
        "cf[10101]" | "deskgate incident" | "customfield_10101" => INCIDENT_FIELD,
        _ => return None,
    })
}

pub(super) fn jql_value(issue: &Value, field: &str) -> Option<FieldValue> {
    let f = &issue["fields"];
    let text = |v: &Value| v.as_str().map(FieldValue::text);
    let name = |v: &Value| v.get("name").and_then(Value::as_str).map(FieldValue::text);
    match jql_field(field)? {
        "project" => Some(FieldValue::text(PROJECT_KEY)),
        "key" => text(&issue["key"]),
        "summary" => text(&f["summary"]),
        "description" => f["description"].as_str().map(FieldValue::text).or_else(|| {
            serde_json::from_value::<TextBody>(f["description"].clone()).ok().map(|t| FieldValue::text(t.to_text()))
        }),
        "text" => {
            let d =
                serde_json::from_value::<TextBody>(f["description"].clone()).map(|t| t.to_text()).unwrap_or_default();
            Some(FieldValue::text(format!("{} {d}", f["summary"].as_str().unwrap_or_default())))
        }
        "status" => name(&f["status"]),
        "statusCategory" => name(&f["status"]["statusCategory"]),
        "priority" => name(&f["priority"]),
        "assignee" => text(&f["assignee"]["name"]),
        "reporter" => text(&f["reporter"]["name"]),
        "created" => f["created"].as_str().and_then(jira_wire::parse_timestamp).map(FieldValue::Time),
        "updated" => f["updated"].as_str().and_then(jira_wire::parse_timestamp).map(FieldValue::Time),
        "component" => Some(FieldValue::List(
            f["components"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .map(str::to_owned)
                .collect(),
        )),
        "labels" => Some(FieldValue::List(Vec::new())),
        "resolution" => name(&f["resolution"]),
        "issuetype" => name(&f["issuetype"]),
        other => text(&f[other]),
    }
}

/// Every issue the query matches, in its order.
async fn matching(state: &AppState, desk: &JiraDesk<'_>, jql: &str) -> Result<Vec<Value>, ApiError> {
    let query =
        jql::Query::parse(jql).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_jql", e.to_string()))?;
    if let Some(unknown) = query.fields().into_iter().find(|f| jql_field(f).is_none()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_jql",
            format!("Field '{unknown}' does not exist or you do not have permission to view it."),
        ));
    }
    let ctx = jql::EvalContext { now: state.gateway.now(), time_zone: jiff::tz::TimeZone::UTC };
    let narrowed = narrow::narrowed(&query, &ctx);
    let incidents = state.gateway.query(&desk.who, narrowed).await.map_err(|e| gateway_error(e, desk.mapping))?;
    if incidents.len() > narrow::MAX_CANDIDATES {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_jql",
            format!(
                "The search leaves more than {} issues to examine; narrow it with key = or updated >= conditions (ANDed), or order by key, created or updated.",
                narrow::MAX_CANDIDATES
            ),
        ));
    }
    let mut issues: Vec<Value> = incidents
        .iter()
        .map(|i| issue_json(state, desk, i))
        .filter(|issue| query.matches_with(&ctx, |f| jql_value(issue, f)))
        .collect();
    issues.sort_by(|a, b| query.compare(|f| jql_value(a, f), |f| jql_value(b, f)));
    Ok(issues)
}

fn page_of(issues: Vec<Value>, start_at: u64, max_results: u64, fields: &[String]) -> Vec<Value> {
    issues
        .into_iter()
        .skip(usize::try_from(start_at).unwrap_or(usize::MAX))
        .take(usize::try_from(max_results).unwrap_or(usize::MAX))
        .map(|issue| select_fields(issue, fields))
        .collect()
}

pub(super) async fn run_search(state: &AppState, desk: &JiraDesk<'_>, search: Search) -> Result<Response, ApiError> {
    let issues = matching(state, desk, &search.jql).await?;
    let max_results = search.max_results.min(MAX_RESULTS);
    let total = issues.len();
    let page = page_of(issues, search.start_at, max_results, &search.fields);
    Ok(axum::Json(json!({
        "expand": "schema,names",
        "startAt": search.start_at,
        "maxResults": max_results,
        "total": total,
        "issues": page,
    }))
    .into_response())
}

/// Parameters `/search/jql` takes and deskgate has nothing to do with.
const JQL_IGNORED: &[&str] = &["expand", "properties", "fieldsByKeys", "failFast", "reconcileIssues"];

/// A `/search/jql` request from its parameters (GET: strings, POST: JSON values).
fn jql_search(params: Vec<(String, Value)>) -> Result<(Search, Option<String>), ApiError> {
    let mut search = Search { jql: String::new(), start_at: 0, max_results: 50, fields: Vec::new() };
    let mut token = None;
    for (key, value) in params {
        let text = || value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
        match key.as_str() {
            "jql" => search.jql = text(),
            "nextPageToken" if !value.is_null() => token = Some(text()),
            "maxResults" if value.is_number() => search.max_results = whole("maxResults", &value)?,
            "maxResults" => search.max_results = number("maxResults", &text())?,
            "fields" => match &value {
                Value::Array(list) => search.fields.extend(list.iter().filter_map(Value::as_str).map(str::to_owned)),
                _ => search.fields.extend(text().split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty())),
            },
            other if JQL_IGNORED.contains(&other) || value.is_null() => {}
            other => return Err(field_error(other, format!("{other}: not a parameter of search/jql"))),
        }
    }
    Ok((search, token))
}

/// The opaque page token: where the next page starts, bound to the query it pages.
fn page_token(jql: &str, start: usize) -> String {
    let digest = Sha256::digest(jql.as_bytes());
    format!("{start}-{}", hex::encode(&digest[..6]))
}

fn start_of(jql: &str, token: &str) -> Result<u64, ApiError> {
    let start = token.split_once('-').and_then(|(n, _)| n.parse::<usize>().ok());
    match start {
        Some(n) if page_token(jql, n) == token => Ok(n as u64),
        _ => Err(field_error("nextPageToken", "nextPageToken: not a token this query's previous page gave")),
    }
}

async fn run_jql_search(
    state: &AppState,
    desk: &JiraDesk<'_>,
    (mut search, token): (Search, Option<String>),
) -> Result<Response, ApiError> {
    if let Some(token) = &token {
        search.start_at = start_of(&search.jql, token)?;
    }
    let issues = matching(state, desk, &search.jql).await?;
    let max_results = search.max_results.clamp(1, MAX_RESULTS);
    let total = issues.len();
    let page = page_of(issues, search.start_at, max_results, &search.fields);
    let next = usize::try_from(search.start_at).unwrap_or(usize::MAX).saturating_add(page.len());
    let mut answer = json!({"issues": page, "isLast": next >= total});
    if next < total {
        answer["nextPageToken"] = json!(page_token(&search.jql, next));
    }
    Ok(axum::Json(answer).into_response())
}

/// `GET /rest/api/{v}/search/jql`
pub(super) async fn search_jql_get(call: Call, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let params = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    run_jql_search(&call.state, &desk, jql_search(params)?).await
}

/// `POST /rest/api/{v}/search/jql`
pub(super) async fn search_jql_post(Write { call, body, .. }: Write) -> Result<Response, ApiError> {
    let desk = call.desk()?;
    let object = body.as_object().ok_or_else(|| ApiError::bad_request("(body)", "expected a JSON object"))?;
    run_jql_search(&call.state, &desk, jql_search(object.clone().into_iter().collect())?).await
}
