//! A ClearQuest OSLC CM 2.0 server for one repository and user database.
//!
//! Speaks RDF/XML in and out with `OSLC-Core-Version: 2.0`, keeps ETags (changing on
//! every modification), insists on `If-Match` for PUT, runs `rcm.action`s against the
//! stock defect state machine, answers `oslc.where` / `oslc.select` / `oslc.orderBy`
//! queries with paged results, and reports errors as `oslc:Error` bodies.
//!
//! Routes (all under basic auth):
//! - `GET  /cqweb/oslc/repo/{repo}/db/{db}/services` — service provider
//! - `POST /cqweb/oslc/repo/{repo}/db/{db}/record-type/{typeDbid}` — creation factory
//! - `GET  /cqweb/oslc/repo/{repo}/db/{db}/record-type/{typeDbid}/query` — query capability
//! - `GET|PUT /cqweb/oslc/repo/{repo}/db/{db}/record/{typeDbid}-{dbid}` — records
//! - `GET|POST …/record/{typeDbid}-{dbid}/field/Attachments` — the attachment field
//!   (`clearquest/attachments.rs`)
//!
//! ClearQuest has no webhooks: the gateway polls. The operator API
//! ([`ClearQuestSim::create_as_user`], [`ClearQuestSim::action_as_user`], …) plays a
//! person working in the ClearQuest client. Request bodies of writes are kept so tests
//! can snapshot what the adapter sent.
//!
//! Choices where ClearQuest's documented behaviour was not pinned down: a PUT
//! without `If-Match` is answered 428 Precondition Required; an action not available
//! in the record's state, an unknown action, a read-only field and a missing
//! mandatory field are 400 Bad Request; a request without `OSLC-Core-Version: 2.0` is
//! 400 (the real server would fall back to its OSLC 1.0 representation).

mod attachments;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use deskgate_clearquest::oslc::{self, CqRecord, Limits, NS_CQ, RDF_XML};
use deskgate_clearquest::oslc_where::Where;
use jiff::Timestamp;

use crate::core::clock::SimClock;
use crate::core::http::{authorization, basic_pair};
use crate::core::record::Log;
use crate::core::server::{Bound, SimServer};
use crate::faults::{self, Faults};

/// What the simulated ClearQuest serves and whom it lets in.
#[derive(Clone)]
pub struct ClearQuestSimConfig {
    pub repo: String,
    pub db: String,
    pub record_type: String,
    pub record_type_dbid: String,
    pub user: String,
    pub password: String,
}

impl Default for ClearQuestSimConfig {
    fn default() -> Self {
        Self {
            repo: "7.0.0".into(),
            db: "SAMPL".into(),
            record_type: "Defect".into(),
            record_type_dbid: "16777224".into(),
            user: "deskgate".into(),
            password: "deskgate-secret".into(),
        }
    }
}

impl std::fmt::Debug for ClearQuestSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClearQuestSimConfig")
            .field("repo", &self.repo)
            .field("db", &self.db)
            .field("record_type", &self.record_type)
            .field("record_type_dbid", &self.record_type_dbid)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The stock defect state machine: action → (states it is available in, resulting state).
/// `Modify` is available everywhere and keeps the state.
const ACTIONS: &[(&str, &[&str], &str)] = &[
    ("Assign", &["Submitted", "Postponed"], "Assigned"),
    ("Open", &["Assigned"], "Opened"),
    ("Re_Open", &["Resolved", "Closed"], "Opened"),
    ("Postpone", &["Submitted", "Assigned", "Opened"], "Postponed"),
    ("Resolve", &["Assigned", "Opened"], "Resolved"),
    ("Close", &["Resolved"], "Closed"),
    ("Duplicate", &["Submitted", "Assigned", "Opened", "Postponed"], "Duplicate"),
    ("Unduplicate", &["Duplicate"], "Submitted"),
];

/// Fields no request may set: the state changes only through actions, the rest
/// are kept by ClearQuest itself.
const READ_ONLY: &[&str] = &["cq:State", "cq:id", "cq:dbid", "cq:Submitter"];

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
}

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
    attachments: Vec<attachments::Stored>,
}

