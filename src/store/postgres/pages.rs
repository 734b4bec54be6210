//! The operators' listings of the outbox and the dead letters, a page at a time:
//! from a sequence number on, by the primary key (or the desk's index), never a scan
//! of what comes before.

use serde::de::DeserializeOwned;
use sqlx::postgres::PgPool;

use super::{db, decode, limit_i64, seq_i64};
use crate::model::DeskId;
use crate::store::StoreError;

/// The waiting deliveries' page, for [`page`].
pub(super) const OUTBOX: &str =
    "SELECT body::text FROM outbox WHERE seq > $1 AND ($2::text IS NULL OR desk = $2) ORDER BY seq LIMIT $3";

/// The dead letters' page, for [`page`].
pub(super) const DEAD_LETTERS: &str =
    "SELECT body::text FROM dead_letters WHERE seq > $1 AND ($2::text IS NULL OR desk = $2) ORDER BY seq LIMIT $3";

/// One page of a table keyed by `seq` with a `desk` column ([`OUTBOX`] or
/// [`DEAD_LETTERS`]): the rows after `after`, of `desk` only if given, at most `limit`.
pub(super) async fn page<T: DeserializeOwned>(
    pool: &PgPool,
    sql: &'static str,
    after: Option<u64>,
    desk: Option<&DeskId>,
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(sql)
        .bind(after.map_or(-1, seq_i64))
        .bind(desk.map(|d| d.as_str()))
        .bind(limit_i64(limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}
