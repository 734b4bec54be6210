//! A small, faithful ServiceNow instance: the Table API for `incident`, Basic and
//! OAuth authentication, the resolve data policy, journal fields, and an outbound
//! REST push (a business rule) on every change.
//!
//! # Routes
//!
//! - `GET|POST /api/now/table/incident`, `GET|PATCH|PUT|DELETE /api/now/table/incident/{sys_id}`
//!   with `sysparm_query` (encoded query, see [`deskgate_servicenow::query`]),
//!   `sysparm_limit` (default 10000), `sysparm_offset`, `sysparm_fields`,
//!   `sysparm_display_value=true|false|all` and `sysparm_exclude_reference_link`.
//!   Lists carry `X-Total-Count` and a `Link` header (`first`, `prev`, `next`, `last`).
//! - `POST /oauth_token.do` (form-encoded; `grant_type` `password`, `client_credentials`
//!   or `refresh_token`) → `{"access_token", "refresh_token", "scope", "token_type":
//!   "Bearer", "expires_in"}`; bad credentials → 401 `{"error_description":
//!   "access_denied", "error": "server_error"}`. Client credentials get no refresh token.
//! - `/api/now/attachment…`: the Attachment API (`attachments.rs`).
//! - `/_sim/faults`, `/_sim/served`: [`crate::faults`].
//!
//! How the instance behaves is described with the code that does it: the table's
//! rules in `table.rs`, the outbound REST push and its payload in `push.rs`, OAuth
//! and authentication in `oauth.rs`, rendering in `render.rs`, the routes in `http.rs`.
//!
//! # Operator API
//!
//! [`ServiceNowSim::create_as_user`], [`ServiceNowSim::update_as_user`] and
//! [`ServiceNowSim::comment_as_user`] act as a person working in the tool.

mod attachments;
mod http;
mod oauth;
mod push;
mod render;
mod table;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deskgate_servicenow::wire::{ErrorEnvelope, Record};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::clock::SimClock;
use crate::core::push::PushQueue;
use crate::core::record::{Log, WriteRecorder};
use crate::core::server::{Bound, SimServer};
use crate::faults::{self, Faults};

pub use crate::core::record::RecordedRequest;
pub use push::Push;

/// Where the outbound REST push goes.
#[derive(Clone, Debug)]
pub struct WebhookTarget {
    pub url: String,
    /// Sent verbatim as the `Authorization` header, e.g. `Bearer …`.
    pub authorization: String,
}

/// The simulated instance's configuration.
#[derive(Clone, Debug)]
pub struct ServiceNowSimConfig {
    /// The REST user (Basic, and the OAuth password grant).
    pub user: String,
    pub password: String,
    pub oauth_client_id: String,
    pub oauth_client_secret: String,
    /// `expires_in` of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// Who the operator API acts as (`sys_updated_by`, journal author).
    pub operator: String,
    pub webhook: Option<WebhookTarget>,
    /// Custom fields the incident table has besides the base ones.
    pub custom_fields: Vec<String>,
}

impl Default for ServiceNowSimConfig {
    fn default() -> Self {
        Self {
            user: "deskgate.integration".to_owned(),
            password: "integration-password".to_owned(),
            oauth_client_id: "3f2b5c1a9d8e4f7a8b6c5d4e3f2a1b0c".to_owned(),
            oauth_client_secret: "oauth-client-secret".to_owned(),
            token_lifetime_secs: 1799,
            operator: "beth.anglin".to_owned(),
            webhook: None,
            custom_fields: vec!["u_deskgate_links".to_owned()],
        }
    }
}

/// A refusal in ServiceNow's shape, from the REST API or the operator API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError {
    pub status: u16,
    pub envelope: ErrorEnvelope,
}

impl SimError {
    fn new(status: u16, message: &str, detail: Option<String>) -> Self {
        Self { status, envelope: ErrorEnvelope::new(message, detail) }
    }

    fn not_found() -> Self {
        Self::new(404, "No Record found", Some("Record doesn't exist or ACL restricts the record retrieval".to_owned()))
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.envelope)
    }
}

impl std::error::Error for SimError {}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        crate::core::http::json_error(self.status, StatusCode::INTERNAL_SERVER_ERROR, self.envelope)
    }
}

/// One journal entry (`sys_journal_field`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// The record's sys_id.
    pub element_id: String,
    /// `comments` or `work_notes`.
    pub element: String,
    pub value: String,
    pub sys_created_on: String,
    pub sys_created_by: String,
}

