//! The outbox and dead letters, for operators: `/api/v1/outbox`, `/api/v1/dead-letters`.
//! Reading is for the national desk and each desk for its own lanes; replaying a dead
//! letter is for the national desk only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use crate::auth::DeskPrincipal;
use crate::gateway::RequestContext;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::outbox::{DeadLetter, OutboxItem};

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxItem>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetterPage {
    pub items: Vec<DeadLetter>,
}

/// Deliveries waiting to go out, in order (national desk: all; others: their own).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "delivery",
    responses((status = 200, body = OutboxPage)), security(("desk_jwt" = [])))]
pub async fn outbox(State(state): State<AppState>, who: DeskPrincipal) -> Result<Json<OutboxPage>, ApiError> {
    Ok(Json(OutboxPage { items: state.gateway.outbox(&who, 10_000).await? }))
}

/// Deliveries that failed for good, with the remote's answer.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "delivery",
    responses((status = 200, body = DeadLetterPage)), security(("desk_jwt" = [])))]
pub async fn dead_letters(State(state): State<AppState>, who: DeskPrincipal) -> Result<Json<DeadLetterPage>, ApiError> {
    Ok(Json(DeadLetterPage { items: state.gateway.dead_letters(&who, 10_000).await? }))
}

/// Put a dead letter back in the outbox, in its place in its lane (national desk only).
#[utoipa::path(post, path = "/api/v1/dead-letters/{seq}/replay", tag = "delivery",
    params(("seq" = u64, Path, description = "The dead letter's sequence number")),
    responses((status = 202, body = OutboxItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("desk_jwt" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(seq): Path<String>,
) -> Result<(StatusCode, Json<OutboxItem>), ApiError> {
    // Refused before the number is read: a desk that may not replay learns nothing
    // from what it sent.
    state.gateway.may_replay(&who)?;
    let seq: u64 = seq.parse().map_err(|_| ApiError::bad_request("seq", "seq: expected a dead letter's number"))?;
    let item = state.gateway.replay_dead_letter(&who, seq, &ctx).await?;
    Ok((StatusCode::ACCEPTED, Json(item)))
}
