//! A real PostgreSQL for the integration tests: the library's own test server
//! (`src/store/postgres/testing.rs`, compiled here too), one per test process.

#[path = "../../../src/store/postgres/testing.rs"]
mod server;

pub use server::{PgServer, shared, skip};
