//! The Batch API, `POST /api/now/v1/batch`: several Table API calls in one request.
//!
//! Each of `rest_requests` (`id`, `method`, `url` relative to the instance, `headers`
//! as `{name, value}`, `body` in base64, `exclude_response_headers`) is routed, in
//! order, to the Table API's own handlers ([`table_router`]) with the caller's
//! identity: the batch's `Authorization`, host and connection, never a header of the
//! item. Each call is authenticated and rate limited as if made alone. Their answers
//! are `serviced_requests` (`status_code`, `status_text`, `headers`, `body` in base64,
//! `execution_time` in ms); those beyond [`MAX_REQUESTS`] are left for the client to
//! send again, their ids in `unserviced_requests`, as ServiceNow does when a batch
//! reaches its limits. A batch that is malformed anywhere runs none of its calls.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderName, Method, Request};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tower::ServiceExt;

use super::*;
use crate::http::error::render_in;
use crate::http::request_id::RequestId;
use crate::tls::ClientCertificate;

/// The most calls one batch runs; the rest are answered as unserviced.
pub(super) const MAX_REQUESTS: usize = 100;

/// The largest answer of one call the batch carries (ServiceNow's default item limit).
const MAX_ITEM_ANSWER: usize = 10 * 1024 * 1024;

/// Headers of an item that are the batch's own: identity, host and framing.
const BATCH_HEADERS: &[&str] =
    &["authorization", "cookie", "host", "content-length", "transfer-encoding", "connection", "x-request-id"];

/// One call of a batch, checked before any call runs.
struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
    exclude_response_headers: bool,
}

/// `POST /api/now/v1/batch`
pub(super) async fn batch(
    who: DeskPrincipal,
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    JsonBody(body, _): JsonBody<Value>,
) -> Result<Response, ApiError> {
    SnDesk::of(&state, who)?;
    let batch_id = match body.get("batch_request_id") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(bad("batch_request_id", "expected a string")),
    };
    let requests = body
        .get("rest_requests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("rest_requests", "required: an array of requests ({id, method, url, headers, body})"))?;
    let items = requests.iter().enumerate().map(|(n, r)| item(n, r)).collect::<Result<Vec<_>, _>>()?;
    let router = table_router().layer(axum::middleware::from_fn(|r, n| render_in(super::super::error_body, r, n)));
    let router = router.with_state(state);
    let mut serviced = Vec::new();
    for item in items.iter().take(MAX_REQUESTS) {
        let start = Instant::now();
        let request = sub_request(item, &headers, &extensions)?;
        let answer = router.clone().oneshot(request).await.unwrap_or_else(|never| match never {});
        serviced.push(answered(item, answer, start).await);
    }
    let unserviced: Vec<&str> = items.iter().skip(MAX_REQUESTS).map(|i| i.id.as_str()).collect();
    let answer = json!({
        "batch_request_id": batch_id,
        "serviced_requests": serviced,
        "unserviced_requests": unserviced,
    });
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

/// Request `n` of `rest_requests`, or the error naming what is wrong with it.
fn item(n: usize, r: &Value) -> Result<Item, ApiError> {
    let field = |name: &str| format!("rest_requests[{n}].{name}");
    let text = |name: &str| match r.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Value::Number(v)) if name == "id" => Ok(Some(v.to_string())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(bad(&field(name), "expected a string")),
    };
    if !r.is_object() {
        return Err(bad(&format!("rest_requests[{n}]"), "expected a request object {id, method, url, headers, body}"));
    }
    let id = text("id")?.ok_or_else(|| bad(&field("id"), "required: the id that names this request's answer"))?;
    let method = text("method")?.ok_or_else(|| bad(&field("method"), "required: GET, POST, PATCH or PUT"))?;
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| bad(&field("method"), "expected an HTTP method such as GET, POST, PATCH or PUT"))?;
    let url = text("url")?
        .ok_or_else(|| bad(&field("url"), "required: the path of the call, e.g. /api/now/table/incident"))?;
    if !url.starts_with('/') || url.starts_with("//") || url.parse::<Uri>().is_err() {
        return Err(bad(
            &field("url"),
            "expected a path relative to the instance, e.g. /api/now/table/incident?sysparm_limit=1",
        ));
    }
    let mut headers = Vec::new();
    for (h, header) in r.get("headers").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = header.get("name").and_then(Value::as_str);
        let value = header.get("value").and_then(Value::as_str);
        let parsed = name.zip(value).and_then(|(name, value)| {
            Some((HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?))
        });
        match parsed {
            Some((name, _)) if BATCH_HEADERS.contains(&name.as_str()) => {}
            Some(pair) => headers.push(pair),
            None => {
                return Err(bad(
                    &field(&format!("headers[{h}]")),
                    "expected {\"name\": …, \"value\": …}, a valid header",
                ));
            }
        }
    }
    if r.get("headers").is_some_and(|h| !h.is_array() && !h.is_null()) {
        return Err(bad(&field("headers"), "expected an array of {name, value}"));
    }
    let body = match text("body")? {
        // Line breaks are allowed inside the base64, as in ServiceNow's own examples.
        Some(b64) => BASE64
            .decode(b64.split_whitespace().collect::<String>())
            .map_err(|_| bad(&field("body"), "expected the request body in base64"))?,
        None => Vec::new(),
    };
    let exclude_response_headers = match r.get("exclude_response_headers") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => parse_bool(&field("exclude_response_headers"), s)?,
        Some(_) => return Err(bad(&field("exclude_response_headers"), "expected true or false")),
    };
    Ok(Item { id, method, url, headers, body, exclude_response_headers })
}

