//! [`ServiceNowAdapter`]: the outbound adapter for one ServiceNow instance.
//!
//! What goes on the wire, per [`Adapter`] call (`{table}` defaults to `incident`):
//!
//! | call | request |
//! |---|---|
//! | `create` | `POST /api/now/table/{table}` with the fields, `correlation_id` = the gateway's incident id, `correlation_display` = `deskgate` |
//! | `find_by_correlation` | `GET /api/now/table/{table}?sysparm_query=correlation_id=<id>^ORDERBYsys_created_on^ORDERBYsys_id` |
//! | `get` | `GET /api/now/table/{table}/{sys_id}` |
//! | `update` | `PATCH /api/now/table/{table}/{sys_id}` |
//! | `add_note` | `PATCH …/{sys_id}` with `comments` (public) or `work_notes` (internal) |
//! | `link` | `GET …/{sys_id}?sysparm_fields=sys_id,<link_field>`, then, unless the link is already there, one `PATCH` that appends a line to `<link_field>` and adds a work note |
//! | `changed_since` | `GET …?sysparm_query=sys_updated_on>=<since>^ORDERBYsys_updated_on^ORDERBYsys_id`, paged by key (never by offset, so records changing during the poll are not skipped) |
//!
//! Every table call asks for `sysparm_display_value=false` and
//! `sysparm_exclude_reference_link=true`: internal values, plain strings.
//!
//! **Fields.** [`TicketFields`] map as `title` ⇄ `short_description`, `description` ⇄
//! `description`, `status` ⇄ `state`, `assignee` ⇄ `assignment_group`; `extra` carries
//! every other field by its ServiceNow name (`impact`, `urgency`, `close_code`,
//! `close_notes`, `hold_reason`, …). ServiceNow computes `priority` from impact and
//! urgency, so `fields.priority` and an `extra["priority"]` are never sent; set
//! `impact` and `urgency` instead. On reads, `priority` is reported and `extra` holds
//! every other non-empty field.
//!
//! **Links.** ServiceNow has no remote links. A link is one line,
//! `<display_id>: <title> <url> [<global_id>]`, in a text field (`link_field`, default
//! `u_deskgate_links`, which the instance must define) plus one work note saying the
//! same, written in the same `PATCH` so both appear exactly once. The line's
//! `[<global_id>]` suffix makes `link` idempotent. ServiceNow silently ignores fields a
//! table does not have; when the field is missing the adapter fails permanently rather
//! than add a note on every retry.
//!
//! **Failures.** Connection failures and timeouts are retriable; HTTP answers are
//! classified by [`AdapterError::from_status`] with `Retry-After`; redirects are not
//! followed (only the configured base URL is ever called) and count as permanent;
//! an answer that cannot be parsed is permanent.
//!
//! **Secrets** (passwords, client secrets, tokens) never appear in `Debug` output,
//! errors or logs.

mod attachments;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use deskgate_adapter::http::{self, Answer};
use deskgate_adapter::{Adapter, AdapterError, RemoteId, RemoteLink, RemoteNote, RemoteTicket, TicketFields};
use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};
use tokio::time::Instant;
use url::Url;

use crate::query::{Condition, EncodedQuery, Group, Operator};
use crate::wire::{self, ErrorEnvelope, Record};

/// How the adapter authenticates to the instance.
#[derive(Clone)]
pub enum Auth {
    /// HTTP Basic with a ServiceNow user.
    Basic { user: String, password: String },
    /// OAuth resource-owner password grant at `POST /oauth_token.do`.
    OAuthPassword { client_id: String, client_secret: String, username: String, password: String },
    /// OAuth client-credentials grant at `POST /oauth_token.do`.
    OAuthClientCredentials { client_id: String, client_secret: String },
}

// Hand-written so secrets never reach logs through `{:?}`.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { user, .. } => {
                f.debug_struct("Basic").field("user", user).field("password", &"<redacted>").finish()
            }
            Auth::OAuthPassword { client_id, username, .. } => f
                .debug_struct("OAuthPassword")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::OAuthClientCredentials { client_id, .. } => f
                .debug_struct("OAuthClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
        }
    }
}

