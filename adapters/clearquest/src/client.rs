//! [`ClearQuestAdapter`]: the gateway's outbound client for a ClearQuest OSLC CM 2.0
//! provider.
//!
//! Where records are created and queried is discovered ([`crate::discovery`]), not
//! built. Every request carries `OSLC-Core-Version: 2.0`, asks for `application/rdf+xml`,
//! authenticates with basic auth, goes only to the configured base URL (redirects are
//! not followed, record URIs from answers are checked against the base) and is
//! classified on failure as retriable or permanent.
//!
//! Modifications follow ClearQuest's rules: read the record (ETag), then
//! `PUT <record>?rcm.action=<action>&oslc.properties=<changed>` with `If-Match`.
//! A status change runs the action that leads to the wanted state (see
//! [`crate::StateAction`] in the configured [`Schema`]), carrying the fields the action
//! requires; a 412 means someone changed the record in between: read again,
//! re-plan, retry — a bounded number of times.
//!
//! Notes go through the schema's note entry field (`Note_Entry`): ClearQuest appends
//! each entry to the read-only `Notes_Log`. A note longer than a multi-line value
//! ClearQuest keeps (`max.multiline.text.length`, 2,000 characters by default, beyond
//! which it truncates silently) is sent as several numbered entries.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use deskgate_adapter::{Adapter, AdapterError, RemoteId, RemoteLink, RemoteNote, RemoteTicket, TicketFields};
use jiff::Timestamp;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use url::Url;

use crate::discovery::Discovered;
use crate::oslc::{self, CqRecord, Limits, RDF_XML};
use crate::oslc_where::{Literal, Op, Where};
use crate::schema::{Schema, USER_PLACEHOLDER};
use deskgate_adapter::http::Answer;
use deskgate_adapter::poll::{PollOutcome, PollState};

/// The stock schema's action that changes fields without changing state.
pub const MODIFY_ACTION: &str = "Modify";

/// Where stock ClearQuest keeps a record's modification times: its history entries.
pub const STOCK_MODIFIED: &str = "cq:history{cq:action_timestamp}";

/// Most actions one update runs to reach a state (Submitted → Closed takes four).
const MAX_ACTION_HOPS: usize = 6;

/// How to reach one ClearQuest database. Secrets are plain strings here and never
/// leave through `Debug`, errors or logs.
#[derive(Clone)]
pub struct ClearQuestConfig {
    /// Scheme, host, port and optional path prefix in front of `/cqweb` (`https://cq.example`).
    pub base_url: String,
    /// Repository (schema repository / connection) name.
    pub repo: String,
    /// User database name (`SAMPL`).
    pub db: String,
    /// Record type name (`Defect`).
    pub record_type: String,
    /// The record type's dbid, as in record URIs `…/record/{type_dbid}-{dbid}`.
    pub record_type_dbid: String,
    pub user: String,
    pub password: String,
    /// Field holding the gateway's incident id (`cq:deskgate_Incident`).
    pub correlation_field: String,
    /// The read-only multi-line journal notes are read from (`cq:Notes_Log`).
    pub notes_field: String,
    /// The field a new note is written to; ClearQuest appends it to the notes log
    /// (`cq:Note_Entry`).
    pub note_entry_field: String,
    /// Longest value ClearQuest keeps in a multi-line field, in characters
    /// (`max.multiline.text.length`, 2,000 by default); longer notes are split.
    pub max_note_chars: usize,
    /// The field that carries the priority (`cq:Priority`).
    pub priority_field: String,
    /// The property change capture queries by and reads a record's modification
    /// time from. ClearQuest's default OSLC mappings give no `dcterms:modified`:
    /// the stock answer is the record's history, `cq:history{cq:action_timestamp}`
    /// (the newest entry counts). A schema with a modification date field names it
    /// (`cq:Modified_Date`), an installation mapping one names `dcterms:modified`.
    pub modified_field: String,
    /// Field holding the display ids of linked tickets, one per line.
    pub link_field: String,
    pub timeout: Duration,
    /// How many 412 answers in a row one modification tolerates before giving up
    /// with a retriable error.
    pub max_conflict_retries: u32,
    /// The record type's states, actions and the fields actions require.
    pub schema: Schema,
    /// `oslc.pageSize` for queries.
    pub page_size: u32,
    /// Most query pages followed in one call.
    pub max_pages: u32,
    pub limits: Limits,
}

