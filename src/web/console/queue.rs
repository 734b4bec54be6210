//! The console's queue page.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;

use super::{Operator, Section, page};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/queue", get(show))
}

async fn show(who: Operator) -> Response {
    let t = who.t();
    let title = t.nav_queue;
    page(&who, StatusCode::OK, Section::Queue, title, "/console/queue", html! {})
}
