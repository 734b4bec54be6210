//! The gateway configuration tests run, built as TOML values (never edited as text):
//! the `[gateway]` table and one typed [`Desk`] per desk, rendered to TOML and loaded
//! through the gateway's own loader.

use std::path::{Path, PathBuf};

use deskgate::config::{Config, MapEnv, Problem};
use serde::Serialize;
use toml::{Table, Value};

use super::tokens::{self, Key};

/// Any serialisable value (numbers, strings, `json!({…})` tables) as a TOML value.
pub fn value(v: impl Serialize) -> Value {
    Value::try_from(v).expect("a value TOML can hold")
}

/// `{ env = "NAME" }`: a secret read from the environment.
pub fn env_secret(name: &str) -> Value {
    value(serde_json::json!({ "env": name }))
}

/// One desk of the federation, as its `[desks.<id>]` table.
#[derive(Clone, Debug)]
pub struct Desk(Table);

impl Desk {
    pub fn new(name: &str, role: &str, system: &str) -> Self {
        let mut t = Table::new();
        t.insert("name".into(), value(name));
        t.insert("role".into(), value(role));
        t.insert("system".into(), value(system));
        Desk(t)
    }

    /// The desk as the token table knows it: its `auth` from [`tokens::DESKS`].
    pub fn known(id: &str, name: &str, role: &str, system: &str) -> Self {
        Desk::new(name, role, system).set("auth", tokens::auth(id))
    }

    /// Region H on the ServiceNow at `endpoint`, the gateway signing in as its
    /// integration user.
    pub fn region_h_on_servicenow(endpoint: &str) -> Self {
        Desk::known("region-h", "Region Hovedstaden Service Desk", "local", "servicenow")
            .endpoint(endpoint)
            .basic_credentials("deskgate.integration", "T_SN_PASSWORD")
    }

    /// The national desk on the ClearQuest at `endpoint`; `clearquest` is its
    /// `clearquest` table (`repo`, `db`, `poll_ms`).
    pub fn sds_on_clearquest(endpoint: &str, clearquest: serde_json::Value) -> Self {
        Desk::known("sds", "National Service Desk", "national", "clearquest")
            .endpoint(endpoint)
            .basic_credentials("deskgate", "T_CQ_PASSWORD")
            .set("clearquest", clearquest)
    }

    /// The operations supplier (every service) on the Jira at `endpoint`; `jira` is
    /// its `jira` table.
    pub fn drift_on_jira(endpoint: &str, jira: serde_json::Value) -> Self {
        Desk::known("drift", "Operations supplier", "supplier", "jira")
            .endpoint(endpoint)
            .services(&["*"])
            .bearer_credentials("T_JIRA_TOKEN")
            .set("jira", jira)
    }

    /// Tokens signed HS256 by `issuer` with the secret in environment variable `env`
    /// (for desks outside the token table).
    pub fn hs256(self, issuer: &str, env: &str) -> Self {
        self.set("auth", serde_json::json!({ "issuer": issuer, "algorithm": "HS256", "secret": { "env": env } }))
    }

    /// `key = v`, replacing what was there.
    pub fn set(mut self, key: &str, v: impl Serialize) -> Self {
        self.0.insert(key.into(), value(v));
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.0.remove(key);
        self
    }

    pub fn endpoint(self, url: &str) -> Self {
        self.set("endpoint", url)
    }

    pub fn services(self, services: &[&str]) -> Self {
        self.set("services", services)
    }

    pub fn basic_credentials(self, username: &str, password_env: &str) -> Self {
        let c = serde_json::json!({ "kind": "basic", "username": username, "password": { "env": password_env } });
        self.set("credentials", c)
    }

    pub fn bearer_credentials(self, token_env: &str) -> Self {
        self.set("credentials", serde_json::json!({ "kind": "bearer", "token": { "env": token_env } }))
    }
}

/// A whole configuration file: `[gateway]` and `[desks.*]`.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    doc: Table,
}

impl GatewayConfig {
    /// Listening on `127.0.0.1:0`, storing under `data_dir`, no desks yet.
    pub fn new(data_dir: &Path) -> Self {
        let mut gateway = Table::new();
        gateway.insert("listen".into(), value("127.0.0.1:0"));
        gateway.insert("data_dir".into(), value(data_dir.display().to_string()));
        let mut doc = Table::new();
        doc.insert("gateway".into(), Value::Table(gateway));
        doc.insert("desks".into(), Value::Table(Table::new()));
        GatewayConfig { doc }
    }

