//! The rules the model's parsers enforce on the native API's fields and parameters,
//! as JSON Schema (ECMA-262 patterns). Where a rule counts bytes (`Text`, `TicketId`)
//! `maxLength` (which counts characters) is the byte limit: a string of multi-byte
//! characters can be refused below it. Patient data and a reused Idempotency-Key are
//! refused with 422 whatever the schema says.

/// What `str::trim` removes (Unicode White_Space).
const WS: &str = r"[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// `IncidentId`: `INC-`, a four-digit year, 6 to 12 digits.
pub const INCIDENT_ID: &str = r"^INC-[0-9]{4}-[0-9]{6,12}$";
pub use super::DESK_ID;
/// `Service`, around whitespace that is trimmed: letters, digits, `-`, `_`, 1 to 32.
pub fn service() -> String {
    format!("^{WS}*[A-Za-z0-9_-]{{1,32}}{WS}*$")
}
/// `Title`, around whitespace that is trimmed: 1 to 160 characters, starting and
/// ending with a visible one, without control characters (line breaks included)
/// or bidirectional controls.
pub fn title() -> String {
    format!("^{WS}*{EDGE}(?:{LINE}{{0,158}}{EDGE})?{WS}*$")
}
/// `Text`: at least one visible character, no control characters but tab and line
/// breaks, no bidirectional controls.
pub fn text() -> String {
    format!("^{TEXT}*{EDGE}{TEXT}*$")
}
/// `TicketId`: printable (no control or format characters, markup or quotes), not
/// only whitespace.
pub fn ticket_id() -> String {
    format!("^{TICKET}*{TICKET_VISIBLE}{TICKET}*$")
}
/// Whitespace that is not a control character: what may surround a one-line field
/// of a ServiceNow record, whose every value is refused with a control character.
const SPACE: &str = r"[\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// [`title`] as a ServiceNow record's field.
pub fn record_title() -> String {
    format!("^{SPACE}*{EDGE}(?:{LINE}{{0,158}}{EDGE})?{SPACE}*$")
}
/// [`service`] as a ServiceNow record's field.
pub fn record_service() -> String {
    format!("^{SPACE}*[A-Za-z0-9_-]{{1,32}}{SPACE}*$")
}
/// [`display_id`] as a ServiceNow record's field.
pub fn record_display_id() -> String {
    format!("^{SPACE}*[A-Za-z0-9_.:/#-]{{1,64}}{SPACE}*$")
}
/// `parse_display_id`, around whitespace that is trimmed.
pub fn display_id() -> String {
    format!("^{WS}*[A-Za-z0-9_.:/#-]{{1,64}}{WS}*$")
}
/// `parse_url` (absent when only whitespace): an absolute http(s) URL with a host.
pub fn url() -> String {
    format!(
        "^{WS}*(?:https?://[A-Za-z][A-Za-z0-9-]*(?:\\.[A-Za-z][A-Za-z0-9-]*)*(?::[0-9]{{1,4}})?(?:[/?#][!-~]*)?{WS}*)?$"
    )
}
/// `ReleaseLink`'s key, around whitespace that is trimmed: `PROJECT-123`.
pub fn issue_key() -> String {
    format!("^{WS}*[A-Z][A-Z0-9_]{{0,31}}-[0-9]{{1,12}}{WS}*$")
}
// The classes below spell out the bidirectional controls (`is_bidi_control`) and the
// format characters (`is_format`, those in the Basic Multilingual Plane), each once:
// macros, as `concat!` joins only literals.
macro_rules! bidi_controls {
    () => {
        r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    };
}
macro_rules! format_chars {
    () => {
        r"\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    };
}
/// Controls and whitespace: what no visible character is.
macro_rules! controls_and_spaces {
    () => {
        r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
/// A character of a title's line: no control, no bidirectional control.
const LINE: &str = concat!(r"[^\u0000-\u001f\u007f-\u009f", bidi_controls!(), "]");
/// A visible character: none of the above, no whitespace, no format character.
const EDGE: &str = concat!("[^", controls_and_spaces!(), format_chars!(), "]");
/// A character of free text: tab and line breaks, otherwise no control and no
/// bidirectional control.
const TEXT: &str = concat!(r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f", bidi_controls!(), "]");
const TICKET: &str = concat!(r"[^\u0000-\u001f\u007f-\u009f<>\u0022'`", format_chars!(), "]");
const TICKET_VISIBLE: &str = concat!("[^", controls_and_spaces!(), r"<>\u0022'`", format_chars!(), "]");
