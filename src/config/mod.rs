//! Typed configuration: TOML, overridable from the environment, checked as a whole.
//!
//! The file describes the gateway and every registered desk (DESIGN §1). Unknown
//! keys are refused. Secrets are only ever *referenced* — `{ env = "NAME" }` or
//! `{ file = "path" }` — and resolved at load into [`Secret`], whose `Debug` and
//! `Display` never show the value.
//!
//! Environment overrides: `DESKGATE_<SECTION>__<KEY>[__<KEY>…]` replaces one value,
//! e.g. `DESKGATE_GATEWAY__LISTEN=0.0.0.0:8443` or
//! `DESKGATE_DESKS__REGION_H__ENDPOINT=https://…` (`_` matches `-` in names).
//! Only variables whose first part names a section are overrides, so secret
//! variables such as `DESKGATE_SECRET_SDS_JWT` are never mistaken for one.
//!
//! [`Config::load`] reports *every* problem it finds, each with its key path, so an
//! operator fixes a file in one pass ([`ConfigProblems`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{DeskId, Role};

mod desk;
mod dialect;
mod env;
mod limits;
mod mitz;
pub mod process;
mod profile;
mod report;
mod sms;
mod smtp;
mod store;
#[cfg(test)]
pub(crate) mod testing;
pub mod tls;
pub mod web;
pub use dialect::DialectOptions;
pub use report::{Journal, ReportSettings};

use desk::{DeskFile, check_federation, resolve_desk};
use env::apply_env_overrides;
pub use env::{Env, MapEnv, ProcessEnv};

pub use limits::{RateLimit, RateLimitOverrides};
pub use mitz::{Mitz, Person};
pub use sms::{DEFAULT_SMS_BODY, Sms};
pub use smtp::{Smtp, SmtpTls};
use smtp::{SmtpFile, resolve_smtp};
pub use store::{DEFAULT_LEASE_SECS, DEFAULT_SLED_CACHE_MB, PostgresConfig, StoreConfig, store_of_file};
use store::{StoreFile, resolve_store};
// The secret vocabulary is shared with the dialects' options, below config.
pub use crate::secret::{Secret, SecretRef};

// Each dialect's desk options (`servicenow = {…}`, `jira = {…}`, `clearquest = {…}`)
// are that dialect's; they are plain data, read here with the rest of a desk.
pub use crate::dialects::clearquest::options::ClearQuestOptions;
pub use crate::dialects::jira::options::{JiraOptions, WebhookVerify};
pub use crate::dialects::servicenow::options::ServiceNowOptions;

/// One problem in a configuration, at a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Everything wrong with a configuration file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigProblems {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} problem(s)", self.file.display(), self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayFile {
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default = "default_data_dir")]
    data_dir: PathBuf,
    /// How desks reach the gateway, for `Location` headers and links.
    public_url: Option<String>,
    #[serde(default = "default_max_body")]
    max_body_bytes: usize,
    /// The `aud` every desk token must carry.
    #[serde(default = "default_audience")]
    audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    leeway_secs: u64,
    /// Serve HTTPS instead of HTTP.
    tls: Option<TlsFile>,
    /// The escalation ruleset (`contacts.toml`), relative to this file.
    contacts: Option<PathBuf>,
    /// Default rate limits of every desk (`[gateway.rate_limit]`).
    #[serde(default)]
    rate_limit: RateLimitOverrides,
    /// How deliveries to remote desks are retried.
    #[serde(default)]
    delivery: DeliverySettings,
    /// The mail server escalation and stakeholder mails go through (`[gateway.smtp]`).
    smtp: Option<SmtpFile>,
    /// The HTTP SMS gateway escalation texts go through (`[gateway.sms]`).
    sms: Option<sms::SmsFile>,
    /// Running escalations: stakeholders and the timeout check (`[gateway.escalation]`).
    #[serde(default)]
    escalation: EscalationSettings,
    /// Caps on what requests and incidents may add (`[gateway.limits]`).
    #[serde(default)]
    limits: Limits,
    /// Timeouts and the connection cap of the server (`[gateway.http]`).
    #[serde(default)]
    http: HttpSettings,
    /// Urgency × impact → priority of a report without one (`[gateway.classification]`).
    #[serde(default)]
    classification: crate::model::Classification,
    /// Which backend holds the state (`[gateway.store]`); sled in `data_dir` without it.
    store: Option<StoreFile>,
    #[serde(default)]
    report: report::ReportFile,
    journal: Option<report::JournalFile>,
    /// The Mitz incident process (`[gateway.mitz]`).
    mitz: Option<mitz::MitzFile>,
    /// The process profile (`[gateway.process]`): priority matrix, calendar, auto-close.
    process: Option<profile::ProcessFile>,
    /// The web pages (`[gateway.web]`): the report form's applications.
    web: Option<web::WebFile>,
}