#[derive(Clone)]
struct Shared {
    config: Arc<ClearQuestSimConfig>,
    db: Arc<Mutex<Db>>,
    received: Log<ReceivedBody>,
    clock: Arc<SimClock>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Db> {
        crate::core::lock(&self.db)
    }

    /// ClearQuest records carry second-precision stamps.
    fn now(&self) -> Timestamp {
        self.clock.now_seconds()
    }

    fn db_path(&self) -> String {
        format!("/cqweb/oslc/repo/{}/db/{}", self.config.repo, self.config.db)
    }

    fn record_path(&self, dbid: u64) -> String {
        format!("{}/record/{}-{dbid}", self.db_path(), self.config.record_type_dbid)
    }

    fn creation_path(&self) -> String {
        format!("{}/record-type/{}", self.db_path(), self.config.record_type_dbid)
    }

    fn new_record(&self, db: &mut Db, submitter: &str, fields: BTreeMap<String, String>) -> SimRecord {
        let dbid = db.records.keys().next_back().map_or(FIRST_DBID, |last| last + 1);
        let now = self.now();
        let record = SimRecord {
            dbid,
            display_id: format!("{}{:08}", self.config.db, dbid - FIRST_DBID + 1),
            state: "Submitted".into(),
            submitter: submitter.to_owned(),
            fields,
            created: now,
            modified: now,
            version: 1,
        };
        db.records.insert(dbid, record.clone());
        record
    }

    /// The record as the OSLC provider presents it.
    fn present(&self, base: &str, r: &SimRecord) -> CqRecord {
        let mut out = CqRecord {
            about: Some(format!("{base}{}", self.record_path(r.dbid))),
            type_name: Some("oslc_cm:ChangeRequest".into()),
            props: r.fields.clone(),
        };
        out.set("rdf:type", format!("{NS_CQ}{}", self.config.record_type))
            .set("dcterms:identifier", r.dbid.to_string())
            .set("cq:id", r.display_id.clone())
            .set("cq:State", r.state.clone())
            .set("oslc_cm:status", r.state.clone())
            .set("cq:Submitter", r.submitter.clone())
            .set("dcterms:created", r.created.to_string())
            .set("dcterms:modified", r.modified.to_string());
        if let Some(headline) = r.fields.get("cq:Headline") {
            out.set("dcterms:title", headline.clone());
        }
        out
    }
}

fn cq_name(name: &str) -> String {
    if name.contains(':') { name.to_owned() } else { format!("cq:{name}") }
}

fn fields_from<K: AsRef<str>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
    fields.into_iter().map(|(k, v)| (cq_name(k.as_ref()), v.into())).collect()
}

fn next_state(action: &str, state: &str) -> Result<String, String> {
    if action == "Modify" {
        return Ok(state.to_owned());
    }
    match ACTIONS.iter().find(|(name, _, _)| *name == action) {
        None => Err(format!("Unknown action \"{action}\" for this record type.")),
        Some((_, from, to)) if from.contains(&state) => Ok((*to).to_owned()),
        Some(_) => Err(format!("The action \"{action}\" is not available for a record in state \"{state}\".")),
    }
}

/// A running simulator on loopback. Dropping it stops the server.
pub struct ClearQuestSim {
    base_url: String,
    shared: Shared,
    faults: Faults,
    _server: SimServer,
}

impl ClearQuestSim {
    /// Bind `127.0.0.1:0` and serve.
    pub async fn spawn(config: ClearQuestSimConfig) -> std::io::Result<Self> {
        let bound = Bound::loopback().await?;
        let shared =
            Shared { config: Arc::new(config), db: Arc::default(), received: Log::default(), clock: Arc::default() };
        let faults = Faults::new();
        let server = bound.serve("clearquest", build_router(shared.clone(), faults.clone()));
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
        build_router(self.shared.clone(), self.faults.clone())
    }

