//! The Table API routes: authentication, the write recorder, and the handlers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use deskgate_servicenow::query::EncodedQuery;
use deskgate_servicenow::wire::Record;
use serde_json::{Map, Value, json};

use axum::Router;
use axum::http::Method;
use axum::routing::{get, post};

use super::render::{Render, link_header};
use super::{Shared, SimError, TABLE};
use crate::core::record::{self, WritePolicy};

/// Every method but GET is a write; a body over 16 MiB is refused as ServiceNow does.
pub(super) const WRITES: WritePolicy = WritePolicy {
    reads: &[Method::GET],
    limit: 16 * 1024 * 1024,
    empty_as_null: true,
    too_large: Some(|| {
        SimError::new(400, "Exception while reading request", Some("Rejected large REST payload".to_owned()))
            .into_response()
    }),
};

/// The Table API and the OAuth endpoint, without the fault layer.
pub(super) fn routes(shared: Arc<Shared>) -> Router {
    let table = Router::new()
        .route("/api/now/table/{table}", get(list).post(create))
        .route("/api/now/table/{table}/{sys_id}", get(read).patch(modify).put(modify).delete(remove))
        .merge(super::attachments::routes())
        .layer(axum::middleware::from_fn_with_state(shared.requests.clone(), record::record_writes))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), require_auth));
    Router::new().merge(table).route("/oauth_token.do", post(super::oauth::oauth_token)).with_state(shared)
}

/// The user a request was authenticated as.
#[derive(Clone)]
struct User(String);

async fn require_auth(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    match shared.authenticate(request.headers()) {
        Some(user) => {
            request.extensions_mut().insert(User(user));
            next.run(request).await
        }
        None => SimError::new(401, "User Not Authenticated", Some("Required to provide Auth information".to_owned()))
            .into_response(),
    }
}

fn check_table(table: &str) -> Result<(), SimError> {
    if table == TABLE { Ok(()) } else { Err(SimError::new(400, &format!("Invalid table {table}"), None)) }
}

fn parse_body(bytes: &Bytes) -> Result<Map<String, Value>, SimError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SimError::new(
            400,
            "Exception while reading request",
            Some("The payload is not valid JSON.".to_owned()),
        )),
    }
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Path(table): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let query = EncodedQuery::parse(params.get("sysparm_query").map(String::as_str).unwrap_or(""))
        .map_err(|e| SimError::new(400, "Invalid query", Some(e.to_string())))?;
    let limit = params.get("sysparm_limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0).unwrap_or(10_000);
    let offset = params.get("sysparm_offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
    let inner = shared.lock();
    let mut matching: Vec<&Record> =
        inner.records.iter().filter(|r| query.matches(|f| r.get(f).map(String::as_str))).collect();
    // A stable sort keeps insertion order among equal keys, like a table scan.
    matching.sort_by(|a, b| query.compare(|f| a.get(f).map(String::as_str), |f| b.get(f).map(String::as_str)));
    let total = matching.len();
    let render = Render::from_params(&params, &headers, &inner.journal);
    let page: Vec<Value> = matching.iter().skip(offset).take(limit).map(|r| render.record(r)).collect();
    let link = link_header(&render.base, &uri, &params, offset, limit, total);
    drop(inner);
    let mut response = Json(json!({ "result": page })).into_response();
    let h = response.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    if let Ok(v) = HeaderValue::from_str(&link) {
        h.insert(header::LINK, v);
    }
    Ok(response)
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(table): Path<String>,
    Extension(User(user)): Extension<User>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let body = parse_body(&body)?;
    let record = shared.insert(&user, &body)?;
    let (base, answer) = answer(&shared, &params, &headers, &record);
    let location = format!("{base}/api/now/table/{TABLE}/{}", record["sys_id"]);
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path((table, sys_id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let inner = shared.lock();
    let record = inner.records.iter().find(|r| r["sys_id"] == sys_id).ok_or_else(SimError::not_found)?;
    let render = Render::from_params(&params, &headers, &inner.journal);
    Ok(Json(json!({ "result": render.record(record) })).into_response())
}

async fn modify(
    State(shared): State<Arc<Shared>>,
    Path((table, sys_id)): Path<(String, String)>,
    Extension(User(user)): Extension<User>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, SimError> {
    check_table(&table)?;
    let body = parse_body(&body)?;
    let record = shared.update(&user, &sys_id, &body)?;
    Ok(Json(answer(&shared, &params, &headers, &record).1).into_response())
}

/// A written record as the Table API answers it, and the base its links use.
fn answer(shared: &Shared, params: &HashMap<String, String>, headers: &HeaderMap, record: &Record) -> (String, Value) {
    let inner = shared.lock();
    let render = Render::from_params(params, headers, &inner.journal);
    let result = render.record(record);
    (render.base, json!({ "result": result }))
}

async fn remove(
    State(shared): State<Arc<Shared>>,
    Path((table, sys_id)): Path<(String, String)>,
) -> Result<StatusCode, SimError> {
    check_table(&table)?;
    shared.delete(&sys_id)?;
    Ok(StatusCode::NO_CONTENT)
}
