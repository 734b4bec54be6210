//! ServiceNow Table API wire format: records, envelopes, dates, ids, priority.
//!
//! Everything here is pure data and pure functions, shared by the outbound
//! [`client`](crate::client), the simulator and the gateway's ServiceNow-compatible
//! inbound API. Nothing here performs I/O.
//!
//! Facts of the dialect this module encodes:
//! - a record is a flat JSON object whose values are all strings
//!   (`"impact": "2"`, `"active": "true"`);
//! - answers wrap the payload: `{"result": {…}}` for one record, `{"result": […]}` for lists;
//! - errors are `{"error": {"message": "…", "detail": "…"}, "status": "failure"}`;
//! - dates are `YYYY-MM-DD HH:MM:SS` in UTC (the internal format, returned when
//!   `sysparm_display_value=false`);
//! - `sys_id` is 32 lowercase hex characters, `number` is a prefix and 7 digits (`INC0010001`).

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One Table API record: field name to value, every value a string.
pub type Record = BTreeMap<String, String>;

/// The `{"result": …}` envelope every Table API answer (and request body echo) uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultEnvelope<T> {
    pub result: T,
}

/// The error answer: `{"error": {"message", "detail"}, "status": "failure"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
    pub status: String,
}

/// The inner part of [`ErrorEnvelope`]. ServiceNow sends `"detail": null` on some errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    #[serde(default)]
    pub detail: Option<String>,
}

impl ErrorEnvelope {
    pub fn new(message: impl Into<String>, detail: Option<String>) -> Self {
        Self { error: ErrorBody { message: message.into(), detail }, status: "failure".to_owned() }
    }
}

impl fmt::Display for ErrorEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error.detail {
            Some(detail) if !detail.trim().is_empty() => {
                write!(f, "{}: {}", self.error.message, detail.trim())
            }
            _ => f.write_str(&self.error.message),
        }
    }
}

/// Why a wire value could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("`{value}` is not a ServiceNow date: expected `YYYY-MM-DD HH:MM:SS` (UTC)")]
    Date { value: String },
    #[error("`{value}` is not a sys_id: expected 32 lowercase hex characters")]
    SysId { value: String },
    #[error("`{value}` is not a record number: expected a letter prefix and 7 digits, like `INC0010001`")]
    Number { value: String },
    #[error("{field} `{value}` is out of range: expected 1, 2 or 3")]
    Level { field: &'static str, value: String },
    #[error("expected a JSON object for a record, found {found}")]
    NotARecord { found: &'static str },
}

/// The layout of ServiceNow's internal date-time values.
pub const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Format an instant the way the Table API writes `sys_updated_on` and friends.
/// Sub-second precision is dropped: ServiceNow stores whole seconds.
pub fn format_date(ts: Timestamp) -> String {
    // The UTC civil form of any representable Timestamp always formats; jiff's
    // strtime only fails for missing fields, which this layout never references.
    ts.to_zoned(jiff::tz::TimeZone::UTC).datetime().strftime(DATE_FORMAT).to_string()
}

/// Parse a Table API date-time (`2026-03-01 14:05:09`, UTC).
pub fn parse_date(value: &str) -> Result<Timestamp, WireError> {
    let err = || WireError::Date { value: value.to_owned() };
    // Fixed width keeps lexical and chronological order identical, which encoded
    // queries on dates rely on; refuse the sloppier forms strptime would accept.
    let bytes = value.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(err());
    }
    let civil = jiff::civil::DateTime::strptime(DATE_FORMAT, value).map_err(|_| err())?;
    civil.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|_| err())
}

/// A record's `sys_id`: 32 lowercase hex characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SysId(String);

