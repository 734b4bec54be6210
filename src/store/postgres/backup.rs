//! The backup format ([`crate::store::backup`]) read from and written to the
//! PostgreSQL tables: the same typed records sled writes, so a backup of one
//! backend restores into the other (`deskgate migrate`).

use sqlx::postgres::PgPool;

use super::{Tx, db, decode, encode, outbox, put_escalation, put_incident, seq_i64};
use crate::store::StoreError;
use crate::store::backup::{self, Backup, BackupSummary, Record, Sequences};

const TABLES: [&str; 10] = [
    "incidents",
    "refs",
    "idempotency",
    "outbox",
    "dead_letters",
    "audit",
    "escalations",
    "contents",
    "cursors",
    "counters",
];

pub(super) async fn export(pool: &PgPool, out: &mut (dyn std::io::Write + Send)) -> Result<BackupSummary, StoreError> {
    // One snapshot of every table: the copy is of one point in time even while
    // replicas write.
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await.map_err(db)?;
    let mut w = backup::Writer::start(out)?;
    for (body,) in rows(&mut tx, "SELECT body::text FROM incidents ORDER BY id").await? {
        w.record(&Record::Incident(Box::new(decode(&body)?)))?;
    }
    let keys: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT desk, key, fingerprint, incident FROM idempotency ORDER BY desk, key")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
    for (desk, key, fingerprint, incident) in keys {
        w.record(&Record::Idempotency(backup::IdempotencyRecord {
            desk: desk.parse().map_err(|_| StoreError::Corrupt("idempotency: not a desk id".into()))?,
            key,
            fingerprint,
            incident: incident.parse().map_err(|_| StoreError::Corrupt("idempotency: not an incident id".into()))?,
        }))?;
    }
    for (body,) in rows(&mut tx, "SELECT body::text FROM outbox ORDER BY seq").await? {
        w.record(&Record::Outbox(decode(&body)?))?;
    }
    for (body,) in rows(&mut tx, "SELECT body::text FROM dead_letters ORDER BY seq").await? {
        w.record(&Record::DeadLetter(decode(&body)?))?;
    }
    let audit: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, body::text FROM audit ORDER BY seq").fetch_all(&mut *tx).await.map_err(db)?;
    for (seq, body) in audit {
        w.record(&Record::Audit(backup::AuditRecord { seq: seq as u64, entry: decode(&body)? }))?;
    }
    for (body,) in rows(&mut tx, "SELECT body::text FROM escalations ORDER BY id").await? {
        w.record(&Record::Escalation(Box::new(decode(&body)?)))?;
    }
    let cursors: Vec<(String, String)> =
        sqlx::query_as("SELECT name, value FROM cursors ORDER BY name").fetch_all(&mut *tx).await.map_err(db)?;
    for (name, value) in cursors {
        w.record(&Record::Cursor(backup::CursorRecord { name, value }))?;
    }
    let contents: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT sha256, content FROM contents ORDER BY sha256").fetch_all(&mut *tx).await.map_err(db)?;
    for (sha256, content) in contents {
        use base64::Engine;
        w.record(&Record::Content(backup::ContentRecord {
            sha256,
            base64: base64::engine::general_purpose::STANDARD.encode(&content),
        }))?;
    }
    let sequences = sequences(&mut tx).await?;
    tx.commit().await.map_err(db)?;
    w.finish(sequences)
}

async fn rows(tx: &mut Tx<'_>, sql: &'static str) -> Result<Vec<(String,)>, StoreError> {
    sqlx::query_as(sql).fetch_all(&mut **tx).await.map_err(db)
}

/// Where numbering stands: the last incident number, the next item number.
async fn sequences(tx: &mut Tx<'_>) -> Result<Sequences, StoreError> {
    let incident: Option<(i64,)> = sqlx::query_as("SELECT value FROM counters WHERE name = 'incident'")
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?;
    let (item, audit): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM item_seq),
                (SELECT coalesce(max(seq), 0) + 1 FROM audit)",
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(db)?;
    Ok(Sequences { incident: incident.map_or(0, |(v,)| v as u64), item: item.max(audit) as u64 })
}

