//! The conformance suite and the replica races, against a real PostgreSQL.

use std::path::Path;
use std::sync::Arc;

use super::PgStore;
use super::testing;
use crate::config::PostgresConfig;
use crate::store::Store;

fn config(url: String) -> PostgresConfig {
    PostgresConfig { url, password: None, pool_size: 4, lease: std::time::Duration::from_secs(5) }
}

/// The store of the database named after `dir` (the same one again after a restart).
fn open(dir: &Path) -> Arc<dyn Store> {
    let url = testing::shared().database_for(dir);
    Arc::new(PgStore::open_lazy(&config(url)).expect("opens"))
}

mod conformance {
    crate::store::conformance::store_conformance!(super::open, skip_if = super::testing::skip());
}
