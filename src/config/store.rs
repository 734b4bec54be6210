//! `[gateway.store]`: which backend holds the gateway's state, checked with key paths.
//!
//! sled keeps everything in one directory on one disk (one process); PostgreSQL is
//! one database several replicas share. A PostgreSQL URL never carries the password:
//! it comes by secret reference, so the URL can be logged and shown.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{Env, Problem, Secret, SecretRef, resolve_secret};

/// `[gateway.store]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreFile {
    kind: String,
    /// The sled directory, relative to the working directory; `data_dir` without it.
    path: Option<PathBuf>,
    /// sled: how much of the store its page cache may hold in memory, in MiB.
    cache_mb: Option<u64>,
    /// PostgreSQL: `postgres://user@host:port/database` (no password).
    url: Option<String>,
    /// PostgreSQL: the password, by secret reference.
    password: Option<SecretRef>,
    /// PostgreSQL: connections per replica.
    pool_size: Option<u32>,
    /// PostgreSQL: how long a replica holds a delivery before another may take it.
    lease_secs: Option<u64>,
}

/// The PostgreSQL store's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresConfig {
    /// Without a password (checked), so it may be shown.
    pub url: String,
    pub password: Option<Secret>,
    pub pool_size: u32,
    /// How long a delivery taken by one replica is held before another may take it
    /// (a replica that died lets go of its deliveries after this long).
    pub lease: Duration,
}

/// Which backend holds the gateway's state (`[gateway.store]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded sled store in this directory, with a page cache of at most
    /// `cache_mb` MiB.
    Sled { path: PathBuf, cache_mb: u64 },
    /// One PostgreSQL database, shared by every replica.
    Postgres(PostgresConfig),
}

pub const DEFAULT_POOL_SIZE: u32 = 10;
/// sled's own default page cache, in MiB.
pub const DEFAULT_SLED_CACHE_MB: u64 = 1024;
/// The page cache `cache_mb` may set, in MiB: 16 MiB to 1 TiB.
const SLED_CACHE_MB: std::ops::RangeInclusive<u64> = 16..=1 << 20;
pub const DEFAULT_LEASE_SECS: u64 = 60;

impl StoreConfig {
    /// The sled store in `path`, with the default page cache.
    pub fn sled(path: impl Into<PathBuf>) -> Self {
        StoreConfig::Sled { path: path.into(), cache_mb: DEFAULT_SLED_CACHE_MB }
    }

    /// How long a delivery is held by the replica that took it (sled: one process,
    /// the lease only bounds a delivery that never reports back).
    pub fn delivery_lease(&self) -> Duration {
        match self {
            StoreConfig::Sled { .. } => Duration::from_secs(DEFAULT_LEASE_SECS),
            StoreConfig::Postgres(pg) => pg.lease,
        }
    }
}

/// The store `[gateway.store]` names, or sled in `data_dir`.
pub(super) fn resolve_store(
    file: Option<StoreFile>,
    data_dir: &Path,
    base_dir: &Path,
    env: &dyn Env,
    problems: &mut Vec<Problem>,
) -> StoreConfig {
    let sled = |path: &Path| StoreConfig::sled(path);
    let Some(file) = file else { return sled(data_dir) };
    let problem = |problems: &mut Vec<Problem>, key: &str, message: String| {
        problems.push(Problem { path: format!("gateway.store.{key}"), message })
    };
    match file.kind.as_str() {
        "sled" => {
            for (key, given) in [
                ("url", file.url.is_some()),
                ("password", file.password.is_some()),
                ("pool_size", file.pool_size.is_some()),
                ("lease_secs", file.lease_secs.is_some()),
            ] {
                if given {
                    problem(problems, key, "applies to kind = \"postgres\" only".into());
                }
            }
            let cache_mb = file.cache_mb.unwrap_or(DEFAULT_SLED_CACHE_MB);
            if !SLED_CACHE_MB.contains(&cache_mb) {
                problem(
                    problems,
                    "cache_mb",
                    format!("expected {} to {} (MiB), got {cache_mb}", SLED_CACHE_MB.start(), SLED_CACHE_MB.end()),
                );
            }
            StoreConfig::Sled { path: file.path.as_deref().unwrap_or(data_dir).to_owned(), cache_mb }
        }
        "postgres" => {
            for (key, given) in [("path", file.path.is_some()), ("cache_mb", file.cache_mb.is_some())] {
                if given {
                    problem(problems, key, "applies to kind = \"sled\" only".into());
                }
            }
            let url = match file.url.as_deref() {
                None => {
                    problem(problems, "url", "expected postgres://user@host:port/database".into());
                    String::new()
                }
                Some(url) => match check_url(url) {
                    Ok(()) => url.to_owned(),
                    Err(message) => {
                        problem(problems, "url", message);
                        String::new()
                    }
                },
            };
            let password = file
                .password
                .as_ref()
                .and_then(|r| resolve_secret(r, "gateway.store.password", base_dir, env, problems));
            let pool_size = file.pool_size.unwrap_or(DEFAULT_POOL_SIZE);
            if !(1..=1000).contains(&pool_size) {
                problem(problems, "pool_size", format!("expected 1 to 1000, got {pool_size}"));
            }
            let lease_secs = file.lease_secs.unwrap_or(DEFAULT_LEASE_SECS);
            if !(1..=3600).contains(&lease_secs) {
                problem(problems, "lease_secs", format!("expected 1 to 3600, got {lease_secs}"));
            }
            StoreConfig::Postgres(PostgresConfig { url, password, pool_size, lease: Duration::from_secs(lease_secs) })
        }
        other => {
            problem(problems, "kind", format!("expected \"sled\" or \"postgres\", got {other:?}"));
            sled(data_dir)
        }
    }
}

