//! Table API query parameters: `sysparm_query` (encoded query), name-value filters,
//! fields, limits, display values. As ServiceNow: flags in any casing (`True`,
//! `FALSE`), names in `sysparm_fields` that are no field ignored, and every parameter
//! not starting `sysparm_` a filter `field=value` ANDed with the query.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DisplayMode {
    Value,
    Display,
    All,
}

/// How records are rendered: `sysparm_display_value`, `sysparm_exclude_reference_link`,
/// `sysparm_fields`.
pub(super) struct Rendering {
    pub(super) mode: DisplayMode,
    pub(super) links: bool,
    pub(super) fields: Option<Vec<String>>,
}

impl Rendering {
    pub(super) fn field(&self, f: &FieldValue) -> Value {
        let link = f.link.as_ref().filter(|_| self.links && !f.value.is_empty());
        match (self.mode, link) {
            (DisplayMode::Value, None) => Value::String(f.value.clone()),
            (DisplayMode::Value, Some(link)) => json!({"link": link, "value": f.value}),
            (DisplayMode::Display, None) => Value::String(f.display.clone()),
            (DisplayMode::Display, Some(link)) => json!({"link": link, "display_value": f.display}),
            (DisplayMode::All, None) => json!({"display_value": f.display, "value": f.value}),
            (DisplayMode::All, Some(link)) => json!({"display_value": f.display, "link": link, "value": f.value}),
        }
    }
}

/// The parameters of a Table API call.
pub(super) struct Params {
    pub(super) rendering: Rendering,
    pub(super) query: EncodedQuery,
    pub(super) limit: usize,
    pub(super) offset: usize,
    pub(super) pagination_header: bool,
    /// Name-value pairs, each `field=value` ANDed with the query: `active=true&number=INC…`
    /// is `active=true^number=INC…`, except that (as in ServiceNow) a choice or
    /// reference may also be named by its display value, in any casing (`state=closed`).
    pub(super) filters: Vec<(String, String)>,
    /// Every parameter as given, for the `Link` header.
    pub(super) given: Vec<(String, String)>,
}

/// Parameters deskgate accepts and ignores: ServiceNow's UI and clients send them.
pub(super) const IGNORED_PARAMS: &[&str] = &[
    "sysparm_view",
    "sysparm_no_count",
    "sysparm_query_no_domain",
    "sysparm_query_category",
    "sysparm_input_display_value",
];

impl Params {
    pub(super) fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let given: Vec<(String, String)> =
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect();
        let mut params = Params {
            rendering: Rendering { mode: DisplayMode::Value, links: true, fields: None },
            query: EncodedQuery::all(),
            limit: MAX_LIMIT,
            offset: 0,
            pagination_header: true,
            filters: Vec::new(),
            given: given.clone(),
        };
        let mut filters = Vec::new();
        for (key, value) in &given {
            match key.as_str() {
                "sysparm_query" => {
                    let query = EncodedQuery::parse(value)
                        .map_err(|e| bad("sysparm_query", format!("invalid encoded query: {e}")))?;
                    check_query_fields(&query)?;
                    params.query = query;
                }
                "sysparm_limit" => {
                    params.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| bad("sysparm_limit", format!("expected a number from 1 to {MAX_LIMIT}")))?;
                }
                "sysparm_offset" => {
                    params.offset =
                        value.parse().map_err(|_| bad("sysparm_offset", "expected a number of records to skip"))?;
                }
                "sysparm_fields" => {
                    // Names that are no field are ignored, as ServiceNow does; a list
                    // of only such names selects no field.
                    let names: Vec<&str> = value.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
                    let fields: Vec<String> = names.iter().filter(|f| is_field(f)).map(|f| (*f).to_owned()).collect();
                    params.rendering.fields = (!names.is_empty()).then_some(fields);
                }
                "sysparm_display_value" => {
                    params.rendering.mode = match value.to_ascii_lowercase().as_str() {
                        "false" | "" => DisplayMode::Value,
                        "true" => DisplayMode::Display,
                        "all" => DisplayMode::All,
                        _ => return Err(bad("sysparm_display_value", "expected true, false or all")),
                    }
                }
                "sysparm_exclude_reference_link" => {
                    params.rendering.links = !parse_bool("sysparm_exclude_reference_link", value)?;
                }
                "sysparm_suppress_pagination_header" => {
                    params.pagination_header = !parse_bool("sysparm_suppress_pagination_header", value)?;
                }
                other if IGNORED_PARAMS.contains(&other) => {}
                other if !other.starts_with("sysparm_") => filters.push((other, value)),
                other => {
                    return Err(bad(
                        other,
                        "unknown parameter; expected sysparm_query, sysparm_limit, sysparm_offset, sysparm_fields, sysparm_display_value, sysparm_exclude_reference_link or sysparm_suppress_pagination_header (any other name is a field to filter on)",
                    ));
                }
            }
        }
        for (field, value) in filters {
            if !is_field(field) {
                return Err(bad(
                    shown_field_name(field),
                    format!(
                        "unknown field to filter on; the incident has {}",
                        field_names().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            params.filters.push((field.to_owned(), value.clone()));
        }
        Ok(params)
    }
}

pub(super) fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" | "" => Ok(false),
        _ => Err(bad(name, "expected true or false")),
    }
}

/// Refuse conditions and orderings on fields the incident does not have: ServiceNow
/// would silently match everything, which for a gateway hides a mistake.
pub(super) fn check_query_fields(query: &EncodedQuery) -> Result<(), ApiError> {
    for group in &query.groups {
        for clause in &group.clauses {
            for condition in &clause.any {
                if !is_field(&condition.field) {
                    return Err(bad(
                        "sysparm_query",
                        format!("unknown field `{}` in term `{condition}`", condition.field),
                    ));
                }
            }
        }
    }
    for order in &query.order {
        if !is_field(&order.field) {
            let keyword = if order.descending { "ORDERBYDESC" } else { "ORDERBY" };
            return Err(bad(
                "sysparm_query",
                format!("unknown field `{}` in term `{keyword}{}`", order.field, order.field),
            ));
        }
    }
    Ok(())
}

pub(super) fn link_header(base: &str, path: &str, params: &Params, total: usize) -> String {
    let at = |offset: usize| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.given.iter().filter(|(k, _)| k != "sysparm_offset" && k != "sysparm_limit") {
            query.append_pair(k, v);
        }
        query.append_pair("sysparm_limit", &params.limit.to_string());
        query.append_pair("sysparm_offset", &offset.to_string());
        format!("{base}{path}?{}", query.finish())
    };
    wire::page_links(total, params.limit, params.offset, at)
}

pub(super) fn result(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(json!({ "result": body }))).into_response()
}
