//! The `deskgate` binary: parse the command line and hand over to the library.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    deskgate::cli::run(deskgate::cli::Cli::parse()).await
}
