//! The outbox in PostgreSQL: items in `seq` order, a lane being (incident, desk);
//! leases so that several replicas deliver each lane in order, one at a time.
//!
//! Only a lane's head may be leased, and only while no other holder's lease on it
//! is in force and no dead letter holds the lane: an item is delivered by one
//! replica, after every earlier item of its lane is done. A replica that dies
//! keeps its lease until `lease_until`; then another takes the item. A delivery
//! that runs long renews its lease ([`renew`]); a replica that stops ends its
//! leases at once ([`release`]). `FOR UPDATE
//! SKIP LOCKED` keeps replicas from waiting on a head another is leasing now.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgPool;

use super::{Tx, db, decode, encode, limit_i64, nanos, seq_i64};
use crate::model::Incident;
use crate::outbox::{DeadLetter, Delivery, OutboxItem};
use crate::store::StoreError;

/// Queue `deliveries` for `incident`, each with a fresh sequence number.
pub(super) async fn enqueue(
    tx: &mut Tx<'_>,
    incident: &Incident,
    deliveries: &[Delivery],
    now: Timestamp,
    request_id: Option<&str>,
) -> Result<(), StoreError> {
    for d in deliveries {
        let (seq,): (i64,) = sqlx::query_as("SELECT nextval('item_seq')").fetch_one(&mut **tx).await.map_err(db)?;
        let item = OutboxItem::queued(seq as u64, &incident.id, d, now, request_id);
        insert(tx, &item).await?;
    }
    Ok(())
}

/// Put `item` in the outbox under its own sequence number.
pub(super) async fn insert(tx: &mut Tx<'_>, item: &OutboxItem) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO outbox (seq, incident, desk, body, not_before) VALUES ($1, $2, $3, $4::jsonb, $5)")
        .bind(seq_i64(item.seq))
        .bind(item.incident.as_str())
        .bind(item.desk.as_str())
        .bind(encode(item))
        .bind(nanos(item.not_before))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

pub(super) async fn list(pool: &PgPool, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
    first(pool, "SELECT body::text FROM outbox ORDER BY seq LIMIT $1", limit).await
}

/// The first `limit` bodies `sql` lists (it takes the limit).
async fn first<T: DeserializeOwned>(pool: &PgPool, sql: &'static str, limit: usize) -> Result<Vec<T>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(sql).bind(limit_i64(limit)).fetch_all(pool).await.map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}

pub(super) async fn item(pool: &PgPool, seq: u64) -> Result<Option<OutboxItem>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT body::text FROM outbox WHERE seq = $1")
        .bind(seq_i64(seq))
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|(b,)| decode(&b)).transpose()
}

/// Tried again later: the item as given, its lease ended. Only if it is still
/// there: a concurrent replay or completion wins.
pub(super) async fn reschedule(pool: &PgPool, item: &OutboxItem) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET body = $2::jsonb, not_before = $3, leased_by = NULL, lease_until = NULL
         WHERE seq = $1",
    )
    .bind(seq_i64(item.seq))
    .bind(encode(item))
    .bind(nanos(item.not_before))
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn dead_letter(pool: &PgPool, letter: &DeadLetter) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("DELETE FROM outbox WHERE seq = $1")
        .bind(seq_i64(letter.item.seq))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    insert_dead(&mut tx, letter).await?;
    tx.commit().await.map_err(db)
}

pub(super) async fn insert_dead(tx: &mut Tx<'_>, letter: &DeadLetter) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dead_letters (seq, incident, desk, body) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (seq) DO UPDATE SET body = EXCLUDED.body",
    )
    .bind(seq_i64(letter.item.seq))
    .bind(letter.item.incident.as_str())
    .bind(letter.item.desk.as_str())
    .bind(encode(letter))
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn dead_letters(pool: &PgPool, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
    first(pool, "SELECT body::text FROM dead_letters ORDER BY seq LIMIT $1", limit).await
}

/// Move a dead letter back into the outbox, in its place in its lane, due `now`.
pub(super) async fn replay(tx: &mut Tx<'_>, seq: u64, now: Timestamp) -> Result<OutboxItem, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("DELETE FROM dead_letters WHERE seq = $1 RETURNING body::text")
        .bind(seq_i64(seq))
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?;
    let Some((body,)) = row else { return Err(StoreError::NoDeadLetter(seq)) };
    let letter: DeadLetter = decode(&body)?;
    let item = OutboxItem { attempts: 0, not_before: now, last_error: None, ..letter.item };
    insert(tx, &item).await?;
    Ok(item)
}

/// Lease item `seq` to `holder` until `until`, if it may be delivered now (see the
/// module's rules).
pub(super) async fn lease(
    tx: &mut Tx<'_>,
    seq: u64,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<Option<OutboxItem>, StoreError> {
    let row: Option<(String, Option<String>, bool)> = sqlx::query_as(
        "SELECT body::text, leased_by, coalesce(lease_until > $2::timestamptz, false) FROM outbox
         WHERE seq = $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(seq_i64(seq))
    .bind(now.to_string())
    .fetch_optional(&mut **tx)
    .await
    .map_err(db)?;
    // Gone (delivered, dead-lettered) or being leased by another replica right now.
    let Some((body, leased_by, in_force)) = row else { return Ok(None) };
    if in_force && leased_by.as_deref() != Some(holder) {
        return Ok(None);
    }
    let item: OutboxItem = decode(&body)?;
    if item.not_before > now {
        return Ok(None);
    }
    let (head, held): (Option<i64>, bool) = sqlx::query_as(
        "SELECT (SELECT min(seq) FROM outbox WHERE incident = $1 AND desk = $2),
                EXISTS (SELECT 1 FROM dead_letters WHERE incident = $1 AND desk = $2)",
    )
    .bind(item.incident.as_str())
    .bind(item.desk.as_str())
    .fetch_one(&mut **tx)
    .await
    .map_err(db)?;
    if head != Some(seq_i64(seq)) || held {
        return Ok(None);
    }
    sqlx::query("UPDATE outbox SET leased_by = $2, lease_until = $3::timestamptz WHERE seq = $1")
        .bind(seq_i64(seq))
        .bind(holder)
        .bind(until.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(Some(item))
}

/// Extend `holder`'s lease on `seq` to `until`; false when another holder has it
/// now or the item is gone (done, dead-lettered, replayed under a new lease).
pub(super) async fn renew(pool: &PgPool, seq: u64, holder: &str, until: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE outbox SET lease_until = $3::timestamptz WHERE seq = $1 AND leased_by = $2")
        .bind(seq_i64(seq))
        .bind(holder)
        .bind(until.to_string())
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

/// End every lease of `holder` (a replica shutting down): the items are due to
/// whoever looks next, as they were before it took them.
pub(super) async fn release(pool: &PgPool, holder: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE outbox SET leased_by = NULL, lease_until = NULL WHERE leased_by = $1")
        .bind(holder)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected())
}