/// One ServiceNow desk's outbound configuration.
#[derive(Clone, Debug)]
pub struct ServiceNowConfig {
    /// The instance, e.g. `https://region-h.service-now.com/`. Every call goes here.
    pub base_url: Url,
    /// Table holding the tickets. Default `incident`.
    pub table: String,
    pub auth: Auth,
    /// Field that holds the gateway's incident id. Default `correlation_id`.
    pub correlation_field: String,
    /// Text field that records links to tickets elsewhere. Default `u_deskgate_links`.
    pub link_field: String,
    /// Whole-request timeout, connection included. Default 30 s.
    pub timeout: Duration,
}

impl ServiceNowConfig {
    /// A configuration with the defaults above.
    pub fn new(base_url: &str, auth: Auth) -> Result<Self, ConfigError> {
        let base_url = Url::parse(base_url)
            .map_err(|e| ConfigError::BaseUrl { url: base_url.to_owned(), reason: e.to_string() })?;
        Ok(Self {
            base_url,
            table: "incident".to_owned(),
            auth,
            correlation_field: "correlation_id".to_owned(),
            link_field: "u_deskgate_links".to_owned(),
            timeout: Duration::from_secs(30),
        })
    }
}

/// A configuration the adapter cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("base_url `{url}`: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("{key} `{value}`: expected a ServiceNow name (lowercase letters, digits and `_`)")]
    Name { key: &'static str, value: String },
    #[error("timeout must be greater than zero")]
    Timeout,
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// What `correlation_display` says on records this adapter creates.
pub const CORRELATION_DISPLAY: &str = "deskgate";

/// Records fetched per page by `changed_since`.
const PAGE_SIZE: usize = 100;
/// Pages fetched per `changed_since` call; the caller's watermark continues from the
/// last record returned, so a larger backlog is drained over several polls.
const MAX_PAGES: usize = 50;

/// Fields [`TicketFields`] names directly; everything else travels in `extra`.
const NAMED_FIELDS: [&str; 7] =
    ["sys_id", "number", "short_description", "description", "state", "priority", "assignment_group"];

/// The outbound adapter for one ServiceNow instance.
pub struct ServiceNowAdapter {
    config: ServiceNowConfig,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

impl fmt::Debug for ServiceNowAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceNowAdapter").field("config", &self.config).finish_non_exhaustive()
    }
}

struct CachedToken {
    access: String,
    refresh: Option<String>,
    /// When to stop using it: shortly before the instance says it expires.
    renew_at: Instant,
}

