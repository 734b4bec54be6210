//! Test harness: a real gateway on 127.0.0.1:0 with a sled store in a temp dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use deskgate::auth::{Claims, sign};
use deskgate::config::{Config, MapEnv};
use deskgate::startup::Application;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const AUDIENCE: &str = "deskgate";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The federation the tests run: the NSP desks plus an RS256 and an ES256 desk.
pub fn config_text(data_dir: &Path, max_body: usize) -> String {
    format!(
        r#"
[gateway]
listen = "127.0.0.1:0"
data_dir = "{data}"
public_url = "http://gateway.test"
max_body_bytes = {max_body}

[desks.region-h]
name = "Region Hovedstaden Service Desk"
role = "local"
system = "servicenow"
organisations = ["rigshospitalet"]
contact = {{ name = "Region Hovedstaden Service Desk", email = "servicedesk@regionh.example", phone = "+45 38 66 50 00" }}
auth = {{ issuer = "idp.regionh", algorithm = "HS256", secret = {{ env = "T_REGION_H" }} }}

[desks.region-m]
name = "Region Midtjylland IT Service Desk"
role = "local"
system = "jira"
organisations = ["aarhus-universitetshospital"]
contact = {{ name = "Region Midtjylland IT Service Desk", email = "itservicedesk@rm.example" }}
auth = {{ issuer = "idp.rm", algorithm = "HS256", secret = {{ env = "T_REGION_M" }} }}

[desks.pharmacy]
name = "Pharmacy chain desk"
role = "local"
system = "native"
auth = {{ issuer = "idp.pharmacy", algorithm = "RS256", public_key = {{ file = "{rsa}" }} }}

[desks.gp]
name = "GP practices desk"
role = "local"
system = "native"
auth = {{ issuer = "idp.gp", algorithm = "ES256", public_key = {{ file = "{ec}" }} }}

[desks.sds]
name = "National Service Desk"
role = "national"
system = "native"
auth = {{ issuer = "idp.sds", algorithm = "HS256", secret = {{ env = "T_SDS" }} }}

[desks.fmk]
name = "FMK supplier"
role = "supplier"
system = "native"
services = ["FMK"]
auth = {{ issuer = "idp.fmk", algorithm = "HS256", secret = {{ env = "T_FMK" }} }}

[desks.drift]
name = "Operations supplier"
role = "supplier"
system = "native"
services = ["*"]
auth = {{ issuer = "idp.drift", algorithm = "HS256", secret = {{ env = "T_DRIFT" }} }}
"#,
        data = data_dir.display(),
        rsa = fixture("keys/pharmacy-rs256.pub.pem").display(),
        ec = fixture("keys/gp-es256.pub.pem").display(),
    )
}

pub fn env() -> MapEnv {
    MapEnv::new(false)
        .with("T_REGION_H", "region-h-test-secret")
        .with("T_REGION_M", "region-m-test-secret")
        .with("T_SDS", "sds-test-secret")
        .with("T_FMK", "fmk-test-secret")
        .with("T_DRIFT", "drift-test-secret")
}

pub fn now() -> u64 {
    jiff::Timestamp::now().as_second() as u64
}

/// Claims of a desk token, valid for an hour.
pub fn claims(issuer: &str, subject: &str) -> Claims {
    Claims {
        iss: issuer.into(),
        sub: subject.into(),
        aud: AUDIENCE.into(),
        exp: now() + 3600,
        nbf: Some(now() - 5),
        iat: Some(now()),
        role: Some("desk".into()),
        org: None,
    }
}

pub fn hs256(claims: &Claims, secret: &str) -> String {
    sign(claims, Algorithm::HS256, secret.as_bytes()).unwrap()
}

