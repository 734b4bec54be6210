//! What `/openapi.json` adds to the utoipa document of the native API
//! ([`super::ApiDoc`]): the routes each dialect describes in its folder
//! (`Dialect::openapi`: the ServiceNow Table and Batch APIs, Jira REST, the
//! change-capture webhooks, the native uploads), the statuses the extractors answer
//! on every native route, and the model's rules on the native fields and parameters
//! ([`rules`]).

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::PathItem;

use crate::dialects::openapi::{Body, Described, Route, string};
pub use crate::dialects::openapi::{DESK_ID, rules};

/// Adds the dialect routes and their error bodies to the native API's document.
pub struct DialectRoutes;

impl utoipa::Modify for DialectRoutes {
    fn modify(&self, openapi: &mut OpenApi) {
        let described: Vec<Described> = crate::dialects::all().filter_map(|d| d.openapi()).collect();
        let mut items: Map<String, Value> = Map::new();
        for d in &described {
            for (path, r) in &d.routes {
                let item = items.entry(path.clone()).or_insert_with(|| json!({}));
                item[r.method] = operation(path, r, d);
            }
        }
        for (path, item) in items {
            // The rows are the dialects' own data: a row that does not read as a path
            // item is a bug there (the unit test below), not a reason to fail serving.
            match serde_json::from_value::<PathItem>(item) {
                Ok(item) => {
                    openapi.paths.paths.insert(path, item);
                }
                Err(e) => tracing::error!(path, error = %e, "an OpenAPI row does not read as a path item"),
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in described.iter().filter_map(|d| Some((d.error.0, d.error.1?))) {
            if let Ok(schema) = serde_json::from_value(schema()) {
                components.schemas.insert(name.to_owned(), schema);
            }
        }
    }
}

fn operation(path: &str, r: &Route, dialect: &Described) -> Value {
    let mut responses = Map::new();
    for status in r.ok {
        let done = if *status == 204 {
            json!({"description": "Done"})
        } else if r.answers_file {
            json!({"description": "The file's content", "content": {"application/octet-stream": {}}})
        } else {
            json!({"description": "Done", "content": {"application/json": {}}})
        };
        responses.insert(status.to_string(), done);
    }
    let mut errors: Vec<u16> = r.errors.to_vec();
    if r.authenticated {
        // The desk extractor: no or a bad token (401), not a registered desk or a
        // missing client certificate (403), over the desk's rate limit (429).
        errors.extend([401, 403, 429]);
    } else {
        errors.extend([401, 429]);
    }
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        responses.insert(
            status.to_string(),
            json!({"description": reason(status), "content": {"application/json": {"schema": {"$ref": dialect.error_ref()}}}}),
        );
    }
    let mut op = json!({
        "tags": [dialect.tag],
        "summary": r.summary,
        "operationId": format!("{}_{}", r.method, path.trim_start_matches('/').replace(['/', '{', '}'], "_")),
        "parameters": parameters(path, r.query),
        "responses": responses,
    });
    if r.authenticated {
        op["security"] = json!([{"desk_jwt": []}]);
    }
    let body = match r.body {
        Body::None => None,
        Body::Object => Some(("application/json", json!({"type": "object", "additionalProperties": true}))),
        Body::Schema(schema) => Some(("application/json", schema())),
        Body::File("multipart/form-data") => Some((
            "multipart/form-data",
            json!({"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}),
        )),
        Body::File(media_type) => Some((media_type, json!({"type": "string", "format": "binary", "minLength": 1}))),
    };
    if let Some((media_type, schema)) = body {
        op["requestBody"] = json!({"required": true, "content": {media_type: {"schema": schema}}});
    }
    op
}

/// The path parameters of `path`, with the rules their parsing enforces, and the
/// query parameters the route requires.
fn parameters(path: &str, query: &[&str]) -> Value {
    let names = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
    // An incident's sys_id (`sys_id_of`): 32 lower-case hex digits.
    const SYS_ID: &str = "[0-9a-f]{32}";
    let required_query = query.iter().map(|name| {
        let schema = match *name {
            "sysparm_query" => string(format!("^table_name=incident\\^table_sys_id={SYS_ID}$")),
            "table_name" => json!({"type": "string", "enum": ["incident"]}),
            "table_sys_id" => string(format!("^{SYS_ID}$")),
            _ => json!({"type": "string", "minLength": 1}),
        };
        json!({"name": name, "in": "query", "required": true, "schema": schema})
    });
    let path_parameters: Vec<Value> = names
        .map(|name| {
            let schema = match name {
                "v" => json!({"type": "string", "enum": ["2", "3", "latest"]}),
                "desk" => json!({"type": "string", "pattern": DESK_ID}),
                "id" if path.starts_with("/api/v1/incidents/") => {
                    json!({"type": "string", "pattern": rules::INCIDENT_ID})
                }
                // An attachment's place; far more than an incident may hold.
                "number" => json!({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
                _ => json!({"type": "string", "minLength": 1}),
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    path_parameters.into_iter().chain(required_query).collect()
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "The request, a field or a parameter is not what the route accepts",
        401 => "No desk token, or one that does not verify",
        403 => "Not a registered desk, not allowed, or without the desk's client certificate",
        404 => "No such record the desk is party to",
        409 => "Refused by the workflow or the close guard",
        413 => "The body is larger than the gateway accepts",
        415 => "The body is not JSON",
        422 => "Patient data, or a reused Idempotency-Key",
        429 => "Over the desk's rate limit; see Retry-After",
        _ => "Refused",
    }
}

/// `schema` without its `null`: `["string", "null"]` as `"string"`, `oneOf [null, X]` as `X`.
fn not_null(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            schema["type"] = only;
        }
    }
    if let Some(Value::Array(branches)) = schema.get("oneOf") {
        let rest: Vec<Value> = branches.iter().filter(|b| b.get("type").is_none_or(|t| t != "null")).cloned().collect();
        if let [only] = rest.as_slice() {
            return only.clone();
        }
    }
    schema
}

/// The rules of [`rules`] applied to the native API's schemas and parameters.
pub struct NativeRules;

impl utoipa::Modify for NativeRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let Ok(mut doc) = serde_json::to_value(&*openapi) else { return };
        let text = json!({"pattern": rules::text(), "maxLength": 65536});
        let url = json!({"pattern": rules::url(), "maxLength": 2048});
        let fields: [(&str, &str, Value); 12] = [
            ("SubmitIncident", "title", json!({"pattern": rules::title()})),
            ("SubmitIncident", "description", text.clone()),
            ("SubmitIncident", "service", json!({"pattern": rules::service()})),
            ("SubmitIncident", "ticket_id", json!({"pattern": rules::ticket_id(), "maxLength": 512})),
            ("SubmitIncident", "display_id", json!({"pattern": rules::display_id()})),
            ("SubmitIncident", "ticket_url", url.clone()),
            ("PatchIncident", "assignee", json!({"pattern": rules::DESK_ID})),
            ("PatchIncident", "parent", json!({"pattern": rules::INCIDENT_ID})),
            ("PatchIncident", "report", text.clone()),
            ("LinkRfc", "key", json!({"pattern": rules::issue_key()})),
            ("LinkRfc", "url", url),
            ("AddNote", "body", text),
        ];
        for (schema, field, rule) in fields {
            if let Some(Value::Object(property)) =
                doc.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}"))
            {
                property.extend(rule.as_object().cloned().unwrap_or_default());
            }
        }
        // A change must change something: `{}`, nulls only, or `approve_report: false`
        // is refused ("nothing to change").
        // One object per field that changes something, as `anyOf` (the document's
        // object schemas have no `anyOf` of their own).
        if let Some(patch) = doc.pointer_mut("/components/schemas/PatchIncident") {
            let mut base = patch.clone();
            base["additionalProperties"] = json!(false);
            let properties = base.get("properties").cloned().unwrap_or_default();
            let mut changes: Vec<Value> = ["status", "priority", "assignee", "kind", "parent", "report", "rfc"]
                .iter()
                .map(|f| {
                    let mut variant = base.clone();
                    variant["required"] = json!([f]);
                    variant["properties"][*f] = not_null(&properties[*f]);
                    variant
                })
                .collect();
            let mut approve = base.clone();
            approve["required"] = json!(["approve_report"]);
            approve["properties"]["approve_report"] = json!({"type": "boolean", "enum": [true]});
            changes.push(approve);
            *patch = json!({"description": base["description"], "anyOf": changes});
        }
        let params: [(&str, &str, Value); 17] = [
            // `HeaderValue::to_str` (visible ASCII and tab), 1 to 255 bytes; HTTP drops
            // the spaces and tabs around a header's value.
            (
                "/api/v1/incidents",
                "Idempotency-Key",
                json!({"type": "string", "pattern": "^[\t ]*[!-~](?:[\t -~]{0,253}[!-~])?[\t ]*$"}),
            ),
            ("/api/v1/audit", "cursor", json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
            ("/api/v1/incidents/", "id", json!({"type": "string", "pattern": rules::INCIDENT_ID})),
            ("/api/v1/incidents/", "number", json!({"type": "integer", "minimum": 1, "maximum": 1_000_000})),
            ("/api/v1/incidents", "service", json!({"type": "string", "pattern": rules::service()})),
            ("/api/v1/incidents", "cursor", json!({"type": "string", "pattern": rules::INCIDENT_ID})),
            ("/api/v1/incidents", "limit", json!({"type": "integer", "minimum": 1, "maximum": 200})),
            ("/api/v1/audit", "limit", json!({"type": "integer", "minimum": 1, "maximum": 1000})),
            // The operator listings page by sequence number (escalations by id), 1 to 1000 a page.
            ("/api/v1/outbox", "cursor", json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
            ("/api/v1/dead-letters", "cursor", json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})),
            ("/api/v1/outbox", "limit", json!({"type": "integer", "minimum": 1, "maximum": 1000})),
            ("/api/v1/dead-letters", "limit", json!({"type": "integer", "minimum": 1, "maximum": 1000})),
            ("/api/v1/escalations", "limit", json!({"type": "integer", "minimum": 1, "maximum": 1000})),
            ("/api/v1/refs/", "desk", json!({"type": "string", "pattern": rules::DESK_ID})),
            ("/api/v1/refs/", "remote_id", json!({"type": "string", "pattern": rules::ticket_id(), "maxLength": 512})),
            ("/api/v1/escalations/contact", "service", json!({"type": "string", "pattern": rules::service()})),
            ("/api/v1/escalations/contact", "at", json!({"type": "string", "format": "date-time"})),
        ];
        if let Some(Value::Object(paths)) = doc.get_mut("paths") {
            for (path, item) in paths.iter_mut() {
                let Some(item) = item.as_object_mut() else { continue };
                for op in item.values_mut() {
                    let Some(Value::Array(parameters)) = op.get_mut("parameters") else { continue };
                    for p in parameters {
                        for (prefix, name, schema) in &params {
                            let exact = !prefix.ends_with('/');
                            let applies = if exact { path == prefix } else { path.starts_with(prefix) };
                            if applies && p["name"] == *name {
                                p["schema"] = schema.clone();
                            }
                        }
                    }
                }
            }
        }
        if let Ok(described) = serde_json::from_value(doc) {
            *openapi = described;
        }
    }
}

/// The statuses every native operation can answer before its handler runs, in the
/// native error body: the desk extractor's (401, 403, 429) on an authenticated one,
/// the JSON body extractor's (400, 413, 415, 422) on one with a body.
pub struct ExtractorResponses;

impl utoipa::Modify for ExtractorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |status: u16| {
            ResponseBuilder::new()
                .description(reason(status))
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for op in operations.into_iter().flatten() {
                let mut statuses = Vec::new();
                if op.security.is_some() {
                    statuses.extend([401, 403, 429]);
                }
                if op.request_body.is_some() {
                    statuses.extend([400, 413, 415, 422]);
                }
                // A parameter that does not parse is named in a 400.
                if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    statuses.push(400);
                }
                for status in statuses {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| error(status).into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_reads_as_a_path_item() {
        for dialect in crate::dialects::all().filter_map(|d| d.openapi()) {
            for (path, r) in &dialect.routes {
                let item = json!({ r.method: operation(path, r, &dialect) });
                if let Err(e) = serde_json::from_value::<PathItem>(item) {
                    panic!("{} {path}: {e}", r.method);
                }
            }
            let Some(schema) = dialect.error.1 else { continue };
            if let Err(e) = serde_json::from_value::<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>(schema())
            {
                panic!("{e}");
            }
        }
    }
}
