//! What the `who`, `sim`, `backup` and `restore` commands do, kept out of `main` so
//! they can be tested.
//!
//! `who` answers "who is contacted for service S, priority P at instant T" for a
//! person at a terminal, from the same ruleset and engine as
//! `GET /api/v1/escalations/contact`. `sim` starts the three desk-system simulators
//! for trying the gateway by hand.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use jiff::Timestamp;

use crate::escalation::{Decision, Ruleset};
use crate::model::{Priority, Service};

pub mod migrate;

/// Where `who` finds the ruleset when `--contacts` is not given: `gateway.contacts`
/// of the configuration file (relative to it). Only that key is read, so the
/// configuration's secrets need not be set to ask who is on call.
pub fn contacts_from_config(config: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("{}: {e}", config.display()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| format!("{}: {}", config.display(), e))?;
    let contacts = table.get("gateway").and_then(|g| g.get("contacts")).and_then(|c| c.as_str()).ok_or_else(|| {
        format!("{}: gateway.contacts is not set; name the ruleset with --contacts", config.display())
    })?;
    let contacts = Path::new(contacts);
    Ok(if contacts.is_absolute() {
        contacts.to_owned()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(contacts)
    })
}

/// `deskgate who`: load the ruleset (swept from now, like the gateway does) and
/// decide for `service`, `priority` at `at` (default now).
pub fn who(contacts: &Path, service: &str, priority: &str, at: Option<&str>) -> Result<String, String> {
    let service: Service = service.parse().map_err(|e: crate::model::ModelError| format!("--service: {e}"))?;
    let priority: Priority =
        priority.parse().map_err(|_| format!("--priority: expected P1, P2, P3 or P4, got {priority:?}"))?;
    let at = match at {
        Some(text) => crate::api::escalations::parse_instant(text).map_err(|e| format!("--at: {e}"))?,
        None => Timestamp::now(),
    };
    let ruleset = Ruleset::load(contacts, Timestamp::now()).map_err(|e| e.to_string())?;
    Ok(describe(&ruleset.decide(service.as_str(), priority, at), ruleset.file()))
}

/// A decision as a person reads it: whom to call, how, and why.
pub fn describe(d: &Decision, file: &str) -> String {
    let mut out = String::new();
    let local = d.local.strftime("%a %Y-%m-%d %H:%M:%S %Z");
    let zone = d.local.time_zone().iana_name().unwrap_or("local time");
    let _ = writeln!(out, "{} {} at {local} ({zone})", d.service, d.priority);
    if let Some(h) = &d.holiday {
        let _ = writeln!(out, "holiday: {h}");
    }
    let _ = writeln!(out, "contact: {} — {}", d.contact.name, d.contact.role);
    if let Some(phone) = &d.contact.phone {
        let _ = writeln!(out, "  phone:  {phone}");
    }
    let _ = writeln!(out, "  e-mail: {}", d.contact.email);
    let _ = writeln!(out, "rule:    {} (ruleset {}, {file})", d.rule, d.ruleset_version);
    let _ = writeln!(out, "why:     {}", d.reason);
    let minutes = d.ack_timeout.as_secs() / 60;
    if d.chain.is_empty() {
        let _ = writeln!(out, "acknowledge within {minutes} min");
    } else {
        let next: Vec<String> = d
            .chain
            .iter()
            .map(|c| match &c.phone {
                Some(p) => format!("{} ({p})", c.name),
                None => format!("{} ({})", c.name, c.email),
            })
            .collect();
        let _ = writeln!(out, "acknowledge within {minutes} min, else: {}", next.join(", then "));
    }
    out
}