/// `[gateway.escalation]`: what happens around an escalation besides the contacts
/// the ruleset names.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationSettings {
    /// Addresses that get the automatic mail about every P1/P2 (process step 5b).
    pub stakeholders: Vec<String>,
    /// How often unacknowledged escalations are checked against their deadline (ms).
    pub check_ms: u64,
    /// More stakeholder addresses, from a secret (comma-separated); added to `stakeholders`.
    pub stakeholders_from: Option<SecretRef>,
    /// `fail` or `warn`: whether a contact without a deliverable channel refuses start-up.
    pub undeliverable: String,
}

impl Default for EscalationSettings {
    fn default() -> Self {
        Self { stakeholders: Vec::new(), check_ms: 10_000, stakeholders_from: None, undeliverable: "fail".into() }
    }
}

/// Delivery to remote desks: retries and parallelism (`[gateway.delivery]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// The first retry waits about this long (ms); each further one twice as long.
    pub retry_base_ms: u64,
    /// The longest wait between retries (ms).
    pub retry_max_ms: u64,
    /// Failed attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// Lanes (incident × desk) delivered in parallel.
    pub concurrency: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self { retry_base_ms: 2_000, retry_max_ms: 300_000, max_attempts: 12, concurrency: 16 }
    }
}

/// How much one request, one incident or one caller may add (`[gateway.limits]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Comments or notes one request may add (Jira `update.comment`, ServiceNow
    /// `comments` + `work_notes`, …); more is refused whole.
    pub comments_per_request: usize,
    /// Notes one incident may hold; the note that would exceed it is refused.
    pub notes_per_incident: usize,
    /// Attachments one incident may hold.
    pub attachments_per_incident: usize,
    /// Rejections audited one by one per source address and window; beyond it they
    /// are counted and summarised in one entry when the window ends.
    pub rejections_audited_per_window: u32,
    /// The window of `rejections_audited_per_window`, in seconds.
    pub rejection_window_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            comments_per_request: 10,
            notes_per_incident: 1_000,
            attachments_per_incident: 100,
            rejections_audited_per_window: 20,
            rejection_window_secs: 60,
        }
    }
}

impl Limits {
    fn check(&self, problems: &mut Vec<Problem>) {
        let keys = [
            ("comments_per_request", self.comments_per_request as u64),
            ("notes_per_incident", self.notes_per_incident as u64),
            ("attachments_per_incident", self.attachments_per_incident as u64),
            ("rejections_audited_per_window", u64::from(self.rejections_audited_per_window)),
            ("rejection_window_secs", self.rejection_window_secs),
        ];
        for (key, value) in keys {
            if value == 0 {
                problems.push(Problem { path: format!("gateway.limits.{key}"), message: "expected at least 1".into() });
            }
        }
    }
}

