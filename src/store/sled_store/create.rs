//! Creating incidents in [`SledStore`](super::SledStore): the caller's task does the
//! work of one creation (its number, its plan, its encoding); one writer thread
//! applies every creation waiting at that moment in one sled transaction.
//!
//! Why: a sled transaction holds sled's global lock from its first read to its
//! commit, and every other read and write of the database waits for that lock. One
//! transaction per creation, with the plan and the encoding inside it, made
//! concurrent submissions queue behind each other. Now the lock is taken once per
//! batch, for the checks and the writes only. Inside a batch each creation sees the
//! ones before it, so a second creation with the same idempotency key or desk ticket
//! answers as a replay of the first, and a ticket still refers to one incident. After
//! each batch the writer flushes, on its own thread (see the group commit's module
//! for why), and then answers the batch's callers: one wake-up each. The caller's
//! side reads nothing from the database (see [`Creations::create`]): while a
//! transaction runs, every sled read waits for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use jiff::Timestamp;
use sled::Transactional;
use sled::transaction::TransactionalTree;
use tokio::sync::oneshot;

use super::{
    INCIDENT_SEQ, IdempotencyRecord, SledStore, TxResult, decode, encode, flatten, idempotency_key, index, io,
    tx_audit_encoded, tx_enqueue, tx_escalations, xref_key,
};
use crate::model::{Incident, IncidentId, NewIncident};
use crate::store::group_commit::Committer;
use crate::store::{AuditEntry, CreateOutcome, CreationPlan, Effects, IdempotencyClaim, StoreError};

/// The most creations one transaction applies: bounds how long the lock is held.
const MAX_BATCH: usize = 256;

/// A creation ready to be written: everything but the checks against the trees.
/// What does not depend on the trees (keys, encodings) is made on the caller's side,
/// so that the writer, one thread for all creations, does only the checks and writes.
struct Prepared {
    origin_key: Vec<u8>,
    claim: Option<Claim>,
    incident: Incident,
    bytes: Vec<u8>,
    /// The `xref` key of each of the incident's refs, in the order of its refs.
    ref_keys: Vec<Vec<u8>>,
    /// Every `incident_index` key of the new incident.
    index_keys: Vec<Vec<u8>>,
    effects: Effects,
    audit: Vec<u8>,
    now: Timestamp,
    request_id: Option<String>,
}

/// An idempotency claim as the writer checks and stores it.
struct Claim {
    fingerprint: String,
    key: Vec<u8>,
    /// The record stored under `key` if the creation goes ahead.
    record: Vec<u8>,
}

struct Pending {
    creation: Prepared,
    reply: oneshot::Sender<Result<CreateOutcome, StoreError>>,
}

/// What a creation came to inside its batch.
enum Applied {
    Created,
    Replayed(Box<Incident>),
}

/// The trees a creation writes, as the writer thread holds them.
struct Trees {
    incidents: sled::Tree,
    xref: sled::Tree,
    idempotency: sled::Tree,
    meta: sled::Tree,
    audit: sled::Tree,
    outbox: sled::Tree,
    escalations: sled::Tree,
    incident_index: sled::Tree,
    outbox_index: sled::Tree,
    escalation_index: sled::Tree,
}

/// The writer thread and the incident numbers handed out.
#[derive(Default)]
pub(super) struct Creations {
    queue: Option<mpsc::Sender<Pending>>,
    thread: Option<JoinHandle<()>>,
    /// The last incident number handed out. The store is this process's alone (sled
    /// locks its directory), so numbering in memory is numbering on disk; a creation
    /// that ends as a replay or a refusal leaves its number unused.
    last_seq: AtomicU64,
    /// Tests hold the writer to put several creations in one batch.
    #[cfg(test)]
    pub(super) hold: std::sync::Arc<Hold>,
}

#[cfg(test)]
#[derive(Default)]
pub(super) struct Hold {
    pub(super) held: std::sync::atomic::AtomicBool,
    pub(super) queued: std::sync::atomic::AtomicUsize,
}

