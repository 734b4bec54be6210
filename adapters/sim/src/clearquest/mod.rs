//! A ClearQuest OSLC CM 2.0 server for one repository and one or more user databases.
//!
//! Speaks RDF/XML in and out with `OSLC-Core-Version: 2.0`, keeps ETags (changing on
//! every modification), insists on `If-Match` for PUT, runs `rcm.action`s against a
//! [`Schema`] (the stock defect table unless given another, e.g. the `[schema]` of
//! `mappings/clearquest.toml`), refuses an action whose required fields stay empty,
//! keeps each record's history (its times queried as `cq:history{cq:action_timestamp}`;
//! `dcterms:modified` only when configured, as ClearQuest's default mappings have none),
//! answers `oslc.where` / `oslc.select` / `oslc.orderBy` queries with paged results,
//! and reports errors as `oslc:Error` bodies.
//!
//! Discovery, as OSLC clients do it (all under basic auth; see [`services`]):
//! - `GET /cqweb/oslc` — root service provider catalog, listing the repository catalog
//! - `GET /cqweb/oslc/repo/{repo}` — repository catalog, one service provider per user database
//! - `GET /cqweb/oslc/repo/{repo}/db/{db}` — the database's service provider (also at `…/services`)
//! - `GET /cqweb/oslc/repo/{repo}/db/{db}/record-type/{typeDbid}` — the record type's resource shape
//!
//! and what the provider announces:
//! - `POST /cqweb/oslc/repo/{repo}/db/{db}/record?rcm.type={type}` — creation factory
//! - `GET  /cqweb/oslc/repo/{repo}/db/{db}/simpleQuery/{typeDbid}` — query capability, paged
//!   with `rcm.startIndex` in its `oslc:nextPage` links
//! - `GET|PUT /cqweb/oslc/repo/{repo}/db/{db}/record/{typeDbid}-{dbid}` — records
//!
//! Notes: `Notes_Log` is read-only (400 on a write, as ClearQuest); a value written to
//! the note entry field (`Note_Entry`) is appended to it under a notes-package header
//! and not kept. A multi-line value longer than `max_multiline_chars` (ClearQuest's
//! `max.multiline.text.length`, 2,000 by default) is silently truncated.
//!
//! Sources: IBM's ClearQuest OSLC CM REST API documentation (query capabilities,
//! `oslc.select` / `oslc.where` / `oslc.orderBy`, record resources, content types,
//! the default OSLC mappings of special fields); IBM support note "The OSLC CM REST API
//! truncates multiline fields" (`max.multiline.text.length`); the OSLC Core 2.0
//! specification (service provider catalog, service provider, creation factory, query
//! capability, resource shape, `oslc:ResponseInfo` / `oslc:nextPage`); and a public
//! client used against production ClearQuest, which queries `{db}/simpleQuery/{type}`
//! and pages with `rcm.startIndex`.
//!
//! Where those were unclear, choices made here: the creation factory URL
//! (`…/record?rcm.type=…`) and the shape URL are this simulator's (the documents only
//! say they are announced by the service provider, which is why the adapter discovers
//! them); `rcm.startIndex` counts from 1; a PUT without `If-Match` is 428; an action
//! not available in the record's state, an unknown action, a read-only field and a
//! missing mandatory field are 400 Bad Request; a request without
//! `OSLC-Core-Version: 2.0` is 400 (the real server would fall back to its OSLC 1.0
//! representation); truncation applies to each value the server takes in.
//!
//! ClearQuest has no webhooks: the gateway polls. The operator API
//! ([`ClearQuestSim::create_as_user`], [`ClearQuestSim::action_as_user`], …, and the
//! same on [`ClearQuestSim::database`] for every other user database) plays a person
//! working in the ClearQuest client (whose forms ask for required fields: the operator
//! API does not check them). Request bodies of writes are kept so tests can snapshot
//! what the adapter sent.

mod attachments;
mod http;
mod index;
pub mod services;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use deskgate_clearquest::Schema;
use deskgate_clearquest::oslc::{CqRecord, NS_CQ};
use deskgate_clearquest::oslc_where::Where;
use jiff::Timestamp;

use crate::core::clock::SimClock;
use crate::core::record::Log;
use crate::core::server::{Bound, SimServer};
use crate::faults::Faults;