pub(super) async fn import(pool: &PgPool, backup: &Backup, force: bool) -> Result<BackupSummary, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let mut occupied = Vec::new();
    for table in TABLES {
        let (n,): (i64,) =
            sqlx::query_as(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut *tx).await.map_err(db)?;
        if n > 0 {
            occupied.push(format!("{table} ({n} rows)"));
        }
    }
    if !occupied.is_empty() {
        if !force {
            return Err(StoreError::Restore(format!(
                "the store is not empty: {}; restore into an empty database, or pass --force to replace its contents",
                occupied.join(", ")
            )));
        }
        sqlx::query(&format!("TRUNCATE {}", TABLES.join(", "))).execute(&mut *tx).await.map_err(db)?;
    }
    let mut refs = std::collections::HashMap::new();
    for record in &backup.records {
        match record {
            Record::Incident(i) => {
                put_incident(&mut tx, i).await?;
                for r in &i.refs {
                    let key = (r.desk.as_str().to_owned(), r.remote_id.as_str().to_owned());
                    if let Some(other) = refs.insert(key, i.id.clone()).filter(|other| *other != i.id) {
                        return Err(StoreError::Restore(format!(
                            "{} ticket {} is referred to by both {other} and {}",
                            r.desk, r.remote_id, i.id
                        )));
                    }
                }
            }
            Record::Idempotency(r) => {
                sqlx::query("INSERT INTO idempotency (desk, key, fingerprint, incident) VALUES ($1, $2, $3, $4)")
                    .bind(r.desk.as_str())
                    .bind(&r.key)
                    .bind(&r.fingerprint)
                    .bind(r.incident.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            Record::Outbox(item) => outbox::insert(&mut tx, item).await?,
            Record::DeadLetter(letter) => outbox::insert_dead(&mut tx, letter).await?,
            Record::Audit(a) => {
                sqlx::query("INSERT INTO audit (seq, body) VALUES ($1, $2::jsonb)")
                    .bind(seq_i64(a.seq))
                    .bind(encode(&a.entry))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            Record::Escalation(e) => put_escalation(&mut tx, e).await?,
            Record::Cursor(c) => {
                sqlx::query("INSERT INTO cursors (name, value) VALUES ($1, $2)")
                    .bind(&c.name)
                    .bind(&c.value)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            Record::Content(c) => {
                use base64::Engine;
                let content = base64::engine::general_purpose::STANDARD
                    .decode(&c.base64)
                    .map_err(|e| StoreError::Restore(format!("content {}: not base64: {e}", c.sha256)))?;
                // Content is named by its hash: one that does not match is corrupt.
                if crate::model::attachment::sha256_hex(&content) != c.sha256 {
                    return Err(StoreError::Restore(format!("content {}: the bytes do not have that hash", c.sha256)));
                }
                sqlx::query("INSERT INTO contents (sha256, content) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&c.sha256)
                    .bind(content)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
    }
    for ((desk, remote_id), incident) in &refs {
        sqlx::query("INSERT INTO refs (desk, remote_id, incident) VALUES ($1, $2, $3)")
            .bind(desk)
            .bind(remote_id)
            .bind(incident.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    if backup.sequences.incident > 0 {
        sqlx::query("INSERT INTO counters (name, value) VALUES ('incident', $1)")
            .bind(seq_i64(backup.sequences.incident))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    // New items and audit entries number past every restored one.
    let next = seq_i64(backup.sequences.item.max(1));
    sqlx::query("SELECT setval('item_seq', $1, false), setval(pg_get_serial_sequence('audit', 'seq'), $1, false)")
        .bind(next)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(backup.summary())
}
