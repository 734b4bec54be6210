//! The simulator's HTTP side: authentication, records, creation and queries.

// Handlers answer refusals as ready responses (`Result<Response, Response>`), axum's way.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use deskgate_clearquest::oslc::{self, CqRecord, Limits, RDF_XML};
use deskgate_clearquest::oslc_where::Where;

use super::{READ_ONLY, ReceivedBody, Shared, SimRecord, services};
use crate::core::http::{authorization, basic_pair};
use crate::faults::{self, Faults};

pub(super) fn build_router(shared: Shared, faults: Faults) -> Router {
    let api = Router::new()
        .route("/cqweb/oslc", get(services::root_catalog))
        .route("/cqweb/oslc/repo/{repo}", get(services::repo_catalog))
        .route("/cqweb/oslc/repo/{repo}/db/{db}", get(services::service_provider))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/services", get(services::service_provider))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record-type/{rtype}", get(services::shape))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record", post(create))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/simpleQuery/{rtype}", get(query))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record/{rid}", get(get_record).put(put_record))
        .merge(super::attachments::routes())
        .fallback(|| async { oslc_error(StatusCode::NOT_FOUND, "No such resource.") })
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared);
    faults::wrap(api, &faults)
}

pub(super) fn with_oslc_headers(mut response: Response) -> Response {
    response.headers_mut().insert("OSLC-Core-Version", HeaderValue::from_static("2.0"));
    response
}

pub(super) fn oslc_error(status: StatusCode, message: &str) -> Response {
    with_oslc_headers(
        (status, [(header::CONTENT_TYPE, RDF_XML)], oslc::write_error(status.as_u16(), message)).into_response(),
    )
}