/// What the simulated ClearQuest serves and whom it lets in.
#[derive(Clone)]
pub struct ClearQuestSimConfig {
    pub repo: String,
    /// The first user database; the operator API on [`ClearQuestSim`] itself acts on it.
    pub db: String,
    /// Further user databases of the same repository, each with its own records and
    /// service provider.
    pub more_dbs: Vec<String>,
    pub record_type: String,
    pub record_type_dbid: String,
    pub user: String,
    pub password: String,
    /// The record type's workflow.
    pub schema: Schema,
    /// The read-only journal (`cq:Notes_Log`) and the field new notes are written to
    /// (`cq:Note_Entry`).
    pub notes_field: String,
    pub note_entry_field: String,
    /// ClearQuest's `max.multiline.text.length`.
    pub max_multiline_chars: usize,
    /// Whether records carry `dcterms:modified` (an installation that maps a field to
    /// it); stock ClearQuest's default mappings do not, and modification times come
    /// from the history (`cq:history{cq:action_timestamp}`).
    pub present_modified: bool,
}

impl Default for ClearQuestSimConfig {
    fn default() -> Self {
        Self {
            repo: "7.0.0".into(),
            db: "SAMPL".into(),
            more_dbs: Vec::new(),
            record_type: "Defect".into(),
            record_type_dbid: "16777224".into(),
            user: "deskgate".into(),
            password: "deskgate-secret".into(),
            schema: Schema::stock(),
            notes_field: "cq:Notes_Log".into(),
            note_entry_field: "cq:Note_Entry".into(),
            max_multiline_chars: 2000,
            present_modified: false,
        }
    }
}

impl ClearQuestSimConfig {
    /// The stock configuration serving the user database `db` and `more` beside it.
    pub fn serving(db: &str, more: &[&str]) -> Self {
        Self { db: db.into(), more_dbs: more.iter().map(|d| (*d).into()).collect(), ..Self::default() }
    }
}

impl std::fmt::Debug for ClearQuestSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClearQuestSimConfig")
            .field("repo", &self.repo)
            .field("db", &self.db)
            .field("more_dbs", &self.more_dbs)
            .field("record_type", &self.record_type)
            .field("record_type_dbid", &self.record_type_dbid)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ClearQuestSimConfig {
    /// Every user database served, the first one first.
    pub fn databases(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.db.as_str()).chain(self.more_dbs.iter().map(String::as_str))
    }
}

/// Fields no request may set: the state changes only through actions, the rest
/// are kept by ClearQuest itself.
const READ_ONLY: &[&str] = &["cq:State", "cq:id", "cq:dbid", "cq:Submitter"];

/// Fields the stock schema holds as multi-line strings.
const MULTILINE: &[&str] = &["cq:Description", "cq:Notes_Log", "cq:Note_Entry", "cq:deskgate_Links"];

/// The first dbid ClearQuest hands out in a fresh database.
const FIRST_DBID: u64 = 33_554_433;

/// One record as the simulated database holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRecord {
    pub dbid: u64,
    pub display_id: String,
    pub state: String,
    pub submitter: String,
    /// Field values by prefixed name (`cq:Headline`), `cq:State` excluded.
    pub fields: BTreeMap<String, String>,
    pub created: Timestamp,
    pub modified: Timestamp,
    /// When each change happened (the history entries' `action_timestamp`), oldest first.
    pub history: Vec<Timestamp>,
    /// Bumped on every change; the ETag derives from it.
    pub version: u64,
}

impl SimRecord {
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.dbid, self.version)
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(&cq_name(field)).map(String::as_str)
    }

    /// Record a change made at `now`.
    fn touch(&mut self, now: Timestamp) {
        self.version += 1;
        self.modified = now;
        self.history.push(now);
    }
}

/// The scoped property holding the history entries' times, as queries name it.
pub(super) const HISTORY_TIMES: &str = "cq:history{cq:action_timestamp}";

/// A write request body as received, for snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedBody {
    pub method: String,
    /// Path and query string, as sent.
    pub target: String,
    pub body: String,
}

#[derive(Default)]
struct Db {
    records: BTreeMap<u64, SimRecord>,
    by_value: index::ByValue,
    attachments: Vec<attachments::Stored>,
}

impl Db {
    /// Store `record` (new, or replacing the one with its dbid).
    fn put(&mut self, record: SimRecord) {
        self.by_value.replace(self.records.get(&record.dbid), &record);
        self.records.insert(record.dbid, record);
    }

    /// The records matching `filter` (all without one), in dbid order.
    fn select(&self, filter: Option<&Where>, matches: impl Fn(&Where, &SimRecord) -> bool) -> Vec<SimRecord> {
        let Some(filter) = filter else { return self.records.values().cloned().collect() };
        match self.by_value.candidates(filter) {
            Some(dbids) => {
                dbids.iter().filter_map(|dbid| self.records.get(dbid)).filter(|r| matches(filter, r)).cloned().collect()
            }
            None => self.records.values().filter(|r| matches(filter, r)).cloned().collect(),
        }
    }