pub fn rs256(claims: &Claims) -> String {
    let pem = std::fs::read(fixture("keys/pharmacy-rs256.key.pem")).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

pub fn es256(claims: &Claims) -> String {
    let pem = std::fs::read(fixture("keys/gp-es256.key.pem")).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

pub struct TestGateway {
    pub base: String,
    pub data: tempfile::TempDir,
    pub client: reqwest::Client,
    max_body: usize,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestGateway {
    pub async fn start() -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), 1024 * 1024).await
    }

    pub async fn start_with_body_limit(max_body: usize) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), max_body).await
    }

    async fn start_in(data: tempfile::TempDir, max_body: usize) -> Self {
        let text = config_text(&data.path().join("store"), max_body);
        Self::launch(data, &text, max_body, reqwest::Client::new()).await
    }

    /// A gateway on the standard test federation as changed by `edit` (see
    /// [`with_gateway_keys`], [`with_desk_keys`]), talked to with `client`.
    /// `restart` brings such a gateway back with the standard configuration.
    pub async fn start_edited(edit: impl FnOnce(String) -> String, client: reqwest::Client) -> Self {
        let data = tempfile::tempdir().unwrap();
        let text = edit(config_text(&data.path().join("store"), 1024 * 1024));
        Self::launch(data, &text, 1024 * 1024, client).await
    }

    async fn launch(data: tempfile::TempDir, text: &str, max_body: usize, client: reqwest::Client) -> Self {
        let config = Config::from_toml(text, Path::new("."), &env()).expect("test config");
        let app = Application::build(config).await.expect("gateway starts");
        // `https` when the configuration has [gateway.tls].
        let base = format!("{}://{}", app.scheme(), app.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self { base, data, client, max_body, stop: Some(stop), task: Some(task) }
    }

    /// Stop the gateway (the store closes) and start a new one on the same data.
    pub async fn restart(mut self) -> Self {
        self.shutdown().await;
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().unwrap());
        Self::start_in(data, self.max_body).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, desk: &str) -> String {
        match desk {
            "region-h" => hs256(&claims("idp.regionh", "region-h"), "region-h-test-secret"),
            "region-m" => hs256(&claims("idp.rm", "region-m"), "region-m-test-secret"),
            "sds" => hs256(&claims("idp.sds", "sds"), "sds-test-secret"),
            "fmk" => hs256(&claims("idp.fmk", "fmk"), "fmk-test-secret"),
            "drift" => hs256(&claims("idp.drift", "drift"), "drift-test-secret"),
            "pharmacy" => rs256(&claims("idp.pharmacy", "pharmacy")),
            "gp" => es256(&claims("idp.gp", "gp")),
            other => panic!("no test desk {other}"),
        }
    }

    pub async fn submit(&self, desk: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url("/api/v1/incidents")).bearer_auth(self.token(desk)).json(body).send().await.unwrap()
    }

    pub async fn get(&self, desk: &str, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(self.token(desk)).send().await.unwrap()
    }

    pub async fn patch(&self, desk: &str, id: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(&format!("/api/v1/incidents/{id}")))
            .bearer_auth(self.token(desk))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Every incident the national desk can see.
    pub async fn all_incidents(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/incidents?limit=200&cursor={c}"),
                None => "/api/v1/incidents?limit=200".into(),
            };
            let page: Value = self.get("sds", &path).await.json().await.unwrap();
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    pub async fn audit(&self) -> Vec<Value> {
        let page: Value = self.get("sds", "/api/v1/audit?limit=1000").await.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `text` with `keys` (TOML lines) added to its `[gateway]` table.
pub fn with_gateway_keys(text: &str, keys: &str) -> String {
    assert!(text.contains("[gateway]\n"), "no [gateway] table to extend");
    text.replacen("[gateway]\n", &format!("[gateway]\n{keys}\n"), 1)
}

/// `text` with `keys` (TOML lines) added to the table of desk `desk`.
pub fn with_desk_keys(text: &str, desk: &str, keys: &str) -> String {
    let header = format!("[desks.{desk}]\n");
    assert!(text.contains(&header), "no desk {desk} to extend");
    text.replacen(&header, &format!("{header}{keys}\n"), 1)
}

/// The shipped escalation ruleset, by absolute path.
pub fn shipped_contacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/contacts.toml")
}

pub fn incident(ticket: &str) -> Value {
    serde_json::json!({
        "title": "FMK: prescriptions cannot be read",
        "description": "Since 01:40 no prescriptions are shown in the FMK client at Rigshospitalet.",
        "service": "FMK",
        "ticket_id": ticket,
        "urgency": "high",
        "impact": "medium",
    })
}

pub type Shared<T> = Arc<T>;
