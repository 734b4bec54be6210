//! What every pushing dialect's change capture shares: the desk named in the path
//! must run that dialect, the body is bounded, the desk's inbound rate limit applies,
//! and every authenticated, well-formed event gets the same answer whether or not
//! the ticket is known (see `jira::webhook` and `servicenow::webhook`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::config::System;
use crate::gateway::inbound::RemoteUpdate;
use crate::gateway::{RemoteOutcome, RequestContext};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::model::{DeskId, RemoteVersion, TicketId};

pub(super) type Received = (StatusCode, Json<Value>);

/// The one answer to an authenticated, well-formed event.
pub(super) fn received() -> Received {
    (StatusCode::OK, Json(json!({ "outcome": "received" })))
}

pub(super) fn desk_of(state: &AppState, desk: &str, system: System) -> Result<DeskId, ApiError> {
    let id: DeskId = desk.parse().map_err(|_| ApiError::not_found(format!("no desk {desk:?}")))?;
    match state.gateway.config().desk(&id) {
        Some(d) if d.system == system => Ok(id),
        _ => Err(ApiError::not_found(format!("no {} desk {desk}", system.as_str()))),
    }
}

/// The body, or the 413/400 the sender's dialect layer renders.
pub(super) fn body_of(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| crate::http::extract::body_rejected(&rejection, None))
}

/// The desk's inbound rate limit, for requests that do not come with its token.
pub(super) fn within_rate_limit(state: &AppState, desk: &DeskId) -> Result<(), ApiError> {
    let Err(wait) = state.rate_limits.check(desk) else { return Ok(()) };
    let secs = crate::ratelimit::retry_after_secs(wait);
    metrics::counter!("deskgate_rate_limited_total", "desk" => desk.to_string(), "direction" => "inbound").increment(1);
    tracing::info!(%desk, retry_after = secs, "webhook rate limit reached");
    let mut err = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("more webhooks for desk {desk} than its rate limit allows; try again in {secs} s"),
    );
    err.retry_after = Some(secs);
    Err(err)
}

pub(super) async fn apply(
    state: &AppState,
    desk: &DeskId,
    remote_id: &str,
    update: RemoteUpdate,
    version: &RemoteVersion,
    ctx: &RequestContext,
) -> Result<Received, ApiError> {
    let remote_id: TicketId = remote_id.parse()?;
    let outcome = state.gateway.apply_remote(desk, &remote_id, &update, version, ctx).await?;
    let label = match &outcome {
        RemoteOutcome::Applied(_) => "applied",
        RemoteOutcome::NothingNew { .. } => "nothing_new",
        RemoteOutcome::UnknownTicket => "unknown_ticket",
        RemoteOutcome::Parked(_) => "parked",
        RemoteOutcome::Replayed(_) => "replayed",
    };
    metrics::counter!("deskgate_remote_changes_total", "desk" => desk.to_string(), "outcome" => label).increment(1);
    tracing::info!(%desk, ticket = %remote_id, outcome = label, "remote report received");
    Ok(received())
}