    pub fn records(&self) -> Vec<SimRecord> {
        self.shared.lock().records.values().cloned().collect()
    }

    pub fn record(&self, display_id: &str) -> Option<SimRecord> {
        self.shared.lock().records.values().find(|r| r.display_id == display_id).cloned()
    }

    pub fn count(&self) -> usize {
        self.shared.lock().records.len()
    }

    /// The record URI path of a display id (what the adapter uses as `RemoteId`).
    pub fn record_path(&self, display_id: &str) -> Option<String> {
        self.record(display_id).map(|r| self.shared.record_path(r.dbid))
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
        let mut db = self.shared.lock();
        let record = self.shared.new_record(&mut db, user, fields_from(fields));
        record.display_id
    }

    /// Change fields as a person would (the `Modify` action).
    pub fn modify_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        display_id: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), String> {
        self.action_as_user(display_id, "Modify", fields)
    }

    /// Run an action (and set fields with it) as a person would.
    pub fn action_as_user<K: AsRef<str>, V: Into<String>>(
        &self,
        display_id: &str,
        action: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), String> {
        let mut db = self.shared.lock();
        let record = db
            .records
            .values_mut()
            .find(|r| r.display_id == display_id)
            .ok_or_else(|| format!("no record {display_id}"))?;
        let state = next_state(action, &record.state)?;
        record.state = state;
        record.fields.extend(fields_from(fields));
        record.version += 1;
        record.modified = self.shared.now();
        Ok(())
    }

    /// Append to `Notes_Log` the way ClearQuest's notes package does.
    pub fn add_note_as_user(&self, display_id: &str, user: &str, text: &str) -> Result<(), String> {
        let record = self.record(display_id).ok_or_else(|| format!("no record {display_id}"))?;
        let mut log = record.get("Notes_Log").unwrap_or_default().to_owned();
        if !log.is_empty() && !log.ends_with('\n') {
            log.push('\n');
        }
        log.push_str(&format!(
            "==== State: {} by: {user} on {} ====\n{text}\n",
            record.state,
            self.shared.now().strftime("%d %B %Y %H:%M:%S")
        ));
        self.modify_as_user(display_id, [("Notes_Log", log)])
    }
}

fn build_router(shared: Shared, faults: Faults) -> Router {
    let api = Router::new()
        .route("/cqweb/oslc/repo/{repo}/db/{db}/services", get(service_provider))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record-type/{rtype}", axum::routing::post(create))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record-type/{rtype}/query", get(query))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record/{rid}", get(get_record).put(put_record))
        .merge(attachments::routes())
        .fallback(|| async { oslc_error(StatusCode::NOT_FOUND, "No such resource.") })
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared);
    faults::wrap(api, &faults)
}

fn with_oslc_headers(mut response: Response) -> Response {
    response.headers_mut().insert("OSLC-Core-Version", HeaderValue::from_static("2.0"));
    response
}

fn oslc_error(status: StatusCode, message: &str) -> Response {
    with_oslc_headers(
        (status, [(header::CONTENT_TYPE, RDF_XML)], oslc::write_error(status.as_u16(), message)).into_response(),
    )
}

fn rdf(status: StatusCode, etag: Option<String>, body: String) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, RDF_XML)], body).into_response();
    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    with_oslc_headers(response)
}

fn internal(e: impl std::fmt::Display) -> Response {
    oslc_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

/// Basic auth and the OSLC version header, for every OSLC route.
async fn gate(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let authorized = authorization(request.headers()).and_then(basic_pair).is_some_and(|pair| {
        pair.split_once(':').is_some_and(|(u, p)| u == shared.config.user && p == shared.config.password)
    });
    if !authorized {
        let mut response = oslc_error(StatusCode::UNAUTHORIZED, "Authentication required.");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"ClearQuest\""));
        return response;
    }
    let version = request.headers().get("OSLC-Core-Version").and_then(|v| v.to_str().ok());
    if version != Some("2.0") {
        return oslc_error(
            StatusCode::BAD_REQUEST,
            "This provider speaks OSLC 2.0 only: send the header OSLC-Core-Version: 2.0.",
        );
    }
    next.run(request).await
}