/// A successful answer.
impl ServiceNowAdapter {
    pub fn new(config: ServiceNowConfig) -> Result<Self, ConfigError> {
        let url = &config.base_url;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(ConfigError::BaseUrl {
                url: url.to_string(),
                reason: "expected an http or https URL".to_owned(),
            });
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(ConfigError::BaseUrl {
                url: url.to_string(),
                reason: "expected no query, fragment or credentials in the URL".to_owned(),
            });
        }
        for (key, value) in [
            ("table", &config.table),
            ("correlation_field", &config.correlation_field),
            ("link_field", &config.link_field),
        ] {
            let ok =
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(ConfigError::Name { key, value: value.clone() });
            }
        }
        if config.timeout.is_zero() {
            return Err(ConfigError::Timeout);
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("deskgate-servicenow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Self { config, http, token: tokio::sync::Mutex::new(None) })
    }

    pub fn config(&self) -> &ServiceNowConfig {
        &self.config
    }

    /// Where a person opens a record: `<base>/<table>.do?sys_id=<sys_id>`.
    pub fn record_url(&self, sys_id: &str) -> String {
        let mut url = self.config.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&format!("{}.do", self.config.table));
        }
        url.query_pairs_mut().append_pair("sys_id", sys_id);
        url.to_string()
    }

    fn table_url(&self, sys_id: Option<&str>) -> Url {
        let mut url = self.config.base_url.clone();
        // `new` refused URLs that cannot be a base, so the segments are always there.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "now", "table", &self.config.table]);
            if let Some(id) = sys_id {
                segments.push(id);
            }
        }
        url
    }

    fn token_url(&self) -> Url {
        let mut url = self.config.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("oauth_token.do");
        }
        url
    }

    /// One Table API call, authenticated ([`Self::send`]).
    async fn call(
        &self,
        method: Method,
        sys_id: Option<&str>,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, AdapterError> {
        let mut url = self.table_url(sys_id);
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("sysparm_display_value", "false").append_pair("sysparm_exclude_reference_link", "true");
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        self.send(method, url, |request| match body {
            Some(body) => request.json(body),
            None => request,
        })
        .await
    }

    /// One authenticated call to `url`, its body set by `with_body`; with OAuth a 401
    /// renews the token and the call is made once more. What the Table API and the
    /// Attachment API share.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        with_body: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Answer, AdapterError> {
        let what = format!("{method} {}", url.path());
        let oauth = !matches!(self.config.auth, Auth::Basic { .. });
        for attempt in 0..2 {
            let mut request =
                self.http.request(method.clone(), url.clone()).header(reqwest::header::ACCEPT, "application/json");
            request = match &self.config.auth {
                Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
                _ => request.bearer_auth(self.access_token().await?),
            };
            let answer = http::send("ServiceNow", &what, with_body(request), http::DEFAULT_MAX_ANSWER_BYTES).await?;
            tracing::debug!(request = %what, status = answer.status.as_u16(), "servicenow answered");
            if answer.status == StatusCode::UNAUTHORIZED && oauth && attempt == 0 {
                // The token may have been revoked or expired early: renew once.
                self.forget_token().await;
                continue;
            }
            if answer.status.is_success() {
                return Ok(answer);
            }
            return Err(refusal(&what, &answer));
        }
        // The loop returns on its second pass; reaching here means it did not run.
        Err(AdapterError::permanent(format!("ServiceNow {what}: no answer")))
    }

    /// Stop using the access token; keep the refresh token to renew it with.
    async fn forget_token(&self) {
        if let Some(token) = self.token.lock().await.as_mut() {
            token.renew_at = Instant::now();
        }
    }

    async fn access_token(&self) -> Result<String, AdapterError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.renew_at {
                return Ok(token.access.clone());
            }
        }
        let refresh = cached.as_ref().and_then(|t| t.refresh.clone());
        let fresh = match refresh {
            Some(refresh) => match self.request_token(Grant::Refresh(&refresh)).await {
                Ok(token) => token,
                // A refresh token can expire or be revoked: start over with the grant.
                Err(e) if !e.is_retriable() => self.request_token(Grant::Configured).await?,
                Err(e) => return Err(e),
            },
            None => self.request_token(Grant::Configured).await?,
        };
        let access = fresh.access.clone();
        *cached = Some(fresh);
        Ok(access)
    }

    async fn request_token(&self, grant: Grant<'_>) -> Result<CachedToken, AdapterError> {
        let (client_id, client_secret) = match &self.config.auth {
            Auth::OAuthPassword { client_id, client_secret, .. }
            | Auth::OAuthClientCredentials { client_id, client_secret } => (client_id, client_secret),
            Auth::Basic { .. } => {
                return Err(AdapterError::permanent("ServiceNow: a token was requested for Basic authentication"));
            }
        };
        let mut form: Vec<(&str, &str)> = vec![("client_id", client_id), ("client_secret", client_secret)];
        let grant_name = match (grant, &self.config.auth) {
            (Grant::Refresh(token), _) => {
                form.push(("refresh_token", token));
                "refresh_token"
            }
            (Grant::Configured, Auth::OAuthPassword { username, password, .. }) => {
                form.push(("username", username));
                form.push(("password", password));
                "password"
            }
            (Grant::Configured, _) => "client_credentials",
        };
        form.push(("grant_type", grant_name));
        let what = format!("POST /oauth_token.do (grant_type={grant_name})");
        let request = self.http.post(self.token_url()).header(reqwest::header::ACCEPT, "application/json").form(&form);
        let answer = http::send("ServiceNow", &what, request, http::DEFAULT_MAX_ANSWER_BYTES).await?;
        if !answer.status.is_success() {
            // OAuth errors are `{"error", "error_description"}`; neither carries secrets.
            let reason = serde_json::from_slice::<Value>(&answer.body)
                .ok()
                .and_then(|v| {
                    let error = v.get("error")?.as_str()?.to_owned();
                    let description = v.get("error_description").and_then(Value::as_str).unwrap_or_default();
                    Some(format!("{error} {description}").trim().to_owned())
                })
                .unwrap_or_else(|| answer.status.canonical_reason().unwrap_or("").to_owned());
            let status = answer.status.as_u16();
            return Err(
                answer.error(format!("ServiceNow {what}: {status} {reason}; check the OAuth client and credentials"))
            );
        }
        let body = answer.body;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| AdapterError::permanent(format!("ServiceNow {what}: answer is not JSON: {e}")))?;
        let access = value
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AdapterError::permanent(format!("ServiceNow {what}: answer has no access_token")))?
            .to_owned();
        let refresh = value.get("refresh_token").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
        let expires_in = match value.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        // ServiceNow's default access-token lifespan is 1800 s.
        .unwrap_or(1800);
        let lifetime = Duration::from_secs(expires_in);
        // Renew a little early so a token never expires in flight.
        let margin = (lifetime / 10).min(Duration::from_secs(60));
        Ok(CachedToken { access, refresh, renew_at: Instant::now() + lifetime - margin })
    }

    fn ticket(&self, record: Record, what: &str) -> Result<RemoteTicket, AdapterError> {
        let unparsable = |reason: String| AdapterError::permanent(format!("ServiceNow {what}: {reason}"));
        let sys_id = record.get("sys_id").cloned().unwrap_or_default();
        if !wire::is_sys_id(&sys_id) {
            return Err(unparsable(format!("record has no valid sys_id (`{sys_id}`)")));
        }
        let updated_at = match record.get("sys_updated_on").map(String::as_str) {
            None | Some("") => None,
            Some(v) => Some(wire::parse_date(v).map_err(|e| unparsable(e.to_string()))?),
        };
        let display_id = record.get("number").filter(|n| !n.is_empty()).cloned().unwrap_or_else(|| sys_id.clone());
        let take = |name: &str| record.get(name).filter(|v| !v.is_empty()).cloned();
        let fields = TicketFields {
            title: take("short_description"),
            description: take("description"),
            status: take("state"),
            priority: take("priority"),
            assignee: take("assignment_group"),
            extra: record
                .iter()
                .filter(|(k, v)| !v.is_empty() && !NAMED_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        Ok(RemoteTicket {
            id: RemoteId(sys_id.clone()),
            display_id,
            url: Some(self.record_url(&sys_id)),
            etag: None,
            updated_at,
            fields,
            // Journal fields are write-only in the Table API.
            notes: Vec::new(),
        })
    }

    fn one_record(&self, answer: Answer, what: &str) -> Result<RemoteTicket, AdapterError> {
        let value = result_of(answer, what)?;
        let record =
            wire::record_from_json(&value).map_err(|e| AdapterError::permanent(format!("ServiceNow {what}: {e}")))?;
        self.ticket(record, what)
    }

    fn records(&self, answer: Answer, what: &str) -> Result<Vec<Record>, AdapterError> {
        let value = result_of(answer, what)?;
        let list = value
            .as_array()
            .ok_or_else(|| AdapterError::permanent(format!("ServiceNow {what}: `result` is not a list")))?;
        list.iter()
            .map(|v| wire::record_from_json(v).map_err(|e| AdapterError::permanent(format!("ServiceNow {what}: {e}"))))
            .collect()
    }

    /// The request body for `fields`; `priority` is never sent (see the module docs).
    fn body(&self, fields: &TicketFields) -> Map<String, Value> {
        let mut body = Map::new();
        for (name, value) in [
            ("short_description", &fields.title),
            ("description", &fields.description),
            ("state", &fields.status),
            ("assignment_group", &fields.assignee),
        ] {
            if let Some(value) = value {
                body.insert(name.to_owned(), Value::String(value.clone()));
            }
        }
        if fields.priority.is_some() {
            tracing::debug!("servicenow derives priority from impact and urgency; not sending it");
        }
        for (name, value) in &fields.extra {
            if name == "priority" || name.starts_with("sys_") {
                tracing::debug!(field = %name, "servicenow field is computed; not sending it");
                continue;
            }
            body.insert(name.clone(), Value::String(value.clone()));
        }
        body
    }

    fn check_id<'a>(&self, id: &'a RemoteId) -> Result<&'a str, AdapterError> {
        if wire::is_sys_id(&id.0) {
            Ok(&id.0)
        } else {
            Err(AdapterError::permanent(format!(
                "`{}` is not a ServiceNow sys_id (expected 32 lowercase hex characters)",
                id.0
            )))
        }
    }

    async fn patch(&self, sys_id: &str, body: Map<String, Value>) -> Result<RemoteTicket, AdapterError> {
        let what = format!("PATCH {} {sys_id}", self.config.table);
        let answer = self.call(Method::PATCH, Some(sys_id), &[], Some(&Value::Object(body))).await?;
        self.one_record(answer, &what)
    }
}

