//! A desk's copy of an incident ([`Ref`]): where it is, what deskgate last wrote to
//! it ([`Written`]) and what it has taken in from the desk's reports about it
//! ([`Seen`], against each report's [`RemoteVersion`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{DeskId, DialectId, Priority, Status, TicketId};

/// A copy of the incident held by a desk (DESIGN §2 `refs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ref {
    #[schema(value_type = String)]
    pub desk: DeskId,
    /// The system the desk runs (`servicenow`, `jira`, `clearquest` or `native`).
    pub system: DialectId,
    /// What the desk's system uses to address the ticket (sys_id, issue key, record URI).
    #[schema(value_type = String)]
    pub remote_id: TicketId,
    /// What people at the desk call it (`INC0010001`, `DRIFT-42`).
    pub display_id: String,
    pub url: Option<String>,
    /// What deskgate last wrote to this copy: a change that comes back from the desk
    /// with these values is deskgate's own echo and is not propagated again.
    #[serde(default, skip_serializing_if = "Written::is_empty")]
    pub written: Written,
    /// The newest version of this copy whose report deskgate applied, and the latest
    /// deliveries it took: an older or repeated report (a replayed webhook) is no news.
    #[serde(default, skip_serializing_if = "Seen::is_empty")]
    pub seen: Seen,
}

impl Ref {
    /// A copy at `desk` that deskgate has neither written to nor heard from yet.
    pub fn new(desk: DeskId, system: DialectId, remote_id: TicketId, display_id: impl Into<String>) -> Self {
        Self {
            desk,
            system,
            remote_id,
            display_id: display_id.into(),
            url: None,
            written: Written::default(),
            seen: Seen::default(),
        }
    }

    /// The same copy, with the link people at the desk open it by.
    pub fn with_url(self, url: Option<String>) -> Self {
        Self { url, ..self }
    }
}

/// What deskgate has taken in from a desk's reports about one of its tickets, so a
/// replayed or out-of-date report changes nothing (bounded: three watermarks and the
/// last [`Seen::MAX_DELIVERIES`] delivery ids).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Seen {
    /// The remote's modification time of the newest report applied, in ms since the
    /// epoch (Jira `updated` or the event's `timestamp`, ServiceNow `sys_updated_on`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_ms: Option<i64>,
    /// ServiceNow `sys_mod_count` of the newest report applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mod_count: Option<u64>,
    /// Creation time of the newest comment taken from a comment event, in ms (comment
    /// events carry the comment's time, not the issue's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_ms: Option<i64>,
    /// Identifiers of the latest deliveries (Jira `X-Atlassian-Webhook-Identifier`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<String>,
}

/// How a report identifies itself and the version of the ticket it describes; every
/// part optional (a bare payload carries none, a poll only when it read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteVersion {
    pub delivery: Option<String>,
    pub updated_ms: Option<i64>,
    pub mod_count: Option<u64>,
    pub comment_ms: Option<i64>,
    /// When deskgate began reading the report from the desk (a poll), by the wall
    /// clock. A poll applies what it read one ticket after the other; a write
    /// deskgate made there meanwhile is not in what it read.
    pub read_at: Option<Timestamp>,
}

impl Seen {
    /// Delivery ids kept per ref: enough for a remote's retries, which come within
    /// hours and few at a time.
    pub const MAX_DELIVERIES: usize = 32;

    pub fn is_empty(&self) -> bool {
        self.updated_ms.is_none() && self.mod_count.is_none() && self.comment_ms.is_none() && self.deliveries.is_empty()
    }

    /// Why a report of `v` is a replay, or `None` when it is news: a delivery already
    /// taken, or a version no newer than the newest applied. A modification count
    /// decides when both sides have one (it is exact); otherwise the time does.
    pub fn replay(&self, v: &RemoteVersion) -> Option<String> {
        if let Some(d) = v.delivery.as_ref().filter(|d| self.deliveries.contains(d)) {
            return Some(format!("delivery {d} was already taken"));
        }
        match (v.mod_count, self.mod_count) {
            (Some(new), Some(known)) if new <= known => {
                return Some(format!("modification count {new} is not newer than {known}"));
            }
            (Some(_), Some(_)) => return None,
            _ => {}
        }
        let at = |ms: i64| Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string());
        if let (Some(new), Some(known)) = (v.comment_ms, self.comment_ms) {
            if new <= known {
                return Some(format!("a comment of {} is not newer than {} already taken", at(new), at(known)));
            }
        }
        match (v.updated_ms, self.updated_ms) {
            (Some(new), Some(known)) if new <= known => {
                Some(format!("the ticket's version of {} is not newer than {} already applied", at(new), at(known)))
            }
            _ => None,
        }
    }

    /// Remember `v` as taken; true when anything changed.
    pub fn record(&mut self, v: &RemoteVersion) -> bool {
        let before = self.clone();
        if let Some(d) = &v.delivery {
            if !self.deliveries.contains(d) {
                self.deliveries.push(d.clone());
            }
            let excess = self.deliveries.len().saturating_sub(Self::MAX_DELIVERIES);
            self.deliveries.drain(..excess);
        }
        self.updated_ms = self.updated_ms.max(v.updated_ms);
        self.mod_count = self.mod_count.max(v.mod_count);
        self.comment_ms = self.comment_ms.max(v.comment_ms);
        *self != before
    }
}

/// The values deskgate last wrote to a desk's copy (echo suppression, DESIGN §8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Written {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// When the desk answered deskgate's latest status or priority write, by the
    /// wall clock: a report of the copy read before then may not show that write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub at: Option<Timestamp>,
}

impl Written {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.priority.is_none() && self.at.is_none()
    }

    /// Whether a report read from the copy at `read_at` began before the desk
    /// answered deskgate's latest write: it may show the values that write replaced.
    pub fn is_newer_than(&self, read_at: Option<Timestamp>) -> bool {
        read_at.zip(self.at).is_some_and(|(read, wrote)| read < wrote)
    }
}