/// `[gateway.store]` of the configuration file at `path`, with its environment
/// overrides and the store's password resolved. Nothing else of the file is read or
/// checked, so the desks' secrets need not be set (`deskgate backup`, `restore`).
pub fn store_of_file(path: &Path, env: &dyn Env) -> Result<StoreConfig, super::ConfigProblems> {
    let refused = |problems| super::ConfigProblems { file: path.to_owned(), problems };
    let text = std::fs::read_to_string(path)
        .map_err(|e| refused(vec![Problem { path: "(file)".into(), message: e.to_string() }]))?;
    let mut root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        refused(vec![Problem { path: "(syntax)".into(), message: e.to_string().trim().to_owned() }])
    })?;
    let mut problems = Vec::new();
    super::env::apply_env_overrides(&mut root, env, &mut problems);
    let gateway = root.get("gateway").and_then(|g| g.as_table());
    let data_dir = gateway
        .and_then(|g| g.get("data_dir"))
        .and_then(|d| d.as_str())
        .map_or_else(|| PathBuf::from("./data"), PathBuf::from);
    let file = gateway
        .and_then(|g| g.get("store"))
        .cloned()
        .and_then(|s| super::typed::<StoreFile>(s, "gateway.store", &mut problems));
    let base = path.parent().unwrap_or(Path::new("."));
    let store = resolve_store(file, &data_dir, base, env, &mut problems);
    if problems.is_empty() { Ok(store) } else { Err(refused(problems)) }
}

/// A PostgreSQL URL without a password. The message never repeats the URL: it may
/// hold one.
fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("expected postgres://user@host:port/database: {e}"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(format!("expected the scheme postgres://, got {}://", url.scheme()));
    }
    if url.password().is_some() {
        return Err(
            "must not hold a password: give it as gateway.store.password = { env = \"…\" } or { file = \"…\" }".into(),
        );
    }
    if url.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
        return Err("must not hold a password parameter: give it as gateway.store.password".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("expected a host: postgres://user@host:port/database".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::testing::{GATEWAY, NATIONAL};
    use crate::config::{Config, MapEnv};

    fn load(store: &str, vars: &[(&str, &str)]) -> Result<Config, Vec<String>> {
        let text = format!("{GATEWAY}{store}\n{NATIONAL}");
        let env = vars.iter().fold(MapEnv::new(false).with("T_SDS", "sds-secret"), |env, (k, v)| env.with(k, *v));
        Config::from_toml(&text, Path::new("."), &env).map_err(|p| p.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn postgres_takes_a_url_without_password_and_the_password_by_reference() {
        let c = load(
            "store = { kind = \"postgres\", url = \"postgres://deskgate@db:5432/deskgate\", password = { env = \"PGPW\" }, pool_size = 4 }",
            &[("PGPW", "hunter2-secret")],
        )
        .expect("valid");
        let crate::config::StoreConfig::Postgres(pg) = &c.gateway.store else { panic!("postgres") };
        assert_eq!(pg.url, "postgres://deskgate@db:5432/deskgate");
        assert_eq!(pg.password.as_ref().map(|p| p.expose()), Some("hunter2-secret"));
        assert_eq!(pg.pool_size, 4);
        assert!(!format!("{:?}", c.gateway.store).contains("hunter2"), "the password is never shown");
    }

    #[test]
    fn a_bad_postgres_setting_is_named_by_its_key_and_never_echoes_the_password() {
        let problems = load("store = { kind = \"postgres\", url = \"postgres://u:hunter2@db/x\" }", &[]).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("gateway.store.url") && p.contains("password")), "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("hunter2")), "{problems:?}");
        let problems = load("store = { kind = \"postgres\" }", &[]).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("gateway.store.url")), "{problems:?}");
        let problems = load(
            "store = { kind = \"postgres\", url = \"postgres://u@db/x\", password = { env = \"NOPE\" }, pool_size = 0, lease_secs = 0 }",
            &[],
        )
        .unwrap_err();
        for key in ["gateway.store.password", "gateway.store.pool_size", "gateway.store.lease_secs"] {
            assert!(problems.iter().any(|p| p.contains(key)), "{key}: {problems:?}");
        }
        let problems = load("store = { kind = \"sled\", url = \"postgres://u@db/x\" }", &[]).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("gateway.store.url") && p.contains("postgres")), "{problems:?}");
        let problems = load("store = { kind = \"mysql\", url = \"http://db\" }", &[]).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("gateway.store.kind")), "{problems:?}");
    }

    #[test]
    fn a_sled_store_takes_its_page_cache_in_mib_within_bounds() {
        let c = load("store = { kind = \"sled\", path = \"/srv/store\", cache_mb = 4096 }", &[]).expect("valid");
        let want = crate::config::StoreConfig::Sled { path: "/srv/store".into(), cache_mb: 4096 };
        assert_eq!(c.gateway.store, want);
        let c = load("store = { kind = \"sled\" }", &[]).expect("valid");
        let crate::config::StoreConfig::Sled { cache_mb, .. } = c.gateway.store else { panic!("sled") };
        assert_eq!(cache_mb, super::DEFAULT_SLED_CACHE_MB, "sled's own default without the key");
        let problems = load("store = { kind = \"sled\", cache_mb = 8 }", &[]).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("gateway.store.cache_mb") && p.contains("16 to")), "{problems:?}");
        let problems =
            load("store = { kind = \"postgres\", url = \"postgres://u@db/x\", cache_mb = 4096 }", &[]).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("gateway.store.cache_mb") && p.contains("sled")), "{problems:?}");
    }
}