fn base_of(headers: &HeaderMap) -> String {
    crate::core::http::base_of(headers, "127.0.0.1")
}

/// The 404 answer when the path names another repository or database.
fn wrong_db(shared: &Shared, repo: &str, db: &str) -> Option<Response> {
    (repo != shared.config.repo || db != shared.config.db)
        .then(|| oslc_error(StatusCode::NOT_FOUND, &format!("No user database {db} in repository {repo}.")))
}

/// The 404 answer when the path names another repository, database or record type.
fn wrong_record_type(shared: &Shared, repo: &str, db: &str, rtype: &str) -> Option<Response> {
    wrong_db(shared, repo, db).or_else(|| {
        (rtype != shared.config.record_type_dbid)
            .then(|| oslc_error(StatusCode::NOT_FOUND, &format!("No record type {rtype}.")))
    })
}

fn no_record(rid: &str) -> Response {
    oslc_error(StatusCode::NOT_FOUND, &format!("No record {rid}."))
}

/// The record as RDF/XML with its ETag.
fn record_answer(shared: &Shared, base: &str, record: &SimRecord) -> Response {
    match oslc::write_record(&shared.present(base, record)) {
        Ok(xml) => rdf(StatusCode::OK, Some(record.etag()), xml),
        Err(e) => internal(e),
    }
}

async fn service_provider(
    State(shared): State<Shared>,
    Path((repo, db)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = wrong_db(&shared, &repo, &db) {
        return r;
    }
    let base = base_of(&headers);
    let uri = |path: String| {
        let mut s = String::new();
        oslc::escape(&mut s, &format!("{base}{path}"), true);
        s
    };
    let factory = uri(shared.creation_path());
    let query = uri(format!("{}/query", shared.creation_path()));
    let about = uri(format!("{}/services", shared.db_path()));
    let mut title = String::new();
    oslc::escape(&mut title, &shared.config.record_type, false);
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="{}" xmlns:dcterms="{}" xmlns:oslc="{}">
  <oslc:ServiceProvider rdf:about="{about}">
    <oslc:service>
      <oslc:Service>
        <oslc:domain rdf:resource="{}"/>
        <oslc:creationFactory>
          <oslc:CreationFactory>
            <dcterms:title>{title}</dcterms:title>
            <oslc:creation rdf:resource="{factory}"/>
            <oslc:resourceType rdf:resource="{}ChangeRequest"/>
          </oslc:CreationFactory>
        </oslc:creationFactory>
        <oslc:queryCapability>
          <oslc:QueryCapability>
            <dcterms:title>{title}</dcterms:title>
            <oslc:queryBase rdf:resource="{query}"/>
            <oslc:resourceType rdf:resource="{}ChangeRequest"/>
          </oslc:QueryCapability>
        </oslc:queryCapability>
      </oslc:Service>
    </oslc:service>
  </oslc:ServiceProvider>
</rdf:RDF>
"#,
        oslc::NS_RDF,
        oslc::NS_DCTERMS,
        oslc::NS_OSLC,
        oslc::NS_OSLC_CM,
        oslc::NS_OSLC_CM,
        oslc::NS_OSLC_CM,
    );
    rdf(StatusCode::OK, None, body)
}

/// Writable field values from a request body: `cq:` properties only.
fn writable(record: &CqRecord, names: Option<&[String]>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let names: Vec<String> = match names {
        Some(listed) => listed.to_vec(),
        None => record.props.keys().filter(|n| n.starts_with("cq:")).cloned().collect(),
    };
    for name in names {
        if !name.starts_with("cq:") {
            return Err(format!("The property {name} cannot be modified."));
        }
        if READ_ONLY.contains(&name.as_str()) {
            return Err(format!(
                "The field {} is read-only; the state changes through actions (rcm.action).",
                &name[3..]
            ));
        }
        let value = record.get(&name).unwrap_or_default().to_owned();
        out.insert(name, value);
    }
    Ok(out)
}