pub(super) fn rdf(status: StatusCode, etag: Option<String>, body: String) -> Response {
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

pub(super) fn base_of(headers: &HeaderMap) -> String {
    crate::core::http::base_of(headers, "127.0.0.1")
}

/// The 404 answer when the path names another repository or database.
pub(super) fn wrong_db(shared: &Shared, repo: &str, db: &str) -> Option<Response> {
    (!shared.serves(repo, db))
        .then(|| oslc_error(StatusCode::NOT_FOUND, &format!("No user database {db} in repository {repo}.")))
}

/// The 404 answer when the path names another repository, database or record type.
pub(super) fn wrong_record_type(shared: &Shared, repo: &str, db: &str, rtype: &str) -> Option<Response> {
    wrong_db(shared, repo, db).or_else(|| {
        (rtype != shared.config.record_type_dbid)
            .then(|| oslc_error(StatusCode::NOT_FOUND, &format!("No record type {rtype}.")))
    })
}

pub(super) fn no_record(rid: &str) -> Response {
    oslc_error(StatusCode::NOT_FOUND, &format!("No record {rid}."))
}

/// The record as RDF/XML with its ETag.
fn record_answer(shared: &Shared, base: &str, db: &str, record: &SimRecord) -> Response {
    match oslc::write_record(&shared.present(base, db, record)) {
        Ok(xml) => rdf(StatusCode::OK, Some(record.etag()), xml),
        Err(e) => internal(e),
    }
}

/// Writable field values from a request body: `cq:` properties only.
fn writable(
    record: &CqRecord,
    names: Option<&[String]>,
    notes_field: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let names: Vec<String> = match names {
        Some(listed) => listed.to_vec(),
        None => record.props.keys().filter(|n| n.starts_with("cq:")).cloned().collect(),
    };
    for name in names {
        if !name.starts_with("cq:") {
            return Err(format!("The property {name} cannot be modified."));
        }
        if READ_ONLY.contains(&name.as_str()) || name == notes_field {
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
    Path((repo, db)): Path<(String, String)>,
    Query(params): Query<BTreeMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    if let Some(r) = wrong_db(&shared, &repo, &db) {
        return Err(r);
    }
    match params.get("rcm.type") {
        Some(t) if *t == shared.config.record_type => {}
        Some(t) => return Err(oslc_error(StatusCode::NOT_FOUND, &format!("No record type {t}."))),
        None => return Err(bad_request("A record is created for a record type: give rcm.type.")),
    }
    if let Some(action) = params.get("rcm.action").filter(|a| *a != "Submit") {
        return Err(bad_request(format!("A record is created with the Submit action, not \"{action}\".")));
    }
    let parsed = read_record(&body)?;
    let notes_field = super::cq_name(&shared.config.notes_field);
    let mut fields = writable(&parsed, None, &notes_field).map_err(bad_request)?;
    if let (None, Some(title)) = (fields.get("cq:Headline"), parsed.get("dcterms:title")) {
        fields.insert("cq:Headline".into(), title.to_owned());
    }
    if fields.get("cq:Headline").is_none_or(|h| h.trim().is_empty()) {
        return Err(bad_request("The field Headline is mandatory and has no value."));
    }
    let base = base_of(&headers);
    let mut guard = shared.lock();
    remember(&shared, "POST", uri.to_string(), &body);
    let record = shared.new_record(&db, guard.entry(db.clone()).or_default(), &shared.config.user.clone(), fields);
    drop(guard);
    let presented = shared.present(&base, &db, &record);
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

fn read_record(body: &Bytes) -> Result<CqRecord, Response> {
    oslc::parse_record(body, Limits::default()).map_err(|e| bad_request(format!("Unreadable record: {e}")))
}

pub(super) fn parse_rid(shared: &Shared, rid: &str) -> Option<u64> {
    let (rtype, dbid) = rid.split_once('-')?;
    (rtype == shared.config.record_type_dbid).then(|| dbid.parse().ok()).flatten()
}

async fn get_record(
    State(shared): State<Shared>,
    Path((repo, db, rid)): Path<(String, String, String)>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = wrong_db(&shared, &repo, &db) {
        return r;
    }
    let record =
        parse_rid(&shared, &rid).and_then(|dbid| shared.lock().get(&db).and_then(|d| d.records.get(&dbid)).cloned());
    let Some(record) = record else {
        return no_record(&rid);
    };
    // Nested values (the history's timestamps) only when asked for, as `*` leaves them out.
    let listed: Vec<&str> =
        params.get("oslc.properties").map(|p| p.split(',').map(str::trim).collect()).unwrap_or_default();
    let mut presented = shared.present(&base_of(&headers), &db, &record);
    presented.props.retain(|k, _| !k.contains('{') || listed.contains(&k.as_str()));
    match oslc::write_record(&presented) {
        Ok(xml) => rdf(StatusCode::OK, Some(record.etag()), xml),
        Err(e) => internal(e),
    }
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
    let Some(current) = guard.get(&db).and_then(|d| d.records.get(&dbid)).cloned() else {
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
    let parsed = read_record(&body)?;
    let schema = &shared.config.schema;
    let action = params.get("rcm.action").map_or(schema.modify_action.as_str(), String::as_str);
    let state = schema.next_state(action, &current.state).map_err(bad_request)?;
    let listed: Option<Vec<String>> = params
        .get("oslc.properties")
        .map(|p| p.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect());
    let notes_field = super::cq_name(&shared.config.notes_field);
    let changes = writable(&parsed, listed.as_deref(), &notes_field).map_err(bad_request)?;
    remember(&shared, "PUT", uri.to_string(), &body);
    let mut record = current;
    if listed.is_none() {
        // Without oslc.properties a PUT replaces the record: fields it leaves out are
        // cleared (the journal is ClearQuest's own and stays).
        record.fields.retain(|name, _| *name == notes_field);
    }
    record.state = state;
    shared.apply(&mut record, &shared.config.user, action, changes).map_err(bad_request)?;
    record.touch(shared.now());
    if let Some(stored) = guard.get_mut(&db).filter(|d| d.records.contains_key(&dbid)) {
        stored.put(record.clone());
    }
    drop(guard);
    Ok(record_answer(&shared, &base, &db, &record))
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
    if select.iter().flatten().any(|p| p.contains('{') && *p != super::HISTORY_TIMES) {
        return oslc_error(StatusCode::BAD_REQUEST, "Nested property selection is not supported by this provider.");
    }
    let base = base_of(&headers);
    // Only the matching records are copied, and presented once the lock is let go.
    let found: Vec<SimRecord> =
        shared.lock().get(&db).map(|d| d.select(filter.as_ref(), |w, r| shared.matches(w, r))).unwrap_or_default();
    let mut matching: Vec<CqRecord> = found.iter().map(|r| shared.present(&base, &db, r)).collect();

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
    // rcm.startIndex counts records from 1.
    let start_index: usize = params.get("rcm.startIndex").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let (records, next) = if paging {
        let start = (start_index - 1).min(total);
        let end = start.saturating_add(page_size).min(total);
        let next = (end < total).then(|| {
            let mut next = reqwest::Url::parse(&format!("{base}{}", uri.path())).map_err(|_| ()).ok();
            if let Some(url) = next.as_mut() {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in params.iter().filter(|(k, _)| *k != "rcm.startIndex") {
                    pairs.append_pair(k, v);
                }
                pairs.append_pair("rcm.startIndex", &(end + 1).to_string());
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
                Some(list) if list.iter().any(|p| p == "*") => {
                    r.props.retain(|k, _| !k.contains('{') || list.contains(k));
                }
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
