//! The secondary indexes of [`SledStore`](super::SledStore), kept in the same
//! transaction as the record they index, and rebuilt from the records when a data
//! directory predates them (or after a restore).
//!
//! Three trees, each with one-byte key prefixes; every index value is the id of the
//! record it points at:
//! - `incident_index`: `s` sequence (creation order; record numbers and issue
//!   keys), `p` party desk \0 id (visibility), `t` status \0 id, `u` updated ms ++ id,
//!   `f` timer code ++ due ms ++ id (what the escalation watch does when due: see
//!   [`Timer`]).
//! - `outbox_index`: `l` incident \0 desk → the lane (its waiting and dead-lettered
//!   sequence numbers, and its head's due key); `d` not-before ms ++ seq → lane key,
//!   one entry per lane head that may run (lanes held by a dead letter have none).
//! - `escalation_index`: `d` deadline ms ++ id for waiting escalations; `i`
//!   incident \0 id.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sled::transaction::TransactionalTree;

use super::{TxResult, abort, decode, encode, io};
use crate::escalation::Escalation;
use crate::model::{Incident, IncidentId, Timer};
use crate::outbox::{DeadLetter, OutboxItem};
use crate::store::{StoreError, sequence_of};

/// Bumped when the indexes change shape: a store opened with an older version has
/// them rebuilt from its records. Kept in `incident_index` itself (outside every
/// prefix), so an index tree is never what makes a store count as not empty.
pub(super) const INDEX_VERSION: &[u8] = b"\xffversion";
pub(super) const CURRENT_VERSION: u64 = 2;

pub(super) const SEQ: u8 = b's';
pub(super) const PARTY: u8 = b'p';
pub(super) const STATUS: u8 = b't';
pub(super) const UPDATED: u8 = b'u';
pub(super) const TIMER: u8 = b'f';
pub(super) const LANE: u8 = b'l';
pub(super) const DUE: u8 = b'd';
pub(super) const OF_INCIDENT: u8 = b'i';

/// A timestamp as 8 bytes that sort like the instants.
pub(super) fn ms_key(t: Timestamp) -> [u8; 8] {
    ((t.as_millisecond() as u64) ^ (1 << 63)).to_be_bytes()
}