fn remember(shared: &Shared, method: &str, target: String, body: &Bytes) {
    shared.received.push(ReceivedBody {
        method: method.to_owned(),
        target,
        body: String::from_utf8_lossy(body).into_owned(),
    });
}

async fn create(
    State(shared): State<Shared>,
    Path((repo, db, rtype)): Path<(String, String, String)>,
    Query(params): Query<BTreeMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    if let Some(r) = wrong_record_type(&shared, &repo, &db, &rtype) {
        return Err(r);
    }
    if let Some(action) = params.get("rcm.action").filter(|a| *a != "Submit") {
        return Err(bad_request(format!("A record is created with the Submit action, not \"{action}\".")));
    }
    let parsed = read_record(&body).map_err(bad_request)?;
    let mut fields = writable(&parsed, None).map_err(bad_request)?;
    if let (None, Some(title)) = (fields.get("cq:Headline"), parsed.get("dcterms:title")) {
        fields.insert("cq:Headline".into(), title.to_owned());
    }
    if fields.get("cq:Headline").is_none_or(|h| h.trim().is_empty()) {
        return Err(bad_request("The field Headline is mandatory and has no value."));
    }
    let base = base_of(&headers);
    let mut guard = shared.lock();
    remember(&shared, "POST", uri.to_string(), &body);
    let record = shared.new_record(&mut guard, &shared.config.user.clone(), fields);
    drop(guard);
    let presented = shared.present(&base, &record);
    let location = presented.about.clone().unwrap_or_default();
    let xml = oslc::write_record(&presented).map_err(internal)?;
    let mut response = rdf(StatusCode::CREATED, Some(record.etag()), xml);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    oslc_error(StatusCode::BAD_REQUEST, &message.to_string())
}

fn read_record(body: &Bytes) -> Result<CqRecord, String> {
    oslc::parse_record(body, Limits::default()).map_err(|e| format!("Unreadable record: {e}"))
}

fn parse_rid(shared: &Shared, rid: &str) -> Option<u64> {
    let (rtype, dbid) = rid.split_once('-')?;
    (rtype == shared.config.record_type_dbid).then(|| dbid.parse().ok()).flatten()
}