/// The call as if the batch's caller made it on the batch's connection.
fn sub_request(item: &Item, outer: &HeaderMap, extensions: &Extensions) -> Result<Request<Body>, ApiError> {
    let mut request = Request::builder().method(item.method.clone()).uri(item.url.as_str());
    for (name, value) in &item.headers {
        request = request.header(name, value);
    }
    for name in [header::AUTHORIZATION, header::HOST] {
        if let Some(value) = outer.get(&name) {
            request = request.header(name, value);
        }
    }
    let has_type = item.headers.iter().any(|(n, _)| n == header::CONTENT_TYPE);
    if !item.body.is_empty() && !has_type {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let mut request = request
        .body(Body::from(item.body.clone()))
        .map_err(|_| bad("rest_requests", "a request could not be built from its method, url and headers"))?;
    let ext = request.extensions_mut();
    if let Some(peer) = extensions.get::<ConnectInfo<SocketAddr>>() {
        ext.insert(*peer);
    }
    if let Some(id) = extensions.get::<RequestId>() {
        ext.insert(id.clone());
    }
    if let Some(cert) = extensions.get::<ClientCertificate>() {
        ext.insert(cert.clone());
    }
    Ok(request)
}

/// The entry of `serviced_requests` for a call's answer.
async fn answered(item: &Item, answer: Response, start: Instant) -> Value {
    let (parts, body) = answer.into_parts();
    let (status, body) = match axum::body::to_bytes(body, MAX_ITEM_ANSWER).await {
        Ok(bytes) => (parts.status, bytes.to_vec()),
        Err(_) => {
            let e = ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "answer_too_large",
                "the answer is larger than a batch carries (10 MB); ask for fewer records",
            );
            (e.status, super::super::error_body(&e).to_string().into_bytes())
        }
    };
    let headers: Vec<Value> = if item.exclude_response_headers {
        Vec::new()
    } else {
        parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some(json!({"name": name.as_str(), "value": value.to_str().ok()?})))
            .collect()
    };
    json!({
        "id": item.id,
        "status_code": status.as_u16(),
        "status_text": status.canonical_reason().unwrap_or_default(),
        "headers": headers,
        "body": BASE64.encode(body),
        "execution_time": u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
