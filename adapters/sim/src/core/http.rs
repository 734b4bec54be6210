//! Small HTTP helpers the simulators share.

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;

/// The decoded `user:password` of an `Authorization: Basic …` header.
pub(crate) fn basic_pair(authorization: &str) -> Option<String> {
    let encoded = authorization.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    String::from_utf8(decoded).ok()
}

/// The `Authorization` header as text, if there is one.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// `http://<Host header>`: the base the client addressed, so that links in answers
/// resolve for it (the simulator may be mounted on a second port too).
pub(crate) fn base_of(headers: &HeaderMap, fallback_host: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(fallback_host);
    format!("http://{host}")
}

/// A dialect's error body with its status; a status that is not one falls back.
pub(crate) fn json_error(status: u16, fallback: StatusCode, body: impl Serialize) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(fallback);
    (status, Json(body)).into_response()
}
