//! Adapters by desk: the outbound client for every desk deskgate delivers to.
//! Built from the configuration by each desk's dialect (`crate::dialects::adapters`).

use std::collections::HashMap;
use std::sync::Arc;

use deskgate_adapter::Adapter;

use crate::model::DeskId;

#[derive(Clone, Default)]
pub struct Adapters {
    by_desk: HashMap<DeskId, Arc<dyn Adapter>>,
}

impl Adapters {
    /// Use `adapter` for `desk` (tests, the demo).
    pub fn insert(&mut self, desk: DeskId, adapter: Arc<dyn Adapter>) {
        self.by_desk.insert(desk, adapter);
    }

    pub fn get(&self, desk: &DeskId) -> Option<Arc<dyn Adapter>> {
        self.by_desk.get(desk).cloned()
    }
}