async fn get_record(
    State(shared): State<Shared>,
    Path((repo, db, rid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = wrong_db(&shared, &repo, &db) {
        return r;
    }
    let record = parse_rid(&shared, &rid).and_then(|dbid| shared.lock().records.get(&dbid).cloned());
    let Some(record) = record else {
        return no_record(&rid);
    };
    record_answer(&shared, &base_of(&headers), &record)
}

async fn put_record(
    State(shared): State<Shared>,
    Path((repo, db, rid)): Path<(String, String, String)>,
    Query(params): Query<BTreeMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    if let Some(r) = wrong_db(&shared, &repo, &db) {
        return Err(r);
    }
    let Some(dbid) = parse_rid(&shared, &rid) else {
        return Err(no_record(&rid));
    };
    let base = base_of(&headers);
    let mut guard = shared.lock();
    let Some(current) = guard.records.get(&dbid).cloned() else {
        return Err(no_record(&rid));
    };
    let Some(if_match) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Err(oslc_error(
            StatusCode::PRECONDITION_REQUIRED,
            "A modification needs an If-Match header with the record's ETag.",
        ));
    };
    if if_match.trim() != "*" && if_match.trim() != current.etag() {
        return Err(oslc_error(
            StatusCode::PRECONDITION_FAILED,
            "The record has been modified since it was read (stale ETag).",
        ));
    }
    let parsed = read_record(&body).map_err(bad_request)?;
    let action = params.get("rcm.action").map_or("Modify", String::as_str);
    let state = next_state(action, &current.state).map_err(bad_request)?;
    let listed: Option<Vec<String>> = params
        .get("oslc.properties")
        .map(|p| p.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect());
    let changes = writable(&parsed, listed.as_deref()).map_err(bad_request)?;
    remember(&shared, "PUT", uri.to_string(), &body);
    let Some(record) = guard.records.get_mut(&dbid) else {
        return Err(no_record(&rid));
    };
    if listed.is_none() {
        // Without oslc.properties a PUT replaces the record: fields it leaves out are cleared.
        record.fields.clear();
    }
    for (name, value) in changes {
        if value.is_empty() {
            record.fields.remove(&name);
        } else {
            record.fields.insert(name, value);
        }
    }
    record.state = state;
    record.version += 1;
    record.modified = shared.now();
    let record = record.clone();
    drop(guard);
    Ok(record_answer(&shared, &base, &record))
}

async fn query(
    State(shared): State<Shared>,
    Path((repo, db, rtype)): Path<(String, String, String)>,
    Query(params): Query<BTreeMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = wrong_record_type(&shared, &repo, &db, &rtype) {
        return r;
    }
    let filter = match params.get("oslc.where").map(|w| Where::parse(w)) {
        None => None,
        Some(Ok(w)) => Some(w),
        Some(Err(e)) => return oslc_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let select: Option<Vec<String>> =
        params.get("oslc.select").map(|s| s.split(',').map(|p| p.trim().to_owned()).collect());
    if select.iter().flatten().any(|p| p.contains('{')) {
        return oslc_error(StatusCode::BAD_REQUEST, "Nested property selection is not supported by this provider.");
    }
    let base = base_of(&headers);
    let mut matching: Vec<CqRecord> = shared
        .lock()
        .records
        .values()
        .map(|r| shared.present(&base, r))
        .filter(|r| filter.as_ref().is_none_or(|w| w.matches(|name| r.get(name))))
        .collect();

    if let Some(order) = params.get("oslc.orderBy") {
        let (descending, prop) = match order.trim().split_at_checked(1) {
            Some(("-", p)) => (true, p.to_owned()),
            Some(("+", p)) => (false, p.to_owned()),
            _ => (false, order.trim().to_owned()),
        };
        // Stable: ties keep submission order.
        matching.sort_by(|a, b| {
            let ord = a.get(&prop).cmp(&b.get(&prop));
            if descending { ord.reverse() } else { ord }
        });
    }

    let total = matching.len();
    let paging = params.get("oslc.paging").is_some_and(|p| p == "true");
    let page_size = params.get("oslc.pageSize").and_then(|s| s.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(100);
    let page: usize = params.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let (records, next) = if paging {
        let start = page.saturating_mul(page_size).min(total);
        let end = start.saturating_add(page_size).min(total);
        let next = (end < total).then(|| {
            let mut next = reqwest::Url::parse(&format!("{base}{}", uri.path())).map_err(|_| ()).ok();
            if let Some(url) = next.as_mut() {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in params.iter().filter(|(k, _)| *k != "page") {
                    pairs.append_pair(k, v);
                }
                pairs.append_pair("page", &(page + 1).to_string());
            }
            next.map(|u| u.to_string())
        });
        (matching[start..end].to_vec(), next.flatten())
    } else {
        (matching, None)
    };
    let records: Vec<CqRecord> = records
        .into_iter()
        .map(|mut r| {
            match &select {
                None => r.props.clear(),
                Some(list) if list.iter().any(|p| p == "*") => {}
                Some(list) => r.props.retain(|k, _| list.contains(k)),
            }
            r
        })
        .collect();
    let query_uri = format!("{base}{uri}");
    // Atom only when asked for and RDF/XML is not also acceptable (RDF/XML is the default).
    let accept: Vec<&str> = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    let atom = accept.iter().any(|a| a.contains("application/atom+xml")) && !accept.iter().any(|a| a.contains(RDF_XML));
    let written = if atom {
        oslc::write_atom_feed(&query_uri, &records).map(|xml| {
            with_oslc_headers((StatusCode::OK, [(header::CONTENT_TYPE, "application/atom+xml")], xml).into_response())
        })
    } else {
        oslc::write_query_page(&query_uri, &records, total as u64, next.as_deref())
            .map(|xml| rdf(StatusCode::OK, None, xml))
    };
    written.unwrap_or_else(internal)
}
