//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "deskgate", version, about = "Federation gateway between incident-management service desks")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// Configuration file.
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
        /// Log JSON lines instead of human-readable text.
        #[arg(long)]
        json_logs: bool,
    },
    /// Check a configuration file; print every problem with its key path.
    CheckConfig {
        #[arg(default_value = "deploy/gateway.toml")]
        file: PathBuf,
    },
    /// Mint a token for a desk that authenticates with a shared secret (HS256).
    Token {
        /// The desk id, e.g. region-h.
        #[arg(long)]
        desk: String,
        /// How long the token is valid, e.g. 15m, 1h, 2d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// Play an NSP scenario end to end on a throw-away data directory and show what happened.
    Demo,
}
