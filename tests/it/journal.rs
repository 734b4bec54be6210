//! Journalising a closed incident (process step 17) through each sink, and under
//! SIGKILL: the journal entry is planned in the outbox in the same transaction as the
//! close, so a gateway killed between the close and the journal still journals the
//! incident — once, by the sink's idempotency (the webhook's `Idempotency-Key`, the
//! mail's fixed Message-ID, the directory's file name).

use crate::kit;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::HeaderMap;
use deskgate_sim::smtp::SmtpSim;
use kit::{RunningBinary, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// A journal system's webhook: records every request with its idempotency key;
/// while `hold` is set it never answers (the gateway dies waiting).
#[derive(Clone, Default)]
struct JournalSystem {
    hold: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    /// What it keeps: one entry per idempotency key.
    entries: Arc<Mutex<BTreeMap<String, Value>>>,
}

async fn receive(State(j): State<JournalSystem>, headers: HeaderMap, body: axum::Json<Value>) -> StatusCode {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    j.requests.lock().await.push((key.clone(), body.0.clone()));
    if j.hold.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    j.entries.lock().await.entry(key).or_insert(body.0);
    StatusCode::CREATED
}

impl JournalSystem {
    async fn spawn() -> (JournalSystem, String) {
        let j = JournalSystem::default();
        let app = axum::Router::new().route("/journal", axum::routing::post(receive)).with_state(j.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/journal", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (j, url)
    }
}

fn config_text(data: &Path, journal: Value, smtp: Option<u16>) -> String {
    let mut c = kit::GatewayConfig::new(data);
    c.gateway("delivery", json!({ "retry_base_ms": 20, "retry_max_ms": 200, "max_attempts": 1000, "concurrency": 4 }));
    c.open_rate_limits();
    c.gateway("journal", journal);
    if let Some(port) = smtp {
        let from = "deskgate <deskgate@sds.example>";
        c.gateway("smtp", json!({ "host": "127.0.0.1", "port": port, "from": from, "tls": "none" }));
    }
    c.desk("region-h", kit::Desk::known("region-h", "Region H", "local", "native"));
    c.desk("sds", kit::Desk::known("sds", "National Service Desk", "national", "native"));
    c.render()
}

async fn start(config: &Path, log: &Path, client: &reqwest::Client) -> RunningBinary {
    let env = kit::tokens::federation_env().vars.into_iter().chain([("RUST_LOG".to_owned(), "info".to_owned())]);
    RunningBinary::serve(config, log, env).await.ready(client).await
}

async fn call(client: &reqwest::Client, base: &str, desk: &str, method: Method, path: &str, body: Value) -> Value {
    let res = client.request(method, format!("{base}{path}")).bearer_auth(kit::token(desk)).json(&body).send();
    let res = res.await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Region H reports a P3; the national desk resolves and closes it: the incident id.
async fn closed_incident(client: &reqwest::Client, base: &str, ticket: &str) -> String {
    let submit = json!({"title": "NSP: lookups time out", "description": "Reported by phone", "service": "NSP", "ticket_id": ticket});
    let created = call(client, base, "region-h", Method::POST, "/api/v1/incidents", submit).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/incidents/{id}");
    for change in [json!({"priority": "P3"}), json!({"status": "resolved"}), json!({"status": "closed"})] {
        call(client, base, "sds", Method::PATCH, &path, change).await;
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_17_a_crash_between_close_and_journal_still_journals_once() {
    let (journal, url) = JournalSystem::spawn().await;
    journal.hold.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, config_text(&dir.path().join("data"), json!({"kind": "webhook", "url": url}), None))
        .unwrap();
    let client = reqwest::Client::new();

    let mut gw = start(&config, &dir.path().join("deskgate-0.log"), &client).await;
    let id = closed_incident(&client, &gw.base(), "RH-1").await;
    // The close is answered (durable); the journal system holds the entry unanswered.
    let started = wait_until(async || !journal.requests.lock().await.is_empty()).await;
    assert!(started, "the journal delivery began");
    gw.kill();
    assert!(journal.entries.lock().await.is_empty(), "killed before the journal took the entry");

    journal.hold.store(false, Ordering::SeqCst);
    let gw = start(&config, &dir.path().join("deskgate-1.log"), &client).await;
    let journalised = wait_until(async || !journal.entries.lock().await.is_empty()).await;
    assert!(journalised, "the restarted gateway journalises the closed incident");
    let drained = wait_until(async || {
        let outbox = call(&client, &gw.base(), "sds", Method::GET, "/api/v1/outbox", json!(null)).await;
        outbox["items"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    assert!(drained, "the journal delivery completed");

    let requests = journal.requests.lock().await.clone();
    assert!(requests.len() >= 2, "sent before the kill and again after it: {requests:#?}");
    let key = format!("journal-{id}");
    assert!(requests.iter().all(|(k, _)| k == &key), "every attempt carries the one key: {requests:#?}");
    let entries = journal.entries.lock().await.clone();
    assert_eq!(entries.len(), 1, "journalised once: {entries:#?}");
    let entry = &entries[&key];
    assert_eq!(entry["incident"], id.as_str());
    assert!(entry["timeline"].as_array().unwrap().iter().any(|h| h["to"] == "closed"), "{entry:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_17_a_closed_incident_is_journalised_by_mail_through_the_smtp_server() {
    let smtp = SmtpSim::spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let journal = json!({"kind": "mail", "to": ["journal@sds.example"]});
    std::fs::write(&config, config_text(&dir.path().join("data"), journal, Some(smtp.port()))).unwrap();
    let client = reqwest::Client::new();
    let gw = start(&config, &dir.path().join("deskgate.log"), &client).await;
    let id = closed_incident(&client, &gw.base(), "RH-2").await;
    let mail = smtp.wait_for("journal@sds.example", 1).await.unwrap().remove(0);
    assert!(mail.subject.contains(&id), "{mail:?}");
    assert!(mail.body.contains("\"timeline\"") && mail.body.contains("closed"), "{mail:?}");
}

/// `check-config` on the federation with `[gateway] key = value`: its output.
fn check_config(dir: &Path, key: &str, value: Value) -> (bool, String) {
    check_config_with_desk(dir, key, value, "gp")
}

/// [`check_config`] with one more local desk, `extra`.
fn check_config_with_desk(dir: &Path, key: &str, value: Value, extra: &str) -> (bool, String) {
    let mut c = kit::GatewayConfig::new(&dir.join("data"));
    c.gateway(key, value);
    c.desk(extra, kit::Desk::new("Another local desk", "local", "native"));
    c.desk("region-h", kit::Desk::known("region-h", "Region H", "local", "native"));
    c.desk("sds", kit::Desk::known("sds", "National Service Desk", "national", "native"));
    c.desk("fmk", kit::Desk::known("fmk", "FMK supplier", "supplier", "native").services(&["FMK"]));
    let config = dir.join("gateway.toml");
    std::fs::write(&config, c.render()).unwrap();
    let mut cmd = kit::binary::command();
    cmd.arg("check-config").arg(&config).envs(kit::tokens::federation_env().vars);
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn check_config_names_a_bad_journal_or_report_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("journal", json!({"kind": "archive"}), "gateway.journal.kind"),
        ("journal", json!({"kind": "directory"}), "gateway.journal.path"),
        ("journal", json!({"kind": "webhook", "url": "ftp://journal.example"}), "gateway.journal.url"),
        ("journal", json!({"kind": "mail", "to": ["journal@sds.example"]}), "gateway.journal.kind"),
        ("journal", json!({"kind": "mail", "to": ["journal"]}), "gateway.journal.to[0]"),
        ("report", json!({"operations_supplier": "sds"}), "gateway.report.operations_supplier"),
        ("report", json!({"quality_check": ["fmk", "nobody"]}), "gateway.report.quality_check[1]"),
        ("report", json!({"operator": "nobody"}), "gateway.report.operator"),
        ("report", json!({"incident_managers": ["Mette\nHolm"]}), "gateway.report.incident_managers[0]"),
    ];
    for (key, value, path) in cases {
        let (ok, text) = check_config(dir.path(), key, value.clone());
        assert!(!ok, "{value}");
        assert!(text.contains(path), "{value}: expected {path} in {text}");
    }
    let (ok, text) =
        check_config(dir.path(), "report", json!({"operations_supplier": "fmk", "quality_check": ["fmk"]}));
    assert!(ok, "{text}");
    let directory = json!({"kind": "directory", "path": "journal"});
    let (ok, text) = check_config(dir.path(), "journal", directory.clone());
    assert!(ok, "{text}");
    // The journal's lane is named like a desk: no desk may take that id.
    let (ok, text) = check_config_with_desk(dir.path(), "journal", directory, "journal");
    assert!(!ok && text.contains("desks.journal"), "{text}");
}
