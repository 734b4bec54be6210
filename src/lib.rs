//! deskgate — a federation gateway between incident-management service desks.
//!
//! Local desks forward incidents to a national desk, which assigns them to
//! suppliers; every party keeps its own ticketing tool and deskgate translates,
//! remembers which ticket is which, and refuses anyone who is not a registered desk.
//!
//! Module map:
//! - [`config`] — typed configuration, env overrides, secret references ([`secret`])
//! - [`model`] — the canonical incident, newtypes, the status machine, the rules
//! - [`outbox`] — the delivery records a change plans, and dead letters
//! - [`store`] — the [`store::Store`] trait and its sled implementation (group commit)
//! - [`auth`] — JWT desk authentication and referrals for non-desks
//! - [`gateway`] — the use cases every dialect shares
//! - [`dialects`] — one folder per dialect (native, ServiceNow, Jira, ClearQuest) and the one list of them
//! - [`http`] — the shared HTTP edge: state, errors in the caller's dialect, extractors
//! - [`api`] — the application router, the escalation and delivery endpoints, ops endpoints
//! - [`sync`] — the delivery workers; [`server`] — serving HTTP and HTTPS
//! - [`startup`] — building and running the server
//! - [`tls`] — client certificates for mutual TLS (settings in [`config::tls`])
//! - [`escalation`] — P1/P2 contact rules by local time, holidays and DST
//! - [`notify`] — escalations in operation: notifications (webhook, SMTP), timeouts
//! - [`clock`] — time as a dependency
//! - [`ratelimit`] — per-desk inbound and outbound rate limits
//! - [`cli`] — the command line; [`commands`] — `who` and `sim`; [`demo`] — the guided scenario
//!
//! The layers these form, and the test that keeps them (`tests/layers.rs`), are in
//! ARCHITECTURE.md.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod dialects;
pub mod escalation;
pub mod gateway;
pub mod http;
pub mod mapping;
pub mod model;
pub mod notify;
pub mod outbox;
pub mod probe;
pub mod ratelimit;
pub mod rejections;
pub mod secret;
pub mod server;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod web;

/// `deskgate token`: a token for an HS* desk, valid for `ttl` (`15m`, `1h`, `2d`).
pub fn cli_token(config: &std::path::Path, desk: &str, ttl: &str) -> Result<String, String> {
    let config = config::Config::load(config, &config::ProcessEnv).map_err(|p| p.to_string())?;
    let id: model::DeskId = desk.parse().map_err(|e: model::ModelError| e.to_string())?;
    let desk = config.desk(&id).ok_or_else(|| {
        let known: Vec<&str> = config.desks.keys().map(|d| d.as_str()).collect();
        format!("no desk {id}; known desks: {}", known.join(", "))
    })?;
    let ttl = parse_ttl(ttl)?;
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    auth::mint(desk, &config.gateway.audience, ttl, now)
}

/// `15m`, `1h`, `2d`, `90s` → a duration of at least one second.
pub fn parse_ttl(ttl: &str) -> Result<std::time::Duration, String> {
    let t = ttl.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("ttl {ttl:?}: expected a number and a unit, e.g. 15m, 1h, 2d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("ttl {ttl:?}: unit must be s, m, h or d")),
    };
    if secs == 0 {
        return Err("ttl must be at least one second".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}
