//! The `deskgate` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use deskgate::cli::{Cli, Command};
use deskgate::config::{Config, ProcessEnv};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, json_logs } => {
            deskgate::telemetry::init(json_logs || !std::io::IsTerminal::is_terminal(&std::io::stderr()), "info");
            let config = match Config::load(&config, &ProcessEnv) {
                Ok(c) => c,
                Err(problems) => {
                    eprint!("{problems}");
                    return ExitCode::from(2);
                }
            };
            let app = match deskgate::startup::Application::build(config).await {
                Ok(app) => app,
                Err(e) => {
                    eprintln!("deskgate: {e}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(addr = %app.local_addr(), "deskgate listening");
            match app.run_until(deskgate::startup::shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("deskgate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckConfig { file } => match Config::load(&file, &ProcessEnv) {
            Ok(c) => {
                println!("{}: ok — {} desks", file.display(), c.desks.len());
                ExitCode::SUCCESS
            }
            Err(problems) => {
                eprint!("{problems}");
                ExitCode::FAILURE
            }
        },
        Command::Token { desk, ttl, config } => match deskgate::cli_token(&config, &desk, &ttl) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("deskgate token: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Demo => {
            deskgate::telemetry::init(false, "warn");
            match deskgate::demo::run().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("demo failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