#[derive(Default)]
struct Inner {
    records: Vec<Record>,
    journal: Vec<JournalEntry>,
    attachments: Vec<attachments::Stored>,
    tokens: HashMap<String, oauth::Token>,
    refresh_tokens: HashMap<String, String>,
    next_number: u64,
}

struct Shared {
    config: ServiceNowSimConfig,
    inner: Mutex<Inner>,
    clock: SimClock,
    requests: WriteRecorder,
    pushes: PushQueue,
    delivered: Log<Push>,
}

/// A running simulated instance on `127.0.0.1`. Dropping it stops the server.
pub struct ServiceNowSim {
    shared: Arc<Shared>,
    faults: Faults,
    router: Router,
    server: SimServer,
}

const TABLE: &str = "incident";

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::core::lock(&self.inner)
    }
}

fn pairs_to_body(fields: &[(&str, &str)]) -> Map<String, Value> {
    fields.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect()
}

impl ServiceNowSim {
    /// Start an instance on `127.0.0.1:0`.
    pub async fn spawn(config: ServiceNowSimConfig) -> std::io::Result<ServiceNowSim> {
        Self::spawn_on(std::net::Ipv4Addr::LOCALHOST.into(), config).await
    }

    /// Like [`ServiceNowSim::spawn`], bound to `ip` instead of the loopback.
    pub async fn spawn_on(ip: std::net::IpAddr, config: ServiceNowSimConfig) -> std::io::Result<ServiceNowSim> {
        let bound = Bound::on(ip).await?;
        let (pushes, push_rx) = PushQueue::new(config.webhook.is_some());
        let shared = Arc::new(Shared {
            config,
            inner: Mutex::new(Inner::default()),
            clock: SimClock::default(),
            requests: WriteRecorder::new(http::WRITES),
            pushes,
            delivered: Log::default(),
        });
        if let Some(rx) = push_rx {
            tokio::spawn(push::deliver_pushes(shared.clone(), rx));
        }
        let faults = Faults::new();
        let router = faults::wrap(http::routes(shared.clone()), &faults);
        let server = bound.serve("servicenow", router.clone());
        Ok(ServiceNowSim { shared, faults, router, server })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn config(&self) -> &ServiceNowSimConfig {
        &self.shared.config
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The instance's routes, sharing this instance's state, to mount elsewhere.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Every record, in creation order.
    pub fn records(&self) -> Vec<Record> {
        self.shared.lock().records.clone()
    }

    pub fn record(&self, sys_id: &str) -> Option<Record> {
        self.shared.lock().records.iter().find(|r| r["sys_id"] == sys_id).cloned()
    }

    /// The record with this `number` (`INC0010001`).
    pub fn record_by_number(&self, number: &str) -> Option<Record> {
        self.shared.lock().records.iter().find(|r| r["number"] == number).cloned()
    }

    /// The journal of one record, oldest first.
    pub fn journal(&self, sys_id: &str) -> Vec<JournalEntry> {
        self.shared.lock().journal.iter().filter(|j| j.element_id == sys_id).cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.shared.lock().records.len()
    }

    /// Write requests (POST, PATCH, PUT, DELETE) received on the Table API, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.log.all()
    }

    /// Outbound pushes delivered so far (or failed), in order.
    pub fn pushes(&self) -> Vec<Push> {
        self.shared.delivered.all()
    }

    /// Wait until every push queued so far has been delivered or has failed.
    pub async fn pushes_settled(&self) {
        self.shared.pushes.settled().await
    }

    /// Move the instance's clock forward: later records get later timestamps and
    /// access tokens may expire. Nothing sleeps.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by)
    }

    /// Invalidate every access token issued so far (refresh tokens stay valid).
    pub fn revoke_access_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Invalidate every refresh token issued so far.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.lock().refresh_tokens.clear();
    }

    /// Create a record as [`ServiceNowSimConfig::operator`] working in the tool.
    pub fn create_as_user(&self, fields: &[(&str, &str)]) -> Result<Record, SimError> {
        self.shared.insert(&self.shared.config.operator, &pairs_to_body(fields))
    }

    /// Change fields as the operator; the same rules as the REST API apply.
    pub fn update_as_user(&self, sys_id: &str, fields: &[(&str, &str)]) -> Result<Record, SimError> {
        self.shared.update(&self.shared.config.operator, sys_id, &pairs_to_body(fields))
    }

    /// Add an additional comment (`public`) or a work note as the operator.
    pub fn comment_as_user(&self, sys_id: &str, text: &str, public: bool) -> Result<Record, SimError> {
        let field = if public { "comments" } else { "work_notes" };
        self.update_as_user(sys_id, &[(field, text)])
    }
}
