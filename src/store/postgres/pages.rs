//! The operators' listings of the outbox and the dead letters, a page at a time:
//! from a sequence number on, by the primary key (or the desk's index), never a scan
//! of what comes before.

use sqlx::postgres::PgPool;

use super::{db, decode, limit_i64, seq_i64};
use crate::model::DeskId;
use crate::outbox::{DeadLetter, OutboxItem};
use crate::store::StoreError;

pub(super) async fn outbox(
    pool: &PgPool,
    after: Option<u64>,
    desk: Option<&DeskId>,
    limit: usize,
) -> Result<Vec<OutboxItem>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body::text FROM outbox WHERE seq > $1 AND ($2::text IS NULL OR desk = $2) ORDER BY seq LIMIT $3",
    )
    .bind(after.map_or(-1, seq_i64))
    .bind(desk.map(|d| d.as_str()))
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}

pub(super) async fn dead_letters(
    pool: &PgPool,
    after: Option<u64>,
    desk: Option<&DeskId>,
    limit: usize,
) -> Result<Vec<DeadLetter>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body::text FROM dead_letters WHERE seq > $1 AND ($2::text IS NULL OR desk = $2) ORDER BY seq LIMIT $3",
    )
    .bind(after.map_or(-1, seq_i64))
    .bind(desk.map(|d| d.as_str()))
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}