/// Connection handling of the HTTP(S) server (`[gateway.http]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// A connection must deliver a request's headers within this many seconds.
    pub header_read_timeout_secs: u64,
    /// A kept-alive connection with no request in flight is closed after this long.
    pub idle_timeout_secs: u64,
    /// A request's body must arrive within this many seconds (408 otherwise).
    pub body_timeout_secs: u64,
    /// Connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self { header_read_timeout_secs: 10, idle_timeout_secs: 60, body_timeout_secs: 30, max_connections: 1_024 }
    }
}

impl HttpSettings {
    fn check(&self, problems: &mut Vec<Problem>) {
        let keys = [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            ("max_connections", self.max_connections as u64),
        ];
        for (key, value) in keys {
            if value == 0 {
                problems.push(Problem { path: format!("gateway.http.{key}"), message: "expected at least 1".into() });
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    /// PEM certificate chain, server certificate first.
    cert: PathBuf,
    /// PEM private key of the certificate: a secret reference.
    key: SecretRef,
    /// PEM CA certificate(s): when set, clients are asked for a certificate
    /// chaining to one of them.
    client_ca: Option<PathBuf>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./data")
}
fn default_max_body() -> usize {
    1024 * 1024
}
fn default_audience() -> String {
    "deskgate".into()
}
fn default_leeway() -> u64 {
    30
}

// ---------------------------------------------------------------------------
// The resolved configuration
// ---------------------------------------------------------------------------

/// The ticketing system a desk runs: the one dialect identity.
pub use crate::model::DialectId as System;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The key a desk's tokens are verified with.
#[derive(Clone, Debug)]
pub enum KeyMaterial {
    Secret(Secret),
    PublicKeyPem(String),
}

impl KeyMaterial {
    /// The decoding key for this key material, as `auth` verifies with it.
    pub fn decoding_key(
        &self,
        algorithm: jsonwebtoken::Algorithm,
    ) -> Result<jsonwebtoken::DecodingKey, jsonwebtoken::errors::Error> {
        use jsonwebtoken::{Algorithm::*, DecodingKey};
        match (algorithm, self) {
            (HS256 | HS384 | HS512, KeyMaterial::Secret(s)) => Ok(DecodingKey::from_secret(s.expose().as_bytes())),
            (RS256 | RS384 | RS512 | PS256 | PS384 | PS512, KeyMaterial::PublicKeyPem(pem)) => {
                DecodingKey::from_rsa_pem(pem.as_bytes())
            }
            (ES256 | ES384, KeyMaterial::PublicKeyPem(pem)) => DecodingKey::from_ec_pem(pem.as_bytes()),
            (EdDSA, KeyMaterial::PublicKeyPem(pem)) => DecodingKey::from_ed_pem(pem.as_bytes()),
            _ => Err(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct DeskAuth {
    pub issuer: String,
    pub algorithm: jsonwebtoken::Algorithm,
    pub key: KeyMaterial,
    pub subject: String,
    /// Tokens living longer than this (`exp` − `iat`, or `exp` − now) are refused.
    pub max_lifetime_secs: u64,
    /// The gateway's OpenID Connect client at `issuer` (`auth.oidc_client_id`, `auth.oidc_client_secret`).
    pub oidc: Option<web::OidcClient>,
}

/// `auth.max_lifetime_secs` when not given: a day.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

/// How the gateway authenticates to a desk's system.
#[derive(Clone, Debug)]
pub enum Credentials {
    Basic { username: String, password: Secret },
    Bearer { token: Secret },
    OauthPassword { client_id: String, client_secret: Secret, username: String, password: Secret },
    OauthClientCredentials { client_id: String, client_secret: Secret },
}

#[derive(Clone, Debug)]
pub struct Desk {
    pub id: DeskId,
    pub name: String,
    pub role: Role,
    pub system: System,
    pub endpoint: Option<url::Url>,
    /// Services a supplier is assigned (`*` for all).
    pub services: Vec<String>,
    pub organisations: Vec<String>,
    pub contact: Option<Contact>,
    pub auth: Option<DeskAuth>,
    pub credentials: Option<Credentials>,
    /// SHA-256 of the client certificate this desk must present (mutual TLS).
    pub client_cert_sha256: Option<[u8; 32]>,
    /// The options section of the desk's system (`servicenow = {…}`, …).
    pub options: DialectOptions,
    /// Overrides of `gateway.rate_limit` for this desk.
    pub rate_limit: RateLimitOverrides,
    /// The largest file this desk may attach (`attachment_max_bytes`, 10 MB by default).
    pub attachment_max_bytes: u64,
    pub process: process::DeskProcess,
}

impl Desk {
    pub fn serves(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == "*" || s.eq_ignore_ascii_case(service))
    }
}

#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Which backend holds the state, and where (`[gateway.store]`).
    pub store: StoreConfig,
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    pub audience: String,
    pub leeway_secs: u64,
    /// HTTPS, when configured; plain HTTP otherwise.
    pub tls: Option<tls::TlsSettings>,
    /// The escalation ruleset file, resolved against the configuration's directory.
    pub contacts: Option<PathBuf>,
    /// Rate limits of every desk that does not override them.
    pub rate_limit: RateLimit,
    pub delivery: DeliverySettings,
    /// The mail server, when escalation mails are sent.
    pub smtp: Option<Smtp>,
    /// The SMS gateway, when escalation texts are sent.
    pub sms: Option<Sms>,
    pub escalation: EscalationSettings,
    pub limits: Limits,
    pub http: HttpSettings,
    pub report: ReportSettings,
    pub journal: Option<Journal>,
    pub classification: crate::model::Classification,
    /// The Mitz incident process, when `[gateway.mitz]` is configured.
    pub mitz: Option<Mitz>,
    pub process: Option<crate::model::ProcessProfile>,
    pub web: web::WebSettings,
}

impl GatewayConfig {
    /// The one rule for the absolute URLs deskgate hands out (links in answers, the
    /// acknowledgement link in a notification, where the CLI finds the gateway):
    /// `public_url` when configured; else the host a request was addressed to, when
    /// there is one; else the listen address — `https` when TLS is on.
    pub fn public_base(&self, host: Option<&str>) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        match host.filter(|h| !h.is_empty()) {
            Some(host) => format!("{scheme}://{host}"),
            None => format!("{scheme}://{}", self.listen),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub desks: BTreeMap<DeskId, Desk>,
}

impl Config {
    /// Load and check a configuration file, with overrides and secrets from `env`.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Config, ConfigProblems> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigProblems {
            file: path.to_owned(),
            problems: vec![Problem { path: "(file)".into(), message: e.to_string() }],
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base, env).map_err(|problems| ConfigProblems { file: path.to_owned(), problems })
    }

    /// Parse configuration text; relative file paths are taken from `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path, env: &dyn Env) -> Result<Config, Vec<Problem>> {
        let mut root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            vec![Problem { path: "(syntax)".into(), message: e.to_string().trim().to_owned() }]
        })?;
        let mut problems = Vec::new();
        apply_env_overrides(&mut root, env, &mut problems);

        for key in root.keys() {
            if key != "gateway" && key != "desks" {
                problems
                    .push(Problem { path: key.clone(), message: "unknown section; expected gateway or desks".into() });
            }
        }
        let gateway = root.remove("gateway").unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
        let gateway: Option<GatewayFile> = typed(gateway, "gateway", &mut problems);
        let desks_value = root.remove("desks").unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
        let mut desks = BTreeMap::new();
        match desks_value {
            toml::Value::Table(table) => {
                for (id, value) in table {
                    let path = format!("desks.{id}");
                    let Ok(desk_id) = id.parse::<DeskId>() else {
                        problems.push(Problem {
                            path,
                            message: "desk ids are lowercase letters, digits and '-', starting with a letter".into(),
                        });
                        continue;
                    };
                    if let Some(file) = typed::<DeskFile>(value, &path, &mut problems) {
                        if let Some(desk) = resolve_desk(desk_id.clone(), file, &path, base_dir, env, &mut problems) {
                            desks.insert(desk_id, desk);
                        }
                    }
                }
            }
            _ => problems.push(Problem { path: "desks".into(), message: "expected a table of desks".into() }),
        }

        let gateway = gateway.and_then(|g| {
            let listen = match g.listen.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    problems.push(Problem {
                        path: "gateway.listen".into(),
                        message: format!("expected an address like 127.0.0.1:8080, got {:?}", g.listen),
                    });
                    None
                }
            };
            if g.delivery.max_attempts == 0 || g.delivery.concurrency == 0 {
                problems.push(Problem {
                    path: "gateway.delivery".into(),
                    message: "max_attempts and concurrency must be at least 1".into(),
                });
            }
            g.rate_limit.check("gateway.rate_limit", &mut problems);
            g.limits.check(&mut problems);
            g.http.check(&mut problems);
            if g.max_body_bytes < 1024 {
                problems
                    .push(Problem { path: "gateway.max_body_bytes".into(), message: "expected at least 1024".into() });
            }
            let before = problems.len();
            let tls = g.tls.and_then(|t| resolve_tls(t, base_dir, env, &mut problems));
            let smtp = g.smtp.and_then(|m| resolve_smtp(m, base_dir, env, &mut problems));
            let sms = g.sms.and_then(|s| sms::resolve_sms(s, base_dir, env, &mut problems));
            let mut escalation = g.escalation;
            let more = sms::stakeholders_from(escalation.stakeholders_from.as_ref(), base_dir, env, &mut problems);
            escalation.stakeholders.extend(more);
            sms::check_undeliverable(&escalation.undeliverable, &mut problems);
            if !escalation.stakeholders.is_empty() && smtp.is_none() && problems.len() == before {
                problems.push(Problem {
                    path: "gateway.escalation.stakeholders".into(),
                    message: "stakeholder mails need [gateway.smtp]".into(),
                });
            }
            for (n, address) in escalation.stakeholders.iter().enumerate() {
                if !address.contains('@') {
                    problems.push(Problem {
                        path: format!("gateway.escalation.stakeholders[{n}]"),
                        message: format!("expected an e-mail address, got {address:?}"),
                    });
                }
            }
            if escalation.check_ms == 0 {
                problems.push(Problem {
                    path: "gateway.escalation.check_ms".into(),
                    message: "expected at least 1".into(),
                });
            }
            let mitz = g.mitz.and_then(|m| mitz::resolve(m, smtp.is_some(), sms.is_some(), &mut problems));
            let tls_ok = problems.len() == before;
            let data_dir =
                if g.data_dir.is_absolute() { g.data_dir } else { base_relative(base_dir, &g.data_dir, true) };
            let store = resolve_store(g.store, &data_dir, base_dir, env, &mut problems);
            let (report, journal) =
                report::resolve(g.report, g.journal, &desks, base_dir, smtp.is_some(), &mut problems);
            let process = g.process.and_then(|p| profile::resolve(p, &mut problems));
            let web = web::resolve(g.web, &mut problems);
            listen.filter(|_| tls_ok).map(|listen| GatewayConfig {
                listen,
                data_dir,
                store,
                public_url: g.public_url,
                max_body_bytes: g.max_body_bytes,
                audience: g.audience,
                leeway_secs: g.leeway_secs,
                tls,
                contacts: g.contacts.map(|c| base_relative(base_dir, &c, false)),
                rate_limit: RateLimit::default().with(&g.rate_limit),
                delivery: g.delivery,
                smtp,
                sms,
                escalation,
                limits: g.limits,
                http: g.http,
                report,
                journal,
                classification: g.classification,
                mitz,
                process,
                web,
            })
        });