    fn dbid_of(&self, display_id: &str) -> Option<u64> {
        self.records.values().find(|r| r.display_id == display_id).map(|r| r.dbid)
    }
}

#[derive(Clone)]
struct Shared {
    config: Arc<ClearQuestSimConfig>,
    dbs: Arc<Mutex<BTreeMap<String, Db>>>,
    received: Log<ReceivedBody>,
    clock: Arc<SimClock>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Db>> {
        crate::core::lock(&self.dbs)
    }

    fn serves(&self, repo: &str, db: &str) -> bool {
        repo == self.config.repo && self.config.databases().any(|d| d == db)
    }

    /// ClearQuest records carry second-precision stamps.
    fn now(&self) -> Timestamp {
        self.clock.now_seconds()
    }

    fn db_path(&self, db: &str) -> String {
        format!("/cqweb/oslc/repo/{}/db/{db}", self.config.repo)
    }

    fn record_path(&self, db: &str, dbid: u64) -> String {
        format!("{}/record/{}-{dbid}", self.db_path(db), self.config.record_type_dbid)
    }

    fn creation_path(&self, db: &str) -> String {
        format!("{}/record?rcm.type={}", self.db_path(db), self.config.record_type)
    }

    fn query_path(&self, db: &str) -> String {
        format!("{}/simpleQuery/{}", self.db_path(db), self.config.record_type_dbid)
    }

    fn shape_path(&self, db: &str) -> String {
        format!("{}/record-type/{}", self.db_path(db), self.config.record_type_dbid)
    }

    /// ClearQuest keeps at most `max_multiline_chars` of a multi-line value, silently.
    fn clip(&self, name: &str, value: String) -> String {
        let max = self.config.max_multiline_chars;
        if max > 0 && MULTILINE.contains(&name) && value.chars().count() > max {
            value.chars().take(max).collect()
        } else {
            value
        }
    }

    /// Append a note entry to the record's notes log as the notes package does.
    fn append_note(&self, record: &mut SimRecord, user: &str, text: &str) {
        let field = cq_name(&self.config.notes_field);
        let mut log = record.fields.get(&field).cloned().unwrap_or_default();
        if !log.is_empty() && !log.ends_with('\n') {
            log.push('\n');
        }
        let text = self.clip(&cq_name(&self.config.note_entry_field), text.to_owned());
        log.push_str(&format!(
            "==== State: {} by: {user} on {} ====\n{text}\n",
            record.state,
            self.now().strftime("%d %B %Y %H:%M:%S")
        ));
        record.fields.insert(field, log);
    }