#[derive(Clone, Copy)]
enum Grant<'a> {
    /// The grant the configuration names (password or client credentials).
    Configured,
    Refresh(&'a str),
}

/// The `result` member of a successful answer.
fn result_of(answer: Answer, what: &str) -> Result<Value, AdapterError> {
    let unparsable = |reason: String| AdapterError::Permanent {
        message: format!("ServiceNow {what}: answer is not `{{\"result\": …}}` JSON: {reason}"),
        status: None,
        body: Some(String::from_utf8_lossy(&answer.body).chars().take(deskgate_adapter::MAX_ERROR_BODY).collect()),
    };
    let mut value: Value = serde_json::from_slice(&answer.body).map_err(|e| unparsable(e.to_string()))?;
    match value.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(unparsable("no `result` member".to_owned())),
    }
}

/// A ServiceNow answer that is not a success, as an error naming the request and
/// ServiceNow's own message (its error envelope), classed by the status.
fn refusal(what: &str, answer: &http::Answer) -> AdapterError {
    let reason = serde_json::from_slice::<ErrorEnvelope>(&answer.body)
        .map(|e| e.to_string())
        .unwrap_or_else(|_| answer.status.canonical_reason().unwrap_or("").to_owned());
    answer.error(format!("ServiceNow {what}: {} {reason}", answer.status.as_u16()))
}

