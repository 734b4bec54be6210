//! The embedded default [`Store`]: sled trees on local disk.
//!
//! Trees: `incidents` (id → JSON incident, id order = creation order), `xref`
//! (desk \0 remote id → incident id), `idempotency` (desk \0 key → fingerprint and
//! incident id), `audit` (big-endian sequence → JSON entry), `meta` (counters),
//! `escalations` (escalation id → JSON record), `contents` (SHA-256 → attachment
//! content), and the secondary indexes (`incident_index`, `outbox_index`,
//! `escalation_index`: [`index`]) that listings, lanes and deadlines are read from.
//! Each operation is one sled transaction over the trees it touches, indexes
//! included (creations waiting together share one: [`create`]), then a group
//! commit makes it durable before the method returns.

use std::path::Path;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::backup::{self, BackupSummary};
use super::group_commit::GroupCommit;
use super::{
    AuditEntry, CreateOutcome, CreationPlan, DueDeliveries, DueTimer, EscalationChange, EscalationQuery,
    IdempotencyClaim, ListQuery, Mutation, ReplayAudit, Store, StoreError, TimerQuery,
};
use crate::escalation::Escalation;
use crate::model::{DeskId, Incident, IncidentId, NewIncident, TicketId};
use crate::outbox::{DeadLetter, Delivery, OutboxItem};
use batches::Batches;
use index::LaneChange;

const INCIDENT_SEQ: &[u8] = b"incident_seq";
/// Cursors live in `meta` under this prefix.
const CURSOR_PREFIX: &[u8] = b"cursor/";

pub struct SledStore {
    db: sled::Db,
    incidents: sled::Tree,
    xref: sled::Tree,
    idempotency: sled::Tree,
    audit: sled::Tree,
    meta: sled::Tree,
    outbox: sled::Tree,
    dead: sled::Tree,
    escalations: sled::Tree,
    contents: sled::Tree,
    incident_index: sled::Tree,
    outbox_index: sled::Tree,
    escalation_index: sled::Tree,
    creations: create::Creations,
    commit: GroupCommit,
}

#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    fingerprint: String,
    incident: IncidentId,
}

impl SledStore {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, crate::config::DEFAULT_SLED_CACHE_MB)
    }

    /// [`SledStore::open`] with a page cache of at most `cache_mb` MiB
    /// (`[gateway.store] cache_mb`).
    pub fn open_with_cache(dir: &Path, cache_mb: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
        let db = open_db(dir, cache_mb)?;
        let tree = |name: &str| db.open_tree(name).map_err(io);
        let commit = GroupCommit::start(db.clone()).map_err(|e| StoreError::Io(e.to_string()))?;
        Self {
            incidents: tree("incidents")?,
            xref: tree("xref")?,
            idempotency: tree("idempotency")?,
            audit: tree("audit")?,
            meta: tree("meta")?,
            outbox: tree("outbox")?,
            dead: tree("dead_letters")?,
            escalations: tree("escalations")?,
            contents: tree("contents")?,
            incident_index: tree("incident_index")?,
            outbox_index: tree("outbox_index")?,
            escalation_index: tree("escalation_index")?,
            db,
            creations: create::Creations::default(),
            commit,
        }
        .with_current_indexes()?
        .with_creations()
    }

    fn with_creations(mut self) -> Result<Self, StoreError> {
        self.creations = create::Creations::start(&self)?;
        Ok(self)
    }

    /// A data directory written before the indexes (or with older ones) gets them
    /// built from its records, once, at open.
    fn with_current_indexes(self) -> Result<Self, StoreError> {
        if !index::is_current(&self.incident_index)? {
            index::rebuild(&self)?;
            self.db.flush().map_err(io)?;
        }
        Ok(self)
    }

    /// Number of incidents stored.
    pub fn incident_count(&self) -> usize {
        self.incidents.len()
    }
}

/// How long opening waits for a lock that a store just dropped in this process may
/// still hold: sled lets go of its files from a background thread. Another process
/// holding the store is still refused, once this has passed.
const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

