//! The outbox and dead letters, for operators: `/api/v1/outbox`, `/api/v1/dead-letters`.
//! Reading is for the national desk and each desk for its own lanes; replaying a dead
//! letter is for the national desk only.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;

use crate::auth::DeskPrincipal;
use crate::gateway::RequestContext;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::page::{page_params, seq_cursor};
use crate::outbox::{DeadLetter, OutboxItem};

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxItem>,
    /// The `cursor` of the next page; `null` on the last one.
    pub next_cursor: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetterPage {
    pub items: Vec<DeadLetter>,
    /// The `cursor` of the next page; `null` on the last one.
    pub next_cursor: Option<u64>,
}

/// Deliveries waiting to go out, in order (national desk: all; others: their own),
/// a page at a time: `next_cursor` is the `cursor` of the next page.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "delivery",
    params(("cursor" = Option<u64>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = OutboxPage), (status = 400, body = ErrorBody)), security(("desk_jwt" = [])))]
pub async fn outbox(
    State(state): State<AppState>,
    who: DeskPrincipal,
    RawQuery(query): RawQuery,
) -> Result<Json<OutboxPage>, ApiError> {
    let (cursor, limit) = page_params(query)?;
    let items = state.gateway.outbox_page(&who, seq_cursor(cursor)?, limit).await?;
    let next_cursor = items.last().filter(|_| items.len() == limit).map(|i| i.seq);
    Ok(Json(OutboxPage { items, next_cursor }))
}

/// Deliveries that failed for good, with the remote's answer, a page at a time.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "delivery",
    params(("cursor" = Option<u64>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = DeadLetterPage), (status = 400, body = ErrorBody)), security(("desk_jwt" = [])))]
pub async fn dead_letters(
    State(state): State<AppState>,
    who: DeskPrincipal,
    RawQuery(query): RawQuery,
) -> Result<Json<DeadLetterPage>, ApiError> {
    let (cursor, limit) = page_params(query)?;
    let items = state.gateway.dead_letters_page(&who, seq_cursor(cursor)?, limit).await?;
    let next_cursor = items.last().filter(|_| items.len() == limit).map(|d| d.item.seq);
    Ok(Json(DeadLetterPage { items, next_cursor }))
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
