//! `POST /api/v1/incidents/{id}/hand-on`: the assigned supplier hands the incident
//! on to another supplier and/or involves component suppliers (process steps 5b and
//! 6), as far as its `hand_on` configuration allows.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::api::{IncidentView, parse_incident_id};
use crate::auth::DeskPrincipal;
use crate::gateway::{HandOn, RequestContext};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::JsonBody;
use crate::model::{DeskId, Text};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOnRequest {
    /// The supplier desk that takes the incident over (becomes the assignee).
    pub to: Option<String>,
    /// Supplier desks involved: they get a copy; the assignee stays.
    #[serde(default)]
    pub involve: Vec<String>,
    /// Why, for the national desk and the suppliers.
    pub reason: Option<String>,
}

/// Hand the incident on to a supplier, or involve component suppliers (the assigned
/// supplier, as its `hand_on` configuration allows).
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/hand-on", tag = "incidents",
    params(("id" = String, Path)),
    request_body = HandOnRequest,
    responses(
        (status = 200, body = IncidentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("desk_jwt" = []))
)]
pub async fn hand_on(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(id): Path<String>,
    JsonBody(req, _): JsonBody<HandOnRequest>,
) -> Result<Json<IncidentView>, ApiError> {
    let id = parse_incident_id(&id)?;
    let desk = |field: &str, s: &str| {
        s.parse::<DeskId>().map_err(|_| ApiError::bad_request(field, format!("{field}: expected a supplier desk id")))
    };
    let request = HandOn {
        to: req.to.as_deref().map(|t| desk("to", t)).transpose()?,
        involve: req.involve.iter().map(|d| desk("involve", d)).collect::<Result<_, _>>()?,
        reason: req.reason.map(|r| Text::parse("reason", &r)).transpose()?,
    };
    let incident = state.gateway.hand_on(&who, &id, &request, &ctx).await?;
    Ok(Json(IncidentView::new(&incident, &who)))
}
