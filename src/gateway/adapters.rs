//! Adapters by desk: the outbound client for every desk deskgate delivers to.
//! Built from the configuration by each desk's dialect (`crate::dialects::adapters`).
//! Every adapter is wrapped so that its calls feed the desk's connection health.

use std::collections::HashMap;
use std::sync::Arc;

use deskgate_adapter::Adapter;

use super::health::{DeskHealth, Watched};
use crate::model::DeskId;

#[derive(Clone, Default)]
pub struct Adapters {
    by_desk: HashMap<DeskId, Arc<dyn Adapter>>,
    health: Arc<DeskHealth>,
}

impl Adapters {
    /// Use `adapter` for `desk` (tests, the demo).
    pub fn insert(&mut self, desk: DeskId, adapter: Arc<dyn Adapter>) {
        let watched = Watched::new(desk.clone(), adapter, self.health.clone());
        self.by_desk.insert(desk, Arc::new(watched));
    }

    /// The connection health of every desk, as the adapters' calls went.
    pub fn health(&self) -> &DeskHealth {
        &self.health
    }

    pub fn get(&self, desk: &DeskId) -> Option<Arc<dyn Adapter>> {
        self.by_desk.get(desk).cloned()
    }
}