#[async_trait]
impl Adapter for ServiceNowAdapter {
    async fn create(&self, fields: &TicketFields, correlation: &str) -> Result<RemoteTicket, AdapterError> {
        if correlation.is_empty() {
            return Err(AdapterError::permanent("ServiceNow create: the correlation id is empty"));
        }
        let mut body = self.body(fields);
        body.insert(self.config.correlation_field.clone(), Value::String(correlation.to_owned()));
        body.insert("correlation_display".to_owned(), Value::String(CORRELATION_DISPLAY.to_owned()));
        let what = format!("POST {}", self.config.table);
        let answer = self.call(Method::POST, None, &[], Some(&Value::Object(body))).await?;
        self.one_record(answer, &what)
    }

    async fn find_by_correlation(&self, correlation: &str) -> Result<Option<RemoteTicket>, AdapterError> {
        if correlation.is_empty() {
            return Err(AdapterError::permanent("ServiceNow find_by_correlation: the correlation id is empty"));
        }
        let query = EncodedQuery::all()
            .and(self.config.correlation_field.clone(), Operator::Eq(correlation.to_owned()))
            .order_by("sys_created_on")
            .order_by("sys_id")
            .to_string();
        let what = format!("GET {} by correlation", self.config.table);
        let answer = self.call(Method::GET, None, &[("sysparm_query", &query), ("sysparm_limit", "2")], None).await?;
        let mut records = self.records(answer, &what)?;
        if records.len() > 1 {
            tracing::warn!(correlation, "servicenow holds several records for one correlation id; using the oldest");
        }
        if records.is_empty() {
            return Ok(None);
        }
        let first = records.swap_remove(0);
        self.ticket(first, &what).map(Some)
    }

    async fn get(&self, id: &RemoteId) -> Result<RemoteTicket, AdapterError> {
        let sys_id = self.check_id(id)?;
        let what = format!("GET {} {sys_id}", self.config.table);
        let answer = self.call(Method::GET, Some(sys_id), &[], None).await?;
        self.one_record(answer, &what)
    }

    async fn update(&self, id: &RemoteId, fields: &TicketFields) -> Result<RemoteTicket, AdapterError> {
        let sys_id = self.check_id(id)?;
        let body = self.body(fields);
        if body.is_empty() {
            return self.get(id).await;
        }
        self.patch(sys_id, body).await
    }

    async fn add_note(&self, id: &RemoteId, note: &RemoteNote) -> Result<(), AdapterError> {
        let sys_id = self.check_id(id)?;
        if note.body.trim().is_empty() {
            return Err(AdapterError::permanent(
                "ServiceNow add_note: the note is empty (ServiceNow would drop it silently)",
            ));
        }
        let field = if note.public { "comments" } else { "work_notes" };
        let mut body = Map::new();
        body.insert(field.to_owned(), Value::String(note.body.clone()));
        self.patch(sys_id, body).await.map(|_| ())
    }

