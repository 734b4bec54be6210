//! One incident as the console shows it.

use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;

use super::Operator;
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/incidents/{id}", get(show))
}

async fn show(who: Operator, Path(_id): Path<String>) -> Response {
    who.not_found()
}
