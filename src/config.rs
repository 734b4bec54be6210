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
use crate::ratelimit::{RateLimit, RateLimitOverrides};

/// Where environment variables come from: the process, or a map in tests and the demo.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
    fn vars(&self) -> Vec<(String, String)>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }
}

/// Variables from a map, falling back to the process environment.
#[derive(Clone, Debug, Default)]
pub struct MapEnv {
    pub vars: HashMap<String, String>,
    pub inherit: bool,
}

impl MapEnv {
    pub fn new(inherit: bool) -> Self {
        Self { vars: HashMap::new(), inherit }
    }

    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned().or_else(|| self.inherit.then(|| std::env::var(name).ok()).flatten())
    }
    fn vars(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = if self.inherit { std::env::vars().collect() } else { Vec::new() };
        all.extend(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

/// A secret value. Shown as `***` everywhere; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

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
    delivery: Delivery,
    /// The mail server escalation and stakeholder mails go through (`[gateway.smtp]`).
    smtp: Option<SmtpFile>,
    /// Running escalations: stakeholders and the timeout check (`[gateway.escalation]`).
    #[serde(default)]
    escalation: EscalationSettings,
    /// Caps on what requests and incidents may add (`[gateway.limits]`).
    #[serde(default)]
    limits: Limits,
    /// Timeouts and the connection cap of the server (`[gateway.http]`).
    #[serde(default)]
    http: HttpSettings,
    /// Which backend holds the state (`[gateway.store]`); sled in `data_dir` without it.
    store: Option<StoreFile>,
}

/// `[gateway.store]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    kind: String,
    /// The sled directory, relative to the working directory; `data_dir` without it.
    path: Option<PathBuf>,
}

/// The store `[gateway.store]` names, or sled in `data_dir`.
fn resolve_store(file: Option<StoreFile>, data_dir: &Path, problems: &mut Vec<Problem>) -> crate::store::StoreConfig {
    let sled = |path: &Path| crate::store::StoreConfig::Sled { path: path.to_owned() };
    let Some(file) = file else { return sled(data_dir) };
    match file.kind.as_str() {
        "sled" => sled(file.path.as_deref().unwrap_or(data_dir)),
        other => {
            problems.push(Problem {
                path: "gateway.store.kind".into(),
                message: format!("expected \"sled\", got {other:?}"),
            });
            sled(data_dir)
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpFile {
    host: String,
    port: Option<u16>,
    /// The sender, e.g. `deskgate <deskgate@sds.example>`.
    from: String,
    username: Option<String>,
    password: Option<SecretRef>,
    /// `starttls` (default), `tls` (implicit TLS, port 465) or `none` (plain text;
    /// for a relay on the same host only).
    #[serde(default = "default_smtp_tls")]
    tls: String,
    #[serde(default = "default_smtp_timeout")]
    timeout_secs: u64,
}

fn default_smtp_tls() -> String {
    "starttls".into()
}
fn default_smtp_timeout() -> u64 {
    10
}

/// How the gateway talks to its mail server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    StartTls,
    Tls,
    None,
}

/// `[gateway.smtp]`, resolved: the password is a [`Secret`].
#[derive(Clone, Debug)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub from: String,
    /// User name and password, when the server wants a login.
    pub login: Option<(String, Secret)>,
    pub tls: SmtpTls,
    pub timeout_secs: u64,
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
}

impl Default for EscalationSettings {
    fn default() -> Self {
        Self { stakeholders: Vec::new(), check_ms: 10_000 }
    }
}

/// Delivery to remote desks: retries and parallelism (`[gateway.delivery]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// The first retry waits about this long (ms); each further one twice as long.
    pub retry_base_ms: u64,
    /// The longest wait between retries (ms).
    pub retry_max_ms: u64,
    /// Failed attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// Lanes (incident × desk) delivered in parallel.
    pub concurrency: usize,
}