pub(super) fn ms_of_key(key: &[u8]) -> Option<Timestamp> {
    let bytes: [u8; 8] = key.get(..8)?.try_into().ok()?;
    Timestamp::from_millisecond((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64).ok()
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![prefix];
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

pub(super) fn status_name(s: crate::model::Status) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Every index key of `i`.
pub(super) fn incident_keys(i: &Incident) -> Vec<Vec<u8>> {
    let id = i.id.as_str().as_bytes();
    let mut keys = Vec::with_capacity(8);
    if let Some(seq) = sequence_of(&i.id) {
        keys.push(key(SEQ, &[&seq.to_be_bytes()]));
    }
    keys.push(key(PARTY, &[i.origin.desk.as_str().as_bytes(), &[0], id]));
    if let Some(a) = i.assignee.as_ref().filter(|a| **a != i.origin.desk) {
        keys.push(key(PARTY, &[a.as_str().as_bytes(), &[0], id]));
    }
    keys.push(key(STATUS, &[status_name(i.status).as_bytes(), &[0], id]));
    keys.push(key(UPDATED, &[&ms_key(i.updated_at), id]));
    for timer in Timer::ALL {
        if let Some(at) = i.timer(timer) {
            keys.push(timer_key(timer, at, &i.id));
        }
    }
    keys
}

/// The `f` key of `incident`'s `timer`, due at `at`.
pub(super) fn timer_key(timer: Timer, at: Timestamp, incident: &IncidentId) -> Vec<u8> {
    key(TIMER, &[&[timer.code()], &ms_key(at), incident.as_str().as_bytes()])
}

/// Index `new` in place of `old` (the incident as stored before this write).
pub(super) fn tx_incident(ix: &TransactionalTree, old: Option<&Incident>, new: &Incident) -> TxResult<()> {
    tx_reindex(ix, old.map(incident_keys), incident_keys(new), new.id.as_str().as_bytes())
}

/// Point `keys` at `id`, removing those of `old` it no longer has. A key `old`
/// already has points at `id` already (every key ends with the id it indexes, or,
/// for the sequence, stands for it): it is not written again.
fn tx_reindex(ix: &TransactionalTree, old: Option<Vec<Vec<u8>>>, keys: Vec<Vec<u8>>, id: &[u8]) -> TxResult<()> {
    let old = old.unwrap_or_default();
    for stale in old.iter().filter(|k| !keys.contains(k)) {
        ix.remove(stale.as_slice())?;
    }
    for k in keys.into_iter().filter(|k| !old.contains(k)) {
        ix.insert(k, id)?;
    }
    Ok(())
}

fn escalation_keys(e: &Escalation) -> Vec<Vec<u8>> {
    let id = e.id.as_bytes();
    let mut keys = vec![key(OF_INCIDENT, &[e.incident_id.as_bytes(), &[0], id])];
    if let Some(deadline) = e.deadline.filter(|_| e.state.is_waiting()) {
        keys.push(key(DUE, &[&ms_key(deadline), id]));
    }
    keys
}

/// Index escalation `new` in place of `old`.
pub(super) fn tx_escalation(ix: &TransactionalTree, old: Option<&Escalation>, new: &Escalation) -> TxResult<()> {
    tx_reindex(ix, old.map(escalation_keys), escalation_keys(new), new.id.as_bytes())
}

/// One lane of the outbox: what waits in it and what holds it.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct Lane {
    /// Waiting items, in `seq` order.
    pub(super) waiting: Vec<u64>,
    /// Dead letters of this lane: while there is one, nothing in it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) held: Vec<u64>,
    /// The `d` key of the lane's head, when it has one that may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) due: Option<Vec<u8>>,
}

pub(super) fn lane_key(incident: &IncidentId, desk: &crate::model::DeskId) -> Vec<u8> {
    key(LANE, &[incident.as_str().as_bytes(), &[0], desk.as_str().as_bytes()])
}

pub(super) fn lanes_of(incident: &IncidentId) -> Vec<u8> {
    key(LANE, &[incident.as_str().as_bytes(), &[0]])
}

fn due_key(item: &OutboxItem) -> Vec<u8> {
    key(DUE, &[&ms_key(item.not_before), &item.seq.to_be_bytes()])
}

/// What happened to one item of a lane.
pub(super) enum LaneChange {
    /// Queued (or replayed: back from the dead letters, due again).
    Waiting(u64),
    /// Completed: gone.
    Gone(u64),
    /// Dead-lettered: gone from the outbox, holding the lane.
    Held(u64),
    /// Rescheduled: its due time may have moved.
    Moved,
}

/// Apply `change` to the lane of `incident` and `desk`, then re-index its head from
/// the outbox as this transaction sees it.
pub(super) fn tx_lane(
    ix: &TransactionalTree,
    outbox: &TransactionalTree,
    incident: &IncidentId,
    desk: &crate::model::DeskId,
    change: LaneChange,
) -> TxResult<()> {
    let lane_key = lane_key(incident, desk);
    let mut lane: Lane = match ix.get(&lane_key)? {
        Some(bytes) => match decode(&bytes) {
            Ok(l) => l,
            Err(e) => return abort(e),
        },
        None => Lane::default(),
    };
    match change {
        LaneChange::Waiting(seq) => {
            lane.held.retain(|s| *s != seq);
            if let Err(at) = lane.waiting.binary_search(&seq) {
                lane.waiting.insert(at, seq);
            }
        }
        LaneChange::Gone(seq) => lane.waiting.retain(|s| *s != seq),
        LaneChange::Held(seq) => {
            lane.waiting.retain(|s| *s != seq);
            if let Err(at) = lane.held.binary_search(&seq) {
                lane.held.insert(at, seq);
            }
        }
        LaneChange::Moved => {}
    }
    let head = match lane.waiting.first().filter(|_| lane.held.is_empty()) {
        Some(seq) => match outbox.get(seq.to_be_bytes())? {
            Some(bytes) => match decode::<OutboxItem>(&bytes) {
                Ok(item) => Some(due_key(&item)),
                Err(e) => return abort(e),
            },
            None => None,
        },
        None => None,
    };
    if lane.due != head {
        if let Some(old) = &lane.due {
            ix.remove(old.as_slice())?;
        }
        if let Some(new) = &head {
            ix.insert(new.as_slice(), lane_key.as_slice())?;
        }
        lane.due = head;
    }
    if lane.waiting.is_empty() && lane.held.is_empty() {
        ix.remove(lane_key)?;
    } else {
        ix.insert(lane_key, encode(&lane))?;
    }
    Ok(())
}

/// Rebuild every index from the records: for a data directory written before the
/// indexes (or changed by a restore). Not transactional: it runs at open, before
/// the store is shared, or offline at restore.
pub(super) fn rebuild(store: &super::SledStore) -> Result<(), StoreError> {
    rebuild_in_batches_of(store, Chunked::SIZE)
}

/// [`rebuild`], writing `size` index entries a batch.
pub(super) fn rebuild_in_batches_of(store: &super::SledStore, size: usize) -> Result<(), StoreError> {
    for tree in [&store.incident_index, &store.outbox_index, &store.escalation_index] {
        tree.clear().map_err(io)?;
    }
    let mut batch = Chunked::new(&store.incident_index, size);
    for item in store.incidents.iter() {
        let incident: Incident = decode(&item.map_err(io)?.1)?;
        for k in incident_keys(&incident) {
            batch.insert(k, incident.id.as_str().as_bytes())?;
        }
    }
    batch.finish()?;
    let mut batch = Chunked::new(&store.escalation_index, size);
    for item in store.escalations.iter() {
        let e: Escalation = decode(&item.map_err(io)?.1)?;
        for k in escalation_keys(&e) {
            batch.insert(k, e.id.as_bytes())?;
        }
    }
    batch.finish()?;
    let mut lanes: std::collections::BTreeMap<Vec<u8>, (Lane, Option<Vec<u8>>)> = Default::default();
    for item in store.outbox.iter() {
        let item: OutboxItem = decode(&item.map_err(io)?.1)?;
        let (lane, head) = lanes.entry(lane_key(&item.incident, &item.desk)).or_default();
        if lane.waiting.is_empty() {
            *head = Some(due_key(&item));
        }
        lane.waiting.push(item.seq);
    }
    for item in store.dead.iter() {
        let letter: DeadLetter = decode(&item.map_err(io)?.1)?;
        let (lane, _) = lanes.entry(lane_key(&letter.item.incident, &letter.item.desk)).or_default();
        lane.held.push(letter.item.seq);
    }
    let mut batch = Chunked::new(&store.outbox_index, size);
    for (lane_key, (mut lane, head)) in lanes {
        lane.held.sort_unstable();
        if lane.held.is_empty() {
            lane.due = head;
        }
        if let Some(due) = &lane.due {
            batch.insert(due.as_slice(), lane_key.as_slice())?;
        }
        batch.insert(lane_key, encode(&lane))?;
    }
    batch.finish()?;
    // Last: a rebuild cut short (a crash) leaves no version, and runs again at open.
    store.incident_index.insert(INDEX_VERSION, &CURRENT_VERSION.to_be_bytes()).map_err(io)?;
    Ok(())
}

/// Index entries written in batches (of [`Chunked::SIZE`] at open): a rebuild's memory stays
/// that of one batch, not of the whole index (one batch of a million incidents'
/// keys held, then logged, several gigabytes at once).
struct Chunked<'a> {
    tree: &'a sled::Tree,
    batch: sled::Batch,
    len: usize,
    size: usize,
}

impl<'a> Chunked<'a> {
    const SIZE: usize = 10_000;

    fn new(tree: &'a sled::Tree, size: usize) -> Self {
        Self { tree, batch: sled::Batch::default(), len: 0, size: size.max(1) }
    }

    fn insert(&mut self, key: impl Into<sled::IVec>, value: impl Into<sled::IVec>) -> Result<(), StoreError> {
        self.batch.insert(key, value);
        self.len += 1;
        if self.len == self.size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        self.len = 0;
        self.tree.apply_batch(std::mem::take(&mut self.batch)).map_err(io)
    }

    fn finish(mut self) -> Result<(), StoreError> {
        self.flush()
    }
}

/// Whether the indexes of the store's data directory are of this version.
pub(super) fn is_current(incident_index: &sled::Tree) -> Result<bool, StoreError> {
    Ok(incident_index.get(INDEX_VERSION).map_err(io)?.is_some_and(|v| v.as_ref() == CURRENT_VERSION.to_be_bytes()))
}
