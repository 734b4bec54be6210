//! The command line: what it accepts (here) and what each command does ([`run`]).

mod probe;
mod run;
mod sim;
mod sim_idp;

pub use run::run;

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
    Demo {
        /// When the scenario starts: RFC 3339 (2026-11-29T02:00:00+01:00) or Copenhagen
        /// local time (2026-11-29T02:00). Default: now.
        #[arg(long)]
        at: Option<String>,
        /// The federation to play: nsp (deploy/, the default) or healthdata
        /// (deploy/healthdata/: the healthdata.be process).
        #[arg(long)]
        profile: Option<String>,
        /// Afterwards keep the federation serving until Ctrl-C: the intake form, the
        /// operator console and an OpenID provider simulator with demo users, printed.
        #[arg(long)]
        serve: bool,
    },
    /// Who is contacted for a P1/P2 of a service at an instant, and why.
    Who {
        /// The service, e.g. NSP or FMK.
        #[arg(long)]
        service: String,
        /// P1, P2, P3 or P4.
        #[arg(long)]
        priority: String,
        /// RFC 3339 instant, e.g. 2026-11-29T02:00:00+01:00; default now.
        #[arg(long)]
        at: Option<String>,
        /// The escalation ruleset; default: gateway.contacts of the configuration.
        #[arg(long)]
        contacts: Option<PathBuf>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// List the escalations of the running gateway (state, contacts, rule, ruleset
    /// version, local times), as the national desk.
    Escalations {
        /// The gateway's base URL; default: gateway.public_url, else gateway.listen.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// Acknowledge an escalation as the national desk: its chain stops.
    Ack {
        /// The escalation id, e.g. ESC-2026-000042-0001.
        id: String,
        /// The gateway's base URL; default: gateway.public_url, else gateway.listen.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// List the running gateway's outbox (deliveries waiting to go out), as the
    /// national desk: one line per delivery.
    Outbox {
        /// The gateway's base URL; default: gateway.public_url, else gateway.listen.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// List the running gateway's dead letters (deliveries that failed for good, with
    /// the remote's status), as the national desk.
    DeadLetters {
        /// The gateway's base URL; default: gateway.public_url, else gateway.listen.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// Put a dead letter back in the outbox, in its place in its lane, as the
    /// national desk.
    Replay {
        /// The dead letter's sequence number, as `deskgate dead-letters` shows it.
        seq: u64,
        /// The gateway's base URL; default: gateway.public_url, else gateway.listen.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// Copy the whole store to a file (JSON lines): a sled store with the gateway
    /// stopped; a PostgreSQL store (`[gateway.store] kind = "postgres"`) in one
    /// snapshot, while replicas serve.
    Backup {
        /// The file to write (replaced if it exists, only once the copy is complete).
        #[arg(long)]
        out: PathBuf,
        /// The sled data directory; default: the configuration's store.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// Load a backup into an empty store (sled or PostgreSQL, as the configuration
    /// names it), with the gateways stopped.
    Restore {
        /// The backup file written by `deskgate backup`.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Replace the contents of a store that is not empty.
        #[arg(long)]
        force: bool,
        /// The sled data directory; default: the configuration's store.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
    },
    /// Copy a whole store into another backend (e.g. sled to PostgreSQL), with the
    /// gateways stopped: through the backup format, so nothing is lost on the way.
    Migrate {
        /// The store to copy: `sled:DIR` or `postgres:URL`.
        #[arg(long)]
        from: String,
        /// The store to fill (empty unless --force): `sled:DIR` or `postgres:URL`.
        /// A URL never holds the password: see --password-env.
        #[arg(long)]
        to: String,
        /// The environment variable holding the PostgreSQL password.
        #[arg(long, value_name = "NAME")]
        password_env: Option<String>,
        /// Replace the contents of a target that is not empty.
        #[arg(long)]
        force: bool,
    },
    /// Prove a desk's configured endpoint before go-live: credentials, clock, project
    /// and fields, workflow, change capture; one PASS/WARN/FAIL line per check.
    /// Read-only unless --write. Exit code 1 on any FAIL.
    Probe {
        #[arg(long, env = "DESKGATE_CONFIG", default_value = "deploy/gateway.toml")]
        config: PathBuf,
        /// The desk id, e.g. drift.
        #[arg(long)]
        desk: String,
        /// Also create a test ticket, walk it through every mapped status and cancel it.
        #[arg(long)]
        write: bool,
    },
    /// Start ServiceNow, Jira and ClearQuest simulators for manual use; print their
    /// URLs and credentials; run until Ctrl-C.
    Sim {
        /// Serve, instead, a simulator for every desk of this gateway configuration
        /// that has an endpoint, hosting the project or database the desk names, on
        /// the endpoint's address when it is an IP address or localhost (else on a
        /// free port, printed).
        #[arg(long, conflicts_with_all = ["servicenow_port", "jira_port", "clearquest_port"])]
        config: Option<PathBuf>,
        /// Port for the ServiceNow simulator (default: a free one).
        #[arg(long)]
        servicenow_port: Option<u16>,
        /// Port for the Jira simulator (default: a free one).
        #[arg(long)]
        jira_port: Option<u16>,
        /// Port for the ClearQuest simulator (default: a free one).
        #[arg(long)]
        clearquest_port: Option<u16>,
    },
}