/// Where `backup` and `restore` find the store when `--data-dir` is not given: where
/// the gateway keeps it — `gateway.store.path` of the configuration, else
/// `gateway.data_dir`, each overridden by its environment variable
/// (`DESKGATE_GATEWAY__STORE__PATH`, `DESKGATE_GATEWAY__DATA_DIR`), relative to the
/// working directory like the gateway takes it. Only these keys are read, so the
/// configuration's secrets need not be set.
pub fn data_dir_from_config(config: &Path) -> Result<PathBuf, String> {
    let env = |name: &str| std::env::var_os(name).map(PathBuf::from);
    if let Some(path) = env("DESKGATE_GATEWAY__STORE__PATH") {
        return Ok(path);
    }
    let table = std::fs::read_to_string(config)
        .map_err(|e| format!("{}: {e}", config.display()))
        .and_then(|text| text.parse::<toml::Table>().map_err(|e| format!("{}: {}", config.display(), e)));
    // With the data directory in the environment, the file is needed only for a
    // store path.
    let table = match (table, env("DESKGATE_GATEWAY__DATA_DIR")) {
        (Ok(table), _) => table,
        (Err(_), Some(dir)) => return Ok(dir),
        (Err(e), None) => return Err(e),
    };
    match table.get("gateway").and_then(|g| g.get("store")).and_then(|s| s.get("path")) {
        None => {}
        Some(toml::Value::String(dir)) => return Ok(PathBuf::from(dir)),
        Some(_) => return Err(format!("{}: gateway.store.path: expected a path", config.display())),
    }
    if let Some(dir) = env("DESKGATE_GATEWAY__DATA_DIR") {
        return Ok(dir);
    }
    match table.get("gateway").and_then(|g| g.get("data_dir")) {
        None => Ok(PathBuf::from("./data")),
        Some(toml::Value::String(dir)) => Ok(PathBuf::from(dir)),
        Some(_) => Err(format!("{}: gateway.data_dir: expected a path", config.display())),
    }
}

/// The store `backup` and `restore` work on: the sled directory `data_dir` when
/// given; else the configuration's `[gateway.store]` — its PostgreSQL database when
/// `kind = "postgres"` (password and all, by its secret reference), otherwise the
/// sled directory [`data_dir_from_config`] finds.
pub fn store_from_config(data_dir: Option<PathBuf>, config: &Path) -> Result<crate::store::StoreConfig, String> {
    if let Some(path) = data_dir {
        return Ok(crate::store::StoreConfig::sled(path));
    }
    let kind = std::env::var("DESKGATE_GATEWAY__STORE__KIND").ok().or_else(|| {
        let table = std::fs::read_to_string(config).ok()?.parse::<toml::Table>().ok()?;
        Some(table.get("gateway")?.get("store")?.get("kind")?.as_str()?.to_owned())
    });
    if kind.as_deref() == Some("postgres") {
        return crate::config::store_of_file(config, &crate::config::ProcessEnv).map_err(|e| e.to_string());
    }
    let path = data_dir_from_config(config)?;
    // Opened with the page cache the gateway opens it with (`cache_mb`): a backup of
    // a large store reads all of it. Without a readable file, sled's default.
    let cache_mb = if config.is_file() {
        match crate::config::store_of_file(config, &crate::config::ProcessEnv).map_err(|e| e.to_string())? {
            crate::store::StoreConfig::Sled { cache_mb, .. } => cache_mb,
            crate::store::StoreConfig::Postgres(_) => crate::config::DEFAULT_SLED_CACHE_MB,
        }
    } else {
        crate::config::DEFAULT_SLED_CACHE_MB
    };
    Ok(crate::store::StoreConfig::Sled { path, cache_mb })
}

/// How `backup` and `restore` name a store: its directory, or its database URL
/// (which never holds the password).
pub fn describe_store(store: &crate::store::StoreConfig) -> String {
    match store {
        crate::store::StoreConfig::Sled { path, .. } => path.display().to_string(),
        crate::store::StoreConfig::Postgres(pg) => pg.url.clone(),
    }
}

/// `deskgate backup` of `store`: a sled directory as [`backup`] copies it; a
/// PostgreSQL database in one snapshot (REPEATABLE READ), so replicas may keep
/// serving meanwhile.
pub async fn backup_store(
    store: &crate::store::StoreConfig,
    out: &Path,
) -> Result<crate::store::backup::BackupSummary, String> {
    match store {
        crate::store::StoreConfig::Sled { path, .. } => backup(path, store, out).await,
        crate::store::StoreConfig::Postgres(_) => {
            let store = crate::store::connect(store).await.map_err(|e| e.to_string())?;
            write_backup(&*store, out).await
        }
    }
}

