//! The contract between the gateway and the adapters that speak to remote desks.
//!
//! An adapter speaks exactly one remote system's wire format (ServiceNow Table API,
//! Jira REST, ClearQuest OSLC). It knows nothing of the gateway's storage, HTTP
//! server or mapping files: the gateway hands it [`TicketFields`] already expressed
//! in the remote's vocabulary (status names, priority values, field names), and the
//! adapter turns them into requests and answers into [`RemoteTicket`]s.
//!
//! Every failure is an [`AdapterError`] that says whether trying again can help
//! ([`AdapterError::is_retriable`]); the gateway's outbox decides what to do with it.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod http;
pub mod multipart;
pub mod poll;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A ticket's identity at its remote system: what the adapter needs to address it again.
///
/// - ServiceNow: the 32-hex `sys_id`
/// - Jira: the issue key (`DRIFT-42`)
/// - ClearQuest: the record URI path (`/cqweb/oslc/repo/…/record/16777224-33554474`)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RemoteId(pub String);

impl fmt::Display for RemoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Field values in the remote system's own vocabulary.
///
/// `None` means "leave unchanged" on update and "not set" on create. The gateway's
/// mapping layer fills this; the adapter only places the values on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TicketFields {
    /// One-line summary: ServiceNow `short_description`, Jira `summary`, ClearQuest `Headline`.
    pub title: Option<String>,
    pub description: Option<String>,
    /// Status in the remote's vocabulary: ServiceNow `state` value ("6"), Jira status
    /// name ("Resolved"), ClearQuest `State` ("Resolved").
    pub status: Option<String>,
    /// Priority in the remote's vocabulary: Jira priority name, ClearQuest `Priority`.
    /// ServiceNow derives priority from impact and urgency, passed in `extra`.
    pub priority: Option<String>,
    /// Assignee / owner in the remote's vocabulary (group, login, queue).
    pub assignee: Option<String>,
    /// Any other remote field by its remote name (`impact`, `close_code`,
    /// `customfield_10042`, `cq:Severity`, …).
    pub extra: BTreeMap<String, String>,
}

impl TicketFields {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.assignee.is_none()
            && self.extra.is_empty()
    }
}

/// A journal entry on a remote ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteNote {
    pub body: String,
    /// Public notes reach the reporter (ServiceNow `comments`, Jira public comment);
    /// internal ones stay with the desk (ServiceNow `work_notes`, Jira internal comment).
    pub public: bool,
    pub author: Option<String>,
    pub at: Option<Timestamp>,
}

/// A link from a remote ticket to a ticket elsewhere (Jira remote link, a reference
/// field in ServiceNow or ClearQuest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLink {
    /// Stable identity of the link: creating it twice must not create two links
    /// (Jira remote-link `globalId`).
    pub global_id: String,
    pub title: String,
    pub url: Option<String>,
    /// The linked ticket's display id (`SAMPL00000042`, `INC-2026-000042`).
    pub display_id: String,
}

/// A file attached to a remote ticket, as the remote lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteAttachment {
    /// The remote's id of the attachment (ServiceNow `sys_id`, Jira attachment id,
    /// ClearQuest attachment URI), where it has one.
    pub id: Option<String>,
    pub file_name: String,
    pub size: u64,
    pub content_type: Option<String>,
}

/// A file to attach to a remote ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentUpload {
    pub file_name: String,
    pub content_type: String,
    pub content: bytes::Bytes,
}

impl AttachmentUpload {
    /// Whether `remote` is this file, already attached (same name and size): what a
    /// retried upload checks, so a lost answer does not attach the file twice.
    pub fn is_among(&self, remote: &[RemoteAttachment]) -> bool {
        remote.iter().any(|a| a.file_name == self.file_name && a.size == self.content.len() as u64)
    }
}