    /// Apply changed field values (the note entry going to the log), then check the
    /// fields `action` requires.
    fn apply(
        &self,
        record: &mut SimRecord,
        user: &str,
        action: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<(), String> {
        let entry_field = cq_name(&self.config.note_entry_field);
        for (name, value) in changes {
            if name == entry_field {
                if !value.trim().is_empty() {
                    self.append_note(record, user, &value);
                }
            } else if value.is_empty() {
                record.fields.remove(&name);
            } else {
                let value = self.clip(&name, value);
                record.fields.insert(name, value);
            }
        }
        if let Some(rule) = self.config.schema.action(action) {
            if let Some(missing) = rule.requires.iter().find(|f| record.get(f).is_none_or(|v| v.trim().is_empty())) {
                return Err(format!(
                    "The field {} is mandatory for the action \"{action}\" and has no value.",
                    missing.trim_start_matches("cq:")
                ));
            }
        }
        Ok(())
    }

    fn new_record(&self, db_name: &str, db: &mut Db, submitter: &str, fields: BTreeMap<String, String>) -> SimRecord {
        let dbid = db.records.keys().next_back().map_or(FIRST_DBID, |last| last + 1);
        let now = self.now();
        let mut record = SimRecord {
            dbid,
            display_id: format!("{db_name}{:08}", dbid - FIRST_DBID + 1),
            state: self.config.schema.initial_state.clone(),
            submitter: submitter.to_owned(),
            fields: BTreeMap::new(),
            created: now,
            modified: now,
            history: vec![now],
            version: 1,
        };
        // Submit requires nothing beyond the mandatory headline, checked by the caller.
        let _ = self.apply(&mut record, submitter, "Submit", fields);
        db.put(record.clone());
        record
    }

    /// The record as the OSLC provider presents it: its fields and the properties
    /// the provider computes from it ([`PRESENTED`]).
    fn present(&self, base: &str, db: &str, r: &SimRecord) -> CqRecord {
        let mut out = CqRecord {
            about: Some(format!("{base}{}", self.record_path(db, r.dbid))),
            type_name: Some("oslc_cm:ChangeRequest".into()),
            props: r.fields.clone(),
        };
        for name in PRESENTED {
            if let Some(value) = self.computed(r, name) {
                out.set(*name, value);
            }
        }
        out
    }

    /// A property the provider computes from the record rather than keeps as a field.
    fn computed(&self, r: &SimRecord, name: &str) -> Option<String> {
        Some(match name {
            "rdf:type" => format!("{NS_CQ}{}", self.config.record_type),
            "dcterms:identifier" => r.dbid.to_string(),
            "cq:id" => r.display_id.clone(),
            "cq:State" | "oslc_cm:status" => r.state.clone(),
            "cq:Submitter" => r.submitter.clone(),
            "dcterms:created" => r.created.to_string(),
            HISTORY_TIMES => r.history.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            // Not in ClearQuest's default OSLC mappings; some installations map a field to it.
            "dcterms:modified" if self.config.present_modified => r.modified.to_string(),
            "dcterms:title" => r.fields.get("cq:Headline")?.clone(),
            _ => return None,
        })
    }

    /// Whether the record as presented matches `filter`, computing only the
    /// properties the filter names: a query costs what it returns, not a
    /// presentation of every record, as a database answers a query.
    fn matches(&self, filter: &Where, r: &SimRecord) -> bool {
        let values: Vec<(&str, Option<Cow<'_, str>>)> = filter
            .terms
            .iter()
            .map(|t| {
                let name = t.property.as_str();
                let value = self
                    .computed(r, name)
                    .map(Cow::Owned)
                    .or_else(|| r.fields.get(name).map(|v| Cow::Borrowed(v.as_str())));
                (name, value)
            })
            .collect();
        // A scoped property has one line per history entry: any entry matching is
        // read as the newest one matching, which is what comparisons from below ask.
        filter.matches(|name| {
            values.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.as_deref()).and_then(|v| v.lines().last())
        })
    }
}

/// The properties the provider presents beside a record's fields (overriding a
/// field of the same name), each from [`Shared::computed`].
const PRESENTED: &[&str] = &[
    "rdf:type",
    "dcterms:identifier",
    "cq:id",
    "cq:State",
    "oslc_cm:status",
    "cq:Submitter",
    "dcterms:created",
    HISTORY_TIMES,
    "dcterms:modified",
    "dcterms:title",
];

fn cq_name(name: &str) -> String {
    if name.contains(':') { name.to_owned() } else { format!("cq:{name}") }
}

fn fields_from<K: AsRef<str>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
    fields.into_iter().map(|(k, v)| (cq_name(k.as_ref()), v.into())).collect()
}

/// A running simulator on loopback. Dropping it stops the server.
pub struct ClearQuestSim {
    base_url: String,
    shared: Shared,
    faults: Faults,
    _server: SimServer,
}

/// One user database of a running simulator, for the operator API.
pub struct SimDb<'a> {
    shared: &'a Shared,
    name: String,
}

impl ClearQuestSim {
    /// Bind `127.0.0.1:0` and serve every user database of `config`.
    pub async fn spawn(config: ClearQuestSimConfig) -> std::io::Result<Self> {
        Self::spawn_on(std::net::Ipv4Addr::LOCALHOST.into(), config).await
    }

    /// Like [`ClearQuestSim::spawn`], bound to `ip` instead of the loopback.
    pub async fn spawn_on(ip: std::net::IpAddr, config: ClearQuestSimConfig) -> std::io::Result<Self> {
        let bound = Bound::on(ip).await?;
        let dbs = config.databases().map(|d| (d.to_owned(), Db::default())).collect();
        let shared = Shared {
            config: Arc::new(config),
            dbs: Arc::new(Mutex::new(dbs)),
            received: Log::default(),
            clock: Arc::default(),
        };
        let faults = Faults::new();
        let server = bound.serve("clearquest", http::build_router(shared.clone(), faults.clone()));
        Ok(Self { base_url: server.base_url(), shared, faults, _server: server })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn config(&self) -> &ClearQuestSimConfig {
        &self.shared.config
    }

    /// The same application, for embedding in another server or driving with `tower`.
    pub fn router(&self) -> Router {
        http::build_router(self.shared.clone(), self.faults.clone())
    }

    /// User database `name`, if served.
    pub fn database(&self, name: &str) -> Option<SimDb<'_>> {
        self.shared.config.databases().any(|d| d == name).then(|| SimDb { shared: &self.shared, name: name.to_owned() })
    }

