//! `deskgate probe --desk ID [--write]`: the desk's configuration loaded, its
//! dialect's checks run against its endpoint (`crate::probe`), one line each.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{Config, Credentials, ProcessEnv};
use crate::probe::http::HttpAuth;
use crate::probe::{Http, Probe};

pub(super) async fn probe(config: &Path, desk: &str, write: bool) -> ExitCode {
    match run(config, desk, write).await {
        Ok(text) => {
            print!("{}", text.0);
            if text.1 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Err(e) => {
            eprintln!("deskgate probe: {e}");
            ExitCode::from(2)
        }
    }
}

/// The report's text and whether any check failed.
async fn run(file: &Path, desk_id: &str, write: bool) -> Result<(String, bool), String> {
    let config = Config::load(file, &ProcessEnv).map_err(|problems| format!("{}:\n{problems}", file.display()))?;
    let desk = config.desks.values().find(|d| d.id.as_str() == desk_id).ok_or_else(|| {
        let known: Vec<&str> = config.desks.keys().map(|k| k.as_str()).collect();
        format!("no desk {desk_id:?} in {}; desks: {}", file.display(), known.join(", "))
    })?;
    let endpoint = desk
        .endpoint
        .as_ref()
        .ok_or_else(|| format!("desks.{desk_id}.endpoint: the desk has no endpoint, so deskgate does not call it"))?;
    let dialect = crate::dialects::get(desk.system)
        .probe()
        .ok_or_else(|| format!("desks.{desk_id}.system: deskgate does not call {} desks", desk.system))?;
    let mappings = crate::dialects::mappings(&config)?;
    let mapping = mappings.desk(&desk.id).ok_or_else(|| format!("desks.{desk_id}: no mapping for {}", desk.system))?;
    let auth = match &desk.credentials {
        Some(Credentials::Basic { username, password }) => {
            HttpAuth::Basic { user: username.clone(), password: password.expose().to_owned() }
        }
        Some(Credentials::Bearer { token }) => HttpAuth::Bearer(token.expose().to_owned()),
        // OAuth exchanges are the dialect's (it knows the token endpoint).
        _ => HttpAuth::None,
    };
    let http = Http::new(endpoint.clone(), auth, Duration::from_secs(30))?;
    let public_url = config.gateway.public_url.as_deref().and_then(|u| url::Url::parse(u).ok());
    let probe = Probe { desk, endpoint, http: &http, mapping, write, public_url: public_url.as_ref() };
    let report = crate::probe::run(&probe, dialect).await;
    Ok((report.render(), report.failed()))
}