    /// What the process tests of the real binary run: Region H on its ServiceNow
    /// reporting to the national desk on its ClearQuest, deliveries retried quickly
    /// and almost without end, rate limits open.
    pub fn servicenow_to_clearquest(data_dir: &Path, sn: &str, cq: &str) -> Self {
        let mut c = GatewayConfig::new(data_dir);
        let delivery =
            serde_json::json!({ "retry_base_ms": 20, "retry_max_ms": 200, "max_attempts": 1000, "concurrency": 8 });
        c.gateway("delivery", delivery);
        c.open_rate_limits();
        c.desk("region-h", super::Desk::region_h_on_servicenow(sn));
        c.desk("sds", super::Desk::sds_on_clearquest(cq, serde_json::json!({ "repo": "7.0.0", "db": "SDS" })));
        c
    }

    /// The federation most API tests run: the NSP desks on the native API plus an
    /// RS256 and an ES256 desk.
    pub fn standard(data_dir: &Path, max_body: usize) -> Self {
        let mut c = GatewayConfig::new(data_dir);
        c.gateway("public_url", "http://gateway.test").gateway("max_body_bytes", max_body);
        let contact = |name: &str, email: &str| serde_json::json!({ "name": name, "email": email });
        c.desk(
            "region-h",
            Desk::known("region-h", "Region Hovedstaden Service Desk", "local", "servicenow")
                .set("organisations", ["rigshospitalet"])
                .set(
                    "contact",
                    serde_json::json!({
                        "name": "Region Hovedstaden Service Desk",
                        "email": "servicedesk@regionh.example",
                        "phone": "+45 38 66 50 00",
                    }),
                ),
        );
        c.desk(
            "region-m",
            Desk::known("region-m", "Region Midtjylland IT Service Desk", "local", "jira")
                .set("organisations", ["aarhus-universitetshospital"])
                .set("contact", contact("Region Midtjylland IT Service Desk", "itservicedesk@rm.example")),
        );
        c.desk("pharmacy", Desk::known("pharmacy", "Pharmacy chain desk", "local", "native"));
        c.desk("gp", Desk::known("gp", "GP practices desk", "local", "native"));
        c.desk("sds", Desk::known("sds", "National Service Desk", "national", "native"));
        c.desk("fmk", Desk::known("fmk", "FMK supplier", "supplier", "native").services(&["FMK"]));
        c.desk("drift", Desk::known("drift", "Operations supplier", "supplier", "native").services(&["*"]));
        c
    }

    /// Rate limits far beyond what a test sends.
    pub fn open_rate_limits(&mut self) -> &mut Self {
        self.gateway(
            "rate_limit",
            serde_json::json!({
                "inbound_per_minute": 600000, "inbound_burst": 10000,
                "outbound_per_minute": 600000, "outbound_burst": 10000,
            }),
        )
    }

    /// One local desk, Region H, on the native API (for measuring the accept path).
    pub fn one_local_desk(data_dir: &Path) -> Self {
        let mut c = GatewayConfig::new(data_dir);
        c.desk("region-h", Desk::known("region-h", "Region H", "local", "native"));
        c
    }

    /// Inbound rate limits out of the way: the accept path is measured, not the rate
    /// limiter's refusals.
    pub fn unthrottled_inbound(&mut self) -> &mut Self {
        self.gateway("rate_limit", serde_json::json!({ "inbound_per_minute": 100000000, "inbound_burst": 1000000 }))
    }

    /// The national desk on a ClearQuest nobody answers, and a single attempt per
    /// delivery: each delivery to it becomes a dead letter, which holds its lane, so
    /// later ones wait in the outbox.
    pub fn unreachable_national(&mut self) -> &mut Self {
        self.desk(
            "sds",
            Desk::known("sds", "National Service Desk", "national", "clearquest")
                .endpoint("http://127.0.0.1:9")
                .set("clearquest", serde_json::json!({ "repo": "7.0.0", "db": "SDS" }))
                .basic_credentials("deskgate", "T_SDS"),
        );
        self.gateway_toml("delivery = { retry_base_ms = 60000, retry_max_ms = 60000, max_attempts = 1 }")
    }

