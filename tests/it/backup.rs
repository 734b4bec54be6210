//! `deskgate backup` and `deskgate restore` against a store filled through a real
//! gateway: everything comes back, a corrupt line is refused by number, a running
//! gateway's store is refused with a readable message.

use crate::kit;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use kit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn deskgate(args: &[&str]) -> Output {
    kit::binary::command().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything an operator can see of the store, through the API.
async fn visible_state(gw: &TestGateway) -> Value {
    let outbox: Value = gw.get("sds", "/api/v1/outbox").await.json().await.unwrap();
    let dead: Value = gw.get("sds", "/api/v1/dead-letters").await.json().await.unwrap();
    let by_ref: Value = gw.get("region-h", "/api/v1/refs/region-h/INC0070001").await.json().await.unwrap();
    json!({
        "incidents": gw.all_incidents().await,
        "audit": gw.audit().await,
        "outbox": outbox["items"],
        "dead_letters": dead["items"],
        "ref": by_ref,
    })
}

async fn eventually_dead_lettered(gw: &TestGateway) {
    eventually(
        Duration::from_secs(10),
        "the delivery to the unreachable national desk becomes a dead letter",
        async || {
            let dead: Value = gw.get("sds", "/api/v1/dead-letters").await.json().await.unwrap();
            dead["items"].as_array().is_some_and(|i| !i.is_empty()).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn backup_of_a_stopped_gateway_restores_everything_into_a_fresh_store() {
    let mut gw = TestGateway::start_edited(
        |c| {
            c.unreachable_national();
        },
        reqwest::Client::new(),
    )
    .await;
    let store = gw.data.path().join("store");
    let first: Value = gw.submit("region-h", &incident("INC0070001")).await.json().await.unwrap();
    let id = first["id"].as_str().unwrap().to_owned();
    eventually_dead_lettered(&gw).await;
    let note = gw
        .send(
            "region-h",
            reqwest::Method::POST,
            &format!("/api/v1/incidents/{id}/notes"),
            &json!({ "body": "Still failing at 02:10; pharmacies are calling." }),
        )
        .await;
    assert_eq!(note.status(), StatusCode::CREATED);
    assert_eq!(gw.submit("pharmacy", &incident("APO-17")).await.status(), StatusCode::CREATED);
    // Let delivery settle before the snapshot: the second report's delivery to the
    // unreachable national desk becomes a dead letter too; only the note, held behind
    // the first dead letter, stays in the outbox. Otherwise it could move between the
    // snapshot and the shutdown.
    let _ = poll_until(Duration::from_secs(10), async || {
        let dead: Value = gw.get("sds", "/api/v1/dead-letters").await.json().await.unwrap();
        dead["items"].as_array().is_some_and(|i| i.len() >= 2).then_some(())
    })
    .await;
    let before = visible_state(&gw).await;
    assert_eq!(before["incidents"].as_array().unwrap().len(), 2);
    assert!(!before["outbox"].as_array().unwrap().is_empty(), "a delivery waits behind the dead letter: {before:#}");
    assert!(!before["dead_letters"].as_array().unwrap().is_empty());
    assert!(before["audit"].as_array().unwrap().len() >= 3);

    // While the gateway runs, its store is refused with a message a person understands.
    let out_file = gw.data.path().join("deskgate.backup");
    let out_arg = out_file.to_str().unwrap();
    let busy = deskgate(&["backup", "--data-dir", store.to_str().unwrap(), "--out", out_arg]);
    assert!(!busy.status.success());
    assert!(text(&busy.stderr).contains("in use by another process"), "{}", text(&busy.stderr));
    assert!(!out_file.exists(), "no partial backup is left behind");

    gw.shutdown().await;
    let done = deskgate(&["backup", "--data-dir", store.to_str().unwrap(), "--out", out_arg]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(text(&done.stdout).contains("incidents 2"), "{}", text(&done.stdout));

    // A fresh gateway: started once so its data directory exists, then stopped.
    let mut fresh = TestGateway::start().await;
    fresh.shutdown().await;
    let fresh_store = fresh.data.path().join("store");
    let restored = deskgate(&["restore", "--in", out_arg, "--data-dir", fresh_store.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));

    // Restoring again over it is refused without --force, and allowed with it.
    let again = deskgate(&["restore", "--in", out_arg, "--data-dir", fresh_store.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("not empty") && text(&again.stderr).contains("--force"));
    let forced = deskgate(&["restore", "--in", out_arg, "--data-dir", fresh_store.to_str().unwrap(), "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));

    let fresh = fresh.restart().await;
    let after = visible_state(&fresh).await;
    assert_eq!(after, before, "incidents, refs, audit, outbox and dead letters all came back");

    // New writes take new sequence numbers: no restored audit entry is overwritten.
    assert_eq!(fresh.submit("gp", &incident("GP-1")).await.status(), StatusCode::CREATED);
    let audit = fresh.audit().await;
    assert_eq!(audit.len(), before["audit"].as_array().unwrap().len() + 1);
    assert_eq!(&audit[..audit.len() - 1], before["audit"].as_array().unwrap().as_slice());
    let ids: Vec<String> = fresh.all_incidents().await.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 3, "incident ids keep counting: {ids:?}");
    assert!(ids[2] > ids[1] && ids[1] > ids[0], "{ids:?}");
}

#[tokio::test]
async fn a_corrupt_line_is_refused_by_number_and_nothing_is_restored() {
    let mut gw = TestGateway::start().await;
    for n in 0..3 {
        assert_eq!(gw.submit("region-h", &incident(&format!("INC00800{n}"))).await.status(), StatusCode::CREATED);
    }
    gw.shutdown().await;
    let store = gw.data.path().join("store");
    let file = gw.data.path().join("b.jsonl");
    let out = deskgate(&["backup", "--data-dir", store.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let original = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    let victim = lines.iter().position(|l| l.starts_with("{\"incident\":")).unwrap();
    lines[victim] = lines[victim].replacen("\"id\":\"", "\"id\":\"%%", 1);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let target = tempfile::tempdir().unwrap();
    let refused = deskgate(&["restore", "--in", file.to_str().unwrap(), "--data-dir", target.path().to_str().unwrap()]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(stderr.contains(&format!("line {}", victim + 1)), "{stderr}");

    // Nothing was written: the intact file still restores into the same directory.
    std::fs::write(&file, &original).unwrap();
    let ok = deskgate(&["restore", "--in", file.to_str().unwrap(), "--data-dir", target.path().to_str().unwrap()]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
}

#[test]
fn backup_takes_the_data_directory_from_the_configuration_and_refuses_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let missing = dir.path().join("nowhere");
    std::fs::write(&config, format!("[gateway]\ndata_dir = \"{}\"\n", missing.display())).unwrap();
    let out = deskgate(&["backup", "--config", config.to_str().unwrap(), "--out", "unused.jsonl"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no such data directory"), "{}", text(&out.stderr));
    assert!(!Path::new("unused.jsonl").exists());
}

fn audit_entry(reason: &str) -> deskgate::store::AuditEntry {
    deskgate::store::AuditEntry::new(jiff::Timestamp::now(), deskgate::store::AuditKind::Submitted, reason)
        .with_desk("region-h")
}

/// sled moves its id generator on by millions at every open, so a store that has
/// lived through restarts holds sequence numbers far above a fresh store's. A
/// restore must move the fresh store's generator past them, or new audit entries
/// and deliveries would sort before the restored ones (and could overwrite them).
#[tokio::test]
async fn new_sequence_numbers_after_a_restore_come_after_every_restored_one() {
    use deskgate::store::{SledStore, Store};
    let source = tempfile::tempdir().unwrap();
    for _ in 0..4 {
        drop(SledStore::open(source.path()).unwrap());
    }
    let store = SledStore::open(source.path()).unwrap();
    for n in 0..3 {
        store.audit(audit_entry(&format!("old {n}"))).await.unwrap();
    }
    let mut backup = Vec::new();
    store.export(&mut backup).await.unwrap();
    drop(store);

    let target = tempfile::tempdir().unwrap();
    let restored = SledStore::open(target.path()).unwrap();
    let summary = restored.import(&mut backup.as_slice(), false).await.unwrap();
    assert_eq!(summary.records, 3);
    restored.audit(audit_entry("new")).await.unwrap();
    let log = restored.audit_log(None, 100).await.unwrap();
    let reasons: Vec<&str> = log.iter().map(|(_, e)| e.reason.as_str()).collect();
    assert_eq!(reasons, ["old 0", "old 1", "old 2", "new"]);
}

/// A backup written before the typed format (sled trees and base64 keys) restores
/// through the command, converted as it is read, and a backup of the result is
/// written in the current format.
#[test]
fn a_format_1_backup_restores_through_the_command() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backup/v1.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let restored = deskgate(&["restore", "--in", fixture.to_str().unwrap(), "--data-dir", store.to_str().unwrap()]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(text(&restored.stdout).contains("10 records") && text(&restored.stdout).contains("incidents 2"));
    let out = dir.path().join("again.jsonl");
    let backup = deskgate(&["backup", "--data-dir", store.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with("{\"deskgate_backup\":2,"), "{written}");
    assert_eq!(written.lines().filter(|l| l.starts_with("{\"incident\":")).count(), 2);
    assert!(written.lines().last().unwrap().contains("\"sequences\":{\"incident\":2,"), "{written}");
}