/// `deskgate restore` into `store` (see [`restore`]); a PostgreSQL database gets
/// its schema first if it has none.
pub async fn restore_store(
    input: &Path,
    store: &crate::store::StoreConfig,
    force: bool,
) -> Result<crate::store::backup::BackupSummary, String> {
    match store {
        crate::store::StoreConfig::Sled { .. } => restore(input, store, force).await,
        crate::store::StoreConfig::Postgres(_) => {
            let file = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
            let store = crate::store::connect(store).await.map_err(|e| e.to_string())?;
            store
                .import(&mut std::io::BufReader::new(file), force)
                .await
                .map_err(|e| format!("{}: {e}", input.display()))
        }
    }
}

/// `deskgate backup` of the sled store in `data_dir` (opened as `config` says) to
/// `out`. The store is opened here, which its lock refuses while a gateway runs on
/// it — so nothing writes during the copy and it is of one point in time. The file
/// appears only complete (written beside it, then renamed).
async fn backup(
    data_dir: &Path,
    config: &crate::store::StoreConfig,
    out: &Path,
) -> Result<crate::store::backup::BackupSummary, String> {
    if !data_dir.is_dir() {
        return Err(format!("{}: no such data directory", data_dir.display()));
    }
    let store = crate::store::open(config).map_err(|e| e.to_string())?;
    write_backup(&*store, out).await
}

/// Export `store` to `out`, which appears only complete (written beside it, then
/// renamed).
async fn write_backup(
    store: &dyn crate::store::Store,
    out: &Path,
) -> Result<crate::store::backup::BackupSummary, String> {
    let partial = out.with_file_name(format!(
        ".{}.partial",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".into())
    ));
    let file = std::fs::File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let summary = match store.export(&mut writer).await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.to_string());
        }
    };
    let file = writer.into_inner().map_err(|e| format!("{}: {e}", partial.display()))?;
    file.sync_all().map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, out).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(summary)
}

/// `deskgate restore`: load the backup `input` into the sled store `config` names
/// (created if missing). Refuses a store that is not empty unless `force`, and a
/// gateway running on it (the store's lock).
async fn restore(
    input: &Path,
    config: &crate::store::StoreConfig,
    force: bool,
) -> Result<crate::store::backup::BackupSummary, String> {
    let file = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let store = crate::store::open(config).map_err(|e| e.to_string())?;
    store.import(&mut std::io::BufReader::new(file), force).await.map_err(|e| format!("{}: {e}", input.display()))
}

/// Ports for `deskgate sim`; `None` picks a free one.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimPorts {
    pub servicenow: Option<u16>,
    pub jira: Option<u16>,
    pub clearquest: Option<u16>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot start the {0} simulator: {1}")]
    Start(&'static str, std::io::Error),
    #[error("cannot listen on 127.0.0.1:{1} for the {0} simulator: {2}")]
    Bind(&'static str, u16, std::io::Error),
}

/// Serve `router` on a fixed loopback port as well; returns that port's base URL.
/// The simulator keeps its own listener too: both share one state, so links the
/// simulator writes with its own address still resolve.
async fn also_on(name: &'static str, port: u16, router: axum::Router) -> Result<String, SimError> {
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| SimError::Bind(name, port, e))?;
    let addr = listener.local_addr().map_err(|e| SimError::Bind(name, port, e))?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(simulator = name, error = %e, "simulator listener stopped");
        }
    });
    Ok(format!("http://{addr}"))
}

