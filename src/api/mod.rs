//! The HTTP edge: one router per dialect, sharing the [`Gateway`] behind them.
//!
//! - each dialect's routes, from the dialect list ([`crate::dialects::routers`]):
//!   `/api/v1/incidents…` (native), `/api/now/table/incident…` (ServiceNow),
//!   `/rest/api/{2,3}/…` (Jira), `/webhooks/{jira,servicenow}/{desk}` (change
//!   capture), errors in each dialect's shape
//! - `/api/v1/escalations/…` ([`escalations`]), `/api/v1/outbox`, `/api/v1/dead-letters` ([`sync`])
//! - `/healthz`, `/readyz`, `/metrics`, `/openapi.json` — operations ([`ops`])
//!
//! Errors are [`error::ApiError`], rendered in the caller's dialect.

pub mod escalations;
pub mod openapi;
pub mod ops;
pub mod sync;

// The shared HTTP edge (errors, extractors, request ids, state) is `crate::http`;
// each dialect's router is in its folder under `crate::dialects`.
pub use crate::dialects::jira::api as jira;
pub use crate::dialects::native::api as native;
use crate::dialects::native::report as report_steps;
pub use crate::dialects::servicenow::api as servicenow;
pub use crate::http::{AppState, error, extract, request_id};

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use error::ApiError;
use openapi::{DialectRoutes, ExtractorResponses, NativeRules};

#[derive(OpenApi)]
#[openapi(
    info(title = "deskgate", description = "Federation gateway between incident-management service desks"),
    paths(
        native::submit, native::get_incident, native::list_incidents, native::add_note, native::patch_incident,
        native::lookup_ref, native::audit_log, report_steps::write, report_steps::submit, report_steps::quality_check, report_steps::approve, report_steps::send_back,
        crate::dialects::native::hand_on::hand_on, escalations::contact, escalations::list, escalations::get_one, escalations::ack, sync::outbox, sync::dead_letters, sync::replay, ops::healthz, ops::readyz, ops::metrics, ops::openapi,
    ),
    modifiers(&SecurityAddon, &ExtractorResponses, &NativeRules, &DialectRoutes),
    tags((name = "incidents"), (name = "escalations"), (name = "delivery"), (name = "operations"), (name = "servicenow"), (name = "jira"))
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "desk_jwt",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let max_body = state.gateway.config().gateway.max_body_bytes;
    // The escalation and delivery endpoints are the native API's; the incident
    // routes of every dialect (native included) come from the dialect list.
    let native = Router::new()
        .route("/api/v1/escalations/contact", get(escalations::contact))
        .route("/api/v1/escalations", get(escalations::list))
        .route("/api/v1/escalations/{id}", get(escalations::get_one))
        .route("/api/v1/escalations/{id}/ack", axum::routing::post(escalations::ack))
        .route("/api/v1/outbox", get(sync::outbox))
        .route("/api/v1/dead-letters", get(sync::dead_letters))
        .route("/api/v1/dead-letters/{seq}/replay", axum::routing::post(sync::replay));
    let ops = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi));
    let web = crate::web::router(&state);
    Router::new()
        .merge(native)
        .merge(crate::dialects::routers())
        .merge(web)
        .merge(ops)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// The log span of a request: its id, who chose it, and the hint of a replaced one.
fn request_span(request: &Request) -> tracing::Span {
    let id = request.extensions().get::<request_id::RequestId>();
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %request.uri().path(),
        request_id = id.map(|i| i.id.as_str()),
        request_id_source = id.map(|i| if i.source == crate::store::RequestIdSource::Client { "client" } else { "gateway" }),
        request_id_hint = id.and_then(|i| i.hint.as_deref()),
    )
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("deskgate_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("deskgate_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// A metric label for a request method: the standard methods by name, anything a
/// caller made up as `other`, so made-up methods cannot add series to `/metrics`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD.iter().find(|(m, _)| m == method).map_or("other", |(_, label)| label)
}