impl Default for Delivery {
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
    /// Attachments one incident may hold. Reserved: deskgate takes no attachments yet.
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

/// A reference to a secret: exactly one of `env` or `file`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactFile {
    name: String,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    /// The `iss` of this desk's tokens.
    issuer: String,
    /// The one algorithm accepted from this desk.
    algorithm: String,
    /// HS* shared secret.
    secret: Option<SecretRef>,
    /// RS*/PS*/ES*/EdDSA public key, PEM.
    public_key: Option<SecretRef>,
    /// The `sub` this desk's tokens carry; defaults to the desk id.
    subject: Option<String>,
    /// The longest lifetime (`exp` − `iat`) a token of this desk may have.
    max_lifetime_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
enum CredentialsFile {
    Basic { username: String, password: SecretRef },
    Bearer { token: SecretRef },
    OauthPassword { client_id: String, client_secret: SecretRef, username: String, password: SecretRef },
    OauthClientCredentials { client_id: String, client_secret: SecretRef },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeskFile {
    name: String,
    role: Role,
    system: System,
    endpoint: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    /// Organisations (the `org` claim) whose people this desk serves: callers from
    /// them who are not desks are referred here.
    #[serde(default)]
    organisations: Vec<String>,
    contact: Option<ContactFile>,
    auth: Option<AuthFile>,
    credentials: Option<CredentialsFile>,
    /// When set, this desk's requests must come over TLS with the client
    /// certificate of this SHA-256 fingerprint, besides carrying its JWT.
    client_cert_sha256: Option<String>,
    /// This desk's rate limits, where they differ from `[gateway.rate_limit]`.
    #[serde(default)]
    rate_limit: RateLimitOverrides,
    /// Options for the system the desk runs (only the one matching `system`).
    servicenow: Option<ServiceNowOptions>,
    jira: Option<JiraOptions>,
    clearquest: Option<ClearQuestOptions>,
}

/// How deskgate talks to a ServiceNow instance.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNowOptions {
    /// The table incidents live in (default `incident`).
    pub table: Option<String>,
    /// The field holding deskgate's incident id (default `correlation_id`).
    pub correlation_field: Option<String>,
    /// A text field for links to other desks' tickets (default `u_deskgate_links`).
    pub link_field: Option<String>,
    pub timeout_secs: Option<u64>,
}

/// How deskgate talks to a Jira instance.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraOptions {
    /// The project incidents are created in, e.g. `DRIFT`.
    pub project: String,
    /// REST API version, 2 (default) or 3.
    #[serde(default = "default_jira_api")]
    pub api_version: u8,
    /// Issue type for new issues (default `Incident`).
    pub issue_type: Option<String>,
    /// Custom field holding deskgate's incident id, e.g. `customfield_10042`.
    pub correlation_field: Option<String>,
    /// Text custom field a link also writes the linked ticket's display id into, e.g.
    /// `customfield_10043`: on a supplier's issue, the national desk's ClearQuest id.
    pub link_field: Option<String>,
    /// Webhook secret for the `X-Hub-Signature` HMAC of `/webhooks/jira/{desk}`.
    pub webhook_secret: Option<SecretRef>,
    /// How the desk's webhooks are trusted (default `signature`: the HMAC, or the
    /// desk's own token). `reread`: a webhook is only a hint naming an issue, which
    /// deskgate reads back through the desk's API before applying anything.
    #[serde(default)]
    pub webhook_verify: WebhookVerify,
    pub timeout_secs: Option<u64>,
    /// Incidents a supplier detects itself (steps 18a/b): the field holding the
    /// service of an issue created in its Jira, e.g. `customfield_10050` (a text or
    /// select field). Without it, or when empty, the desk's first named service.
    pub service_field: Option<String>,
    /// The label that marks an issue created in the supplier's Jira as affecting users
    /// (default `affects-users`): only then is a ClearQuest record created for the
    /// national desk. Other issues are handled in Jira only.
    pub affects_users_label: Option<String>,
}

impl JiraOptions {
    pub const DEFAULT_AFFECTS_USERS_LABEL: &str = "affects-users";

    pub fn affects_users_label(&self) -> &str {
        self.affects_users_label.as_deref().unwrap_or(Self::DEFAULT_AFFECTS_USERS_LABEL)
    }
}

