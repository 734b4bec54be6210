//! The incident report's steps in the native API (process steps 12a–13):
//! `POST /api/v1/incidents/{id}/report` (write or rework), `…/report/submit`,
//! `…/report/quality-check`, `…/report/approve`, `…/report/return`. A desk that may
//! not take the step gets 403; a step the report's state does not allow, 409 naming
//! the state.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::api::{IncidentView, parse_incident_id};
use crate::auth::DeskPrincipal;
use crate::gateway::RequestContext;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::JsonBody;
use crate::model::parse_person;
use crate::model::{ReportStep, Text};

/// The report's text (or a link to it) and its author at the supplier.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteReport {
    /// A link to the report, or the report itself. No patient data.
    pub text: String,
    /// The person at the supplier who wrote it.
    pub by: String,
}

/// Submit the draft or the reworked report for review (an empty object).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitReport {}

/// Who at the reviewing desk takes the step.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewReport {
    /// The operator's checker, or the FMK/NSP incident manager.
    pub by: String,
}

/// Send the report back to its author.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnReport {
    pub by: String,
    /// What must change; reaches the author's ticket as an internal note.
    pub comments: String,
}

async fn take(
    state: &AppState,
    who: &DeskPrincipal,
    ctx: &RequestContext,
    id: &str,
    step: ReportStep,
) -> Result<Json<IncidentView>, ApiError> {
    let id = parse_incident_id(id)?;
    let incident = state.gateway.report_step(who, &id, &step, ctx).await?;
    Ok(Json(IncidentView::new(&incident, who)))
}

/// A step's endpoint: its description and its handler, which reads the body into the
/// step and takes it. Every step answers 403, 404 and 409 besides the `extra` statuses.
macro_rules! step_endpoint {
    (
        $(#[doc = $doc:literal])*
        $name:ident, $path:literal, $body:ty, [$($extra:tt)*],
        |$req:pat_param| $step:expr
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post, path = $path, tag = "incidents", params(("id" = String, Path)),
            request_body = $body,
            responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                (status = 409, description = "The report's state does not allow it", body = ErrorBody) $($extra)*),
            security(("desk_jwt" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            who: DeskPrincipal,
            ctx: RequestContext,
            Path(id): Path<String>,
            JsonBody($req, _): JsonBody<$body>,
        ) -> Result<Json<IncidentView>, ApiError> {
            let step = $step;
            take(&state, &who, &ctx, &id, step).await
        }
    };
}

step_endpoint! {
    /// Write the incident report, or rework a returned one (the assigned supplier).
    write, "/api/v1/incidents/{id}/report", WriteReport, [, (status = 422, body = ErrorBody)],
    |req| ReportStep::Write { text: Text::parse("text", &req.text)?, by: parse_person("by", &req.by)? }
}

step_endpoint! {
    /// Submit the report for review (its author's desk).
    submit, "/api/v1/incidents/{id}/report/submit", SubmitReport, [],
    |_req| ReportStep::Submit
}

step_endpoint! {
    /// The operator's quality check passed (reports of the configured suppliers).
    quality_check, "/api/v1/incidents/{id}/report/quality-check", ReviewReport, [],
    |req| ReportStep::QualityCheck { by: parse_person("by", &req.by)? }
}

step_endpoint! {
    /// Approve the report (a configured FMK/NSP incident manager at the national desk).
    approve, "/api/v1/incidents/{id}/report/approve", ReviewReport, [],
    |req| ReportStep::Approve { by: parse_person("by", &req.by)? }
}

step_endpoint! {
    /// Return the report to its author with comments (the reviewer of its state).
    send_back, "/api/v1/incidents/{id}/report/return", ReturnReport, [, (status = 422, body = ErrorBody)],
    |req| ReportStep::Return { by: parse_person("by", &req.by)?, comments: Text::parse("comments", &req.comments)? }
}
