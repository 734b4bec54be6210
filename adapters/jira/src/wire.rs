//! Jira REST v2/v3 wire types, as Jira sends and accepts them.
//!
//! Only the parts deskgate reads or writes are typed; everything else an answer
//! carries is kept in `extra` maps so nothing is lost when a body is passed on
//! (the simulator builds its answers from the same types). Field values that differ
//! between v2 and v3 — `description` and comment `body`, plain text in v2 and ADF
//! in v3 — are held as [`TextBody`], which reads either.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adf;

/// `{"errorMessages":[…],"errors":{field:msg}}`: every Jira 4xx answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCollection {
    #[serde(default)]
    pub error_messages: Vec<String>,
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

impl ErrorCollection {
    pub fn message(message: impl Into<String>) -> Self {
        Self { error_messages: vec![message.into()], errors: BTreeMap::new() }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(field.into(), message.into());
        Self { error_messages: Vec::new(), errors }
    }

    /// One line for an error report: messages first, then `field: message` pairs.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self.error_messages.clone();
        parts.extend(self.errors.iter().map(|(f, m)| format!("{f}: {m}")));
        parts.join("; ")
    }
}

/// A rich-text value: plain text (v2) or an ADF document (v3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TextBody {
    Plain(String),
    Adf(adf::Node),
}

impl TextBody {
    /// The value as plain text; ADF degrades to its text (see [`adf::to_text`]).
    pub fn to_text(&self) -> String {
        match self {
            Self::Plain(s) => s.clone(),
            Self::Adf(node) => adf::to_text(node),
        }
    }

    /// The body for an API version: plain text for 2, an ADF document for 3.
    pub fn for_version(text: &str, version: ApiVersion) -> Self {
        match version {
            ApiVersion::V2 => Self::Plain(text.to_owned()),
            ApiVersion::V3 => Self::Adf(adf::from_text(text)),
        }
    }
}

/// The REST API generation: v2 speaks plain text, v3 speaks ADF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiVersion {
    V2,
    V3,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "2",
            Self::V3 => "3",
        }
    }

    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Self::V2),
            3 => Some(Self::V3),
            _ => None,
        }
    }
}

/// A name-addressed reference (`{"name": "High"}`), as sent in create/edit bodies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<String>,
    #[serde(rename = "self", skip_serializing_if = "Option::is_none", default)]
    pub self_url: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl NamedRef {
    pub fn by_name(name: impl Into<String>) -> Self {
        Self { name: Some(name.into()), ..Self::default() }
    }
}

/// A Jira user as answers carry it: `accountId` on Cloud, `name`/`key` on Server/DC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(rename = "self", skip_serializing_if = "Option::is_none", default)]
    pub self_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_zone: Option<String>,
}

impl User {
    /// The identifier to address this user with: `accountId`, else `name`.
    pub fn handle(&self) -> Option<&str> {
        self.account_id.as_deref().or(self.name.as_deref())
    }
}

/// `status` as it appears in an issue and as a transition target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(rename = "self", skip_serializing_if = "Option::is_none", default)]
    pub self_url: Option<String>,
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_category: Option<StatusCategory>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCategory {
    pub id: u32,
    /// `new`, `indeterminate` or `done`.
    pub key: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub color_name: Option<String>,
}

/// The fields of an issue deskgate reads; all others are kept in `extra`
/// (custom fields included, by id).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueFields {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub summary: Option<String>,
    /// v2: plain text; v3: ADF. `null` when empty.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<TextBody>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub priority: Option<NamedRef>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub assignee: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reporter: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub labels: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub issuetype: Option<NamedRef>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub project: Option<NamedRef>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resolution: Option<NamedRef>,
    /// Jira timestamp (`2024-01-15T10:30:00.000+0000`); see [`parse_timestamp`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub updated: Option<String>,
    /// Present on a single-issue GET and when `comment` is in a search's `fields`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<CommentPage>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// An issue as `GET /issue/{key}` and search answers carry it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expand: Option<String>,
    pub id: String,
    #[serde(rename = "self", default)]
    pub self_url: String,
    pub key: String,
    #[serde(default)]
    pub fields: IssueFields,
}