/// How a Jira desk's webhooks are trusted (`jira.webhook_verify`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookVerify {
    /// The body must carry a valid `X-Hub-Signature`, or the request the desk's token.
    #[default]
    Signature,
    /// The payload is a hint: only its issue key is taken, and the issue (with its
    /// comments) is read back through the desk's API.
    Reread,
}

fn default_jira_api() -> u8 {
    2
}

/// How deskgate talks to a ClearQuest OSLC server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearQuestOptions {
    pub repo: String,
    pub db: String,
    /// Record type (default `Defect`) and its type dbid (default `16777224`).
    pub record_type: Option<String>,
    pub record_type_dbid: Option<String>,
    /// The field holding deskgate's incident id (default `cq:deskgate_Incident`).
    pub correlation_field: Option<String>,
    pub timeout_secs: Option<u64>,
    /// How often to poll for changes, in milliseconds (default 30000).
    pub poll_ms: Option<u64>,
}

// ---------------------------------------------------------------------------
// The resolved configuration
// ---------------------------------------------------------------------------

/// The ticketing system a desk runs; adapters are found by this name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Servicenow,
    Jira,
    Clearquest,
    /// Speaks the gateway's own JSON API.
    Native,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Servicenow => "servicenow",
            System::Jira => "jira",
            System::Clearquest => "clearquest",
            System::Native => "native",
        }
    }
}

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