/// A ticket as the remote system holds it, translated into the remote's vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteTicket {
    pub id: RemoteId,
    /// What people call it: `INC0010001`, `DRIFT-42`, `SAMPL00000042`.
    pub display_id: String,
    /// Where a person can open it.
    pub url: Option<String>,
    /// Concurrency token where the remote has one (ClearQuest ETag).
    pub etag: Option<String>,
    /// When the remote last changed it, as the remote reports.
    pub updated_at: Option<Timestamp>,
    pub fields: TicketFields,
    /// Journal entries, oldest first, where the read returns them.
    pub notes: Vec<RemoteNote>,
}

/// Why a call to a remote desk failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// Worth retrying later: connection failures, timeouts, 5xx, 429, 412 (stale ETag).
    #[error("{message}")]
    Retriable {
        message: String,
        /// HTTP status of the remote's answer, if there was one.
        status: Option<u16>,
        /// The remote asked us to wait this long (`Retry-After`).
        retry_after: Option<Duration>,
        /// The remote's answer body, trimmed, for the dead-letter record.
        body: Option<String>,
    },
    /// Retrying the same request cannot succeed: 400/401/403/404/409/422, a workflow
    /// that has no transition to the wanted status, an answer we cannot parse.
    #[error("{message}")]
    Permanent { message: String, status: Option<u16>, body: Option<String> },
}

/// Longest remote answer body kept in an error, in bytes.
pub const MAX_ERROR_BODY: usize = 2048;

impl AdapterError {
    pub fn retriable(message: impl Into<String>) -> Self {
        Self::Retriable { message: message.into(), status: None, retry_after: None, body: None }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent { message: message.into(), status: None, body: None }
    }

    /// Classify an HTTP answer the usual way: 408, 412, 425, 429 and 5xx are worth
    /// retrying, every other 4xx is not. `retry_after` comes from the `Retry-After` header.
    pub fn from_status(
        status: u16,
        message: impl Into<String>,
        body: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let body = body.map(truncate_body);
        let message = message.into();
        if matches!(status, 408 | 412 | 425 | 429) || status >= 500 {
            Self::Retriable { message, status: Some(status), retry_after, body }
        } else {
            Self::Permanent { message, status: Some(status), body }
        }
    }

    pub fn is_retriable(&self) -> bool {
        matches!(self, Self::Retriable { .. })
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Retriable { status, .. } | Self::Permanent { status, .. } => *status,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Retriable { retry_after, .. } => *retry_after,
            Self::Permanent { .. } => None,
        }
    }

    pub fn body(&self) -> Option<&str> {
        match self {
            Self::Retriable { body, .. } | Self::Permanent { body, .. } => body.as_deref(),
        }
    }
}

fn truncate_body(mut body: String) -> String {
    if body.len() > MAX_ERROR_BODY {
        let mut cut = MAX_ERROR_BODY;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        body.push('…');
    }
    body
}

/// Parse a `Retry-After` header value given in seconds (the HTTP-date form is rare
/// among ticketing systems and is treated as absent).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The header carrying the request id on every call to a remote desk.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Run `f` with `id` as the request id of every remote call it makes: the dispatcher
/// sets it per delivery, so a remote desk's logs can be matched to deskgate's.
pub async fn with_request_id<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The request id of the delivery under way, if any.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Add `X-Request-Id` to an outbound request when a delivery is under way. Every
/// adapter's request builder calls this.
pub fn tag_request(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match request_id() {
        Some(id) => request.header(REQUEST_ID_HEADER, id),
        None => request,
    }
}