    async fn link(&self, id: &RemoteId, link: &RemoteLink) -> Result<(), AdapterError> {
        let sys_id = self.check_id(id)?;
        let field = &self.config.link_field;
        let what = format!("GET {} {sys_id} links", self.config.table);
        let fields = format!("sys_id,{field}");
        let answer = self.call(Method::GET, Some(sys_id), &[("sysparm_fields", &fields)], None).await?;
        let value = result_of(answer, &what)?;
        let record =
            wire::record_from_json(&value).map_err(|e| AdapterError::permanent(format!("ServiceNow {what}: {e}")))?;
        let Some(existing) = record.get(field) else {
            return Err(missing_link_field(&self.config.table, field));
        };
        let marker = format!("[{}]", one_line(&link.global_id));
        if existing.lines().any(|l| l.trim_end().ends_with(&marker)) {
            return Ok(());
        }
        let line = link_line(link);
        let mut lines = existing.trim_end().to_owned();
        if !lines.is_empty() {
            lines.push('\n');
        }
        lines.push_str(&line);
        let mut body = Map::new();
        body.insert(field.clone(), Value::String(lines));
        body.insert("work_notes".to_owned(), Value::String(format!("Linked to {line}")));
        let updated = self.patch(sys_id, body).await?;
        let stored =
            updated.fields.extra.get(field).is_some_and(|v| v.lines().any(|l| l.trim_end().ends_with(&marker)));
        if !stored {
            return Err(missing_link_field(&self.config.table, field));
        }
        Ok(())
    }

    fn attachment_api(&self) -> Option<&dyn deskgate_adapter::Attachments> {
        Some(self)
    }

    async fn changed_since(&self, since: Timestamp) -> Result<Vec<RemoteTicket>, AdapterError> {
        let what = format!("GET {} changed since", self.config.table);
        let page_size = PAGE_SIZE.to_string();
        let mut tickets: Vec<RemoteTicket> = Vec::new();
        let mut after: Option<(String, String)> = None;
        for _ in 0..MAX_PAGES {
            let query = changed_query(&wire::format_date(since), after.as_ref()).to_string();
            let answer =
                self.call(Method::GET, None, &[("sysparm_query", &query), ("sysparm_limit", &page_size)], None).await?;
            let records = self.records(answer, &what)?;
            let full = records.len() == PAGE_SIZE;
            for record in records {
                let key = (
                    record.get("sys_updated_on").cloned().unwrap_or_default(),
                    record.get("sys_id").cloned().unwrap_or_default(),
                );
                tickets.push(self.ticket(record, &what)?);
                after = Some(key);
            }
            if !full {
                break;
            }
        }
        Ok(tickets)
    }
}

/// `sys_updated_on >= since`, continuing after `(updated, sys_id)` when paging:
/// `(sys_updated_on > u) OR (sys_updated_on = u AND sys_id > id)`.
fn changed_query(since: &str, after: Option<&(String, String)>) -> EncodedQuery {
    let query = match after {
        None => EncodedQuery::all().and("sys_updated_on", Operator::Ge(since.to_owned())),
        Some((updated, sys_id)) => {
            EncodedQuery::all().and("sys_updated_on", Operator::Gt(updated.clone())).or_group(Group::new(vec![
                crate::query::Clause { any: vec![Condition::new("sys_updated_on", Operator::Eq(updated.clone()))] },
                crate::query::Clause { any: vec![Condition::new("sys_id", Operator::Gt(sys_id.clone()))] },
            ]))
        }
    };
    query.order_by("sys_updated_on").order_by("sys_id")
}

