//! Reads served by the outbox, escalation and incident indexes: one incident's
//! lanes, the lane heads due, the escalations due and those of one incident, the
//! incident timers due. Each costs what it returns, not what the outbox, the escalations
//! or the incidents hold.

use std::ops::Bound;

use jiff::Timestamp;

use super::index::{DUE, Lane, OF_INCIDENT, TIMER, lane_key, lanes_of, ms_of_key, timer_key};
use super::{SledStore, decode, io};
use crate::escalation::Escalation;
use crate::model::{DeskId, IncidentId};
use crate::outbox::OutboxItem;
use crate::store::{DueDeliveries, DueTimer, StoreError, TimerQuery};

impl SledStore {
    fn item(&self, seq: u64) -> Result<Option<OutboxItem>, StoreError> {
        self.outbox.get(seq.to_be_bytes()).map_err(io)?.map(|b| decode(&b)).transpose()
    }

    pub(super) fn lane_items(
        &self,
        incident: &IncidentId,
        desk: Option<&DeskId>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut seqs = Vec::new();
        let mut add = |bytes: &[u8]| -> Result<(), StoreError> {
            seqs.extend(decode::<Lane>(bytes)?.waiting);
            Ok(())
        };
        match desk {
            Some(desk) => {
                if let Some(bytes) = self.outbox_index.get(lane_key(incident, desk)).map_err(io)? {
                    add(&bytes)?;
                }
            }
            None => {
                for entry in self.outbox_index.scan_prefix(lanes_of(incident)) {
                    add(&entry.map_err(io)?.1)?;
                }
            }
        }
        seqs.sort_unstable();
        let mut items = Vec::with_capacity(seqs.len());
        for seq in seqs {
            items.extend(self.item(seq)?);
        }
        Ok(items)
    }

    pub(super) fn due_heads(&self, now: Timestamp, limit: usize) -> Result<DueDeliveries, StoreError> {
        let mut due = DueDeliveries::default();
        for entry in self.outbox_index.scan_prefix([DUE]) {
            let (key, _) = entry.map_err(io)?;
            let at = ms_of_key(&key[1..]).ok_or_else(|| StoreError::Corrupt("outbox due key".into()))?;
            if at > now {
                due.next_due = Some(at);
                break;
            }
            if due.items.len() >= limit {
                break;
            }
            let seq = key
                .get(9..17)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::Corrupt("outbox due key".into()))?;
            due.items.extend(self.item(seq)?);
        }
        Ok(due)
    }

    fn escalation_by_id(&self, id: &[u8]) -> Result<Option<Escalation>, StoreError> {
        self.escalations.get(id).map_err(io)?.map(|b| decode(&b)).transpose()
    }

    pub(super) fn escalations_due(&self, by: Timestamp, limit: usize) -> Result<Vec<Escalation>, StoreError> {
        let mut out = Vec::new();
        for entry in self.escalation_index.scan_prefix([DUE]) {
            if out.len() >= limit {
                break;
            }
            let (key, id) = entry.map_err(io)?;
            let at = ms_of_key(&key[1..]).ok_or_else(|| StoreError::Corrupt("escalation due key".into()))?;
            if at > by {
                break;
            }
            // The index holds milliseconds; the record decides to the instant.
            if let Some(e) =
                self.escalation_by_id(&id)?.filter(|e| e.state.is_waiting() && e.deadline.is_some_and(|d| d <= by))
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The incidents whose timer is due, as `q` asks. The index holds milliseconds;
    /// the record decides to the instant.
    pub(super) fn timers_due(&self, q: &TimerQuery<'_>) -> Result<Vec<DueTimer>, StoreError> {
        let prefix = [TIMER, q.timer.code()];
        let start = match q.after {
            Some(a) => Bound::Excluded(timer_key(q.timer, a.at, &a.incident)),
            None => Bound::Included(prefix.to_vec()),
        };
        let mut out = Vec::new();
        for entry in self.incident_index.range::<Vec<u8>, _>((start, Bound::Unbounded)) {
            if out.len() >= q.limit {
                break;
            }
            let (key, id) = entry.map_err(io)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let at = ms_of_key(&key[2..]).ok_or_else(|| StoreError::Corrupt("timer key".into()))?;
            if at > q.by {
                break;
            }
            if let Some(bytes) = self.incidents.get(&id).map_err(io)? {
                let incident: crate::model::Incident = decode(&bytes)?;
                if let Some(at) = incident.timer(q.timer).filter(|t| *t <= q.by) {
                    out.push(DueTimer { at, incident: incident.id });
                }
            }
        }
        Ok(out)
    }

    pub(super) fn escalations_of_incident(&self, incident: &IncidentId) -> Result<Vec<Escalation>, StoreError> {
        let mut prefix = vec![OF_INCIDENT];
        prefix.extend_from_slice(incident.as_str().as_bytes());
        prefix.push(0);
        let mut out = Vec::new();
        for entry in self.escalation_index.scan_prefix(prefix) {
            out.extend(self.escalation_by_id(&entry.map_err(io)?.1)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
impl SledStore {
    /// Hold (or release) the flusher, for tests outside the store: while held, no
    /// write becomes durable and every writer waits.
    pub(crate) fn hold_flushes(&self, held: bool) {
        self.commit.hold(held);
    }
}