/// `deskgate sim`: start ServiceNow, Jira and ClearQuest simulators, print how to
/// reach them, and run until `shutdown` completes.
pub async fn sim(
    ports: SimPorts,
    shutdown: impl std::future::Future<Output = ()>,
    mut out: impl std::io::Write,
) -> Result<(), SimError> {
    let servicenow =
        ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.map_err(|e| SimError::Start("servicenow", e))?;
    let jira = JiraSim::spawn(JiraSimConfig::default()).await.map_err(|e| SimError::Start("jira", e))?;
    let clearquest =
        ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.map_err(|e| SimError::Start("clearquest", e))?;

    let sn_url = match ports.servicenow {
        Some(p) => also_on("servicenow", p, servicenow.router()).await?,
        None => servicenow.base_url(),
    };
    let jira_url = match ports.jira {
        Some(p) => also_on("jira", p, jira.router()).await?,
        None => jira.base_url(),
    };
    let cq_url = match ports.clearquest {
        Some(p) => also_on("clearquest", p, clearquest.router()).await?,
        None => clearquest.base_url().to_owned(),
    };

    // Simulator credentials are fixed test values, not secrets: print them so a
    // person can point a client (or the gateway's configuration) at them.
    let sn = servicenow.config();
    let ji = jira.config();
    let cq = clearquest.config();
    let lines = [
        "deskgate simulators (Ctrl-C to stop)".to_owned(),
        format!("servicenow  {sn_url}  table API {sn_url}/api/now/table/incident"),
        format!("            basic {} / {}", sn.user, sn.password),
        format!(
            "            oauth client {} / {} (POST {sn_url}/oauth_token.do)",
            sn.oauth_client_id, sn.oauth_client_secret
        ),
        format!("jira        {jira_url}  REST {jira_url}/rest/api/2, projects {}", ji.projects.join(", ")),
        format!("            basic {} / {}", ji.email, ji.api_token),
        format!("            bearer {}", ji.bearer_token),
        format!(
            "clearquest  {cq_url}  OSLC {cq_url}/cqweb/oslc/repo/{}/db/{}/services, record type {}",
            cq.repo, cq.db, cq.record_type
        ),
        format!("            basic {} / {}, header OSLC-Core-Version: 2.0", cq.user, cq.password),
        "faults      POST <base>/_sim/faults on any of them".to_owned(),
    ];
    for line in lines {
        // Nobody reading stdout is no reason to stop serving.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    shutdown.await;
    Ok(())
}

/// A five-minute token for the national desk, minted from the configuration, and
/// the running gateway's address: `url`, else `gateway.public_url`, else `listen`.
fn as_national_desk(config: &Path, url: Option<&str>) -> Result<(String, String), String> {
    let loaded = crate::config::Config::load(config, &crate::config::ProcessEnv).map_err(|p| p.to_string())?;
    let national = loaded.national_desk().ok_or("the configuration has no national desk")?;
    let now = Timestamp::now().as_second().max(0) as u64;
    let token = crate::auth::mint(national, &loaded.gateway.audience, std::time::Duration::from_secs(300), now)?;
    let base = url.map(str::to_owned).unwrap_or_else(|| loaded.gateway.public_base(None));
    Ok((token, base))
}

/// The JSON answer to `request` sent with `token`, or the gateway's error message.
async fn answer(request: reqwest::RequestBuilder, token: &str, base: &str) -> Result<serde_json::Value, String> {
    let res = request.bearer_auth(token).send().await.map_err(|e| format!("{base}: {}", e.without_url()))?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.map_err(|e| format!("{base}: an answer that is not JSON: {e}"))?;
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        return Err(format!("{status}: {message}"));
    }
    Ok(body)
}

/// `deskgate escalations` (list) and `deskgate ack ID`: call the running gateway's
/// API as the national desk, with a five-minute token minted from the configuration
/// like `deskgate token` (so the national desk must authenticate with a shared
/// secret). Prints one line per escalation, or the acknowledged one.
pub async fn escalations(config: &Path, url: Option<&str>, ack: Option<&str>) -> Result<String, String> {
    let (token, base) = as_national_desk(config, url)?;
    let base = base.trim_end_matches('/');
    let client = reqwest::Client::new();
    let request = match ack {
        Some(id) => client.post(format!("{base}/api/v1/escalations/{id}/ack")),
        None => client.get(format!("{base}/api/v1/escalations")),
    };
    let body = answer(request, &token, base).await?;
    let items = match ack {
        Some(_) => vec![body],
        None => body["items"].as_array().cloned().unwrap_or_default(),
    };
    let mut out = String::new();
    if items.is_empty() {
        out.push_str("no escalations\n");
    }
    for e in &items {
        let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
        let _ = writeln!(
            out,
            "{}  {}  {} {}  {}\n  contact: {} ({}), attempt {}\n  rule:    {} (ruleset {})\n  decided: {}\n  due:     {}{}",
            s(&e["id"]),
            s(&e["incident"]),
            s(&e["priority"]),
            s(&e["service"]),
            s(&e["state"]),
            s(&e["contact"]["name"]),
            s(&e["contact"]["id"]),
            e["attempts"].as_array().map_or(0, Vec::len),
            s(&e["rule"]),
            s(&e["ruleset_version"]),
            s(&e["local_time"]),
            s(&e["deadline_local"]),
            match e["acknowledged_by"].as_str() {
                Some(by) => format!("\n  acknowledged by {by} at {}", s(&e["acknowledged_local"])),
                None => String::new(),
            },
        );
    }
    Ok(out)
}

