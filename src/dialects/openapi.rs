//! How a dialect describes the routes it serves in another system's shape for
//! `/openapi.json` (`crate::api::openapi` renders them): one row per route, with the
//! statuses each can answer, and the dialect's error body. Each dialect lists its own
//! rows in its folder (`<name>/openapi.rs`, returned by `Dialect::openapi`); the
//! handlers serve several paths each (three Table API prefixes, three Jira REST
//! versions). A route added to a router without a description fails the route walk
//! in `tests/it/openapi.rs`.

use serde_json::{Value, json};

pub mod rules;

/// What a dialect adds to the document: its routes, under one tag, answering errors
/// in one body.
pub struct Described {
    pub tag: &'static str,
    /// The component schema of the error body, and its schema where the dialect
    /// brings it (the native `ErrorBody` is the document's own).
    pub error: (&'static str, Option<fn() -> Value>),
    /// Each route with its path, `{prefix}` and the like filled in.
    pub routes: Vec<(String, &'static Route)>,
}

impl Described {
    /// `routes` at their own paths.
    pub fn at_paths(routes: &'static [Route]) -> impl Iterator<Item = (String, &'static Route)> {
        routes.iter().map(|r| (r.path.to_owned(), r))
    }

    /// `routes` once per prefix, `{prefix}` replaced.
    pub fn per_prefix(
        prefixes: &'static [&'static str],
        routes: &'static [Route],
    ) -> impl Iterator<Item = (String, &'static Route)> {
        prefixes.iter().flat_map(move |prefix| routes.iter().map(move |r| (r.path.replace("{prefix}", prefix), r)))
    }

    /// The `$ref` of the error body.
    pub fn error_ref(&self) -> String {
        format!("#/components/schemas/{}", self.error.0)
    }
}

/// A request body: a JSON object with the fields the handler reads.
#[derive(Clone, Copy)]
pub enum Body {
    None,
    /// Any JSON object: the dialect, like the system it stands in for, ignores fields
    /// it does not read.
    Object,
    /// The fields the handler reads, with their rules.
    Schema(fn() -> Value),
    /// A file, as the body in this media type (`application/octet-stream`, or
    /// `multipart/form-data` with one part per file).
    File(&'static str),
}

/// One operation: method, path (with `{v}` for the Jira version, `{prefix}` for the
/// Table API's), summary, body, and the statuses it answers besides the ones every
/// authenticated route can (401, 403, 429).
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub body: Body,
    pub ok: &'static [u16],
    pub errors: &'static [u16],
    pub authenticated: bool,
    /// Query parameters the handler requires.
    pub query: &'static [&'static str],
    /// What a success answers: JSON, or a file's content.
    pub answers_file: bool,
}

pub const fn route(method: &'static str, path: &'static str, summary: &'static str) -> Route {
    Route {
        method,
        path,
        summary,
        body: Body::None,
        ok: &[200],
        errors: &[400],
        authenticated: true,
        query: &[],
        answers_file: false,
    }
}

impl Route {
    pub const fn body(mut self) -> Self {
        self.body = Body::Object;
        self
    }
    pub const fn schema(mut self, schema: fn() -> Value) -> Self {
        self.body = Body::Schema(schema);
        self
    }
    pub const fn ok(mut self, ok: &'static [u16]) -> Self {
        self.ok = ok;
        self
    }
    pub const fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }
    pub const fn open(mut self) -> Self {
        self.authenticated = false;
        self
    }
    pub const fn file(mut self, media_type: &'static str) -> Self {
        self.body = Body::File(media_type);
        self
    }
    pub const fn query(mut self, required: &'static [&'static str]) -> Self {
        self.query = required;
        self
    }
    pub const fn answers_file(mut self) -> Self {
        self.answers_file = true;
        self
    }
}

/// Statuses an upload can answer: unreadable (400), no such record (404), over the
/// desk's attachment limit (413), patient data in the file name (422).
pub const UPLOAD: &[u16] = &[400, 404, 413, 422];

/// Statuses a write with a JSON body can answer: unreadable or invalid (400), not
/// found (404), a workflow or close-guard refusal (409), too large (413), not JSON
/// (415), patient data or a reused Idempotency-Key (422).
pub const WRITE: &[u16] = &[400, 404, 409, 413, 415, 422];
pub const READ_ONE: &[u16] = &[400, 404];

/// `DeskId`'s rule: lowercase letters, digits and `-`, starting with a letter, at most 64.
pub const DESK_ID: &str = "^[a-z][a-z0-9-]{0,63}$";

/// A string of `pattern`. The bodies the dialects describe are what a client sends,
/// with the rules deskgate checks; the dialects read leniently, as the systems they
/// stand in for do (ServiceNow takes any JSON value as a field's text; both ignore
/// fields they do not know), so they accept more than is described.
pub fn string(pattern: String) -> Value {
    json!({"type": "string", "pattern": pattern})
}
