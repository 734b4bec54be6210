//! Injectable faults shared by every simulator.
//!
//! A test queues faults; each incoming request (except `/_sim/…` control requests)
//! takes the next one, if any, and the simulator answers with it instead of serving
//! the request. Every served request is counted by method and path so tests can say
//! "the remote saw exactly one create".

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// One injected misbehaviour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 429 Too Many Requests with `Retry-After: seconds`.
    RateLimited { retry_after_secs: u64 },
    /// 500 Internal Server Error.
    ServerError,
    /// 503 Service Unavailable.
    Unavailable,
    /// Wait this long, then serve the request normally.
    Slow { millis: u64 },
    /// 412 Precondition Failed, as for a stale ETag.
    PreconditionFailed,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Fault>,
    /// Only requests whose path contains this take faults (all when `None`).
    path_filter: Option<String>,
    served: BTreeMap<String, u64>,
}

/// The fault queue and request counters of one simulator. Cheap to clone.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue faults for the next requests, in order.
    pub fn push(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().queue.extend(faults);
    }

    /// Only requests whose path contains `fragment` take queued faults.
    pub fn only_on_paths_containing(&self, fragment: impl Into<String>) {
        self.lock().path_filter = Some(fragment.into());
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.queue.clear();
        inner.path_filter = None;
    }

    pub fn pending(&self) -> usize {
        self.lock().queue.len()
    }

    /// How many requests with this method and path pattern were served (faulted ones
    /// are not counted). The key is `"POST /rest/api/2/issue"`-style, exactly as received.
    pub fn served(&self, method_and_path: &str) -> u64 {
        self.lock().served.get(method_and_path).copied().unwrap_or(0)
    }

    /// Every served request count, by `"METHOD /path"`.
    pub fn served_all(&self) -> BTreeMap<String, u64> {
        self.lock().served.clone()
    }

    fn take_for(&self, path: &str) -> Option<Fault> {
        let mut inner = self.lock();
        match &inner.path_filter {
            Some(filter) if !path.contains(filter.as_str()) => None,
            _ => inner.queue.pop_front(),
        }
    }

    fn count(&self, key: String) {
        *self.lock().served.entry(key).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock can only come from a bug in this module;
        // the counters stay usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Middleware: apply the next queued fault, or serve and count the request.
/// Install with `axum::middleware::from_fn_with_state(faults, faults::apply)`.
pub async fn apply(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_sim/") {
        return next.run(request).await;
    }
    match faults.take_for(&path) {
        Some(Fault::RateLimited { retry_after_secs }) => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded").into_response();
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
            response
        }
        Some(Fault::ServerError) => {
            (StatusCode::INTERNAL_SERVER_ERROR, Body::from("internal server error")).into_response()
        }
        Some(Fault::Unavailable) => {
            (StatusCode::SERVICE_UNAVAILABLE, Body::from("service unavailable")).into_response()
        }
        Some(Fault::PreconditionFailed) => {
            (StatusCode::PRECONDITION_FAILED, Body::from("precondition failed")).into_response()
        }
        Some(Fault::Slow { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            faults.count(format!("{} {}", request.method(), path));
            next.run(request).await
        }
        None => {
            faults.count(format!("{} {}", request.method(), path));
            next.run(request).await
        }
    }
}

/// Control routes every simulator mounts: `POST /_sim/faults` with a JSON array of
/// [`Fault`]s queues them; `DELETE /_sim/faults` clears; `GET /_sim/served` returns counters.
pub fn control_routes() -> axum::Router<Faults> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/_sim/faults",
            post(|State(f): State<Faults>, axum::Json(list): axum::Json<Vec<Fault>>| async move {
                f.push(list);
                StatusCode::NO_CONTENT
            })
            .delete(|State(f): State<Faults>| async move {
                f.clear();
                StatusCode::NO_CONTENT
            }),
        )
        .route("/_sim/served", get(|State(f): State<Faults>| async move { axum::Json(f.served_all()) }))
}

/// A simulator's routes with the control routes added and every request passing
/// through [`apply`] first.
pub(crate) fn wrap(routes: axum::Router, faults: &Faults) -> axum::Router {
    routes
        .merge(control_routes().with_state(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(faults.clone(), apply))
}
