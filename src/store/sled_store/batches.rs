//! A backup written from sled trees ([`Store::export`](crate::store::Store::export)) and
//! laid out as sled trees ([`Store::import`](crate::store::Store::import)).

use super::{
    CURSOR_PREFIX, INCIDENT_SEQ, IdempotencyRecord, SledStore, decode, encode, idempotency_key, io, seq_of, xref_key,
};
use crate::model::IncidentId;
use crate::store::backup::{self, Backup, BackupSummary, Record, Sequences};
use crate::store::{IdempotencyClaim, StoreError};

/// A backup laid out as sled trees: every key it restores, checked before anything
/// is written. The cross-references are derived from the incidents' refs.
#[derive(Default)]
pub(super) struct Batches {
    pub(super) incidents: sled::Batch,
    pub(super) xref: sled::Batch,
    pub(super) idempotency: sled::Batch,
    pub(super) outbox: sled::Batch,
    pub(super) dead: sled::Batch,
    pub(super) audit: sled::Batch,
    pub(super) escalations: sled::Batch,
    pub(super) meta: sled::Batch,
    pub(super) contents: sled::Batch,
}

impl Batches {
    pub(super) fn of(backup: &Backup) -> Result<Self, StoreError> {
        let mut b = Batches::default();
        let mut refs: std::collections::HashMap<Vec<u8>, &IncidentId> = std::collections::HashMap::new();
        for record in &backup.records {
            match record {
                Record::Incident(i) => {
                    b.incidents.insert(i.id.as_str().as_bytes(), encode(&**i));
                    for r in &i.refs {
                        let key = xref_key(&r.desk, &r.remote_id);
                        if let Some(other) = refs.insert(key.clone(), &i.id).filter(|other| **other != i.id) {
                            return Err(StoreError::Restore(format!(
                                "{} ticket {} is referred to by both {other} and {}",
                                r.desk, r.remote_id, i.id
                            )));
                        }
                        b.xref.insert(key, i.id.as_str().as_bytes());
                    }
                }
                Record::Idempotency(r) => {
                    let claim =
                        IdempotencyClaim { desk: r.desk.clone(), key: r.key.clone(), fingerprint: String::new() };
                    let stored = IdempotencyRecord { fingerprint: r.fingerprint.clone(), incident: r.incident.clone() };
                    b.idempotency.insert(idempotency_key(&claim), encode(&stored));
                }
                Record::Outbox(item) => b.outbox.insert(&item.seq.to_be_bytes(), encode(item)),
                Record::DeadLetter(letter) => b.dead.insert(&letter.item.seq.to_be_bytes(), encode(letter)),
                Record::Audit(a) => b.audit.insert(&a.seq.to_be_bytes(), encode(&a.entry)),
                Record::Escalation(e) => b.escalations.insert(e.id.as_bytes(), encode(&**e)),
                Record::Cursor(c) => {
                    let mut key = CURSOR_PREFIX.to_vec();
                    key.extend_from_slice(c.name.as_bytes());
                    b.meta.insert(key, c.value.as_bytes());
                }
                Record::Content(c) => {
                    use base64::Engine;
                    let content = base64::engine::general_purpose::STANDARD
                        .decode(&c.base64)
                        .map_err(|e| StoreError::Restore(format!("content {}: not base64: {e}", c.sha256)))?;
                    // Content is named by its hash: one that does not match is corrupt.
                    if crate::model::attachment::sha256_hex(&content) != c.sha256 {
                        return Err(StoreError::Restore(format!(
                            "content {}: the bytes do not have that hash",
                            c.sha256
                        )));
                    }
                    b.contents.insert(c.sha256.as_bytes(), content);
                }
            }
        }
        if backup.sequences.incident > 0 {
            b.meta.insert(INCIDENT_SEQ, &backup.sequences.incident.to_be_bytes());
        }
        Ok(b)
    }
}

/// Every record the store holds, in the backup format.
pub(super) fn export(store: &SledStore, out: &mut (dyn std::io::Write + Send)) -> Result<BackupSummary, StoreError> {
    // Run offline (`deskgate backup` holds the store's lock, the gateway is
    // stopped): nothing else waits on this task, so the scan runs on it.
    let mut w = backup::Writer::start(out)?;
    for item in store.incidents.iter() {
        w.record(&Record::Incident(Box::new(decode(&item.map_err(io)?.1)?)))?;
    }
    for item in store.idempotency.iter() {
        let (k, v) = item.map_err(io)?;
        let split = k.iter().position(|b| *b == 0).ok_or_else(|| StoreError::Corrupt("idempotency key".into()))?;
        let desk = String::from_utf8_lossy(&k[..split])
            .parse()
            .map_err(|_| StoreError::Corrupt("idempotency key: not a desk id".into()))?;
        let stored: IdempotencyRecord = decode(&v)?;
        w.record(&Record::Idempotency(backup::IdempotencyRecord {
            desk,
            key: String::from_utf8_lossy(&k[split + 1..]).into_owned(),
            fingerprint: stored.fingerprint,
            incident: stored.incident,
        }))?;
    }
    for item in store.outbox.iter() {
        w.record(&Record::Outbox(decode(&item.map_err(io)?.1)?))?;
    }
    for item in store.dead.iter() {
        w.record(&Record::DeadLetter(decode(&item.map_err(io)?.1)?))?;
    }
    for item in store.audit.iter() {
        let (k, v) = item.map_err(io)?;
        w.record(&Record::Audit(backup::AuditRecord { seq: seq_of(&k, "audit")?, entry: decode(&v)? }))?;
    }
    for item in store.escalations.iter() {
        w.record(&Record::Escalation(Box::new(decode(&item.map_err(io)?.1)?)))?;
    }
    for item in store.meta.scan_prefix(CURSOR_PREFIX) {
        let (k, v) = item.map_err(io)?;
        w.record(&Record::Cursor(backup::CursorRecord {
            name: String::from_utf8_lossy(&k[CURSOR_PREFIX.len()..]).into_owned(),
            value: String::from_utf8_lossy(&v).into_owned(),
        }))?;
    }
    for item in store.contents.iter() {
        use base64::Engine;
        let (k, v) = item.map_err(io)?;
        w.record(&Record::Content(backup::ContentRecord {
            sha256: String::from_utf8_lossy(&k).into_owned(),
            base64: base64::engine::general_purpose::STANDARD.encode(&v),
        }))?;
    }
    let incident = match store.meta.get(INCIDENT_SEQ).map_err(io)? {
        Some(b) => seq_of(&b, "meta incident_seq")?,
        None => 0,
    };
    // Taking an id moves the generator on, which is harmless; ids are never reused.
    let item = store.db.generate_id().map_err(io)?;
    w.finish(Sequences { incident, item })
}
