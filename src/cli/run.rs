//! What each command does, from the parsed command line to the exit code; `main`
//! only parses and calls [`run`].

use std::process::ExitCode;

use super::{Cli, Command};
use crate::clock::SystemClock;
use crate::config::{Config, ProcessEnv};

/// Run the command `cli` names; the exit code says how it went (2: a configuration
/// that does not load, for `serve`).
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve { config, json_logs } => {
            crate::telemetry::init(json_logs || !std::io::IsTerminal::is_terminal(&std::io::stderr()), "info");
            let config = match Config::load(&config, &ProcessEnv) {
                Ok(c) => c,
                Err(problems) => {
                    eprint!("{problems}");
                    return ExitCode::from(2);
                }
            };
            let app = match crate::startup::Application::build(config).await {
                Ok(app) => app,
                Err(e) => {
                    eprintln!("deskgate: {e}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(addr = %app.local_addr(), "deskgate listening");
            match app.run_until(crate::startup::shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("deskgate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckConfig { file } => match Config::load(&file, &ProcessEnv) {
            Ok(c) => {
                let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(SystemClock);
                match crate::startup::load_escalation(&c, clock) {
                    Ok(engine) => {
                        if let Some(e) = &engine {
                            for contact in crate::startup::undeliverable_contacts(&c, e.ruleset()) {
                                eprintln!("{}: warning: gateway.contacts: {contact}", file.display());
                            }
                        }
                        let contacts = engine
                            .map(|e| format!(", contacts {} (ruleset {})", e.ruleset().file(), e.ruleset().version()))
                            .unwrap_or_default();
                        println!("{}: ok — {} desks{contacts}", file.display(), c.desks.len());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("{}: {e}", file.display());
                        ExitCode::FAILURE
                    }
                }
            }
            Err(problems) => {
                eprint!("{problems}");
                ExitCode::FAILURE
            }
        },
        Command::Escalations { url, config } => {
            match crate::commands::escalations(&config, url.as_deref(), None).await {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("deskgate escalations: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Ack { id, url, config } => {
            match crate::commands::escalations(&config, url.as_deref(), Some(&id)).await {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("deskgate ack: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Outbox { url, config } => {
            outbox_command("outbox", &config, url.as_deref(), crate::commands::OutboxQuery::Outbox).await
        }
        Command::DeadLetters { url, config } => {
            outbox_command("dead-letters", &config, url.as_deref(), crate::commands::OutboxQuery::DeadLetters).await
        }
        Command::Replay { seq, url, config } => {
            outbox_command("replay", &config, url.as_deref(), crate::commands::OutboxQuery::Replay(seq)).await
        }
        Command::Who { service, priority, at, contacts, config } => {
            let contacts = match contacts.map_or_else(|| crate::commands::contacts_from_config(&config), Ok) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("deskgate who: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match crate::commands::who(&contacts, &service, &priority, at.as_deref()) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("deskgate who: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Sim { config: Some(config), .. } => {
            crate::telemetry::init(false, "warn");
            match super::sim::from_config(&config, crate::startup::shutdown_signal(), std::io::stdout()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("deskgate sim: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Sim { config: None, servicenow_port, jira_port, clearquest_port } => {
            crate::telemetry::init(false, "warn");
            let ports =
                crate::commands::SimPorts { servicenow: servicenow_port, jira: jira_port, clearquest: clearquest_port };
            match crate::commands::sim(ports, crate::startup::shutdown_signal(), std::io::stdout()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("deskgate sim: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Backup { out, data_dir, config } => {
            let store = match crate::commands::store_from_config(data_dir, &config) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("deskgate backup: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match crate::commands::backup_store(&store, &out).await {
                Ok(summary) => {
                    println!("{} → {}: {summary}", crate::commands::describe_store(&store), out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("deskgate backup: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Restore { input, force, data_dir, config } => {
            let store = match crate::commands::store_from_config(data_dir, &config) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("deskgate restore: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match crate::commands::restore_store(&input, &store, force).await {
                Ok(summary) => {
                    println!("{} → {}: {summary}", input.display(), crate::commands::describe_store(&store));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("deskgate restore: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate { from, to, password_env, force } => {
            let parse = |text: &str, flag: &str| {
                crate::commands::migrate::parse_store(text, password_env.as_deref()).map_err(|e| format!("{flag}: {e}"))
            };
            let stores = parse(&from, "--from").and_then(|f| Ok((f, parse(&to, "--to")?)));
            let outcome = match stores {
                Ok((f, t)) => crate::commands::migrate::migrate(&f, &t, force).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(summary) => {
                    println!("migrated: {summary}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("deskgate migrate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Token { desk, ttl, config } => match crate::cli_token(&config, &desk, &ttl) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("deskgate token: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Probe { config, desk, write } => super::probe::probe(&config, &desk, write).await,
        Command::Demo { at, profile } => {
            crate::telemetry::init(false, "warn");
            match crate::demo::run_profile(profile.as_deref(), at.as_deref()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("demo failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `deskgate outbox`, `dead-letters` and `replay`: print the answer, or the error.
async fn outbox_command(
    name: &str,
    config: &std::path::Path,
    url: Option<&str>,
    query: crate::commands::OutboxQuery,
) -> ExitCode {
    match crate::commands::outbox(config, url, query).await {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("deskgate {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