    /// `[gateway] key = v`.
    pub fn gateway(&mut self, key: &str, v: impl Serialize) -> &mut Self {
        self.table_mut("gateway").insert(key.into(), value(v));
        self
    }

    pub fn without_gateway(&mut self, key: &str) -> &mut Self {
        self.table_mut("gateway").remove(key);
        self
    }

    /// `lines` (TOML keys, e.g. `limits = { notes_per_incident = 3 }`) set in `[gateway]`.
    pub fn gateway_toml(&mut self, lines: &str) -> &mut Self {
        let keys = parse_keys(lines);
        self.table_mut("gateway").extend(keys);
        self
    }

    /// `lines` (TOML keys) set in `[desks.<id>]`; the desk must exist.
    pub fn desk_toml(&mut self, id: &str, lines: &str) -> &mut Self {
        let keys = parse_keys(lines);
        self.desk_table(id).extend(keys);
        self
    }

    /// Adds (or replaces) desk `id`.
    pub fn desk(&mut self, id: &str, desk: Desk) -> &mut Self {
        self.table_mut("desks").insert(id.into(), Value::Table(desk.0));
        self
    }

    /// `[desks.<id>] key = v`; the desk must exist.
    pub fn desk_key(&mut self, id: &str, key: &str, v: impl Serialize) -> &mut Self {
        self.desk_table(id).insert(key.into(), value(v));
        self
    }

    /// `[desks.<id>.<table>] key = v`, creating the table when missing (e.g. the
    /// `auth` table's `max_lifetime_secs`, or `jira.webhook_secret`).
    pub fn desk_subkey(&mut self, id: &str, table: &str, key: &str, v: impl Serialize) -> &mut Self {
        let t = self.desk_table(id).entry(table).or_insert_with(|| Value::Table(Table::new()));
        t.as_table_mut().unwrap_or_else(|| panic!("desks.{id}.{table} is not a table")).insert(key.into(), value(v));
        self
    }

    pub fn without_desk_key(&mut self, id: &str, key: &str) -> &mut Self {
        self.desk_table(id).remove(key);
        self
    }

    /// Without `[desks.<id>.<table>] key`, if it is there.
    pub fn without_desk_subkey(&mut self, id: &str, table: &str, key: &str) -> &mut Self {
        if let Some(t) = self.desk_table(id).get_mut(table).and_then(Value::as_table_mut) {
            t.remove(key);
        }
        self
    }

    pub fn data_dir(&self) -> PathBuf {
        let dir = self.doc["gateway"]["data_dir"].as_str().expect("gateway.data_dir");
        PathBuf::from(dir)
    }

    pub fn render(&self) -> String {
        toml::to_string(&self.doc).expect("the configuration renders")
    }

    /// Loaded as the gateway loads a file, with `env` for its secrets.
    pub fn load(&self, env: &MapEnv) -> Result<Config, Vec<Problem>> {
        Config::from_toml(&self.render(), Path::new("."), env)
    }

    fn table_mut(&mut self, name: &str) -> &mut Table {
        self.doc.get_mut(name).and_then(Value::as_table_mut).expect("a top-level table")
    }

    fn desk_table(&mut self, id: &str) -> &mut Table {
        self.table_mut("desks")
            .get_mut(id)
            .and_then(Value::as_table_mut)
            .unwrap_or_else(|| panic!("no desk {id} to extend"))
    }
}

fn parse_keys(lines: &str) -> Table {
    lines.parse().unwrap_or_else(|e| panic!("TOML keys {lines:?}: {e}"))
}

/// The `auth` table of a desk in the token table.
pub(super) fn auth_table(key: &Key, issuer: &str) -> Value {
    match key {
        Key::Hs256 { env, .. } => {
            value(serde_json::json!({ "issuer": issuer, "algorithm": "HS256", "secret": { "env": env } }))
        }
        Key::Rs256 { public, .. } => value(serde_json::json!({
            "issuer": issuer, "algorithm": "RS256",
            "public_key": { "file": super::fixture(public).display().to_string() },
        })),
        Key::Es256 { public, .. } => value(serde_json::json!({
            "issuer": issuer, "algorithm": "ES256",
            "public_key": { "file": super::fixture(public).display().to_string() },
        })),
    }
}