fn open_db(dir: &Path, cache_mb: u64) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    let config = sled::Config::new().path(dir).mode(sled::Mode::HighThroughput).cache_capacity(cache_mb << 20);
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            // sled reports its exclusive lock as a plain I/O error.
            Err(sled::Error::Io(ref e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= LOCK_RELEASE_WAIT {
                    return Err(StoreError::Locked(dir.display().to_string()));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(StoreError::Io(format!("opening {}: {e}", dir.display()))),
        }
    }
}

/// Run a scan or a transaction off the async workers: either may read and decode
/// many values and wait on disk, which must not stall the other tasks of its worker
/// thread. On a
/// multi-threaded runtime (the gateway's) `block_in_place` hands those tasks to
/// another worker while this one scans. Not `spawn_blocking`: its closure outlives
/// a caller that is dropped mid-scan (a request cut off at shutdown) and would keep
/// the database, and its lock, open after the store was closed. A current-thread
/// runtime (tests, one-shot commands) has no other worker to hand over to, so the
/// scan runs in place. Transactions take borrowed closures (a [`Mutation`]), which
/// `spawn_blocking` could not hold either. Point reads stay inline: one key, from
/// sled's page cache as a rule.
fn scan<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

fn xref_key(desk: &DeskId, remote_id: &TicketId) -> Vec<u8> {
    let mut k = Vec::with_capacity(desk.as_str().len() + 1 + remote_id.as_str().len());
    k.extend_from_slice(desk.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(remote_id.as_str().as_bytes());
    k
}

fn idempotency_key(claim: &IdempotencyClaim) -> Vec<u8> {
    let mut k = claim.desk.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(claim.key.as_bytes());
    k
}

/// A big-endian sequence number key.
fn seq_of(key: &[u8], tree: &str) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(key.try_into().map_err(|_| StoreError::Corrupt(format!("{tree} key")))?))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain data types cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn tx_get_incident(tree: &TransactionalTree, id: &str) -> TxResult<Option<Incident>> {
    match tree.get(id.as_bytes())? {
        Some(bytes) => match decode(&bytes) {
            Ok(i) => Ok(Some(i)),
            Err(e) => abort(e),
        },
        None => Ok(None),
    }
}

fn tx_audit(tree: &TransactionalTree, entry: &AuditEntry) -> TxResult<()> {
    tx_audit_encoded(tree, &encode(entry))
}

/// [`tx_audit`] of an entry encoded beforehand.
fn tx_audit_encoded(tree: &TransactionalTree, entry: &[u8]) -> TxResult<()> {
    let seq = tree.generate_id()?;
    tree.insert(&seq.to_be_bytes(), entry)?;
    Ok(())
}

/// Queue `deliveries` for `incident` in the outbox, each with a fresh sequence number.
fn tx_enqueue(
    outbox: &TransactionalTree,
    lanes: &TransactionalTree,
    incident: &Incident,
    deliveries: &[Delivery],
    now: Timestamp,
    request_id: Option<&str>,
) -> TxResult<()> {
    for d in deliveries {
        let seq = outbox.generate_id()?;
        let item = OutboxItem::queued(seq, &incident.id, d, now, request_id);
        outbox.insert(&seq.to_be_bytes(), encode(&item))?;
        index::tx_lane(lanes, outbox, &item.incident, &item.desk, LaneChange::Waiting(seq))?;
    }
    Ok(())
}

/// Store escalation records opened by a change.
fn tx_escalations(tree: &TransactionalTree, ix: &TransactionalTree, escalations: &[Escalation]) -> TxResult<()> {
    for e in escalations {
        let old = match tree.insert(e.id.as_bytes(), encode(e))? {
            Some(bytes) => match decode::<Escalation>(&bytes) {
                Ok(old) => Some(old),
                Err(e) => return abort(e),
            },
            None => None,
        };
        index::tx_escalation(ix, old.as_ref(), e)?;
    }
    Ok(())
}

