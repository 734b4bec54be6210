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
            finish("escalations", crate::commands::escalations(&config, url.as_deref(), None).await, |text| {
                print!("{text}")
            })
        }
        Command::Ack { id, url, config } => {
            finish("ack", crate::commands::escalations(&config, url.as_deref(), Some(&id)).await, |text| {
                print!("{text}")
            })
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
                Err(e) => return failed("who", e),
            };
            finish("who", crate::commands::who(&contacts, &service, &priority, at.as_deref()), |text| print!("{text}"))
        }
        Command::Sim { config: Some(config), .. } => {
            crate::telemetry::init(false, "warn");
            finish(
                "sim",
                super::sim::from_config(&config, crate::startup::shutdown_signal(), std::io::stdout()).await,
                drop,
            )
        }
        Command::Sim { config: None, servicenow_port, jira_port, clearquest_port } => {
            crate::telemetry::init(false, "warn");
            let ports =
                crate::commands::SimPorts { servicenow: servicenow_port, jira: jira_port, clearquest: clearquest_port };
            finish("sim", crate::commands::sim(ports, crate::startup::shutdown_signal(), std::io::stdout()).await, drop)
        }
        Command::Backup { out, data_dir, config } => {
            let store = match crate::commands::store_from_config(data_dir, &config) {
                Ok(s) => s,
                Err(e) => return failed("backup", e),
            };
            finish("backup", crate::commands::backup_store(&store, &out).await, |summary| {
                println!("{} → {}: {summary}", crate::commands::describe_store(&store), out.display())
            })
        }
        Command::Restore { input, force, data_dir, config } => {
            let store = match crate::commands::store_from_config(data_dir, &config) {
                Ok(s) => s,
                Err(e) => return failed("restore", e),
            };
            finish("restore", crate::commands::restore_store(&input, &store, force).await, |summary| {
                println!("{} → {}: {summary}", input.display(), crate::commands::describe_store(&store))
            })
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
            finish("migrate", outcome, |summary| println!("migrated: {summary}"))
        }
        Command::Token { desk, ttl, config } => {
            finish("token", crate::cli_token(&config, &desk, &ttl), |token| println!("{token}"))
        }
        Command::Probe { config, desk, write } => super::probe::probe(&config, &desk, write).await,
        Command::Demo { at, profile, serve } => {
            crate::telemetry::init(false, "warn");
            match crate::demo::run_profile(profile.as_deref(), at.as_deref(), serve).await {
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
    finish(name, crate::commands::outbox(config, url, query).await, |text| print!("{text}"))
}

/// A command that failed: its error after `deskgate <name>: `.
fn failed(name: &str, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("deskgate {name}: {e}");
    ExitCode::FAILURE
}

/// The exit code of a command's outcome; `show` prints a success.
fn finish<T, E: std::fmt::Display>(name: &str, outcome: Result<T, E>, show: impl FnOnce(T)) -> ExitCode {
    match outcome {
        Ok(value) => {
            show(value);
            ExitCode::SUCCESS
        }
        Err(e) => failed(name, e),
    }
}