/// What `deskgate outbox`, `dead-letters` and `replay SEQ` ask the running gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxQuery {
    /// `GET /api/v1/outbox`.
    Outbox,
    /// `GET /api/v1/dead-letters`.
    DeadLetters,
    /// `POST /api/v1/dead-letters/{seq}/replay`.
    Replay(u64),
}

/// `deskgate outbox`, `deskgate dead-letters` and `deskgate replay SEQ`: call the
/// running gateway's delivery API as the national desk (a five-minute token, like
/// `escalations`). One line per item: sequence number, incident, desk, action,
/// attempts, then when it is next tried and its last error (outbox) or when it
/// failed, the remote status and the error (dead letters).
pub async fn outbox(config: &Path, url: Option<&str>, query: OutboxQuery) -> Result<String, String> {
    use crate::outbox::{DeadLetter, OutboxItem};
    let (token, base) = as_national_desk(config, url)?;
    let base = base.trim_end_matches('/');
    let client = reqwest::Client::new();
    let request = match query {
        OutboxQuery::Outbox => client.get(format!("{base}/api/v1/outbox")),
        OutboxQuery::DeadLetters => client.get(format!("{base}/api/v1/dead-letters")),
        OutboxQuery::Replay(seq) => client.post(format!("{base}/api/v1/dead-letters/{seq}/replay")),
    };
    let body = answer(request, &token, base).await?;
    let unexpected = |e: serde_json::Error| format!("{base}: an answer of unexpected shape: {e}");
    let mut out = String::new();
    match query {
        OutboxQuery::Outbox => {
            let items: Vec<OutboxItem> = serde_json::from_value(body["items"].clone()).map_err(unexpected)?;
            if items.is_empty() {
                out.push_str("the outbox is empty\n");
            }
            for item in &items {
                let _ = writeln!(out, "{}", outbox_line(item));
            }
        }
        OutboxQuery::DeadLetters => {
            let items: Vec<DeadLetter> = serde_json::from_value(body["items"].clone()).map_err(unexpected)?;
            if items.is_empty() {
                out.push_str("no dead letters\n");
            }
            for dead in &items {
                let remote = dead.remote_status.map_or_else(|| "-".to_owned(), |s| s.to_string());
                let _ = writeln!(
                    out,
                    "{}  {}  {}  {}  attempts {}  failed {}  remote {remote}  {}",
                    dead.item.seq,
                    dead.item.incident,
                    dead.item.desk,
                    dead.item.action.describe(),
                    dead.item.attempts,
                    dead.failed_at,
                    one_line(&dead.error),
                );
            }
        }
        OutboxQuery::Replay(seq) => {
            let item: OutboxItem = serde_json::from_value(body).map_err(unexpected)?;
            let _ = writeln!(out, "dead letter {seq} is back in the outbox\n{}", outbox_line(&item));
        }
    }
    Ok(out)
}

/// One outbox item on one line: seq, incident, desk, action, attempts, next attempt
/// and the last error if any.
fn outbox_line(item: &crate::outbox::OutboxItem) -> String {
    let mut line = format!(
        "{}  {}  {}  {}  attempts {}  next {}",
        item.seq,
        item.incident,
        item.desk,
        item.action.describe(),
        item.attempts,
        item.not_before
    );
    if let Some(e) = &item.last_error {
        line.push_str("  last error: ");
        line.push_str(&one_line(e));
    }
    line
}