        let client_certs_requested = gateway
            .as_ref()
            .is_some_and(|g| g.tls.as_ref().is_some_and(tls::TlsSettings::requests_client_certificates));
        for desk in desks.values().filter(|d| d.client_cert_sha256.is_some()) {
            if gateway.is_some() && !client_certs_requested {
                problems.push(Problem {
                    path: format!("desks.{}.client_cert_sha256", desk.id),
                    message: "a pinned client certificate needs [gateway.tls] with client_ca".into(),
                });
            }
        }
        check_federation(&desks, &mut problems);
        process::check(&desks, &mut problems);
        match gateway {
            Some(gateway) if problems.is_empty() => Ok(Config { gateway, desks }),
            _ => Err(problems),
        }
    }

    pub fn desk(&self, id: &DeskId) -> Option<&Desk> {
        self.desks.get(id)
    }

    pub fn national_desk(&self) -> Option<&Desk> {
        self.desks.values().find(|d| d.role == Role::National)
    }

    /// The local desk that serves people of `organisation` (the `org` claim).
    pub fn local_desk_for_organisation(&self, organisation: &str) -> Option<&Desk> {
        self.desks
            .values()
            .find(|d| d.role == Role::Local && d.organisations.iter().any(|o| o.eq_ignore_ascii_case(organisation)))
    }
}