impl ClearQuestConfig {
    /// A configuration with the stock defaults for everything but the connection.
    pub fn new(
        base_url: impl Into<String>,
        repo: impl Into<String>,
        db: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            repo: repo.into(),
            db: db.into(),
            record_type: "Defect".into(),
            record_type_dbid: "16777224".into(),
            user: user.into(),
            password: password.into(),
            correlation_field: "cq:deskgate_Incident".into(),
            notes_field: "cq:Notes_Log".into(),
            note_entry_field: "cq:Note_Entry".into(),
            max_note_chars: 2000,
            priority_field: "cq:Priority".into(),
            modified_field: STOCK_MODIFIED.into(),
            link_field: "cq:deskgate_Links".into(),
            timeout: Duration::from_secs(10),
            max_conflict_retries: 3,
            schema: Schema::stock(),
            page_size: 100,
            max_pages: 50,
            limits: Limits::default(),
        }
    }
}

impl fmt::Debug for ClearQuestConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClearQuestConfig")
            .field("base_url", &self.base_url)
            .field("repo", &self.repo)
            .field("db", &self.db)
            .field("record_type", &self.record_type)
            .field("record_type_dbid", &self.record_type_dbid)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("correlation_field", &self.correlation_field)
            .field("notes_field", &self.notes_field)
            .field("note_entry_field", &self.note_entry_field)
            .field("priority_field", &self.priority_field)
            .field("modified_field", &self.modified_field)
            .field("link_field", &self.link_field)
            .field("timeout", &self.timeout)
            .field("max_conflict_retries", &self.max_conflict_retries)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// A configuration the adapter cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("clearquest base_url: {0}")]
    BaseUrl(String),
    #[error("clearquest {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("clearquest: cannot build the HTTP client: {0}")]
    Client(String),
}

/// The ClearQuest OSLC CM adapter.
pub struct ClearQuestAdapter {
    pub(crate) config: ClearQuestConfig,
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    /// The base URL's path, without a trailing slash.
    prefix: String,
    /// `{prefix}/cqweb/oslc/repo/{repo}/db/{db}`
    db_path: String,
    /// What discovery found, until an announced URL answers 404.
    discovered: Mutex<Option<Arc<Discovered>>>,
}

impl fmt::Debug for ClearQuestAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClearQuestAdapter").field("config", &self.config).finish_non_exhaustive()
    }
}

fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && s != "."
        && s != ".."
}

/// A field name as the wire wants it: `Severity` → `cq:Severity`.
fn field_name(name: &str) -> String {
    if name.contains(':') { name.to_owned() } else { format!("cq:{name}") }
}

/// ClearQuest may answer a user reference as a URI (`…/user/alice`): keep the login.
fn owner_login(value: &str) -> &str {
    match value.rsplit_once("/user/") {
        Some((_, login)) if value.contains("://") || value.starts_with('/') => login,
        _ => value,
    }
}

/// One PUT the adapter has decided to send.
struct Step {
    action: String,
    props: BTreeMap<String, String>,
    /// Whether the record is where it should be once this step succeeds.
    last: bool,
}

/// A record as last read, with its concurrency token.
#[derive(Clone)]
struct Current {
    record: CqRecord,
    etag: Option<String>,
}