/// An error message with its line breaks folded, so each item stays on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_finds_the_store_where_the_gateway_keeps_it() {
        // Only when the environment does not name it (the test's own process).
        if std::env::var_os("DESKGATE_GATEWAY__STORE__PATH").is_some()
            || std::env::var_os("DESKGATE_GATEWAY__DATA_DIR").is_some()
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gateway.toml");
        std::fs::write(&config, "[gateway]\ndata_dir = \"/srv/data\"\n").unwrap();
        assert_eq!(data_dir_from_config(&config).unwrap(), PathBuf::from("/srv/data"));
        std::fs::write(
            &config,
            "[gateway]\ndata_dir = \"/srv/data\"\nstore = { kind = \"sled\", path = \"/srv/store\" }\n",
        )
        .unwrap();
        assert_eq!(data_dir_from_config(&config).unwrap(), PathBuf::from("/srv/store"));
        std::fs::write(&config, "[gateway]\nstore = { kind = \"sled\", path = 7 }\n").unwrap();
        assert!(data_dir_from_config(&config).unwrap_err().contains("gateway.store.path"));
    }

    #[tokio::test]
    async fn backup_and_restore_open_a_sled_store_with_the_page_cache_the_gateway_uses() {
        if std::env::vars().any(|(k, _)| k.starts_with("DESKGATE_GATEWAY__")) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (config, store_dir) = (dir.path().join("gateway.toml"), dir.path().join("store"));
        let section = |cache: &str| format!("[gateway]\nstore = {{ kind = \"sled\", path = {store_dir:?}{cache} }}\n");
        std::fs::write(&config, section(", cache_mb = 64")).unwrap();
        let store = store_from_config(None, &config).unwrap();
        assert_eq!(store, crate::store::StoreConfig::Sled { path: store_dir.clone(), cache_mb: 64 });
        let copy = dir.path().join("copy.ndjson");
        restore_store(&copy, &store, false).await.expect_err("no such backup file");
        crate::store::open(&store).unwrap();
        backup_store(&store, &copy).await.expect("backs up");
        restore_store(&copy, &crate::store::StoreConfig::Sled { path: dir.path().join("again"), cache_mb: 64 }, false)
            .await
            .expect("restores");
        // Without the key, sled's default; a value the gateway refuses is refused here.
        std::fs::write(&config, section("")).unwrap();
        let default =
            crate::store::StoreConfig::Sled { path: store_dir.clone(), cache_mb: crate::config::DEFAULT_SLED_CACHE_MB };
        assert_eq!(store_from_config(None, &config).unwrap(), default);
        std::fs::write(&config, section(", cache_mb = 8")).unwrap();
        assert!(store_from_config(None, &config).unwrap_err().contains("gateway.store.cache_mb"));
    }

    #[test]
    fn backup_takes_a_postgres_store_from_the_configuration_with_its_password_and_nothing_else() {
        if std::env::vars().any(|(k, _)| k.starts_with("DESKGATE_GATEWAY__")) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gateway.toml");
        let pg = "[gateway]\nstore = { kind = \"postgres\", url = \"postgres://deskgate@db:5432/deskgate\", \
                  password = { file = \"pg-password\" } }\n";
        // A desk whose secret is not set: not read for a backup.
        let desk =
            "[desks.sds]\nname = \"SDS\"\nrole = \"national\"\njwt_secret = { env = \"DESKGATE_UNSET_SECRET\" }\n";
        std::fs::write(&config, format!("{pg}{desk}")).unwrap();
        let missing = store_from_config(None, &config).unwrap_err();
        assert!(missing.contains("gateway.store.password") && missing.contains("pg-password"), "{missing}");
        std::fs::write(dir.path().join("pg-password"), "s3cret-pg\n").unwrap();
        let store = store_from_config(None, &config).unwrap();
        let crate::store::StoreConfig::Postgres(found) = &store else { panic!("postgres: {store:?}") };
        assert_eq!(found.url, "postgres://deskgate@db:5432/deskgate");
        assert_eq!(found.password.as_ref().map(|p| p.expose()), Some("s3cret-pg"));
        assert_eq!(describe_store(&store), "postgres://deskgate@db:5432/deskgate", "named without the password");
        // --data-dir names a sled directory whatever the configuration says.
        let sled = store_from_config(Some(PathBuf::from("/srv/store")), &config).unwrap();
        assert_eq!(sled, crate::store::StoreConfig::sled(PathBuf::from("/srv/store")));
    }

    #[test]
    fn contacts_path_is_taken_from_the_configuration_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gateway.toml");
        std::fs::write(&config, "[gateway]\ncontacts = \"contacts.toml\"\n").unwrap();
        assert_eq!(contacts_from_config(&config).unwrap(), dir.path().join("contacts.toml"));
        std::fs::write(&config, "[gateway]\n").unwrap();
        assert!(contacts_from_config(&config).unwrap_err().contains("gateway.contacts is not set"));
    }
}
