//! The console's oncall page.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;

use super::{Operator, Section, page};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/oncall", get(show))
}

async fn show(who: Operator) -> Response {
    let t = who.t();
    let title = t.nav_oncall;
    page(&who, StatusCode::OK, Section::OnCall, title, "/console/oncall", html! {})
}