/// The data directory is relative to where the gateway runs (so `./data` is the
/// working directory's), other files to the configuration file.
fn base_relative(base_dir: &Path, p: &Path, cwd: bool) -> PathBuf {
    if p.is_absolute() || cwd { p.to_owned() } else { base_dir.join(p) }
}

fn typed<T: for<'de> Deserialize<'de>>(value: toml::Value, path: &str, problems: &mut Vec<Problem>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let full = if inner == "." || inner.is_empty() { path.to_owned() } else { format!("{path}.{inner}") };
            problems.push(Problem { path: full, message: e.into_inner().to_string() });
            None
        }
    }
}

fn resolve_secret(
    r: &SecretRef,
    path: &str,
    base_dir: &Path,
    env: &dyn Env,
    problems: &mut Vec<Problem>,
) -> Option<Secret> {
    match (&r.env, &r.file) {
        (Some(name), None) => match env.var(name) {
            Some(v) if !v.is_empty() => Some(Secret::new(v)),
            _ => {
                problems
                    .push(Problem { path: path.into(), message: format!("environment variable {name} is not set") });
                None
            }
        },
        (None, Some(file)) => {
            let full = base_relative(base_dir, file, false);
            match std::fs::read_to_string(&full) {
                Ok(v) => Some(Secret::new(v.trim_end_matches(['\n', '\r']).to_owned())),
                Err(e) => {
                    problems
                        .push(Problem { path: path.into(), message: format!("cannot read {}: {e}", full.display()) });
                    None
                }
            }
        }
        _ => {
            problems.push(Problem {
                path: path.into(),
                message:
                    "expected exactly one of env = \"VARIABLE\" or file = \"path\" (secrets are never written inline)"
                        .into(),
            });
            None
        }
    }
}

/// `[gateway.tls]`: read and check certificate, key and client CA now, so that a
/// broken file is a configuration problem and not a failure on the first request.
fn resolve_tls(t: TlsFile, base_dir: &Path, env: &dyn Env, problems: &mut Vec<Problem>) -> Option<tls::TlsSettings> {
    let key = resolve_secret(&t.key, "gateway.tls.key", base_dir, env, problems)?;
    let cert = base_relative(base_dir, &t.cert, false);
    let client_ca = t.client_ca.map(|c| base_relative(base_dir, &c, false));
    match tls::TlsSettings::load(&cert, &key, client_ca.as_deref()) {
        Ok(settings) => Some(settings),
        Err(found) => {
            problems.extend(
                found.into_iter().map(|p| Problem { path: format!("gateway.tls.{}", p.key), message: p.message }),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests;
