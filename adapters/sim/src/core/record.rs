//! What a simulator received, kept for tests to inspect and snapshot: an append-only
//! [`Log`], and the middleware that keeps the body of every write request.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

/// A write request the instance received, for snapshots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The JSON body, or the raw text when it was not JSON.
    pub body: Value,
}

/// An append-only list shared between the server and the simulator's handle.
pub(crate) struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for Log<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Clone> Log<T> {
    pub(crate) fn push(&self, item: T) {
        super::lock(&self.0).push(item);
    }

    /// Everything kept so far, oldest first.
    pub(crate) fn all(&self) -> Vec<T> {
        super::lock(&self.0).clone()
    }
}

/// How one product's write recorder reads requests.
#[derive(Clone, Copy)]
pub(crate) struct WritePolicy {
    /// Methods that are not writes and are passed through unrecorded.
    pub(crate) reads: &'static [Method],
    /// The largest body read, in bytes.
    pub(crate) limit: usize,
    /// An empty body is recorded as `null` (otherwise as `""`).
    pub(crate) empty_as_null: bool,
    /// The answer to a body over the limit; `None` serves the request with an empty body.
    pub(crate) too_large: Option<fn() -> Response>,
}

/// The write requests one simulator received, and how it reads them.
#[derive(Clone)]
pub(crate) struct WriteRecorder {
    pub(crate) log: Log<RecordedRequest>,
    policy: WritePolicy,
}

impl WriteRecorder {
    pub(crate) fn new(policy: WritePolicy) -> Self {
        Self { log: Log::default(), policy }
    }
}

/// Middleware: keep the body of every write, then serve the request with it.
/// Install with `axum::middleware::from_fn_with_state(recorder, record::record_writes)`.
pub(crate) async fn record_writes(State(recorder): State<WriteRecorder>, request: Request, next: Next) -> Response {
    let policy = recorder.policy;
    if policy.reads.contains(request.method()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, policy.limit).await {
        Ok(bytes) => bytes,
        Err(_) => match policy.too_large {
            Some(answer) => return answer(),
            None => Default::default(),
        },
    };
    let recorded = if bytes.is_empty() && policy.empty_as_null {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    recorder.log.push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body: recorded,
    });
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
