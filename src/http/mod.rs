//! The shared HTTP edge every dialect's router stands on: [`AppState`], the one
//! [`error::ApiError`] (rendered in the caller's dialect), the extractors and
//! request ids. Knows no dialect: each brings its own error shape.

pub mod error;
pub mod extract;
pub mod page;
pub mod request_id;
pub mod upload;

use std::sync::Arc;

use crate::escalation::Engine;
use crate::gateway::Gateway;
use crate::gateway::adapters::Adapters;
use crate::ratelimit::RateLimits;

#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    /// Who is contacted for a P1/P2, when `gateway.contacts` is configured.
    pub escalation: Option<Arc<Engine>>,
    /// Inbound rate limits per desk, checked right after authentication.
    pub rate_limits: Arc<RateLimits>,
    /// The desks' adapters: a webhook that is only a hint is read back through them.
    pub adapters: Arc<Adapters>,
}
