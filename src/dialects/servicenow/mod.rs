//! The ServiceNow dialect: the Table API for ServiceNow desks (`/api/now/table/…`),
//! the business rule's push (`/webhooks/servicenow/{desk}`), errors in ServiceNow's
//! shape, and the Table API adapter.

pub mod adapter;
pub mod api;
pub mod openapi;
pub mod options;
pub mod probe;
pub mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use deskgate_adapter::Adapter;
use serde_json::json;

use super::{Dialect, DialectId};
use crate::config::Desk;
use crate::http::AppState;
use crate::http::error::{ApiError, render_in};
use crate::mapping::MappingSource;

pub struct Servicenow;

/// ServiceNow's vocabulary: `mappings/servicenow.toml`, whose status field is `state`.
pub const MAPPING: MappingSource =
    crate::mapping::mapping_source!(DialectId::Servicenow, "servicenow.toml", status "state", priority "priority");

/// `{"error":{"message","detail"},"status":"failure"}`; the detail names the field.
pub fn error_body(e: &ApiError) -> serde_json::Value {
    json!({
        "error": {
            "message": e.message,
            "detail": match (&e.field, &e.referral) {
                (_, Some(r)) => r.message.clone(),
                (Some(f), None) => format!("field: {f}"),
                (None, None) => String::new(),
            },
        },
        "status": "failure",
    })
}

impl Dialect for Servicenow {
    fn id(&self) -> DialectId {
        DialectId::Servicenow
    }

    /// The incident form by `sys_id`, inside the instance's frame.
    fn browse_url(&self, endpoint: Option<&url::Url>, r: &crate::model::Ref) -> Option<String> {
        let sys_id: String = url::form_urlencoded::byte_serialize(r.remote_id.as_str().as_bytes()).collect();
        Some(format!("{}/nav_to.do?uri=incident.do?sys_id={sys_id}", endpoint?.as_str().trim_end_matches('/')))
    }

    fn mapping(&self) -> Option<&'static MappingSource> {
        Some(&MAPPING)
    }

    fn openapi(&self) -> Option<super::openapi::Described> {
        Some(openapi::described())
    }

    fn router(&self) -> Router<AppState> {
        api::router()
            .route("/webhooks/servicenow/{desk}", axum::routing::post(webhook::servicenow))
            .layer(middleware::from_fn(|r, n| render_in(error_body, r, n)))
    }

    fn adapter(&self, desk: &Desk, endpoint: &url::Url) -> Option<Result<Arc<dyn Adapter>, String>> {
        Some(adapter::build(desk, endpoint.as_str()))
    }

    fn probe(&self) -> Option<&'static dyn crate::probe::DeskProbe> {
        Some(&probe::ServicenowProbe)
    }

    /// The incident table's `category`: `security` or `fraud` (choices a Mitz
    /// instance adds to the base system's IT categories).
    fn category_fields(&self, category: crate::model::Category) -> Vec<(String, String)> {
        match category {
            crate::model::Category::Disruption => Vec::new(),
            other => vec![("category".to_owned(), other.as_str().to_owned())],
        }
    }
}