/// Answer of `POST /issue`: 201 `{id,key,self}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
    #[serde(rename = "self")]
    pub self_url: String,
}

/// Body of `POST /issue` and `PUT /issue/{key}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueWrite {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
    /// Operations such as `{"labels":[{"add":"x"}]}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub update: BTreeMap<String, Vec<BTreeMap<String, Value>>>,
}

/// Answer of `GET /issue/{key}/transitions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Transitions {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expand: Option<String>,
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub id: String,
    pub name: String,
    pub to: Status,
    #[serde(default)]
    pub has_screen: bool,
    #[serde(default)]
    pub is_global: bool,
    #[serde(default)]
    pub is_initial: bool,
    #[serde(default)]
    pub is_conditional: bool,
    /// The fields on the transition's screen, by id (`resolution`, `assignee`, …);
    /// present only when asked for with `expand=transitions.fields`. Setting a field
    /// that is not on the screen is refused with 400.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
}

/// Body of `POST /issue/{key}/transitions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DoTransition {
    pub transition: TransitionRef,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRef {
    pub id: String,
}

/// Who may see a comment. Absent: everyone who can see the issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visibility {
    /// `role` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// A comment as answers carry it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    #[serde(rename = "self", default)]
    pub self_url: String,
    #[serde(default)]
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub author: Option<User>,
    pub body: TextBody,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub update_author: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub visibility: Option<Visibility>,
    /// Jira Service Management: `false` for an internal comment (seen by agents
    /// only), which carries no `visibility`; `true` for one shared with the customer.
    #[serde(rename = "jsdPublic", skip_serializing_if = "Option::is_none", default)]
    pub jsd_public: Option<bool>,
}

impl Comment {
    /// Whether everyone who can see the issue can read the comment: neither
    /// restricted by role or group nor a Service Management internal comment.
    pub fn is_public(&self) -> bool {
        self.visibility.is_none() && self.jsd_public != Some(false)
    }
}

/// Body of `POST /issue/{key}/comment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewComment {
    pub body: TextBody,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub visibility: Option<Visibility>,
}

/// `GET /issue/{key}/comment` and `fields.comment`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
// Every field may be missing: `default` on the container fills each from `Default`.
#[serde(rename_all = "camelCase", default)]
pub struct CommentPage {
    pub start_at: u64,
    pub max_results: u64,
    pub total: u64,
    pub comments: Vec<Comment>,
}

/// A remote link (`/issue/{key}/remotelink`): body of POST and element of GET.
/// Jira treats a POST whose `globalId` already exists on the issue as an update.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteLink {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<u64>,
    #[serde(rename = "self", skip_serializing_if = "Option::is_none", default)]
    pub self_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub global_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub application: Option<RemoteLinkApplication>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub relationship: Option<String>,
    pub object: RemoteLinkObject,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLinkApplication {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteLinkObject {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub summary: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Answer of `POST /issue/{key}/remotelink`: 201 when created, 200 when updated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLinkIdentifies {
    pub id: u64,
    #[serde(rename = "self")]
    pub self_url: String,
}

/// Body of `POST /issueLink` (a link between two issues of the same Jira).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueLinkWrite {
    #[serde(rename = "type")]
    pub kind: NamedRef,
    pub inward_issue: NamedRef,
    pub outward_issue: NamedRef,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<NewComment>,
}

/// Body of `POST /search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    pub jql: String,
    #[serde(default)]
    pub start_at: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_results: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Answer of `GET|POST /search`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchResults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expand: Option<String>,
    pub start_at: u64,
    pub max_results: u64,
    pub total: u64,
    pub issues: Vec<Issue>,
}

/// Body of Jira Cloud's `POST /search/jql` (enhanced search, CHANGE-2046): a cursor
/// instead of `startAt`, and issues to read consistently despite the search index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JqlSearchRequest {
    pub jql: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_page_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_results: Option<u64>,
    /// Without fields Cloud returns only issue ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Issue ids (at most 50) searched as they are now, not as last indexed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconcile_issues: Vec<u64>,
}

