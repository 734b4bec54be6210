//! The unmodified Python clients — `pysnc` for ServiceNow, `jira` for Jira — against
//! a real gateway over HTTPS, with the scripts in `tests/clients/`.
//!
//! The clients are installed in a virtual environment under `target/` from
//! `tests/clients/requirements.txt` (pinned versions), once per requirements file.
//! This needs `python3` and PyPI; without them the tests fail and say so.

use crate::kit;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;

use kit::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serialises building the virtual environment between the tests of this file.
static VENV: Mutex<()> = Mutex::new(());

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The virtual environment with the pinned clients, built when missing or when the
/// requirements changed. Panics with the reason when Python or PyPI is unavailable.
fn python() -> PathBuf {
    let _guard = VENV.lock().unwrap_or_else(|e| e.into_inner());
    let requirements = clients_dir().join("requirements.txt");
    let wanted = hex::encode(Sha256::digest(std::fs::read(&requirements).unwrap()));
    let stamp = ("requirements.sha256", wanted.as_str());
    kit::python::venv("deskgate-py-clients", &requirements, stamp, "the real clients (pysnc, jira)").join("bin/python")
}

/// A CA and a server certificate for 127.0.0.1, written to a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
}

impl Pki {
    fn new() -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(DnType::CommonName, "deskgate real-client test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        server.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server.signed_by(&server_key, &Issuer::from_params(&ca, &ca_key)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
        std::fs::write(dir.path().join("server.pem"), server_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
        Pki { dir, ca_pem }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tls_keys(&self) -> String {
        format!(
            "tls = {{ cert = \"{}\", key = {{ file = \"{}\" }} }}",
            self.path("server.pem").display(),
            self.path("server.key").display()
        )
    }

    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .build()
            .unwrap()
    }
}

/// The test federation over HTTPS, with the national desk on ServiceNow and the
/// operations supplier on Jira (their endpoints are never reached here).
fn federation(c: &mut GatewayConfig, pki: &Pki) {
    c.desk("sds", crate::servicenow_api::servicenow_national());
    c.desk("drift", crate::jira_api::jira_drift());
    // Links in answers point where the clients connect.
    c.without_gateway("public_url");
    c.gateway_toml(&pki.tls_keys());
}

/// Run `script` (its name, then its arguments) with the venv's Python; its last
/// line of output, as JSON.
async fn run(script: &str, gw: &TestGateway, pki: &Pki, tokens: &[(&str, String)]) -> Value {
    let python = tokio::task::spawn_blocking(python).await.unwrap();
    let mut command = tokio::process::Command::new(python);
    let mut words = script.split(' ');
    command
        .arg(clients_dir().join(words.next().unwrap_or_default()))
        .args(words)
        .env("DESKGATE_URL", &gw.base)
        .env("DESKGATE_CA", pki.path("ca.pem"))
        .env("REQUESTS_CA_BUNDLE", pki.path("ca.pem"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (name, token) in tokens {
        command.env(name, token);
    }
    let out = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed ({}):\n{stdout}\n{stderr}", out.status);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

async fn incident(gw: &TestGateway, id: &str) -> Value {
    let r = gw.get("sds", &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(r.status(), reqwest::StatusCode::OK, "{id}");
    r.json().await.unwrap()
}

fn note_bodies(incident: &Value) -> Vec<String> {
    incident["notes"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysnc_inserts_gets_queries_and_updates_through_the_table_api() {
    let pki = Pki::new();
    let gw = TestGateway::start_edited(|c| federation(c, &pki), pki.client()).await;
    assert!(gw.base.starts_with("https://"), "{}", gw.base);
    let tokens = [("DESKGATE_LOCAL_TOKEN", gw.token("region-h")), ("DESKGATE_NATIONAL_TOKEN", gw.token("sds"))];
    let seen = run("servicenow_pysnc.py", &gw, &pki, &tokens).await;

    assert_eq!(seen["state"], "2", "{seen}");
    assert_eq!(seen["priority"], "1", "{seen}");
    assert_eq!(seen["queried"], serde_json::json!([seen["sys_id"]]));
    // The versioned paths: a v2 list with display values and links, a v1 record, and
    // a v1 list filtered by name-value pairs.
    assert_eq!(seen["v2_listed"], serde_json::json!(["INC0000001", "INC0000002"]));
    assert_eq!(seen["v1_state"], serde_json::json!({"display_value": "In Progress", "value": "2"}), "{seen}");
    assert_eq!(seen["v1_filtered"], serde_json::json!([seen["sys_id"]]));
    let id = seen["incident"].as_str().unwrap();
    let i = incident(&gw, id).await;
    assert_eq!(i["title"], "FMK: prescriptions cannot be read (pysnc)");
    assert_eq!(i["origin"], serde_json::json!({"desk": "region-h", "ticket": "PYSNC-0001"}));
    assert_eq!((i["status"].as_str(), i["priority"].as_str()), (Some("in_progress"), Some("P1")));
    assert_eq!(note_bodies(&i), ["Reported by ward 4", "Ward 5 affected as well", "Checked by the regional desk"]);
    let all = gw.all_incidents().await;
    assert_eq!(all.len(), 2, "two inserts, two incidents");
    assert!(
        all.iter().all(|i| note_bodies(i).last().map(String::as_str) == Some("Checked by the regional desk")),
        "update_multiple (the Batch API) wrote to both"
    );
}

/// `script` (the Jira client and its mode) against a fresh gateway, as the local
/// desk, the operations supplier and the national desk; the certificates live as
/// long as the first value is kept.
async fn jira_client(script: &str) -> (Pki, TestGateway, Value) {
    let pki = Pki::new();
    let gw = TestGateway::start_edited(|c| federation(c, &pki), pki.client()).await;
    let tokens = [
        ("DESKGATE_LOCAL_TOKEN", gw.token("region-m")),
        ("DESKGATE_SUPPLIER_TOKEN", gw.token("drift")),
        ("DESKGATE_NATIONAL_TOKEN", gw.token("sds")),
    ];
    let seen = run(script, &gw, &pki, &tokens).await;
    (pki, gw, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jira_package_creates_comments_searches_and_transitions() {
    let (_pki, gw, seen) = jira_client("jira_client.py").await;

    assert_eq!(seen["key"], "DG-1", "{seen}");
    assert_eq!(seen["status"], "In Progress", "{seen}");
    let id = seen["incident"].as_str().unwrap();
    let i = incident(&gw, id).await;
    assert_eq!(i["origin"], serde_json::json!({"desk": "region-m", "ticket": "PYJIRA-0001"}));
    assert_eq!((i["status"].as_str(), i["assignee"].as_str()), (Some("in_progress"), Some("drift")));
    assert_eq!(i["priority"], "P2");
    assert_eq!(note_bodies(&i), ["Ward 4 reports the same", "Investigating the certificate store"]);
}

/// The same package configured for Jira Cloud (REST v3): it reads `Cloud` from
/// serverInfo and so searches through `search/jql`, names users by `accountId`
/// and gets ADF bodies; the comment it resolves with is the resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jira_package_in_cloud_mode_creates_searches_and_resolves() {
    let (_pki, gw, seen) = jira_client("jira_client.py cloud").await;

    assert_eq!((seen["key"].as_str(), seen["status"].as_str()), (Some("DG-1"), Some("Resolved")), "{seen}");
    assert_eq!(seen["resolution"], "Done", "{seen}");
    let id = seen["incident"].as_str().unwrap();
    let i = incident(&gw, id).await;
    assert_eq!(i["origin"], serde_json::json!({"desk": "region-m", "ticket": "PYJIRA-CLOUD"}));
    assert_eq!(i["status"], "resolved");
    assert_eq!(
        note_bodies(&i),
        ["Ward 4 reports the same", "Investigating the certificate store", "Renewed the certificate"]
    );
    let outbox = gw.get("sds", "/api/v1/outbox").await.json::<Value>().await.unwrap();
    let to_national = outbox["items"].as_array().unwrap().iter().filter(|d| d["desk"] == "sds");
    let resolved = to_national.map(|d| &d["action"]).find(|a| a["status"] == "resolved");
    assert_eq!(resolved.map(|a| &a["resolution"]), Some(&serde_json::json!("Renewed the certificate")), "{outbox}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysnc_attaches_lists_and_reads_a_file_through_the_attachment_api() {
    let pki = Pki::new();
    let gw = TestGateway::start_edited(|c| federation(c, &pki), pki.client()).await;
    let seen = run("pysnc_attachment.py", &gw, &pki, &[("DESKGATE_LOCAL_TOKEN", gw.token("region-h"))]).await;
    assert_eq!(seen["names"], serde_json::json!(["blank-view.png"]), "{seen}");
    assert_eq!(seen["size"], 8 + 256 * 8);
    let location = seen["location"].as_str().unwrap_or_default();
    assert!(location.starts_with(&gw.base) && location.ends_with("/file"), "{location}");
    let i = incident(&gw, seen["incident"].as_str().unwrap()).await;
    let attachments = i["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{i}");
    assert_eq!(
        (attachments[0]["file_name"].as_str(), attachments[0]["content_type"].as_str()),
        (Some("blank-view.png"), Some("image/png"))
    );
    assert_eq!(attachments[0]["added_by"], "region-h");
}
