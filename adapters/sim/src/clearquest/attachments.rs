//! A record's attachment field (`cq:Attachments`) as a resource of its own:
//!
//! - `GET  …/record/{rid}/field/Attachments` — the files, as JSON
//!   (`{"rdf:about", "cq:Attachments": [{"rdf:about", "cq:filename", "cq:filesize"}]}`);
//! - `POST …/record/{rid}/field/Attachments` — `multipart/form-data`, one part per
//!   file (an optional `description` part describes them); 201 with `Location` of
//!   the first file made;
//! - `GET  …/record/{rid}/attachment/{n}` — a file's content.
//!
//! Another field name is 404; the record's ETag does not change (ClearQuest keeps
//! attachments apart from the record's field values).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use deskgate_adapter::multipart;
use deskgate_clearquest::attachment::{CqAttachment, CqAttachmentField, FIELD};

use super::http::{base_of, no_record, oslc_error, parse_rid, with_oslc_headers, wrong_db};
use super::{ClearQuestSim, Shared};

/// One stored file.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub dbid: u64,
    pub n: usize,
    pub filename: String,
    pub description: String,
    pub content: Bytes,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record/{rid}/field/{field}", get(list).post(add))
        .route("/cqweb/oslc/repo/{repo}/db/{db}/record/{rid}/attachment/{n}", get(content))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
}

type FieldPath = Path<(String, String, String, String)>;

/// The record's dbid, or the answer refusing the path.
fn record_of(shared: &Shared, repo: &str, db: &str, rid: &str, field: &str) -> Result<u64, Box<Response>> {
    if let Some(r) = wrong_db(shared, repo, db) {
        return Err(Box::new(r));
    }
    let dbid = parse_rid(shared, rid)
        .filter(|d| shared.lock().get(db).is_some_and(|db| db.records.contains_key(d)))
        .ok_or_else(|| Box::new(no_record(rid)))?;
    if field != FIELD {
        return Err(Box::new(oslc_error(StatusCode::NOT_FOUND, &format!("No attachment field {field}."))));
    }
    Ok(dbid)
}

fn field_json(shared: &Shared, base: &str, db: &str, rid: &str, dbid: u64) -> CqAttachmentField {
    let record = format!("{base}{}/record/{rid}", shared.db_path(db));
    let attachments = shared
        .lock()
        .get(db)
        .into_iter()
        .flat_map(|db| db.attachments.iter())
        .filter(|a| a.dbid == dbid)
        .map(|a| CqAttachment {
            about: format!("{record}/attachment/{}", a.n),
            filename: a.filename.clone(),
            filesize: a.content.len() as u64,
            description: a.description.clone(),
        })
        .collect();
    CqAttachmentField { about: format!("{record}/field/{FIELD}"), attachments }
}

async fn list(State(shared): State<Shared>, Path((repo, db, rid, field)): FieldPath, headers: HeaderMap) -> Response {
    match record_of(&shared, &repo, &db, &rid, &field) {
        Ok(dbid) => with_oslc_headers(Json(field_json(&shared, &base_of(&headers), &db, &rid, dbid)).into_response()),
        Err(r) => *r,
    }
}

async fn add(
    State(shared): State<Shared>,
    Path((repo, db, rid, field)): FieldPath,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let dbid = match record_of(&shared, &repo, &db, &rid, &field) {
        Ok(dbid) => dbid,
        Err(r) => return *r,
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|t| t.to_str().ok()).unwrap_or_default();
    let parts = match multipart::parse(content_type, &body) {
        Ok(parts) => parts,
        Err(e) => return oslc_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let description = parts
        .iter()
        .find(|p| p.name == "description" && p.file_name.is_none())
        .map(|p| String::from_utf8_lossy(&p.data).into_owned())
        .unwrap_or_default();
    let files: Vec<_> = parts.into_iter().filter(|p| p.file_name.is_some()).collect();
    if files.is_empty() {
        return oslc_error(StatusCode::BAD_REQUEST, "The request holds no file to attach.");
    }
    let mut first = None;
    {
        let mut dbs = shared.lock();
        let stored = &mut dbs.entry(db.clone()).or_default().attachments;
        for file in files {
            let n = stored.len() + 1;
            first.get_or_insert(n);
            stored.push(Stored {
                dbid,
                n,
                filename: file.file_name.unwrap_or_default(),
                description: description.clone(),
                content: file.data,
            });
        }
    }
    let location =
        format!("{}{}/record/{rid}/attachment/{}", base_of(&headers), shared.db_path(&db), first.unwrap_or(1));
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    with_oslc_headers(response)
}

async fn content(State(shared): State<Shared>, Path((repo, db, rid, n)): FieldPath) -> Response {
    if let Some(r) = wrong_db(&shared, &repo, &db) {
        return r;
    }
    let dbid = parse_rid(&shared, &rid);
    let found = shared
        .lock()
        .get(&db)
        .and_then(|db| db.attachments.iter().find(|a| Some(a.dbid) == dbid && a.n.to_string() == n).cloned());
    match found {
        Some(a) => ([(header::CONTENT_TYPE, "application/octet-stream")], a.content).into_response(),
        None => oslc_error(StatusCode::NOT_FOUND, &format!("No attachment {n}.")),
    }
}

impl ClearQuestSim {
    /// The files attached to the record with this display id, in any of its
    /// databases: (file name, content).
    pub fn attachments(&self, display_id: &str) -> Vec<(String, Bytes)> {
        let dbs = self.shared.lock();
        let found = dbs.values().find_map(|db| {
            let dbid = db.records.values().find(|r| r.display_id == display_id)?.dbid;
            Some((db, dbid))
        });
        let Some((db, dbid)) = found else { return Vec::new() };
        db.attachments.iter().filter(|a| a.dbid == dbid).map(|a| (a.filename.clone(), a.content.clone())).collect()
    }
}
