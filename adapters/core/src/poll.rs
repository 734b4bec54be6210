//! Change capture for desks that cannot push (ClearQuest has no webhooks): query by
//! modification time from a watermark, with an overlap window, and drop what was
//! already reported.
//!
//! Why the overlap: a remote stamps its modification time with second precision and
//! commits are not ordered by their stamps, so a record can appear with a stamp
//! slightly before a watermark that was already passed. Re-reading the last
//! `overlap` before the watermark catches it; remembering the versions reported in
//! that window (record, modification time, ETag — or a fingerprint of the fields when
//! the query answer carries no ETag) keeps the re-read from reporting them twice.
//!
//! Pure logic: the state is plain data the gateway stores after every change it
//! handles, so a restart neither misses nor repeats one.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::RemoteTicket;
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
    /// Newest modification time reported so far; `None` before the first poll.
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

    /// The changes in `batch` not reported before, oldest first, each with its
    /// modification time (the query floor when the remote gave none). `batch` is what
    /// the remote returned for "modified at or after [`query_from`](Self::query_from)",
    /// in any order; the state is not changed ([`mark`](Self::mark) does that).
    pub fn fresh(&self, overlap: Duration, batch: Vec<RemoteTicket>) -> Vec<RemoteTicket> {
        let floor = self.query_from(overlap);
        let mut in_batch = BTreeSet::new();
        let mut fresh: Vec<RemoteTicket> = batch
            .into_iter()
            .filter_map(|mut ticket| {
                let modified = *ticket.updated_at.get_or_insert(floor);
                let key = SeenVersion { modified, id: ticket.id.0.clone(), version: version_key(&ticket) };
                (!self.seen.contains(&key) && in_batch.insert(key)).then_some(ticket)
            })
            .collect();
        fresh.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        fresh
    }

    /// Record that `ticket` (one of [`fresh`](Self::fresh)'s, in its order) was
    /// handled: its version is seen, the watermark moves up to it, and versions the
    /// next query can no longer return are forgotten.
    pub fn mark(&mut self, ticket: &RemoteTicket, overlap: Duration) {
        let modified = ticket.updated_at.unwrap_or_else(|| self.query_from(overlap));
        self.seen.insert(SeenVersion { modified, id: ticket.id.0.clone(), version: version_key(ticket) });
        let watermark = self.watermark.map_or(modified, |w| w.max(modified));
        self.watermark = Some(watermark);
        let floor = back(watermark, overlap);
        self.seen.retain(|v| v.modified >= floor);
    }

    /// Fold one poll's answer into the state at once: [`fresh`](Self::fresh), each
    /// [`mark`](Self::mark)ed.
    pub fn absorb(&self, overlap: Duration, batch: Vec<RemoteTicket>) -> PollOutcome {
        let fresh = self.fresh(overlap, batch);
        let mut next = self.clone();
        for ticket in &fresh {
            next.mark(ticket, overlap);
        }
        PollOutcome { fresh, next }
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
pub fn fnv1a(bytes: &[u8]) -> u64 {
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
    use crate::{RemoteId, TicketFields};

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