/// Answer of `GET|POST /search/jql`: no `total`; `nextPageToken` until the last page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JqlSearchResults {
    pub issues: Vec<Issue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    pub is_last: Option<bool>,
}

/// Answer of `GET /serverInfo`. Clients such as the Python `jira` package read
/// `versionNumbers` (required) and `deploymentType` (`Cloud` or `Server`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub base_url: String,
    pub version: String,
    pub version_numbers: Vec<u32>,
    pub deployment_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub build_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub build_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scm_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_title: Option<String>,
}

/// One element of `GET /field`. Clients map JQL names to ids via `clauseNames`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub id: String,
    pub name: String,
    pub custom: bool,
    pub orderable: bool,
    pub navigable: bool,
    pub searchable: bool,
    #[serde(default)]
    pub clause_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<Value>,
}

/// One element of `GET /priority`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Priority {
    #[serde(rename = "self")]
    pub self_url: String,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub icon_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
}

/// The timestamp layout Jira uses in answers and webhooks: `2024-01-15T10:30:00.000+0000`.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f%z";

/// Render an instant the way Jira does (UTC, milliseconds, `+0000`).
pub fn format_timestamp(at: Timestamp) -> String {
    // Milliseconds are all Jira keeps; cut so the text round-trips exactly.
    let millis = at.as_millisecond();
    let at = Timestamp::from_millisecond(millis).unwrap_or(at);
    at.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Parse a Jira timestamp (`…+0000` offsets, with or without fraction); RFC 3339
/// (`…+00:00`, `…Z`) is accepted too.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    for format in [TIMESTAMP_FORMAT, "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(tm) = jiff::fmt::strtime::parse(format, text) {
            if let Ok(ts) = tm.to_timestamp() {
                return Some(ts);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_jira_layout() {
        let at: Timestamp = "2024-01-15T10:30:05.123Z".parse().unwrap();
        let text = format_timestamp(at);
        assert_eq!(text, "2024-01-15T10:30:05.123+0000");
        assert_eq!(parse_timestamp(&text), Some(at));
        assert_eq!(parse_timestamp("2024-01-15T11:30:05.123+0100"), Some(at), "offsets are honoured");
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn issue_reads_v2_and_v3_descriptions() {
        let v2: Issue = serde_json::from_value(serde_json::json!({
            "id": "10000", "key": "DRIFT-1", "self": "http://x/rest/api/2/issue/10000",
            "fields": {"summary": "s", "description": "line", "customfield_10042": "INC-1"}
        }))
        .unwrap();
        assert_eq!(v2.fields.description.unwrap().to_text(), "line");
        assert_eq!(v2.fields.extra["customfield_10042"], "INC-1");

        let v3: Issue = serde_json::from_value(serde_json::json!({
            "id": "10000", "key": "DRIFT-1", "self": "x",
            "fields": {"description": {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "line"}]}]}}
        }))
        .unwrap();
        assert_eq!(v3.fields.description.unwrap().to_text(), "line");
    }

    #[test]
    fn a_comment_is_public_unless_restricted_or_service_management_internal() {
        let comment = |extra: serde_json::Value| {
            let mut c = serde_json::json!({"self": "x", "id": "1", "body": "b"});
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            serde_json::from_value::<Comment>(c).unwrap()
        };
        assert!(comment(serde_json::json!({})).is_public());
        assert!(comment(serde_json::json!({"jsdPublic": true})).is_public());
        assert!(!comment(serde_json::json!({"jsdPublic": false})).is_public(), "JSM internal, no visibility");
        assert!(!comment(serde_json::json!({"visibility": {"type": "role", "value": "Administrators"}})).is_public());
    }

    #[test]
    fn error_collection_summarises() {
        let e: ErrorCollection = serde_json::from_str(
            r#"{"errorMessages":["No way"],"errors":{"summary":"You must specify a summary of the issue."}}"#,
        )
        .unwrap();
        assert_eq!(e.summary(), "No way; summary: You must specify a summary of the issue.");
    }
}