impl ClearQuestAdapter {
    pub fn new(config: ClearQuestConfig) -> Result<Self, ConfigError> {
        let base = Url::parse(&config.base_url).map_err(|e| ConfigError::BaseUrl(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(ConfigError::BaseUrl("expected an http(s) URL with a host".into()));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ConfigError::BaseUrl("credentials belong in user/password, not in the URL".into()));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(ConfigError::BaseUrl("expected no query or fragment".into()));
        }
        for (key, value) in [
            ("repo", &config.repo),
            ("db", &config.db),
            ("record_type", &config.record_type),
            ("record_type_dbid", &config.record_type_dbid),
        ] {
            if !is_segment(value) {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value:?} is not a plain name (letters, digits, _ - .)"),
                });
            }
        }
        for (key, value) in [
            ("correlation_field", &config.correlation_field),
            ("notes_field", &config.notes_field),
            ("note_entry_field", &config.note_entry_field),
            ("priority_field", &config.priority_field),
            ("link_field", &config.link_field),
        ] {
            oslc::check_name(&field_name(value)).map_err(|e| ConfigError::Invalid { key, reason: e.to_string() })?;
        }
        oslc::check_property(&field_name(&config.modified_field))
            .map_err(|e| ConfigError::Invalid { key: "modified_field", reason: e.to_string() })?;
        config.schema.check().map_err(|reason| ConfigError::Invalid { key: "schema", reason })?;
        if config.max_note_chars < 200 {
            return Err(ConfigError::Invalid {
                key: "max_note_chars",
                reason: "expected at least 200 characters per note entry".into(),
            });
        }
        if config.page_size == 0 || config.max_pages == 0 {
            return Err(ConfigError::Invalid {
                key: "page_size",
                reason: "page_size and max_pages must be at least 1".into(),
            });
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            // Calls go to the configured endpoint only, never via an ambient proxy.
            .no_proxy()
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        let prefix = base.path().trim_end_matches('/').to_owned();
        let db_path = format!("{prefix}/cqweb/oslc/repo/{}/db/{}", config.repo, config.db);
        let mut config = config;
        config.correlation_field = field_name(&config.correlation_field);
        config.notes_field = field_name(&config.notes_field);
        config.link_field = field_name(&config.link_field);
        config.note_entry_field = field_name(&config.note_entry_field);
        config.priority_field = field_name(&config.priority_field);
        config.modified_field = field_name(&config.modified_field);
        Ok(Self { config, http, base, prefix, db_path, discovered: Mutex::new(None) })
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn cached(&self) -> Option<Arc<Discovered>> {
        self.discovered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub(crate) fn cache(&self, found: Option<Arc<Discovered>>) {
        *self.discovered.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = found;
    }

    pub fn config(&self) -> &ClearQuestConfig {
        &self.config
    }

    fn record_prefix(&self) -> String {
        format!("{}/record/", self.db_path)
    }

    fn absolute(&self, path: &str) -> String {
        let mut url = self.base.clone();
        url.set_path(path);
        url.to_string()
    }

    /// Check that `id` names a record of this database and return its path.
    pub(crate) fn record_path(&self, id: &RemoteId) -> Result<String, AdapterError> {
        let prefix = self.record_prefix();
        let valid = id.0.strip_prefix(&prefix).is_some_and(|rest| {
            rest.split_once('-').is_some_and(|(t, d)| {
                !t.is_empty()
                    && !d.is_empty()
                    && t.bytes().all(|b| b.is_ascii_digit())
                    && d.bytes().all(|b| b.is_ascii_digit())
            })
        });
        if valid {
            Ok(id.0.clone())
        } else {
            Err(AdapterError::permanent(format!(
                "{id} is not a record URI of ClearQuest database {}/{}",
                self.config.repo, self.config.db
            )))
        }
    }

    /// Turn a URI from an answer into a path on the configured base, refusing
    /// anything on another origin.
    pub(crate) fn own_path(&self, uri: &str) -> Result<String, AdapterError> {
        let url = self
            .base
            .join(uri)
            .map_err(|e| AdapterError::permanent(format!("ClearQuest sent an unusable URI {uri:?}: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(AdapterError::permanent(format!(
                "ClearQuest pointed to {uri:?}, outside the configured base URL"
            )));
        }
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        })
    }

    fn record_id(&self, record: &CqRecord) -> Result<RemoteId, AdapterError> {
        let about = record
            .about
            .as_deref()
            .ok_or_else(|| AdapterError::permanent("ClearQuest answered a record without rdf:about"))?;
        let id = RemoteId(self.own_path(about)?);
        self.record_path(&id)?;
        Ok(id)
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        if_match: Option<&str>,
        body: Option<String>,
    ) -> Result<Answer, AdapterError> {
        let mut url = self.base.clone();
        match path.split_once('?') {
            Some((p, q)) => {
                url.set_path(p);
                url.set_query(Some(q));
            }
            None => url.set_path(path),
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let (what, mut request) = self.request(method, url, RDF_XML);
        if let Some(etag) = if_match {
            request = request.header(IF_MATCH, etag);
        }
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, RDF_XML).body(body);
        }
        self.exchange(&what, request).await
    }

    fn parse_record(&self, what: &str, body: &[u8]) -> Result<CqRecord, AdapterError> {
        oslc::parse_record(body, self.config.limits).map_err(|e| AdapterError::Permanent {
            message: format!("ClearQuest's answer to {what} is not a record: {e}"),
            status: None,
            body: Some(String::from_utf8_lossy(body).chars().take(2048).collect()),
        })
    }

    /// `oslc.select` / `oslc.properties` for reading records: everything, plus the
    /// modification time when it is a scoped property (`*` leaves nested values out).
    pub(crate) fn selection(&self) -> String {
        match oslc::split_scoped(&self.config.modified_field) {
            Some(_) => format!("*,{}", self.config.modified_field),
            None => "*".into(),
        }
    }

    /// The shortest chain of actions from `from` to `to` under the configured table.
    fn action_path(&self, from: &str, to: &str) -> Result<Vec<String>, AdapterError> {
        let mut queue = VecDeque::from([(from.to_owned(), Vec::<String>::new())]);
        let mut visited = vec![from.to_owned()];
        while let Some((state, path)) = queue.pop_front() {
            if path.len() >= MAX_ACTION_HOPS {
                continue;
            }
            for rule in &self.config.schema.actions {
                let applies = rule.from.is_empty() || rule.from.iter().any(|f| f == &state);
                if !applies || visited.contains(&rule.to) {
                    continue;
                }
                let mut next = path.clone();
                next.push(rule.action.clone());
                if rule.to == to {
                    return Ok(next);
                }
                visited.push(rule.to.clone());
                queue.push_back((rule.to.clone(), next));
            }
        }
        Err(AdapterError::permanent(format!(
            "no ClearQuest action leads from state {from:?} to {to:?} in the configured state table"
        )))
    }

    /// The wire properties `fields` asks for (status excluded: actions change state).
    fn desired_props(&self, fields: &TicketFields) -> BTreeMap<String, String> {
        let mut props = BTreeMap::new();
        for (name, value) in [
            ("cq:Headline", &fields.title),
            ("cq:Description", &fields.description),
            (self.config.priority_field.as_str(), &fields.priority),
            ("cq:Owner", &fields.assignee),
        ] {
            if let Some(value) = value {
                props.insert(name.to_owned(), value.clone());
            }
        }
        for (name, value) in &fields.extra {
            let name = field_name(name);
            if name != "cq:State" {
                props.insert(name, value.clone());
            }
        }
        props
    }

    fn changed(current: &CqRecord, desired: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        desired
            .iter()
            .filter(|(name, value)| {
                let now = current.get(name).map(|v| if name.as_str() == "cq:Owner" { owner_login(v) } else { v });
                now != Some(value.as_str())
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    fn plan_update(&self, current: &CqRecord, fields: &TicketFields) -> Result<Option<Step>, AdapterError> {
        let desired = self.desired_props(fields);
        let changed = Self::changed(current, &desired);
        let state = current.get("cq:State").unwrap_or_default();
        match &fields.status {
            Some(target) if target != state => {
                let path = self.action_path(state, target)?;
                let last = path.len() == 1;
                let action = path.into_iter().next().unwrap_or_default();
                // Fields travel with the action that reaches the target; every action
                // on the way carries the fields its schema makes mandatory.
                let mut props = if last { changed } else { BTreeMap::new() };
                self.add_required(&action, current, &desired, &mut props)?;
                Ok(Some(Step { action, props, last }))
            }
            _ if changed.is_empty() => Ok(None),
            _ => Ok(Some(Step { action: self.config.schema.modify_action.clone(), props: changed, last: true })),
        }
    }

    /// Give `action` the fields the schema requires for it: from the change, else
    /// what the record holds, else the schema's default; refused before anything is
    /// sent when none of these has a value.
    fn add_required(
        &self,
        action: &str,
        current: &CqRecord,
        desired: &BTreeMap<String, String>,
        props: &mut BTreeMap<String, String>,
    ) -> Result<(), AdapterError> {
        let Some(rule) = self.config.schema.action(action) else {
            return Ok(());
        };
        for name in rule.requires.iter().map(|f| field_name(f)) {
            if props.contains_key(&name) || current.get(&name).is_some_and(|v| !v.trim().is_empty()) {
                continue;
            }
            let default = self.config.schema.defaults.iter().find(|(k, _)| field_name(k) == name).map(|(_, v)| v);
            match desired.get(&name).or(default) {
                Some(v) if v == USER_PLACEHOLDER => props.insert(name, self.config.user.clone()),
                Some(v) => props.insert(name, v.clone()),
                None => {
                    return Err(AdapterError::permanent(format!(
                        "ClearQuest's action {action} requires {name}; the change carries none, the record has none \
                         and the schema gives no default"
                    )));
                }
            };
        }
        Ok(())
    }

    fn ticket(&self, current: Current) -> Result<RemoteTicket, AdapterError> {
        let Current { record, etag } = current;
        let id = self.record_id(&record)?;
        let display_id =
            record.get("cq:id").or_else(|| record.get("dcterms:identifier")).unwrap_or_default().to_owned();
        let modified = &self.config.modified_field;
        // A scoped property holds one value per history entry: the newest counts.
        let updated_at = record.get(modified).and_then(|v| {
            v.lines()
                .filter(|l| !l.trim().is_empty())
                .filter_map(|l| {
                    l.trim()
                        .parse::<Timestamp>()
                        .map_err(|e| tracing::warn!(record = %id, field = %modified, error = %e, "unreadable modification time"))
                        .ok()
                })
                .max()
        });
        let scope = oslc::split_scoped(modified).map(|(outer, _)| outer);
        let c = &self.config;
        let mapped =
            ["cq:Headline", "cq:Description", "cq:State", c.priority_field.as_str(), "cq:Owner", "cq:id", modified];
        let extra = record
            .props
            .iter()
            .filter(|(name, _)| {
                name.starts_with("cq:")
                    && !mapped.contains(&name.as_str())
                    && **name != c.notes_field
                    && **name != c.note_entry_field
                    && Some(name.as_str()) != scope
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let fields = TicketFields {
            title: record.get("cq:Headline").map(str::to_owned),
            description: record.get("cq:Description").map(str::to_owned),
            status: record.get("cq:State").map(str::to_owned),
            priority: record.get(&c.priority_field).map(str::to_owned),
            assignee: record.get("cq:Owner").map(|v| owner_login(v).to_owned()),
            extra,
        };
        let notes = parse_notes(record.get(&self.config.notes_field).unwrap_or_default());
        Ok(RemoteTicket { url: record.about.clone(), id, display_id, etag, updated_at, fields, notes })
    }

    /// One change-capture round: query from the state's watermark minus `overlap`,
    /// drop versions already reported, return what is new and the next state.
    pub async fn poll(&self, state: &PollState, overlap: Duration) -> Result<PollOutcome, AdapterError> {
        let batch = self.changed_since(state.query_from(overlap)).await?;
        Ok(state.absorb(overlap, batch))
    }
}

#[async_trait]
impl Adapter for ClearQuestAdapter {
    async fn create(&self, fields: &TicketFields, correlation: &str) -> Result<RemoteTicket, AdapterError> {
        let mut record = CqRecord { props: self.desired_props(fields), ..CqRecord::default() };
        record.props.insert(self.config.correlation_field.clone(), correlation.to_owned());
        let body = oslc::write_record(&record)
            .map_err(|e| AdapterError::permanent(format!("cannot express the record as RDF/XML: {e}")))?;
        let mut path = self.discover().await?.creation_factory.clone();
        let answer = match self.send(Method::POST, &path, &[], None, Some(body.clone())).await {
            Err(e) if e.status() == Some(404) => {
                tracing::info!(error = %e, "ClearQuest's creation factory is gone; discovering again");
                self.forget_discovery();
                path = self.discover().await?.creation_factory.clone();
                self.send(Method::POST, &path, &[], None, Some(body)).await?
            }
            other => other?,
        };
        let etag = answer.header(ETAG).map(str::to_owned);
        let current = if !answer.body.is_empty() && etag.is_some() {
            Current { record: self.parse_record(&format!("POST {path}"), &answer.body)?, etag }
        } else {
            let location = answer
                .header(LOCATION)
                .ok_or_else(|| AdapterError::permanent("ClearQuest created a record but sent no Location"))?;
            self.read(&self.own_path(location)?).await?
        };
        let created = self.ticket(current.clone())?;
        tracing::info!(record = %created.display_id, correlation, "created ClearQuest record");
        match &fields.status {
            Some(status) if created.fields.status.as_ref() != Some(status) => {
                // The actions start from the record the POST answered with: no read.
                let only_status = TicketFields { status: Some(status.clone()), ..TicketFields::default() };
                let plan = |record: &CqRecord| self.plan_update(record, &only_status);
                let current = self.modify_steps(&created.id, Some(current), MAX_ACTION_HOPS, plan).await?;
                self.ticket(current)
            }
            _ => Ok(created),
        }
    }

    /// Queries `<correlation_field>="<id>"`. Query answers carry no ETag: the
    /// returned ticket's `etag` is `None` (modifications read the record first anyway).
    async fn find_by_correlation(&self, correlation: &str) -> Result<Option<RemoteTicket>, AdapterError> {
        let filter = Where::new().and(self.config.correlation_field.clone(), Op::Eq, Literal::string(correlation));
        let mut found = self.query(&filter, None).await?;
        if found.len() > 1 {
            tracing::warn!(
                correlation,
                count = found.len(),
                "several ClearQuest records share a correlation id; using the first"
            );
        }
        Ok(if found.is_empty() { None } else { Some(found.swap_remove(0)) })
    }

    async fn get(&self, id: &RemoteId) -> Result<RemoteTicket, AdapterError> {
        let path = self.record_path(id)?;
        let current = self.read(&path).await?;
        self.ticket(current)
    }

    async fn update(&self, id: &RemoteId, fields: &TicketFields) -> Result<RemoteTicket, AdapterError> {
        let current = self.modify(id, |record| self.plan_update(record, fields)).await?;
        self.ticket(current)
    }

    /// Writes the note to the note entry field, which ClearQuest appends to the
    /// notes log; a note too long for one entry goes as several numbered entries, one
    /// modification each. A retried call finds the entries already in the log by the
    /// fingerprint in their header (author, visibility, time and text) and writes only
    /// what is missing, so a lost answer does not duplicate the note.
    async fn add_note(&self, id: &RemoteId, note: &RemoteNote) -> Result<(), AdapterError> {
        let marker = note_marker(note);
        let entries = note_entries(note, self.config.max_note_chars)?;
        let n = entries.len();
        let log_field = self.config.notes_field.clone();
        let entry_field = self.config.note_entry_field.clone();
        self.modify_steps(id, None, n, |record| {
            let log = record.get(&log_field).unwrap_or_default();
            let missing: Vec<usize> = (1..=n).filter(|i| !has_entry(log, &marker, *i, n)).collect();
            let Some(first) = missing.first() else {
                return Ok(None);
            };
            Ok(Some(Step {
                action: self.config.schema.modify_action.clone(),
                props: BTreeMap::from([(entry_field.clone(), entries[first - 1].clone())]),
                last: missing.len() == 1,
            }))
        })
        .await
        .map(|_| ())
    }

    fn attachment_api(&self) -> Option<&dyn deskgate_adapter::Attachments> {
        Some(self)
    }

    /// Adds the linked display id to the link field (one per line) unless present.
    async fn link(&self, id: &RemoteId, link: &RemoteLink) -> Result<(), AdapterError> {
        let field = self.config.link_field.clone();
        let wanted = link.display_id.trim().to_owned();
        if wanted.is_empty() || wanted.contains(['\n', ',']) {
            return Err(AdapterError::permanent(format!("cannot link to display id {:?}", link.display_id)));
        }
        self.modify(id, |record| {
            let now = record.get(&field).unwrap_or_default();
            if now.split(['\n', ',']).any(|t| t.trim() == wanted) {
                return Ok(None);
            }
            let next = if now.trim().is_empty() { wanted.clone() } else { format!("{}\n{wanted}", now.trim_end()) };
            Ok(Some(Step {
                action: self.config.schema.modify_action.clone(),
                props: BTreeMap::from([(field.clone(), next)]),
                last: true,
            }))
        })
        .await
        .map(|_| ())
    }

    async fn find_by_display_id(&self, display_id: &str) -> Result<Option<RemoteTicket>, AdapterError> {
        Ok(self.query(&Where::new().and("cq:id", Op::Eq, Literal::string(display_id)), None).await?.pop())
    }

    async fn changed_since(&self, since: Timestamp) -> Result<Vec<RemoteTicket>, AdapterError> {
        let field = &self.config.modified_field;
        let filter = Where::new().and(field.clone(), Op::Ge, Literal::date_time(since));
        // A scoped property cannot be ordered by: the sort below does it.
        let order = oslc::split_scoped(field).is_none().then(|| format!("+{field}"));
        let mut tickets = self.query(&filter, order.as_deref()).await?;
        // The server is asked to sort; sorting again keeps "oldest first" true
        // whatever it did.
        tickets.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        Ok(tickets)
    }
}

mod modify;
mod notes;
mod query;
mod request;
#[cfg(test)]
mod tests;

pub use notes::parse_notes;
use notes::{has_entry, note_entries, note_marker};
