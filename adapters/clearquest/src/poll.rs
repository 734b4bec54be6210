//! Change capture for ClearQuest, which has no webhooks: query by `dcterms:modified`
//! from a watermark, with an overlap window, and drop what was already reported.
//!
//! Why the overlap: ClearQuest stamps `dcterms:modified` with second precision and
//! commits are not ordered by their stamps, so a record can appear with a stamp
//! slightly before a watermark that was already passed. Re-reading the last
//! `overlap` before the watermark catches it; remembering the versions reported in
//! that window (record, `dcterms:modified`, ETag — or a fingerprint of the fields when
//! the query answer carries no ETag) keeps the re-read from reporting them twice.
//!
//! Pure logic: the state is plain data the gateway stores between polls.

use std::collections::BTreeSet;
use std::time::Duration;

use deskgate_adapter::RemoteTicket;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// One version of a record already reported.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeenVersion {
    pub modified: Timestamp,
    pub id: String,
    pub version: String,
}

/// Where polling stands: persist it after each successful poll.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollState {
    /// Newest `dcterms:modified` reported so far; `None` before the first poll.
    pub watermark: Option<Timestamp>,
    /// Versions reported within the overlap window before the watermark.
    pub seen: BTreeSet<SeenVersion>,
}

/// The outcome of absorbing one poll's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollOutcome {
    /// Changes not reported before, oldest first.
    pub fresh: Vec<RemoteTicket>,
    /// The state to store for the next poll.
    pub next: PollState,
}

impl PollState {
    /// Start polling at `at` (changes before it are not wanted).
    pub fn starting_at(at: Timestamp) -> Self {
        Self { watermark: Some(at), seen: BTreeSet::new() }
    }

    /// The instant to query from: the watermark minus the overlap.
    pub fn query_from(&self, overlap: Duration) -> Timestamp {
        let watermark = self.watermark.unwrap_or(Timestamp::UNIX_EPOCH);
        back(watermark, overlap)
    }

    /// Fold one poll's answer into the state. `batch` is what the remote returned
    /// for "modified at or after [`query_from`](Self::query_from)", in any order.
    pub fn absorb(&self, overlap: Duration, batch: Vec<RemoteTicket>) -> PollOutcome {
        let floor = self.query_from(overlap);
        let mut seen = self.seen.clone();
        let mut watermark = self.watermark;
        let mut fresh = Vec::new();
        for ticket in batch {
            let modified = ticket.updated_at.unwrap_or(floor);
            let key = SeenVersion { modified, id: ticket.id.0.clone(), version: version_key(&ticket) };
            if seen.insert(key) {
                watermark = Some(watermark.map_or(modified, |w| w.max(modified)));
                fresh.push(ticket);
            }
        }
        fresh.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        let next_floor = back(watermark.unwrap_or(Timestamp::UNIX_EPOCH), overlap);
        seen.retain(|v| v.modified >= next_floor);
        PollOutcome { fresh, next: PollState { watermark, seen } }
    }
}

fn back(at: Timestamp, by: Duration) -> Timestamp {
    SignedDuration::try_from(by).ok().and_then(|d| at.checked_sub(d).ok()).unwrap_or(Timestamp::MIN)
}

/// What distinguishes two versions of a record with the same `dcterms:modified`:
/// its ETag, or — query answers carry none — a fingerprint of what it says.
pub fn version_key(ticket: &RemoteTicket) -> String {
    if let Some(etag) = &ticket.etag {
        return etag.clone();
    }
    let bytes = serde_json::to_vec(&(&ticket.fields, &ticket.notes)).unwrap_or_default();
    format!("fp:{:016x}", fnv1a(&bytes))
}

/// FNV-1a, 64 bit: a stable fingerprint (not a security boundary).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskgate_adapter::{RemoteId, TicketFields};

    fn t(id: &str, at: &str, title: &str) -> RemoteTicket {
        RemoteTicket {
            id: RemoteId(id.into()),
            display_id: id.into(),
            url: None,
            etag: None,
            updated_at: Some(at.parse().unwrap()),
            fields: TicketFields { title: Some(title.into()), ..TicketFields::default() },
            notes: vec![],
        }
    }

    const OVERLAP: Duration = Duration::from_secs(60);

    #[test]
    fn first_poll_reports_everything_oldest_first() {
        let state = PollState::default();
        let out = state.absorb(OVERLAP, vec![t("b", "2026-01-01T10:00:05Z", "b"), t("a", "2026-01-01T10:00:00Z", "a")]);
        let ids: Vec<_> = out.fresh.iter().map(|t| t.id.0.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(out.next.watermark, Some("2026-01-01T10:00:05Z".parse().unwrap()));
        assert_eq!(out.next.seen.len(), 2);
    }

    #[test]
    fn overlap_rereads_are_dropped_but_new_versions_kept() {
        let state = PollState::default();
        let first = state.absorb(OVERLAP, vec![t("a", "2026-01-01T10:00:00Z", "a")]);
        assert_eq!(first.next.query_from(OVERLAP), "2026-01-01T09:59:00Z".parse::<Timestamp>().unwrap());
        // Same second, same content: a re-read. Same second, new content: a change.
        let second =
            first.next.absorb(OVERLAP, vec![t("a", "2026-01-01T10:00:00Z", "a"), t("a", "2026-01-01T10:00:00Z", "a2")]);
        assert_eq!(second.fresh.len(), 1);
        assert_eq!(second.fresh[0].fields.title.as_deref(), Some("a2"));
        // A late commit stamped before the watermark, inside the overlap, is caught.
        let third = second.next.absorb(OVERLAP, vec![t("late", "2026-01-01T09:59:30Z", "x")]);
        assert_eq!(third.fresh.len(), 1);
        assert_eq!(third.next.watermark, second.next.watermark);
    }

    #[test]
    fn seen_versions_older_than_the_window_are_forgotten() {
        let state = PollState::default();
        let a = state.absorb(OVERLAP, vec![t("a", "2026-01-01T10:00:00Z", "a")]);
        let b = a.next.absorb(OVERLAP, vec![t("b", "2026-01-01T11:00:00Z", "b")]);
        assert_eq!(b.next.seen.len(), 1);
        assert!(b.next.seen.iter().all(|v| v.id == "b"));
    }

    #[test]
    fn etag_wins_over_fingerprint() {
        let mut x = t("a", "2026-01-01T10:00:00Z", "a");
        x.etag = Some("\"7\"".into());
        assert_eq!(version_key(&x), "\"7\"");
        x.etag = None;
        assert!(version_key(&x).starts_with("fp:"));
    }
}