#[derive(Clone, Debug)]
pub struct DeskAuth {
    pub issuer: String,
    pub algorithm: jsonwebtoken::Algorithm,
    pub key: KeyMaterial,
    pub subject: String,
    /// Tokens living longer than this (`exp` − `iat`, or `exp` − now) are refused.
    pub max_lifetime_secs: u64,
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
    pub servicenow: Option<ServiceNowOptions>,
    pub jira: Option<JiraOptions>,
    /// Resolved from `jira.webhook_secret`.
    pub jira_webhook_secret: Option<Secret>,
    pub clearquest: Option<ClearQuestOptions>,
    /// Overrides of `gateway.rate_limit` for this desk.
    pub rate_limit: RateLimitOverrides,
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
    pub store: crate::store::StoreConfig,
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    pub audience: String,
    pub leeway_secs: u64,
    /// HTTPS, when configured; plain HTTP otherwise.
    pub tls: Option<crate::tls::TlsSettings>,
    /// The escalation ruleset file, resolved against the configuration's directory.
    pub contacts: Option<PathBuf>,
    /// Rate limits of every desk that does not override them.
    pub rate_limit: RateLimit,
    pub delivery: Delivery,
    /// The mail server, when escalation mails are sent.
    pub smtp: Option<Smtp>,
    pub escalation: EscalationSettings,
    pub limits: Limits,
    pub http: HttpSettings,
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
            if !g.escalation.stakeholders.is_empty() && smtp.is_none() && problems.len() == before {
                problems.push(Problem {
                    path: "gateway.escalation.stakeholders".into(),
                    message: "stakeholder mails need [gateway.smtp]".into(),
                });
            }
            for (n, address) in g.escalation.stakeholders.iter().enumerate() {
                if !address.contains('@') {
                    problems.push(Problem {
                        path: format!("gateway.escalation.stakeholders[{n}]"),
                        message: format!("expected an e-mail address, got {address:?}"),
                    });
                }
            }
            if g.escalation.check_ms == 0 {
                problems.push(Problem {
                    path: "gateway.escalation.check_ms".into(),
                    message: "expected at least 1".into(),
                });
            }
            let tls_ok = problems.len() == before;
            let data_dir =
                if g.data_dir.is_absolute() { g.data_dir } else { base_relative(base_dir, &g.data_dir, true) };
            let store = resolve_store(g.store, &data_dir, &mut problems);
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
                escalation: g.escalation,
                limits: g.limits,
                http: g.http,
            })
        });

        let client_certs_requested = gateway
            .as_ref()
            .is_some_and(|g| g.tls.as_ref().is_some_and(crate::tls::TlsSettings::requests_client_certificates));
        for desk in desks.values().filter(|d| d.client_cert_sha256.is_some()) {
            if gateway.is_some() && !client_certs_requested {
                problems.push(Problem {
                    path: format!("desks.{}.client_cert_sha256", desk.id),
                    message: "a pinned client certificate needs [gateway.tls] with client_ca".into(),
                });
            }
        }
        check_federation(&desks, &mut problems);
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
            Some(v) if !v.is_empty() => Some(Secret(v)),
            _ => {
                problems
                    .push(Problem { path: path.into(), message: format!("environment variable {name} is not set") });
                None
            }
        },
        (None, Some(file)) => {
            let full = base_relative(base_dir, file, false);
            match std::fs::read_to_string(&full) {
                Ok(v) => Some(Secret(v.trim_end_matches(['\n', '\r']).to_owned())),
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

/// `[gateway.smtp]`: the TLS mode and the login (user name and password together).
fn resolve_smtp(m: SmtpFile, base_dir: &Path, env: &dyn Env, problems: &mut Vec<Problem>) -> Option<Smtp> {
    let before = problems.len();
    let tls = match m.tls.as_str() {
        "starttls" => SmtpTls::StartTls,
        "tls" => SmtpTls::Tls,
        "none" => SmtpTls::None,
        other => {
            problems.push(Problem {
                path: "gateway.smtp.tls".into(),
                message: format!("expected starttls, tls or none, got {other:?}"),
            });
            SmtpTls::StartTls
        }
    };
    if m.host.trim().is_empty() {
        problems.push(Problem { path: "gateway.smtp.host".into(), message: "expected a host name".into() });
    }
    if !m.from.contains('@') {
        problems.push(Problem {
            path: "gateway.smtp.from".into(),
            message: format!("expected a sender address like deskgate <deskgate@sds.example>, got {:?}", m.from),
        });
    }
    let login = match (m.username, m.password) {
        (Some(user), Some(password)) => {
            resolve_secret(&password, "gateway.smtp.password", base_dir, env, problems).map(|p| (user, p))
        }
        (None, None) => None,
        (Some(_), None) => {
            problems
                .push(Problem { path: "gateway.smtp.password".into(), message: "a username needs a password".into() });
            None
        }
        (None, Some(_)) => {
            problems
                .push(Problem { path: "gateway.smtp.username".into(), message: "a password needs a username".into() });
            None
        }
    };
    let port = m.port.unwrap_or(match tls {
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    });
    (problems.len() == before).then_some(Smtp {
        host: m.host,
        port,
        from: m.from,
        login,
        tls,
        timeout_secs: m.timeout_secs,
    })
}

/// `[gateway.tls]`: read and check certificate, key and client CA now, so that a
/// broken file is a configuration problem and not a failure on the first request.
fn resolve_tls(
    t: TlsFile,
    base_dir: &Path,
    env: &dyn Env,
    problems: &mut Vec<Problem>,
) -> Option<crate::tls::TlsSettings> {
    let key = resolve_secret(&t.key, "gateway.tls.key", base_dir, env, problems)?;
    let cert = base_relative(base_dir, &t.cert, false);
    let client_ca = t.client_ca.map(|c| base_relative(base_dir, &c, false));
    match crate::tls::TlsSettings::load(&cert, &key, client_ca.as_deref()) {
        Ok(settings) => Some(settings),
        Err(found) => {
            problems.extend(
                found.into_iter().map(|p| Problem { path: format!("gateway.tls.{}", p.key), message: p.message }),
            );
            None
        }
    }
}

fn resolve_desk(
    id: DeskId,
    f: DeskFile,
    path: &str,
    base_dir: &Path,
    env: &dyn Env,
    problems: &mut Vec<Problem>,
) -> Option<Desk> {
    let before = problems.len();
    let endpoint = f.endpoint.as_deref().and_then(|e| match url::Url::parse(e) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            problems.push(Problem {
                path: format!("{path}.endpoint"),
                message: format!("expected an http(s) URL, got {e:?}"),
            });
            None
        }
    });
    if f.system != System::Native && f.endpoint.is_none() && f.role != Role::Local {
        problems.push(Problem {
            path: format!("{path}.endpoint"),
            message: format!("a {} desk the gateway delivers to needs an endpoint", f.system.as_str()),
        });
    }
    if f.role == Role::Supplier && f.services.is_empty() {
        problems.push(Problem {
            path: format!("{path}.services"),
            message: "a supplier needs the services it is assigned, e.g. [\"FMK\"] or [\"*\"]".into(),
        });
    }
    check_jira_webhooks(&f, path, problems);
    let auth = f.auth.and_then(|a| {
        let apath = format!("{path}.auth");
        let algorithm = match a.algorithm.parse::<jsonwebtoken::Algorithm>() {
            Ok(alg) => alg,
            Err(_) => {
                problems.push(Problem {
                    path: format!("{apath}.algorithm"),
                    message: format!("expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA; got {:?}", a.algorithm),
                });
                return None;
            }
        };
        let symmetric = matches!(algorithm, jsonwebtoken::Algorithm::HS256 | jsonwebtoken::Algorithm::HS384 | jsonwebtoken::Algorithm::HS512);
        let key = match (symmetric, &a.secret, &a.public_key) {
            (true, Some(s), None) => resolve_secret(s, &format!("{apath}.secret"), base_dir, env, problems).map(KeyMaterial::Secret),
            (false, None, Some(k)) => resolve_secret(k, &format!("{apath}.public_key"), base_dir, env, problems)
                .map(|pem| KeyMaterial::PublicKeyPem(pem.expose().to_owned())),
            (true, _, _) => {
                problems.push(Problem { path: format!("{apath}.secret"), message: format!("{algorithm:?} needs a shared secret (and no public_key)") });
                None
            }
            (false, _, _) => {
                problems.push(Problem { path: format!("{apath}.public_key"), message: format!("{algorithm:?} needs a public key PEM (and no secret)") });
                None
            }
        }?;
        if let Err(e) = crate::auth::decoding_key(algorithm, &key) {
            problems.push(Problem { path: format!("{apath}.public_key"), message: format!("not a usable {algorithm:?} key: {e}") });
            return None;
        }
        let max_lifetime_secs = a.max_lifetime_secs.unwrap_or(DEFAULT_MAX_TOKEN_LIFETIME_SECS);
        if max_lifetime_secs == 0 {
            problems.push(Problem { path: format!("{apath}.max_lifetime_secs"), message: "expected at least 1 (seconds)".into() });
            return None;
        }
        Some(DeskAuth {
            issuer: a.issuer,
            algorithm,
            key,
            subject: a.subject.unwrap_or_else(|| id.to_string()),
            max_lifetime_secs,
        })
    });
    let credentials = f.credentials.and_then(|c| {
        let cpath = format!("{path}.credentials");
        let mut s = |r: &SecretRef, key: &str| resolve_secret(r, &format!("{cpath}.{key}"), base_dir, env, problems);
        Some(match c {
            CredentialsFile::Basic { username, password } => {
                Credentials::Basic { username, password: s(&password, "password")? }
            }
            CredentialsFile::Bearer { token } => Credentials::Bearer { token: s(&token, "token")? },
            CredentialsFile::OauthPassword { client_id, client_secret, username, password } => {
                let client_secret = s(&client_secret, "client_secret");
                let password = s(&password, "password");
                Credentials::OauthPassword { client_id, client_secret: client_secret?, username, password: password? }
            }
            CredentialsFile::OauthClientCredentials { client_id, client_secret } => {
                Credentials::OauthClientCredentials { client_id, client_secret: s(&client_secret, "client_secret")? }
            }
        })
    });
    let client_cert_sha256 = f.client_cert_sha256.as_deref().and_then(|text| {
        crate::tls::parse_fingerprint(text)
            .map_err(|message| problems.push(Problem { path: format!("{path}.client_cert_sha256"), message }))
            .ok()
    });
    let mismatched = [
        ("servicenow", f.servicenow.is_some(), System::Servicenow),
        ("jira", f.jira.is_some(), System::Jira),
        ("clearquest", f.clearquest.is_some(), System::Clearquest),
    ];
    for (key, present, system) in mismatched {
        if present && f.system != system {
            problems.push(Problem {
                path: format!("{path}.{key}"),
                message: format!("options for {key}, but this desk's system is {}", f.system.as_str()),
            });
        }
    }
    if f.system == System::Jira && f.endpoint.is_some() && f.jira.is_none() {
        problems.push(Problem {
            path: format!("{path}.jira"),
            message: "a Jira desk deskgate calls needs jira = { project = \"KEY\" }".into(),
        });
    }
    if f.system == System::Clearquest && f.endpoint.is_some() && f.clearquest.is_none() {
        problems.push(Problem {
            path: format!("{path}.clearquest"),
            message: "a ClearQuest desk deskgate calls needs clearquest = { repo = \"…\", db = \"…\" }".into(),
        });
    }
    // The adapter builds `{endpoint}/cqweb/oslc/…`: an endpoint that already ends in
    // `/cqweb` would send every call to `/cqweb/cqweb/oslc/…`.
    if let Some(e) = endpoint.as_ref().filter(|_| f.system == System::Clearquest) {
        if e.path().trim_end_matches('/').ends_with("/cqweb") {
            let base = e.as_str().trim_end_matches('/').trim_end_matches("/cqweb");
            problems.push(Problem {
                path: format!("{path}.endpoint"),
                message: format!(
                    "give the ClearQuest server's base URL without /cqweb (deskgate adds /cqweb/oslc/…): {base}"
                ),
            });
        }
    }
    if let Some(j) = &f.jira {
        if !matches!(j.api_version, 2 | 3) {
            problems.push(Problem { path: format!("{path}.jira.api_version"), message: "expected 2 or 3".into() });
        }
        if let Some(field) = &j.link_field {
            let digits = field.strip_prefix("customfield_").unwrap_or("");
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                problems.push(Problem {
                    path: format!("{path}.jira.link_field"),
                    message: format!("expected a custom field id like customfield_10043, got {field:?}"),
                });
            }
        }
    }
    f.rate_limit.check(&format!("{path}.rate_limit"), problems);
    let jira_webhook_secret = f
        .jira
        .as_ref()
        .and_then(|j| j.webhook_secret.as_ref())
        .and_then(|r| resolve_secret(r, &format!("{path}.jira.webhook_secret"), base_dir, env, problems));
    (problems.len() == before).then(|| Desk {
        servicenow: f.servicenow,
        jira: f.jira,
        jira_webhook_secret,
        clearquest: f.clearquest,
        id,
        name: f.name,
        role: f.role,
        system: f.system,
        endpoint,
        services: f.services,
        organisations: f.organisations,
        contact: f.contact.map(|c| Contact { name: c.name, email: c.email, phone: c.phone }),
        auth,
        credentials,
        client_cert_sha256,
        rate_limit: f.rate_limit,
    })
}

