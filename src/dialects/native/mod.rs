//! The native dialect: deskgate's own JSON API (`/api/v1/…`). Native desks are not
//! called back: they read their incidents through the API.

pub mod api;
pub mod attachments;
pub mod hand_on;
pub mod openapi;
pub mod report;

use axum::Router;
use axum::routing::{get, post};

use super::{Dialect, DialectId};
use crate::http::AppState;

pub struct Native;

impl Dialect for Native {
    fn id(&self) -> DialectId {
        DialectId::Native
    }

    fn openapi(&self) -> Option<super::openapi::Described> {
        Some(openapi::described())
    }

    fn router(&self) -> Router<AppState> {
        Router::new()
            .route("/api/v1/incidents", get(api::list_incidents).post(api::submit))
            .route("/api/v1/incidents/{id}", get(api::get_incident).patch(api::patch_incident))
            .route("/api/v1/incidents/{id}/notes", post(api::add_note))
            .route("/api/v1/incidents/{id}/report", post(report::write))
            .route("/api/v1/incidents/{id}/report/submit", post(report::submit))
            .route("/api/v1/incidents/{id}/report/quality-check", post(report::quality_check))
            .route("/api/v1/incidents/{id}/report/approve", post(report::approve))
            .route("/api/v1/incidents/{id}/report/return", post(report::send_back))
            .route("/api/v1/incidents/{id}/hand-on", post(hand_on::hand_on))
            .route("/api/v1/incidents/{id}/attachments", get(attachments::list).post(attachments::upload))
            .route("/api/v1/incidents/{id}/attachments/{number}/content", get(attachments::content))
            .route("/api/v1/refs/{desk}/{*remote_id}", get(api::lookup_ref))
            .route("/api/v1/audit", get(api::audit_log))
    }
}
