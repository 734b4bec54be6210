//! The Jira dialect: Jira REST for Jira desks (`/rest/api/{2,3}/…`), Jira webhooks
//! (`/webhooks/jira/{desk}`), errors in Jira's shape, and the Jira adapter.

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

pub struct Jira;

/// Jira's vocabulary: `mappings/jira.toml`, whose status field is `status`.
pub const MAPPING: MappingSource =
    crate::mapping::mapping_source!(DialectId::Jira, "jira.toml", status "status", priority "priority");

/// `{"errorMessages":[…],"errors":{field: message}}`.
pub fn error_body(e: &ApiError) -> serde_json::Value {
    match &e.field {
        Some(f) => json!({ "errorMessages": [], "errors": { f: e.message } }),
        None => json!({ "errorMessages": [e.message], "errors": {} }),
    }
}

impl Dialect for Jira {
    fn id(&self) -> DialectId {
        DialectId::Jira
    }

    /// The issue by its key (`/browse/KEY`).
    fn browse_url(&self, endpoint: Option<&url::Url>, r: &crate::model::Ref) -> Option<String> {
        let mut url = endpoint?.clone();
        url.path_segments_mut().ok()?.pop_if_empty().extend(["browse", r.display_id.as_str()]);
        Some(url.into())
    }

    fn mapping(&self) -> Option<&'static MappingSource> {
        Some(&MAPPING)
    }

    fn openapi(&self) -> Option<super::openapi::Described> {
        Some(openapi::described())
    }

    fn router(&self) -> Router<AppState> {
        api::router()
            .route("/webhooks/jira/{desk}", axum::routing::post(webhook::jira))
            .layer(middleware::from_fn(|r, n| render_in(error_body, r, n)))
    }

    fn adapter(&self, desk: &Desk, endpoint: &url::Url) -> Option<Result<Arc<dyn Adapter>, String>> {
        Some(adapter::build(desk, endpoint))
    }

    fn probe(&self) -> Option<&'static dyn crate::probe::DeskProbe> {
        Some(&probe::JiraProbe)
    }
}