/// Index every ref of `incident` in `xref`, refusing a ref another incident holds.
fn tx_index_refs(xref: &TransactionalTree, incident: &Incident) -> TxResult<()> {
    for r in &incident.refs {
        let key = xref_key(&r.desk, &r.remote_id);
        match xref.get(&key)? {
            Some(existing) if existing.as_ref() != incident.id.as_str().as_bytes() => {
                let other = String::from_utf8_lossy(&existing).into_owned();
                return match other.parse() {
                    Ok(other) => abort(StoreError::RefTaken {
                        desk: r.desk.clone(),
                        remote_id: r.remote_id.clone(),
                        incident: other,
                    }),
                    Err(_) => abort(StoreError::Corrupt(format!("xref entry {other:?}"))),
                };
            }
            Some(_) => {}
            None => {
                xref.insert(key, incident.id.as_str().as_bytes())?;
            }
        }
    }
    Ok(())
}

fn flatten<T>(r: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    r.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => io(e),
    })
}

#[async_trait]
impl Store for SledStore {
    async fn create_incident(
        &self,
        new: NewIncident,
        idempotency: Option<IdempotencyClaim>,
        audit: AuditEntry,
        now: Timestamp,
        plan: CreationPlan<'_>,
    ) -> Result<CreateOutcome, StoreError> {
        // Answered once durable, a replay too (see `create`).
        self.creations.create(new, idempotency, audit, now, plan).await
    }

    async fn update_incident(
        &self,
        id: &IncidentId,
        mutate: Mutation<'_>,
        audit: AuditEntry,
    ) -> Result<Incident, StoreError> {
        let trees = (
            &self.incidents,
            &self.xref,
            &self.audit,
            &self.outbox,
            &self.escalations,
            &self.incident_index,
            &self.outbox_index,
            &self.escalation_index,
        );
        let incident = flatten(scan(|| {
            trees.transaction(
                |(incidents, xref, audit_tree, outbox, escalations, incident_ix, lanes, escalation_ix)| {
                    let Some(mut incident) = tx_get_incident(incidents, id.as_str())? else {
                        return abort(StoreError::NotFound(id.clone()));
                    };
                    let before = incident.clone();
                    let effects = match mutate(&mut incident) {
                        Ok(effects) => effects,
                        Err(e) => return abort(e.into()),
                    };
                    let changed = effects.changed;
                    if changed {
                        incidents.insert(id.as_str().as_bytes(), encode(&incident))?;
                        index::tx_incident(incident_ix, Some(&before), &incident)?;
                        tx_index_refs(xref, &incident)?;
                        tx_enqueue(
                            outbox,
                            lanes,
                            &incident,
                            &effects.deliveries,
                            audit.at,
                            audit.request_id.as_deref(),
                        )?;
                        tx_escalations(escalations, escalation_ix, &effects.escalations)?;
                        let mut entry = audit.clone();
                        entry.incident = Some(id.to_string());
                        tx_audit(audit_tree, &entry)?;
                    }
                    Ok(incident)
                },
            )
        }))?;
        // Unchanged, the answer still shows what earlier writes made of the incident,
        // and those may still be waiting for their flush.
        self.commit.durable().await?;
        Ok(incident)
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        self.incidents.get(id.as_str().as_bytes()).map_err(io)?.map(|b| decode(&b)).transpose()
    }