fn missing_link_field(table: &str, field: &str) -> AdapterError {
    AdapterError::permanent(format!(
        "ServiceNow table `{table}` has no field `{field}` (ServiceNow ignores unknown fields); \
         create it as a string field or configure link_field"
    ))
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `SAMPL00000042: Title https://… [global-id]`
fn link_line(link: &RemoteLink) -> String {
    let mut line = format!("{}: {}", one_line(&link.display_id), one_line(&link.title));
    if let Some(url) = &link.url {
        line.push(' ');
        line.push_str(&one_line(url));
    }
    line.push_str(&format!(" [{}]", one_line(&link.global_id)));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(auth: Auth) -> ServiceNowAdapter {
        ServiceNowAdapter::new(ServiceNowConfig::new("https://example.service-now.com/", auth).unwrap()).unwrap()
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        for auth in [
            Auth::Basic { user: "svc".into(), password: "hunter2-basic".into() },
            Auth::OAuthPassword {
                client_id: "cid".into(),
                client_secret: "hunter2-secret".into(),
                username: "svc".into(),
                password: "hunter2-pw".into(),
            },
            Auth::OAuthClientCredentials { client_id: "cid".into(), client_secret: "hunter2-cc".into() },
        ] {
            let shown = format!("{:?} {:?}", auth, adapter(auth.clone()));
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn urls_stay_under_the_base() {
        let mut config = ServiceNowConfig::new(
            "https://example.service-now.com/prefix",
            Auth::Basic { user: "u".into(), password: "p".into() },
        )
        .unwrap();
        config.table = "incident".into();
        let a = ServiceNowAdapter::new(config).unwrap();
        assert_eq!(
            a.table_url(Some("46d44a5ea9fe198100bb5f2a0b7fea1b")).as_str(),
            "https://example.service-now.com/prefix/api/now/table/incident/46d44a5ea9fe198100bb5f2a0b7fea1b"
        );
        assert_eq!(a.token_url().as_str(), "https://example.service-now.com/prefix/oauth_token.do");
        assert_eq!(
            a.record_url("46d44a5ea9fe198100bb5f2a0b7fea1b"),
            "https://example.service-now.com/prefix/incident.do?sys_id=46d44a5ea9fe198100bb5f2a0b7fea1b"
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        let basic = || Auth::Basic { user: "u".into(), password: "p".into() };
        assert!(ServiceNowConfig::new("not a url", basic()).is_err());
        let mut c = ServiceNowConfig::new("ftp://x/", basic()).unwrap();
        assert!(ServiceNowAdapter::new(c.clone()).is_err());
        c.base_url = Url::parse("https://x/?a=b").unwrap();
        assert!(ServiceNowAdapter::new(c.clone()).is_err());
        c.base_url = Url::parse("https://x/").unwrap();
        c.table = "incident/../sys_user".into();
        let e = ServiceNowAdapter::new(c).unwrap_err();
        assert!(e.to_string().starts_with("table `incident/../sys_user`"), "{e}");
    }

    #[test]
    fn malformed_sys_ids_are_refused_before_any_call() {
        let a = adapter(Auth::Basic { user: "u".into(), password: "p".into() });
        let e = a.check_id(&RemoteId("../sys_user".into())).unwrap_err();
        assert!(!e.is_retriable());
    }

    #[test]
    fn priority_is_never_sent() {
        let a = adapter(Auth::Basic { user: "u".into(), password: "p".into() });
        let mut fields = TicketFields { priority: Some("1".into()), ..Default::default() };
        fields.extra.insert("priority".into(), "1".into());
        fields.extra.insert("impact".into(), "1".into());
        fields.extra.insert("sys_updated_on".into(), "x".into());
        let body = a.body(&fields);
        assert_eq!(Value::Object(body), serde_json::json!({"impact": "1"}));
    }

    #[test]
    fn paging_continues_after_the_last_key() {
        let q = changed_query("2026-01-01 00:00:00", Some(&("2026-01-02 00:00:00".into(), "ab".into())));
        assert_eq!(
            q.to_string(),
            "sys_updated_on>2026-01-02 00:00:00^NQsys_updated_on=2026-01-02 00:00:00^sys_id>ab^ORDERBYsys_updated_on^ORDERBYsys_id"
        );
        assert_eq!(
            changed_query("2026-01-01 00:00:00", None).to_string(),
            "sys_updated_on>=2026-01-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id"
        );
    }

    #[test]
    fn link_lines_are_single_lines_ending_in_the_global_id() {
        let line = link_line(&RemoteLink {
            global_id: "deskgate:INC-1\n".into(),
            title: "Two\nlines".into(),
            url: Some("https://cq/x".into()),
            display_id: "SAMPL00000042".into(),
        });
        assert_eq!(line, "SAMPL00000042: Two lines https://cq/x [deskgate:INC-1 ]");
    }
}
