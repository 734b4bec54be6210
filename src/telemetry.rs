//! Logging setup: human-readable on a terminal, JSON lines otherwise or on request.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `RUST_LOG` overrides `default_filter`.
pub fn init(json: bool, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.compact().try_init() };
}