    fn first(&self) -> SimDb<'_> {
        SimDb { shared: &self.shared, name: self.shared.config.db.clone() }
    }

    /// The creation factory the first database's service provider announces (path and query).
    pub fn creation_path(&self) -> String {
        self.shared.creation_path(&self.shared.config.db)
    }

    /// The query capability the first database's service provider announces.
    pub fn query_path(&self) -> String {
        self.shared.query_path(&self.shared.config.db)
    }

    pub fn records(&self) -> Vec<SimRecord> {
        self.first().records()
    }

    /// The records created after the one with dbid `after` (all with `None`), in
    /// creation order: what a watcher has not seen yet, without copying the rest.
    pub fn records_after(&self, after: Option<u64>) -> Vec<SimRecord> {
        self.first().records_after(after)
    }

    pub fn record(&self, display_id: &str) -> Option<SimRecord> {
        self.first().record(display_id)
    }

    pub fn count(&self) -> usize {
        self.first().count()
    }

    /// The record URI path of a display id (what the adapter uses as `RemoteId`).
    pub fn record_path(&self, display_id: &str) -> Option<String> {
        self.first().record_path(display_id)
    }

    /// Bodies of the write requests received, oldest first.
    pub fn received(&self) -> Vec<ReceivedBody> {
        self.shared.received.all()
    }

    /// Submit a record as a person in the ClearQuest client. Returns the display id.
    pub fn create_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        user: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> String {
        self.first().create_as_user(user, fields)
    }

    /// Change fields as a person would (the modify action).
    pub fn modify_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        display_id: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), String> {
        self.first().modify_as_user(display_id, fields)
    }

    /// Run an action (and set fields with it) as a person would.
    pub fn action_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        display_id: &str,
        action: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), String> {
        self.first().action_as_user(display_id, action, fields)
    }

    /// Add a note the way ClearQuest's notes package does (appended to `Notes_Log`).
    pub fn add_note_as_user(&self, display_id: &str, user: &str, text: &str) -> Result<(), String> {
        self.first().add_note_as_user(display_id, user, text)
    }
}

impl SimDb<'_> {
    fn with<T>(&self, f: impl FnOnce(&mut Db) -> T) -> T {
        let mut dbs = self.shared.lock();
        f(dbs.entry(self.name.clone()).or_default())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn records(&self) -> Vec<SimRecord> {
        self.with(|db| db.records.values().cloned().collect())
    }

    pub fn records_after(&self, after: Option<u64>) -> Vec<SimRecord> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = after.map_or(Unbounded, Excluded);
        self.with(|db| db.records.range((from, Unbounded)).map(|(_, r)| r.clone()).collect())
    }

    pub fn record(&self, display_id: &str) -> Option<SimRecord> {
        self.with(|db| db.records.values().find(|r| r.display_id == display_id).cloned())
    }

    pub fn count(&self) -> usize {
        self.with(|db| db.records.len())
    }

    pub fn record_path(&self, display_id: &str) -> Option<String> {
        self.record(display_id).map(|r| self.shared.record_path(&self.name, r.dbid))
    }

    pub fn create_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        user: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> String {
        let fields = fields_from(fields);
        self.with(|db| self.shared.new_record(&self.name, db, user, fields).display_id)
    }

    pub fn modify_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        display_id: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), String> {
        let modify = self.shared.config.schema.modify_action.clone();
        self.action_as_user(display_id, &modify, fields)
    }

    pub fn action_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        display_id: &str,
        action: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), String> {
        let fields = fields_from(fields);
        let user = self.shared.config.user.clone();
        self.with(|db| {
            let record = db
                .dbid_of(display_id)
                .and_then(|dbid| db.records.get(&dbid))
                .ok_or_else(|| format!("no record {display_id}"))?;
            let mut next = record.clone();
            next.state = self.shared.config.schema.next_state(action, &record.state)?;
            // The person's ClearQuest form asks for required fields; this shortcut
            // does not check them (requests over HTTP are checked).
            let _ = self.shared.apply(&mut next, &user, action, fields);
            next.touch(self.shared.now());
            db.put(next);
            Ok(())
        })
    }

    pub fn add_note_as_user(&self, display_id: &str, user: &str, text: &str) -> Result<(), String> {
        self.with(|db| {
            let mut record = db
                .dbid_of(display_id)
                .and_then(|dbid| db.records.get(&dbid))
                .cloned()
                .ok_or_else(|| format!("no record {display_id}"))?;
            self.shared.append_note(&mut record, user, text);
            record.touch(self.shared.now());
            db.put(record);
            Ok(())
        })
    }
}