    async fn find_by_ref(&self, desk: &DeskId, remote_id: &TicketId) -> Result<Option<IncidentId>, StoreError> {
        match self.xref.get(xref_key(desk, remote_id)).map_err(io)? {
            Some(b) => String::from_utf8_lossy(&b)
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Corrupt("xref value is not an incident id".into())),
            None => Ok(None),
        }
    }

    async fn list_incidents(&self, query: &ListQuery) -> Result<Vec<Incident>, StoreError> {
        scan(|| self.query(query))
    }

    async fn count_incidents(&self, query: &ListQuery, at_most: usize) -> Result<usize, StoreError> {
        scan(|| self.count(query, at_most))
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let seq = self.db.generate_id().map_err(io)?;
        self.audit.insert(seq.to_be_bytes(), encode(&entry)).map_err(io)?;
        self.commit.durable().await
    }

    async fn audit_log(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        let audit = &self.audit;
        scan(move || {
            audit
                .range(start.to_be_bytes()..)
                .take(limit)
                .map(|item| {
                    let (k, v) = item.map_err(io)?;
                    Ok((seq_of(&k, "audit")?, decode(&v)?))
                })
                .collect()
        })
    }

    async fn is_ready(&self) -> bool {
        self.commit.is_healthy() && self.meta.get(INCIDENT_SEQ).is_ok()
    }

    async fn export(&self, out: &mut (dyn std::io::Write + Send)) -> Result<BackupSummary, StoreError> {
        batches::export(self, out)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.commit.durable().await
    }

    async fn import(
        &self,
        input: &mut (dyn std::io::BufRead + Send),
        force: bool,
    ) -> Result<BackupSummary, StoreError> {
        // Offline like `export`: the work runs on the caller's task.
        let backup = backup::read(input)?;
        let batches = Batches::of(&backup)?;
        let trees = self.db.tree_names();
        let mut occupied = Vec::new();
        for name in &trees {
            let tree = self.db.open_tree(name).map_err(io)?;
            // Indexes are derived: they are rebuilt below, whatever they held.
            if !tree.is_empty() && !name.ends_with(b"_index") {
                occupied.push(format!("{} ({} keys)", String::from_utf8_lossy(name), tree.len()));
            }
        }
        if !occupied.is_empty() {
            if !force {
                return Err(StoreError::Restore(format!(
                    "the store is not empty: {}; restore into an empty data directory, or pass --force to replace its contents",
                    occupied.join(", ")
                )));
            }
            for name in &trees {
                self.db.open_tree(name).map_err(io)?.clear().map_err(io)?;
            }
        }
        for (tree, batch) in [
            (&self.incidents, batches.incidents),
            (&self.xref, batches.xref),
            (&self.idempotency, batches.idempotency),
            (&self.outbox, batches.outbox),
            (&self.dead, batches.dead),
            (&self.audit, batches.audit),
            (&self.escalations, batches.escalations),
            (&self.meta, batches.meta),
            (&self.contents, batches.contents),
        ] {
            tree.apply_batch(batch).map_err(io)?;
        }
        // Sequence numbers (audit, outbox, dead letters) come from the id generator:
        // move it past every restored one so new keys never overwrite them.
        while self.db.generate_id().map_err(io)? < backup.sequences.item {}
        index::rebuild(self)?;
        self.creations.renumber(&self.meta)?;
        self.db.flush().map_err(io)?;
        Ok(backup.summary())
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let outbox = &self.outbox;
        scan(move || outbox.iter().take(limit).map(|item| decode(&item.map_err(io)?.1)).collect())
    }

    async fn outbox_for(&self, incident: &IncidentId, desk: Option<&DeskId>) -> Result<Vec<OutboxItem>, StoreError> {
        self.lane_items(incident, desk)
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<DueDeliveries, StoreError> {
        scan(|| self.due_heads(now, limit))
    }

    async fn outbox_item(&self, seq: u64) -> Result<Option<OutboxItem>, StoreError> {
        self.outbox.get(seq.to_be_bytes()).map_err(io)?.map(|b| decode(&b)).transpose()
    }

    async fn complete_delivery(
        &self,
        seq: u64,
        incident: &IncidentId,
        mutate: Option<Mutation<'_>>,
    ) -> Result<(), StoreError> {
        let trees = (&self.outbox, &self.incidents, &self.xref, &self.incident_index, &self.outbox_index);
        flatten(scan(|| {
            trees.transaction(|(outbox, incidents, xref, incident_ix, lanes)| {
                if let Some(bytes) = outbox.remove(&seq.to_be_bytes())? {
                    let item: OutboxItem = match decode(&bytes) {
                        Ok(item) => item,
                        Err(e) => return abort(e),
                    };
                    index::tx_lane(lanes, outbox, &item.incident, &item.desk, LaneChange::Gone(seq))?;
                }
                if let Some(mutate) = mutate {
                    let Some(mut current) = tx_get_incident(incidents, incident.as_str())? else {
                        return abort(StoreError::NotFound(incident.clone()));
                    };
                    let before = current.clone();
                    let effects = match mutate(&mut current) {
                        Ok(e) => e,
                        Err(e) => return abort(e.into()),
                    };
                    if effects.changed {
                        incidents.insert(incident.as_str().as_bytes(), encode(&current))?;
                        index::tx_incident(incident_ix, Some(&before), &current)?;
                        tx_index_refs(xref, &current)?;
                        tx_enqueue(outbox, lanes, &current, &effects.deliveries, current.updated_at, None)?;
                    }
                }
                Ok(())
            })
        }))?;
        self.commit.durable().await
    }

    async fn reschedule_delivery(&self, item: &OutboxItem) -> Result<(), StoreError> {
        // Only if it is still there: a concurrent replay or completion wins.
        let key = item.seq.to_be_bytes();
        flatten(scan(|| {
            (&self.outbox, &self.outbox_index).transaction(|(outbox, lanes)| {
                if outbox.get(key)?.is_some() {
                    outbox.insert(&key, encode(item))?;
                    index::tx_lane(lanes, outbox, &item.incident, &item.desk, LaneChange::Moved)?;
                }
                Ok(())
            })
        }))?;
        self.commit.durable().await
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        let key = letter.item.seq.to_be_bytes();
        let (incident, desk) = letter.item.lane();
        flatten(scan(|| {
            (&self.outbox, &self.dead, &self.outbox_index).transaction(|(outbox, dead, lanes)| {
                outbox.remove(&key)?;
                dead.insert(&key, encode(&letter))?;
                index::tx_lane(lanes, outbox, &incident, &desk, LaneChange::Held(letter.item.seq))?;
                Ok(())
            })
        }))?;
        self.commit.durable().await
    }

    async fn outbox_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        scan(|| pages::page(&self.outbox, after, limit, |i: &OutboxItem| desk.is_none_or(|d| &i.desk == d)))
    }

    async fn dead_letters_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        scan(|| pages::page(&self.dead, after, limit, |d: &DeadLetter| desk.is_none_or(|k| &d.item.desk == k)))
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let dead = &self.dead;
        scan(move || dead.iter().take(limit).map(|item| decode(&item.map_err(io)?.1)).collect())
    }

    async fn escalation(&self, id: &str) -> Result<Option<Escalation>, StoreError> {
        self.escalations.get(id.as_bytes()).map_err(io)?.map(|b| decode(&b)).transpose()
    }

    async fn escalations(&self, query: &EscalationQuery) -> Result<Vec<Escalation>, StoreError> {
        let (escalations, incidents) = (&self.escalations, &self.incidents);
        scan(move || {
            let mut out = Vec::new();
            if query.limit == 0 {
                return Ok(out);
            }
            for item in pages::from_id(escalations, query.after.as_deref()) {
                let (_, bytes) = item.map_err(io)?;
                let escalation: Escalation = decode(&bytes)?;
                let incident: Option<Incident> = match query.viewer {
                    super::Viewer::Everything => None,
                    _ => {
                        incidents.get(escalation.incident_id.as_bytes()).map_err(io)?.map(|b| decode(&b)).transpose()?
                    }
                };
                if query.matches(&escalation, incident.as_ref()) {
                    out.push(escalation);
                    if out.len() >= query.limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    async fn due_escalations(&self, by: Timestamp, limit: usize) -> Result<Vec<Escalation>, StoreError> {
        scan(|| self.escalations_due(by, limit))
    }

    async fn escalations_of(&self, incident: &IncidentId) -> Result<Vec<Escalation>, StoreError> {
        self.escalations_of_incident(incident)
    }

    async fn due_timers(&self, query: &TimerQuery<'_>) -> Result<Vec<DueTimer>, StoreError> {
        scan(|| self.timers_due(query))
    }

    async fn update_escalation(
        &self,
        id: &str,
        now: Timestamp,
        change: EscalationChange<'_>,
        audit: Option<AuditEntry>,
    ) -> Result<Escalation, StoreError> {
        let trees =
            (&self.escalations, &self.incidents, &self.outbox, &self.audit, &self.escalation_index, &self.outbox_index);
        let escalation = flatten(scan(|| {
            trees.transaction(|(escalations, incidents, outbox, audit_tree, escalation_ix, lanes)| {
                let mut escalation: Escalation = match escalations.get(id.as_bytes())? {
                    Some(bytes) => match decode(&bytes) {
                        Ok(e) => e,
                        Err(e) => return abort(e),
                    },
                    None => return abort(StoreError::NoEscalation(id.to_owned())),
                };
                let before = escalation.clone();
                // Read in this transaction: a change of the incident is either before
                // it (and seen) or after it.
                let incident = tx_get_incident(incidents, &escalation.incident_id)?;
                let facts = incident.as_ref().map(crate::escalation::IncidentFacts::of);
                let deliveries = match change(&mut escalation, facts.as_ref()) {
                    Ok(d) => d,
                    Err(e) => return abort(e.into()),
                };
                escalations.insert(id.as_bytes(), encode(&escalation))?;
                index::tx_escalation(escalation_ix, Some(&before), &escalation)?;
                if !deliveries.is_empty() {
                    let Some(incident) = &incident else {
                        return abort(StoreError::Corrupt(format!(
                            "escalation {id} refers to a missing incident {}",
                            escalation.incident_id
                        )));
                    };
                    tx_enqueue(outbox, lanes, incident, &deliveries, now, None)?;
                }
                if let Some(entry) = &audit {
                    let entry = AuditEntry { incident: Some(escalation.incident_id.clone()), ..entry.clone() };
                    tx_audit(audit_tree, &entry)?;
                }
                Ok(escalation)
            })
        }))?;
        self.commit.durable().await?;
        Ok(escalation)
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = format!("cursor/{name}");
        Ok(self.meta.get(key.as_bytes()).map_err(io)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    async fn put_content(&self, content: bytes::Bytes) -> Result<(String, bool), StoreError> {
        let sha256 = crate::model::attachment::sha256_hex(&content);
        // Content is named by its hash: one already there is this content.
        let new = self
            .contents
            .compare_and_swap(sha256.as_bytes(), None as Option<&[u8]>, Some(content.as_ref()))
            .map_err(io)?
            .is_ok();
        self.commit.durable().await?;
        Ok((sha256, new))
    }

    async fn content(&self, sha256: &str) -> Result<Option<bytes::Bytes>, StoreError> {
        Ok(self.contents.get(sha256.as_bytes()).map_err(io)?.map(|v| bytes::Bytes::copy_from_slice(&v)))
    }

    async fn content_count(&self) -> Result<usize, StoreError> {
        Ok(self.contents.len())
    }

    async fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let key = format!("cursor/{name}");
        self.meta.insert(key.as_bytes(), value.as_bytes()).map_err(io)?;
        self.commit.durable().await
    }

    async fn replay_dead_letter(
        &self,
        seq: u64,
        now: Timestamp,
        audit: ReplayAudit<'_>,
    ) -> Result<OutboxItem, StoreError> {
        let key = seq.to_be_bytes();
        let trees = (&self.outbox, &self.dead, &self.audit, &self.outbox_index);
        let item = flatten(scan(|| {
            trees.transaction(|(outbox, dead, audit_tree, lanes)| {
                let Some(bytes) = dead.remove(&key)? else {
                    return abort(StoreError::NoDeadLetter(seq));
                };
                let letter: DeadLetter = match decode(&bytes) {
                    Ok(l) => l,
                    Err(e) => return abort(e),
                };
                let item = OutboxItem { attempts: 0, not_before: now, last_error: None, ..letter.item };
                outbox.insert(&key, encode(&item))?;
                index::tx_lane(lanes, outbox, &item.incident, &item.desk, LaneChange::Waiting(seq))?;
                tx_audit(audit_tree, &audit(&item))?;
                Ok(item)
            })
        }))?;
        self.commit.durable().await?;
        Ok(item)
    }
}

mod batches;
mod create;
mod index;
mod lanes;
mod pages;
mod query;
#[cfg(test)]
mod tests;
