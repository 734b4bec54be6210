//! The outbox and dead letters, for operators: `/api/v1/outbox`, `/api/v1/dead-letters`.
//! Reading is for the national desk and each desk for its own lanes; replaying a dead
//! letter is for the national desk only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::auth::DeskPrincipal;
use crate::gateway::RequestContext;
use crate::model::Role;
use crate::store::{AuditEntry, AuditKind, StoreError};
use crate::sync::outbox::{DeadLetter, OutboxItem};

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxItem>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadLetterPage {
    pub items: Vec<DeadLetter>,
}

fn visible(who: &DeskPrincipal, desk: &crate::model::DeskId) -> bool {
    who.role == Role::National || &who.desk == desk
}

fn store_error(e: StoreError) -> ApiError {
    crate::gateway::GatewayError::from(e).into()
}

/// Deliveries waiting to go out, in order (national desk: all; others: their own).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "delivery",
    responses((status = 200, body = OutboxPage)), security(("desk_jwt" = [])))]
pub async fn outbox(State(state): State<AppState>, who: DeskPrincipal) -> Result<Json<OutboxPage>, ApiError> {
    let items = state.gateway.store.outbox(10_000).await.map_err(store_error)?;
    Ok(Json(OutboxPage { items: items.into_iter().filter(|i| visible(&who, &i.desk)).collect() }))
}

/// Deliveries that failed for good, with the remote's answer.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "delivery",
    responses((status = 200, body = DeadLetterPage)), security(("desk_jwt" = [])))]
pub async fn dead_letters(State(state): State<AppState>, who: DeskPrincipal) -> Result<Json<DeadLetterPage>, ApiError> {
    let items = state.gateway.store.dead_letters(10_000).await.map_err(store_error)?;
    Ok(Json(DeadLetterPage { items: items.into_iter().filter(|d| visible(&who, &d.item.desk)).collect() }))
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
    if who.role != Role::National {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only the national desk replays dead letters"));
    }
    let seq: u64 = seq.parse().map_err(|_| ApiError::bad_request("seq", "seq: expected a dead letter's number"))?;
    let gateway = &state.gateway;
    let now = gateway.clock.now();
    let audit = |item: &OutboxItem| AuditEntry {
        at: now,
        kind: AuditKind::Updated,
        desk: Some(who.desk.to_string()),
        subject: None,
        incident: Some(item.incident.to_string()),
        reason: format!("replayed dead letter {seq} ({} to {})", item.action.describe(), item.desk),
        request_id_source: ctx.audited_source(),
        request_id_hint: ctx.request_id_hint.clone(),
        request_id: ctx.request_id.clone(),
    };
    let item = match gateway.store.replay_dead_letter(seq, now, &audit).await {
        Ok(item) => item,
        Err(StoreError::NoDeadLetter(_)) => return Err(ApiError::not_found(format!("dead letter {seq} not found"))),
        Err(e) => return Err(store_error(e)),
    };
    gateway.outbox_changed.notify_one();
    Ok((StatusCode::ACCEPTED, Json(item)))
}
