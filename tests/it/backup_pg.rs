//! `deskgate backup` and `deskgate restore` on a PostgreSQL deployment
//! (`[gateway.store] kind = "postgres"`): the store comes from the configuration,
//! a backup is taken while a replica serves (one snapshot), and it restores into
//! another database with everything the first one held.

use crate::kit;

use std::path::Path;
use std::process::Output;

use deskgate::store::{ListQuery, PgStore, Store};
use serde_json::json;

fn deskgate(args: &[&str]) -> Output {
    kit::binary::command().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A gateway configuration on the database at `url`.
fn config(dir: &Path, name: &str, url: &str) -> std::path::PathBuf {
    let mut c = kit::GatewayConfig::one_local_desk(&dir.join(format!("data-{name}")));
    c.gateway("store", json!({ "kind": "postgres", "url": url, "pool_size": 2 }));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, c.render()).unwrap();
    path
}

async fn store(url: &str) -> PgStore {
    let config = deskgate::config::PostgresConfig {
        url: url.to_owned(),
        password: None,
        pool_size: 2,
        lease: std::time::Duration::from_secs(5),
    };
    PgStore::connect(&config).await.unwrap()
}

/// What a restore must bring back: incidents (with their refs), the audit log and the outbox.
async fn contents(store: &PgStore) -> serde_json::Value {
    let incidents = store.list_incidents(&ListQuery::all(1000)).await.unwrap();
    let audit = store.audit_log(None, 1000).await.unwrap();
    let outbox = store.outbox(1000).await.unwrap();
    json!({ "incidents": incidents, "audit": audit, "outbox": outbox })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_is_backed_up_while_serving_and_restores_into_another_database() {
    if kit::pg::skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (source_url, target_url) = (kit::pg::shared().fresh_database(), kit::pg::shared().fresh_database());
    let (source, target) = (config(dir.path(), "source", &source_url), config(dir.path(), "target", &target_url));
    let client = reqwest::Client::new();
    let gateway = kit::RunningBinary::serve_ready(&source, &dir.path().join("serve.log"), &client).await;
    for ticket in ["INC0090001", "INC0090002"] {
        let res = client
            .post(format!("{}/api/v1/incidents", gateway.base()))
            .bearer_auth(kit::token("region-h"))
            .json(&kit::incident(ticket))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
    }

    // The gateway keeps serving: PostgreSQL gives the backup one snapshot.
    let file = dir.path().join("pg.backup");
    let out = file.to_str().unwrap();
    let backup = deskgate(&["backup", "--config", source.to_str().unwrap(), "--out", out]);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    assert!(text(&backup.stdout).contains("incidents 2"), "{}", text(&backup.stdout));
    assert!(!text(&backup.stdout).contains(dir.path().join("data-source").to_str().unwrap()), "not the data_dir");
    drop(gateway);

    let restored = deskgate(&["restore", "--config", target.to_str().unwrap(), "--in", out]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let (from, to) = (store(&source_url).await, store(&target_url).await);
    let before = contents(&from).await;
    assert_eq!(before["incidents"].as_array().unwrap().len(), 2);
    assert_eq!(contents(&to).await, before, "incidents, audit and outbox all came back");
    assert_eq!(
        to.find_by_ref(&"region-h".parse().unwrap(), &"INC0090001".parse().unwrap()).await.unwrap(),
        from.find_by_ref(&"region-h".parse().unwrap(), &"INC0090001".parse().unwrap()).await.unwrap(),
        "the cross-reference came back"
    );

    // A database that is not empty is refused without --force, and replaced with it.
    let again = deskgate(&["restore", "--config", target.to_str().unwrap(), "--in", out]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("not empty") && text(&again.stderr).contains("--force"));
    let forced = deskgate(&["restore", "--config", target.to_str().unwrap(), "--in", out, "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert_eq!(contents(&to).await, before);
}