/// One remote desk, spoken to in its own dialect.
///
/// Implementations must be idempotent where the remote allows it: `create` is only
/// called after `find_by_correlation` found nothing, and `link` must not create a
/// second link with the same `global_id`.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// Create a ticket. `correlation` is the gateway's incident id; the adapter stores
    /// it where `find_by_correlation` can find it again (correlation field, label,
    /// custom field), so a retried create after a lost answer does not duplicate.
    async fn create(&self, fields: &TicketFields, correlation: &str) -> Result<RemoteTicket, AdapterError>;

    /// Find the ticket an earlier `create` made for this correlation id, if any.
    async fn find_by_correlation(&self, correlation: &str) -> Result<Option<RemoteTicket>, AdapterError>;

    async fn get(&self, id: &RemoteId) -> Result<RemoteTicket, AdapterError>;

    /// Change fields, status included. The adapter does what the remote's workflow
    /// needs for a status change (Jira transition by target status, ClearQuest action,
    /// ServiceNow close fields) and fails permanently when the workflow allows no way
    /// from the current status to the wanted one.
    async fn update(&self, id: &RemoteId, fields: &TicketFields) -> Result<RemoteTicket, AdapterError>;

    async fn add_note(&self, id: &RemoteId, note: &RemoteNote) -> Result<(), AdapterError>;

    /// Link the ticket to a ticket elsewhere; idempotent on `link.global_id`.
    async fn link(&self, id: &RemoteId, link: &RemoteLink) -> Result<(), AdapterError>;

    /// The system's attachments, when it has them: what attaches files to tickets.
    fn attachment_api(&self) -> Option<&dyn Attachments> {
        None
    }

    /// The ticket people at the desk call `display_id` (ClearQuest's `cq:id`), for
    /// systems where a person names another record by it; `None` where not supported.
    async fn find_by_display_id(&self, _display_id: &str) -> Result<Option<RemoteTicket>, AdapterError> {
        Ok(None)
    }

    /// Tickets changed at or after `since` (for systems that are polled), oldest first.
    async fn changed_since(&self, since: Timestamp) -> Result<Vec<RemoteTicket>, AdapterError>;
}

/// Files attached to remote tickets, for systems that have them
/// ([`Adapter::attachment_api`]).
#[async_trait]
pub trait Attachments: Send + Sync {
    /// The files attached to the ticket.
    async fn list(&self, id: &RemoteId) -> Result<Vec<RemoteAttachment>, AdapterError>;

    /// Attach a file to the ticket. The caller checks [`Attachments::list`] first, so
    /// a retry after a lost answer does not attach it twice.
    async fn add(&self, id: &RemoteId, file: &AttachmentUpload) -> Result<RemoteAttachment, AdapterError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_id_is_set_only_within_its_scope() {
        assert_eq!(request_id(), None);
        let seen = with_request_id("deliver-7".into(), async { request_id() }).await;
        assert_eq!(seen.as_deref(), Some("deliver-7"));
        let tagged = with_request_id("r-1".into(), async {
            tag_request(reqwest::Client::new().get("http://desk.test/")).build().unwrap()
        })
        .await;
        assert_eq!(tagged.headers()[REQUEST_ID_HEADER], "r-1");
        let untagged = tag_request(reqwest::Client::new().get("http://desk.test/")).build().unwrap();
        assert!(untagged.headers().get(REQUEST_ID_HEADER).is_none());
        assert_eq!(request_id(), None);
    }

    #[test]
    fn statuses_are_classified_for_retry() {
        for retriable in [408, 412, 425, 429, 500, 502, 503, 504] {
            assert!(AdapterError::from_status(retriable, "x", None, None).is_retriable(), "{retriable}");
        }
        for permanent in [400, 401, 403, 404, 409, 422] {
            assert!(!AdapterError::from_status(permanent, "x", None, None).is_retriable(), "{permanent}");
        }
    }

    #[test]
    fn retry_after_is_kept_only_when_retriable() {
        let e = AdapterError::from_status(429, "slow down", None, Some(Duration::from_secs(7)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 12 "), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(MAX_ERROR_BODY);
        let e = AdapterError::from_status(500, "boom", Some(body), None);
        let kept = e.body().unwrap();
        assert!(kept.len() <= MAX_ERROR_BODY + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }
}