impl SysId {
    /// A fresh random sys_id (a v4 UUID without dashes, as ServiceNow's GUIDs look).
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn parse(value: &str) -> Result<Self, WireError> {
        if is_sys_id(value) { Ok(Self(value.to_owned())) } else { Err(WireError::SysId { value: value.to_owned() }) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SysId {
    type Error = WireError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if is_sys_id(&value) { Ok(Self(value)) } else { Err(WireError::SysId { value }) }
    }
}

impl From<SysId> for String {
    fn from(id: SysId) -> Self {
        id.0
    }
}

impl fmt::Display for SysId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True when `value` has the shape of a sys_id.
pub fn is_sys_id(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Digits in a record number after the prefix (`INC` + `0010001`).
pub const NUMBER_DIGITS: usize = 7;

/// Format a record number: `format_number("INC", 10001)` is `INC0010001`.
pub fn format_number(prefix: &str, n: u64) -> String {
    format!("{prefix}{n:0width$}", width = NUMBER_DIGITS)
}

/// Split a record number into prefix and counter: `INC0010001` → (`INC`, 10001).
pub fn parse_number(value: &str) -> Result<(&str, u64), WireError> {
    let err = || WireError::Number { value: value.to_owned() };
    let split = value.find(|c: char| c.is_ascii_digit()).ok_or_else(err)?;
    let (prefix, digits) = value.split_at(split);
    if prefix.is_empty()
        || !prefix.bytes().all(|b| b.is_ascii_uppercase())
        || digits.len() < NUMBER_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let n = digits.parse::<u64>().map_err(|_| err())?;
    Ok((prefix, n))
}

/// Parse an impact or urgency value (`"1"`..`"3"`); `field` names it in the error.
pub fn parse_level(field: &'static str, value: &str) -> Result<u8, WireError> {
    match value.trim() {
        "1" => Ok(1),
        "2" => Ok(2),
        "3" => Ok(3),
        _ => Err(WireError::Level { field, value: value.to_owned() }),
    }
}

/// The base-system priority lookup: `priority = min(5, impact + urgency − 1)`.
///
/// Impact and urgency are 1 (High) .. 3 (Low); priority is 1 (Critical) .. 5 (Planning).
/// Values outside 1..=3 are clamped, as the lookup table has no other rows.
pub fn priority(impact: u8, urgency: u8) -> u8 {
    let impact = impact.clamp(1, 3);
    let urgency = urgency.clamp(1, 3);
    (impact + urgency - 1).min(5)
}

/// Priority from the string values of a record, defaulting missing levels to 3 (Low),
/// the base system's default for new incidents.
pub fn priority_of(record: &Record) -> Result<u8, WireError> {
    let level = |field: &'static str| match record.get(field).map(String::as_str) {
        None | Some("") => Ok(3),
        Some(v) => parse_level(field, v),
    };
    Ok(priority(level("impact")?, level("urgency")?))
}

/// Read a record from an answer, tolerating the shapes other query parameters produce:
/// plain strings, `{"value", "display_value", "link"}` objects (reference fields and
/// `sysparm_display_value=all`), numbers, booleans and `null` (empty).
pub fn record_from_json(value: &serde_json::Value) -> Result<Record, WireError> {
    let object = value.as_object().ok_or(WireError::NotARecord { found: json_kind(value) })?;
    Ok(object.iter().map(|(k, v)| (k.clone(), field_value(v))).collect())
}

fn field_value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) => o.get("value").or_else(|| o.get("display_value")).map(field_value).unwrap_or_default(),
        Value::Array(_) => v.to_string(),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `Link` header of one page of a Table API list: `first`, `prev` (after the
/// first page), `next` (before the last) and `last`, each the URL `at` gives for a
/// page's offset. Instances and the simulator page the same way.
pub fn page_links(total: usize, limit: usize, offset: usize, at: impl Fn(usize) -> String) -> String {
    let limit = limit.max(1);
    let link = |rel: &str, offset: usize| format!("<{}>;rel=\"{rel}\"", at(offset));
    let last = if total == 0 { 0 } else { (total - 1) / limit * limit };
    let mut links = vec![link("first", 0)];
    if offset > 0 {
        links.push(link("prev", offset.saturating_sub(limit)));
    }
    if offset + limit < total {
        links.push(link("next", offset + limit));
    }
    links.push(link("last", last));
    links.join(",")
}

/// Incident `state` values of the base system.
pub mod state {
    pub const NEW: &str = "1";
    pub const IN_PROGRESS: &str = "2";
    pub const ON_HOLD: &str = "3";
    pub const RESOLVED: &str = "6";
    pub const CLOSED: &str = "7";
    pub const CANCELED: &str = "8";

    /// The label the base system shows for a state value.
    pub fn label(value: &str) -> Option<&'static str> {
        Some(match value {
            NEW => "New",
            IN_PROGRESS => "In Progress",
            ON_HOLD => "On Hold",
            RESOLVED => "Resolved",
            CLOSED => "Closed",
            CANCELED => "Canceled",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_name_the_neighbouring_pages() {
        let at = |offset: usize| format!("u?o={offset}");
        assert_eq!(
            page_links(5, 2, 2, at),
            "<u?o=0>;rel=\"first\",<u?o=0>;rel=\"prev\",<u?o=4>;rel=\"next\",<u?o=4>;rel=\"last\""
        );
        assert_eq!(page_links(0, 10, 0, at), "<u?o=0>;rel=\"first\",<u?o=0>;rel=\"last\"");
    }

    #[test]
    fn dates_round_trip_in_utc() {
        let ts: Timestamp = "2026-03-29T01:30:05Z".parse().unwrap();
        assert_eq!(format_date(ts), "2026-03-29 01:30:05");
        assert_eq!(parse_date("2026-03-29 01:30:05").unwrap(), ts);
    }

    #[test]
    fn dates_drop_subseconds() {
        let ts: Timestamp = "2026-01-02T03:04:05.999Z".parse().unwrap();
        assert_eq!(format_date(ts), "2026-01-02 03:04:05");
    }

    #[test]
    fn malformed_dates_are_refused() {
        for bad in [
            "",
            "2026-03-29",
            "2026-03-29T01:30:05",
            "2026-3-29 01:30:05",
            "2026-02-30 01:30:05",
            "2026-03-29 25:00:00",
            "2026-03-29 01:30:05Z",
            "２026-03-29 01:30:05",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sys_ids_are_32_lowercase_hex() {
        let id = SysId::generate();
        assert!(is_sys_id(id.as_str()), "{id}");
        assert_ne!(id, SysId::generate());
        assert!(SysId::parse("46d44a5ea9fe198100bb5f2a0b7fea1b").is_ok());
        for bad in [
            "",
            "46D44A5EA9FE198100BB5F2A0B7FEA1B",
            "46d44a5e-a9fe-1981-00bb-5f2a0b7fea1b",
            "46d44a5ea9fe198100bb5f2a0b7fea1",
            "46d44a5ea9fe198100bb5f2a0b7fea1bb",
            "g6d44a5ea9fe198100bb5f2a0b7fea1b",
            "../../../../sys_user/46d44a5ea9fe",
        ] {
            assert!(SysId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sys_id_deserialization_validates() {
        assert!(serde_json::from_str::<SysId>("\"46d44a5ea9fe198100bb5f2a0b7fea1b\"").is_ok());
        assert!(serde_json::from_str::<SysId>("\"nope\"").is_err());
    }

    #[test]
    fn numbers_have_seven_digits() {
        assert_eq!(format_number("INC", 10001), "INC0010001");
        assert_eq!(format_number("INC", 1), "INC0000001");
        assert_eq!(parse_number("INC0010001").unwrap(), ("INC", 10001));
        assert_eq!(parse_number("INC12345678").unwrap(), ("INC", 12345678));
        for bad in ["", "INC", "0010001", "INC001", "inc0010001", "INC00100O1"] {
            assert!(parse_number(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn priority_follows_the_lookup_formula() {
        // (impact, urgency, priority) — the base system's full table.
        let table = [(1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 2), (2, 2, 3), (2, 3, 4), (3, 1, 3), (3, 2, 4), (3, 3, 5)];
        for (i, u, p) in table {
            assert_eq!(priority(i, u), p, "impact {i} urgency {u}");
        }
        assert_eq!(priority(0, 9), 3, "clamped to the table");
    }

    #[test]
    fn priority_of_a_record_defaults_to_low() {
        let mut r = Record::new();
        assert_eq!(priority_of(&r).unwrap(), 5);
        r.insert("impact".into(), "1".into());
        assert_eq!(priority_of(&r).unwrap(), 3);
        r.insert("urgency".into(), "1".into());
        assert_eq!(priority_of(&r).unwrap(), 1);
        r.insert("urgency".into(), "high".into());
        assert_eq!(priority_of(&r).unwrap_err().to_string(), "urgency `high` is out of range: expected 1, 2 or 3");
    }

    #[test]
    fn records_are_read_from_every_answer_shape() {
        let v = serde_json::json!({
            "state": "2",
            "assignment_group": {"link": "https://x/api/now/table/sys_user_group/abc", "value": "abc"},
            "priority": {"display_value": "1 - Critical", "value": "1"},
            "caller_id": "",
            "reassignment_count": 0,
            "active": true,
            "parent": null
        });
        let r = record_from_json(&v).unwrap();
        assert_eq!(r["assignment_group"], "abc");
        assert_eq!(r["priority"], "1");
        assert_eq!(r["reassignment_count"], "0");
        assert_eq!(r["active"], "true");
        assert_eq!(r["parent"], "");
        assert!(record_from_json(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn error_envelope_has_the_servicenow_shape() {
        let e = ErrorEnvelope::new("No Record found", Some("Record doesn't exist".into()));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"error": {"message": "No Record found", "detail": "Record doesn't exist"}, "status": "failure"})
        );
        let parsed: ErrorEnvelope =
            serde_json::from_str(r#"{"error":{"message":"Invalid table x","detail":null},"status":"failure"}"#)
                .unwrap();
        assert_eq!(parsed.to_string(), "Invalid table x");
    }
}