impl Creations {
    pub(super) fn start(store: &SledStore) -> Result<Self, StoreError> {
        let trees = Trees {
            incidents: store.incidents.clone(),
            xref: store.xref.clone(),
            idempotency: store.idempotency.clone(),
            meta: store.meta.clone(),
            audit: store.audit.clone(),
            outbox: store.outbox.clone(),
            escalations: store.escalations.clone(),
            incident_index: store.incident_index.clone(),
            outbox_index: store.outbox_index.clone(),
            escalation_index: store.escalation_index.clone(),
        };
        let (queue, pending) = mpsc::channel();
        #[cfg(test)]
        let hold = std::sync::Arc::<Hold>::default();
        let thread = std::thread::Builder::new()
            .name("deskgate-creations".into())
            .spawn({
                #[cfg(test)]
                let hold = hold.clone();
                let commit = store.commit.committer();
                move || {
                    writer(
                        &trees,
                        pending,
                        &commit,
                        #[cfg(test)]
                        &hold,
                    )
                }
            })
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
            last_seq: AtomicU64::new(stored_seq(&store.meta)?),
            #[cfg(test)]
            hold,
        })
    }

    /// Number on from what `meta` holds (after a restore replaced it).
    pub(super) fn renumber(&self, meta: &sled::Tree) -> Result<(), StoreError> {
        self.last_seq.store(stored_seq(meta)?, Ordering::SeqCst);
        Ok(())
    }

    /// Create `new`, or answer with the incident an earlier creation of the same
    /// key or ticket made. The answer comes once what it shows is durable.
    pub(super) async fn create(
        &self,
        new: NewIncident,
        claim: Option<IdempotencyClaim>,
        mut audit: AuditEntry,
        now: Timestamp,
        plan: CreationPlan<'_>,
    ) -> Result<CreateOutcome, StoreError> {
        // A replay is found by the writer, inside the batch's transaction, not here:
        // a read on this side would wait for sled's global lock while the writer holds
        // it, and that wait was most of an accepted submission's latency. A replay
        // takes a number it leaves unused, as a refusal does.
        let origin_key = xref_key(&new.origin.desk, &new.origin.ticket);
        let seq = self.last_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
        let mut incident = new.into_incident(IncidentId::new(year, seq), now);
        let effects = plan(&mut incident);
        audit.incident = Some(incident.id.to_string());
        let claim = claim.map(|claim| {
            let record = IdempotencyRecord { fingerprint: claim.fingerprint.clone(), incident: incident.id.clone() };
            Claim { key: idempotency_key(&claim), record: encode(&record), fingerprint: claim.fingerprint }
        });
        let creation = Prepared {
            origin_key,
            claim,
            bytes: encode(&incident),
            ref_keys: incident.refs.iter().map(|r| xref_key(&r.desk, &r.remote_id)).collect(),
            index_keys: index::incident_keys(&incident),
            incident,
            effects,
            audit: encode(&audit),
            now,
            request_id: audit.request_id,
        };
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Io("the store's writer has stopped".into());
        self.queue.as_ref().ok_or_else(stopped)?.send(Pending { creation, reply }).map_err(|_| stopped())?;
        #[cfg(test)]
        self.hold.queued.fetch_add(1, Ordering::SeqCst);
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Creations {
    fn drop(&mut self) {
        // The writer ends once the queue is closed and drained; it holds the trees,
        // so the database is closed only after it has ended.
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stored_seq(meta: &sled::Tree) -> Result<u64, StoreError> {
    match meta.get(INCIDENT_SEQ).map_err(io)? {
        Some(b) => Ok(u64::from_be_bytes(b.as_ref().try_into().unwrap_or([0; 8]))),
        None => Ok(0),
    }
}

fn writer(trees: &Trees, pending: mpsc::Receiver<Pending>, commit: &Committer, #[cfg(test)] hold: &Hold) {
    while let Ok(first) = pending.recv() {
        #[cfg(test)]
        while hold.held.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let (creations, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.creation, p.reply)).unzip();
        let started = std::time::Instant::now();
        let results = match apply(trees, &creations) {
            Ok(results) => results,
            // A batch that failed as a whole is tried one creation at a time, so
            // that one creation's failure is not every creation's.
            Err(_) if creations.len() > 1 => creations
                .iter()
                .map(|c| {
                    apply(trees, std::slice::from_ref(c))
                        .and_then(|mut r| r.pop().unwrap_or_else(|| Err(StoreError::Io("no result".into()))))
                })
                .collect(),
            Err(e) => vec![Err(e)],
        };
        // The writer is the one serial stage of an accept: its busy time per second
        // is how close the store is to the most creations it can take.
        metrics::histogram!("deskgate_store_creation_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("deskgate_store_creation_batch_size").record(creations.len() as f64);
        // A refusal wrote nothing and is answered now; the others once durable.
        let mut durable = Vec::with_capacity(replies.len());
        for ((creation, reply), result) in creations.into_iter().zip(replies).zip(results) {
            match result {
                Ok(Applied::Created) => durable.push((reply, CreateOutcome::Created(creation.incident))),
                Ok(Applied::Replayed(i)) => durable.push((reply, CreateOutcome::Replayed(*i))),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if !durable.is_empty() {
            commit.flush();
            for (reply, outcome) in durable {
                let _ = reply.send(Ok(outcome));
            }
        }
    }
}

/// Check and write `creations` in one transaction, in order. A creation refused by
/// its checks writes nothing and leaves the others to go on.
fn apply(t: &Trees, creations: &[Prepared]) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
    let trees = (
        &t.incidents,
        &t.xref,
        &t.idempotency,
        &t.meta,
        &t.audit,
        &t.outbox,
        &t.escalations,
        &t.incident_index,
        &t.outbox_index,
        &t.escalation_index,
    );
    flatten(trees.transaction(
        |(incidents, xref, idem, meta, audit, outbox, escalations, incident_ix, lanes, escalation_ix)| {
            let mut results = Vec::with_capacity(creations.len());
            let mut top = None;
            for c in creations {
                match check(incidents, xref, idem, c)? {
                    Ok(None) => {}
                    Ok(Some(i)) => {
                        results.push(Ok(Applied::Replayed(Box::new(i))));
                        continue;
                    }
                    Err(e) => {
                        results.push(Err(e));
                        continue;
                    }
                }
                let id = c.incident.id.as_str().as_bytes();
                top = top.max(crate::store::sequence_of(&c.incident.id));
                incidents.insert(id, c.bytes.as_slice())?;
                for key in &c.index_keys {
                    incident_ix.insert(key.as_slice(), id)?;
                }
                for key in &c.ref_keys {
                    xref.insert(key.as_slice(), id)?;
                }
                let request_id = c.request_id.as_deref();
                tx_enqueue(outbox, lanes, &c.incident, &c.effects.deliveries, c.now, request_id)?;
                tx_escalations(escalations, escalation_ix, &c.effects.escalations)?;
                if let Some(claim) = &c.claim {
                    idem.insert(claim.key.as_slice(), claim.record.as_slice())?;
                }
                tx_audit_encoded(audit, &c.audit)?;
                results.push(Ok(Applied::Created));
            }
            // The stored counter only moves on: numbers are handed out in memory.
            if let Some(top) = top {
                let stored = meta.get(INCIDENT_SEQ)?.and_then(|b| b.as_ref().try_into().ok()).map(u64::from_be_bytes);
                if stored.is_none_or(|s| s < top) {
                    meta.insert(INCIDENT_SEQ, &top.to_be_bytes())?;
                }
            }
            Ok(results)
        },
    ))
}

/// A creation against the trees as the batch has left them so far: `Ok(Some)` is a
/// replay of that incident, `Ok(None)` a new incident, `Err` a refusal.
fn check(
    incidents: &TransactionalTree,
    xref: &TransactionalTree,
    idem: &TransactionalTree,
    c: &Prepared,
) -> TxResult<Result<Option<Incident>, StoreError>> {
    let stored = |id: &[u8], what: &str| -> TxResult<Result<Option<Incident>, StoreError>> {
        Ok(match incidents.get(id)? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Err(StoreError::Corrupt(format!("{what} points at missing {}", String::from_utf8_lossy(id)))),
        })
    };
    if let Some(claim) = &c.claim
        && let Some(bytes) = idem.get(claim.key.as_slice())?
    {
        return match decode::<IdempotencyRecord>(&bytes) {
            Ok(record) if record.fingerprint != claim.fingerprint => Ok(Err(StoreError::IdempotencyMismatch)),
            Ok(record) => stored(record.incident.as_str().as_bytes(), "idempotency key"),
            Err(e) => Ok(Err(e)),
        };
    }
    if let Some(id) = xref.get(&c.origin_key)? {
        return stored(&id, "xref");
    }
    for (r, key) in c.incident.refs.iter().zip(&c.ref_keys) {
        match xref.get(key.as_slice())? {
            Some(existing) if existing.as_ref() != c.incident.id.as_str().as_bytes() => {
                let other = String::from_utf8_lossy(&existing).into_owned();
                return Ok(Err(match other.parse() {
                    Ok(incident) => {
                        StoreError::RefTaken { desk: r.desk.clone(), remote_id: r.remote_id.clone(), incident }
                    }
                    Err(_) => StoreError::Corrupt(format!("xref entry {other:?}")),
                }));
            }
            _ => {}
        }
    }
    Ok(Ok(None))
}