/// A Jira desk deskgate calls sends its changes as webhooks, which must be
/// authenticated: a secret for their signature, or `webhook_verify = "reread"`
/// (which needs the desk's endpoint to read back from).
fn check_jira_webhooks(f: &DeskFile, path: &str, problems: &mut Vec<Problem>) {
    if f.system != System::Jira {
        return;
    }
    let verify = f.jira.as_ref().map(|j| j.webhook_verify).unwrap_or_default();
    let secret = f.jira.as_ref().is_some_and(|j| j.webhook_secret.is_some());
    if verify == WebhookVerify::Signature && f.endpoint.is_some() && !secret {
        problems.push(Problem {
            path: format!("{path}.jira.webhook_secret"),
            message: "a Jira desk's webhooks must be authenticated: expected webhook_secret = { env = \"…\" } \
                      (the secret of the desk's webhook), or webhook_verify = \"reread\""
                .into(),
        });
    }
    if verify == WebhookVerify::Reread && (f.endpoint.is_none() || f.credentials.is_none()) {
        problems.push(Problem {
            path: format!("{path}.jira.webhook_verify"),
            message:
                "\"reread\" reads issues back through the desk's API: expected the desk's endpoint and credentials"
                    .into(),
        });
    }
}

/// Rules about the set of desks as a whole.
fn check_federation(desks: &BTreeMap<DeskId, Desk>, problems: &mut Vec<Problem>) {
    let national: Vec<_> = desks.values().filter(|d| d.role == Role::National).collect();
    if national.len() > 1 {
        problems.push(Problem {
            path: "desks".into(),
            message: format!(
                "exactly one national desk is expected, found {}",
                national.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let mut subjects: HashMap<(&str, &str), &DeskId> = HashMap::new();
    for desk in desks.values() {
        if let Some(auth) = &desk.auth {
            if let Some(other) = subjects.insert((auth.issuer.as_str(), auth.subject.as_str()), &desk.id) {
                problems.push(Problem {
                    path: format!("desks.{}.auth.subject", desk.id),
                    message: format!(
                        "issuer {:?} and subject {:?} are already desk {other}'s",
                        auth.issuer, auth.subject
                    ),
                });
            }
        }
    }
}

/// Replace values named by `DESKGATE_<SECTION>__<KEY>…` variables.
fn apply_env_overrides(root: &mut toml::Table, env: &dyn Env, problems: &mut Vec<Problem>) {
    let mut vars = env.vars();
    vars.sort();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("DESKGATE_") else { continue };
        let parts: Vec<&str> = rest.split("__").collect();
        let section = parts[0].to_ascii_lowercase();
        if parts.len() < 2 || !matches!(section.as_str(), "gateway" | "desks") {
            continue;
        }
        let mut table = &mut *root;
        let mut path = String::new();
        let mut ok = true;
        for (i, raw) in parts.iter().enumerate() {
            let key = match_key(table, raw, i == 1 && section == "desks");
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            if i + 1 == parts.len() {
                table.insert(key, scalar(&value));
            } else {
                let entry = table.entry(key).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                match entry {
                    toml::Value::Table(t) => table = t,
                    _ => {
                        problems.push(Problem {
                            path: path.clone(),
                            message: format!("{name} names a key inside a value that is not a table"),
                        });
                        ok = false;
                        break;
                    }
                }
            }
        }
        if ok {
            tracing::debug!(variable = %name, key = %path, "configuration value overridden from the environment");
        }
    }
}

/// The existing key `raw` names (case-insensitive, `_` matching `-`), or a new key:
/// a desk id when it sits directly under `desks` (ids use `-`), else a setting (`_`).
fn match_key(table: &toml::Table, raw: &str, under_desks: bool) -> String {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    table.keys().find(|k| norm(k) == norm(raw)).cloned().unwrap_or_else(|| {
        let key = raw.to_ascii_lowercase();
        if under_desks { key.replace('_', "-") } else { key }
    })
}

/// An override's value: a TOML number or boolean when it reads as one, else a string.
fn scalar(value: &str) -> toml::Value {
    if let Ok(i) = value.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match value {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [gateway]
        listen = "127.0.0.1:0"

        [desks.sds]
        name = "National Service Desk"
        role = "national"
        system = "clearquest"
        endpoint = "http://127.0.0.1:9"
        clearquest = { repo = "7.0.0", db = "SDS" }
        auth = { issuer = "sds", algorithm = "HS256", secret = { env = "T_SDS" } }

        [desks.region-h]
        name = "Region H"
        role = "local"
        system = "servicenow"
        organisations = ["rigshospitalet"]
        auth = { issuer = "region-h", algorithm = "HS256", secret = { env = "T_RH" } }
    "#;

    fn env() -> MapEnv {
        MapEnv::new(false).with("T_SDS", "sds-secret").with("T_RH", "rh-secret")
    }

    #[test]
    fn loads_a_minimal_federation() {
        let c = Config::from_toml(MINIMAL, Path::new("."), &env()).unwrap();
        assert_eq!(c.desks.len(), 2);
        assert_eq!(c.national_desk().unwrap().id.as_str(), "sds");
        assert_eq!(c.local_desk_for_organisation("Rigshospitalet").unwrap().id.as_str(), "region-h");
        assert_eq!(c.gateway.max_body_bytes, 1024 * 1024);
        assert_eq!(c.gateway.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn the_store_defaults_to_sled_in_data_dir_and_a_bad_kind_is_named_by_its_path() {
        use crate::store::StoreConfig;
        let c = Config::from_toml(MINIMAL, Path::new("."), &env()).unwrap();
        assert_eq!(c.gateway.store, StoreConfig::Sled { path: PathBuf::from("./data") });
        let with = |store: &str| MINIMAL.replacen("[gateway]\n", &format!("[gateway]\n{store}\n"), 1);
        let text = with("store = { kind = \"sled\", path = \"/var/lib/deskgate/store\" }");
        let c = Config::from_toml(&text, Path::new("."), &env()).unwrap();
        assert_eq!(c.gateway.store, StoreConfig::Sled { path: PathBuf::from("/var/lib/deskgate/store") });
        let text = with("store = { kind = \"postgres\" }");
        let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|p| p.contains("gateway.store.kind") && p.contains("postgres")), "{text:?}");
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let text = MINIMAL
            .replace("listen = \"127.0.0.1:0\"", "listen = \"nowhere\"\ncolour = \"blue\"")
            .replace("system = \"servicenow\"", "system = \"remedy\"");
        let problems = Config::from_toml(&text, Path::new("."), &MapEnv::new(false)).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let joined = text.join("\n");
        assert!(joined.contains("gateway.colour") || joined.contains("gateway: unknown field `colour`"), "{joined}");
        assert!(joined.contains("desks.region-h.system"), "{joined}");
        assert!(joined.contains("remedy"), "{joined}");
        assert!(joined.contains("desks.sds.auth.secret: environment variable T_SDS is not set"), "{joined}");
    }

    #[test]
    fn a_clearquest_endpoint_that_ends_in_cqweb_is_refused_with_the_base_url_to_use() {
        for endpoint in
            ["https://cq.sds.example/cqweb", "https://cq.sds.example/cqweb/", "http://10.0.0.1:8080/x/cqweb"]
        {
            let text = MINIMAL.replace("endpoint = \"http://127.0.0.1:9\"", &format!("endpoint = \"{endpoint}\""));
            let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
            let p = problems.iter().find(|p| p.path == "desks.sds.endpoint").expect("the endpoint is named");
            let base = endpoint.trim_end_matches('/').trim_end_matches("/cqweb");
            assert!(p.message.contains("without /cqweb") && p.message.ends_with(base), "{p}");
        }
        // A path prefix in front of /cqweb is fine: that is where the server lives.
        let text = MINIMAL.replace("endpoint = \"http://127.0.0.1:9\"", "endpoint = \"https://cq.example/tools\"");
        Config::from_toml(&text, Path::new("."), &env()).unwrap();
    }

    #[test]
    fn env_overrides_replace_values_and_secret_variables_are_not_overrides() {
        let env = env()
            .with("DESKGATE_GATEWAY__LISTEN", "127.0.0.1:9999")
            .with("DESKGATE_DESKS__REGION_H__NAME", "Region Hovedstaden")
            .with("DESKGATE_SECRET_SOMETHING", "x");
        let c = Config::from_toml(MINIMAL, Path::new("."), &env).unwrap();
        assert_eq!(c.gateway.listen.port(), 9999);
        assert_eq!(c.desk(&"region-h".parse().unwrap()).unwrap().name, "Region Hovedstaden");
    }

    #[test]
    fn secrets_are_never_inline_and_never_printed() {
        let text = MINIMAL.replace("secret = { env = \"T_SDS\" }", "secret = \"hunter2\"");
        let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
        assert!(problems.iter().any(|p| p.path.starts_with("desks.sds.auth")), "{problems:?}");
        let c = Config::from_toml(MINIMAL, Path::new("."), &env()).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("sds-secret") && !debug.contains("rh-secret"), "{debug}");
    }

    #[test]
    fn an_rs256_desk_needs_a_public_key_not_a_secret() {
        let text = MINIMAL.replace(
            "algorithm = \"HS256\", secret = { env = \"T_SDS\" }",
            "algorithm = \"RS256\", secret = { env = \"T_SDS\" }",
        );
        let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
        assert!(problems.iter().any(|p| p.path == "desks.sds.auth.public_key"), "{problems:?}");
    }
}
