//! `deskgate migrate --from sled:DIR --to postgres:URL`: copy a whole store into
//! another backend through the backup format (export from one, import into the
//! other), with the gateways stopped. Either side may be `sled:` or `postgres:`.

use std::path::PathBuf;

use crate::config::{PostgresConfig, Secret, StoreConfig};
use crate::store::backup::BackupSummary;

/// A store named on the command line: `sled:DIR` or `postgres:URL` (the URL
/// without its password, which comes from `password_env`).
pub fn parse_store(text: &str, password_env: Option<&str>) -> Result<StoreConfig, String> {
    if let Some(dir) = text.strip_prefix("sled:") {
        if dir.is_empty() {
            return Err("sled: expected a directory, as in sled:/var/lib/deskgate".into());
        }
        return Ok(StoreConfig::sled(PathBuf::from(dir)));
    }
    if let Some(url) = text.strip_prefix("postgres:") {
        // `postgres:postgres://…` and `postgres://…` both name the database.
        let url = if url.starts_with("//") { format!("postgres:{url}") } else { url.to_owned() };
        let parsed = url::Url::parse(&url).map_err(|e| format!("postgres: expected postgres://user@host/db: {e}"))?;
        if parsed.password().is_some() {
            return Err("postgres: the URL must not hold a password; pass --password-env NAME".into());
        }
        let password = match password_env {
            Some(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Some(Secret::new(v)),
                _ => return Err(format!("--password-env: environment variable {name} is not set")),
            },
            None => None,
        };
        return Ok(StoreConfig::Postgres(PostgresConfig {
            url,
            password,
            pool_size: 2,
            lease: std::time::Duration::from_secs(crate::config::DEFAULT_LEASE_SECS),
        }));
    }
    Err(format!("expected sled:DIR or postgres:URL, got {:?}", text.split(':').next().unwrap_or_default()))
}

/// Copy everything `from` holds into `to` (empty, unless `force`).
pub async fn migrate(from: &StoreConfig, to: &StoreConfig, force: bool) -> Result<BackupSummary, String> {
    if from == to {
        return Err("--from and --to name the same store".into());
    }
    if let StoreConfig::Sled { path, .. } = from {
        if !path.is_dir() {
            return Err(format!("{}: no such data directory", path.display()));
        }
    }
    let source = crate::store::connect(from).await.map_err(|e| format!("--from: {e}"))?;
    let target = crate::store::connect(to).await.map_err(|e| format!("--to: {e}"))?;
    // Through a file, not memory: a store may be larger than memory.
    let path = std::env::temp_dir().join(format!("deskgate-migrate-{}.jsonl", uuid::Uuid::new_v4()));
    let result = async {
        let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut writer = std::io::BufWriter::new(file);
        let exported = source.export(&mut writer).await.map_err(|e| format!("--from: {e}"))?;
        drop(writer.into_inner().map_err(|e| format!("{}: {e}", path.display()))?);
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let imported =
            target.import(&mut std::io::BufReader::new(file), force).await.map_err(|e| format!("--to: {e}"))?;
        target.flush().await.map_err(|e| format!("--to: {e}"))?;
        if imported.records != exported.records {
            return Err(format!("copied {} of {} records", imported.records, exported.records));
        }
        Ok(imported)
    }
    .await;
    let _ = std::fs::remove_file(&path);
    result
}
