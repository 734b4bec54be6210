//! Listings as SQL: every filter of [`ListQuery`] on an indexed column, the order
//! and keyset cursor on (seq | updated_ms, id), the offset skipped by the server;
//! the dispatcher's due lane heads and the watch's due escalations by index.

use jiff::Timestamp;
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder};

use super::{db, decode, limit_i64, nanos, seq_i64};
use crate::escalation::Escalation;
use crate::model::{DeskId, Incident, IncidentId};
use crate::outbox::OutboxItem;
use crate::store::{DueDeliveries, DueTimer, ListQuery, OrderBy, StoreError, TimerQuery, Viewer, sequence_of};

/// `WHERE` with every filter of `q` (cursor, offset and limit aside).
fn filters<'a>(sql: &mut QueryBuilder<'a, Postgres>, q: &'a ListQuery) {
    sql.push(" WHERE TRUE");
    if let Some(s) = q.status {
        sql.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(any) = &q.status_in {
        let any: Vec<&'static str> = any.iter().map(|s| s.as_str()).collect();
        sql.push(" AND status = ANY(").push_bind(any).push(")");
    }
    if let Some(p) = q.priority {
        sql.push(" AND priority = ").push_bind(p.as_str());
    }
    if let Some(s) = &q.service {
        sql.push(" AND service = ").push_bind(s.as_str());
    }
    if let Viewer::PartyTo(desk) = &q.viewer {
        sql.push(" AND parties @> ARRAY[").push_bind(desk.as_str()).push("::text]");
    }
    if let Some(t) = q.updated_since {
        sql.push(" AND updated_ns >= ").push_bind(nanos(t));
    }
    if let Some(t) = q.updated_before {
        sql.push(" AND updated_ns < ").push_bind(nanos(t));
    }
    if let Some(n) = q.sequence {
        sql.push(" AND seq = ").push_bind(seq_i64(n));
    }
    if let Some((desk, ticket)) = &q.reference {
        sql.push(" AND id IN (SELECT incident FROM refs WHERE desk = ")
            .push_bind(desk.as_str())
            .push(" AND remote_id = ")
            .push_bind(ticket.as_str())
            .push(")");
    }
}

pub(super) async fn list(pool: &PgPool, q: &ListQuery) -> Result<Vec<Incident>, StoreError> {
    if q.limit == 0 {
        return Ok(Vec::new());
    }
    let mut sql = QueryBuilder::new("SELECT body::text FROM incidents");
    filters(&mut sql, q);
    let (cmp, dir) = if q.order.descending { ("<", "DESC") } else { (">", "ASC") };
    // The cursor: after this incident in the query's order (ties by id).
    let after = match (&q.cursor, &q.after) {
        (Some(c), _) => Some((c.id.as_str(), Some(c.updated_at))),
        (None, Some(id)) => Some((id.as_str(), None)),
        (None, None) => None,
    };
    if let Some((id, updated)) = after {
        match (q.order.by, updated) {
            (OrderBy::Id, _) => {
                sql.push(format!(" AND id {cmp} ")).push_bind(id);
            }
            // An id alone is no position in the order of changes.
            (OrderBy::Updated, None) => {}
            (OrderBy::Created, _) => {
                let seq = sequence_of(&id.parse::<IncidentId>().map_err(|_| bad_cursor())?).map_or(0, seq_i64);
                sql.push(format!(" AND (seq, id) {cmp} (")).push_bind(seq).push(", ").push_bind(id).push(")");
            }
            (OrderBy::Updated, Some(at)) => {
                sql.push(format!(" AND (updated_ms, id) {cmp} ("))
                    .push_bind(at.as_millisecond())
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
        }
    }
    match q.order.by {
        OrderBy::Id => sql.push(format!(" ORDER BY id {dir}")),
        OrderBy::Created => sql.push(format!(" ORDER BY seq {dir}, id {dir}")),
        OrderBy::Updated => sql.push(format!(" ORDER BY updated_ms {dir}, id {dir}")),
    };
    sql.push(" OFFSET ").push_bind(limit_i64(q.offset)).push(" LIMIT ").push_bind(limit_i64(q.limit));
    let rows: Vec<(String,)> = sql.build_query_as().fetch_all(pool).await.map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}

fn bad_cursor() -> StoreError {
    StoreError::Corrupt("a listing cursor that is not an incident id".into())
}

pub(super) async fn count(pool: &PgPool, q: &ListQuery, at_most: usize) -> Result<usize, StoreError> {
    let mut sql = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM incidents");
    filters(&mut sql, q);
    sql.push(" LIMIT ").push_bind(limit_i64(at_most)).push(") AS matching");
    let (n,): (i64,) = sql.build_query_as().fetch_one(pool).await.map_err(db)?;
    Ok(n as usize)
}

pub(super) async fn outbox_for(
    pool: &PgPool,
    incident: &IncidentId,
    desk: Option<&DeskId>,
) -> Result<Vec<OutboxItem>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body::text FROM outbox WHERE incident = $1 AND ($2::text IS NULL OR desk = $2) ORDER BY seq",
    )
    .bind(incident.as_str())
    .bind(desk.map(|d| d.as_str()))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}

/// Lane heads (no earlier item in the lane, no dead letter holding it), in due order.
const HEADS: &str = "FROM outbox o
     WHERE NOT EXISTS (SELECT 1 FROM outbox p WHERE p.incident = o.incident AND p.desk = o.desk AND p.seq < o.seq)
       AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.incident = o.incident AND d.desk = o.desk)";

pub(super) async fn due_deliveries(pool: &PgPool, now: Timestamp, limit: usize) -> Result<DueDeliveries, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT o.body::text {HEADS} AND o.not_before <= $1 ORDER BY o.not_before, o.seq LIMIT $2"
    ))
    .bind(nanos(now))
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let items = rows.iter().map(|(b,)| decode(b)).collect::<Result<Vec<OutboxItem>, _>>()?;
    let next: Option<(String,)> = sqlx::query_as(&format!(
        "SELECT o.body::text {HEADS} AND o.not_before > $1 ORDER BY o.not_before, o.seq LIMIT 1"
    ))
    .bind(nanos(now))
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    let next_due = next.map(|(b,)| decode::<OutboxItem>(&b)).transpose()?.map(|i| i.not_before);
    Ok(DueDeliveries { items, next_due })
}

pub(super) async fn due_escalations(pool: &PgPool, by: Timestamp, limit: usize) -> Result<Vec<Escalation>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body::text FROM escalations WHERE deadline IS NOT NULL AND deadline <= $1 ORDER BY deadline, id LIMIT $2",
    )
    .bind(nanos(by))
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}

pub(super) async fn due_timers(pool: &PgPool, q: &TimerQuery<'_>) -> Result<Vec<DueTimer>, StoreError> {
    let column = super::timer_column(q.timer);
    let sql = format!(
        "SELECT id, {column} FROM incidents WHERE {column} IS NOT NULL AND {column} <= $1 \
         AND ($2::bigint IS NULL OR ({column}, id) > ($2, $3)) ORDER BY {column}, id LIMIT $4"
    );
    let rows: Vec<(String, i64)> = sqlx::query_as(&sql)
        .bind(nanos(q.by))
        .bind(q.after.map(|a| nanos(a.at)))
        .bind(q.after.map(|a| a.incident.as_str()))
        .bind(limit_i64(q.limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.into_iter()
        .map(|(id, at)| {
            let incident = id.parse().map_err(|_| StoreError::Corrupt(format!("incident id {id:?}")))?;
            Ok(DueTimer {
                at: Timestamp::from_nanosecond(i128::from(at)).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                incident,
            })
        })
        .collect()
}

pub(super) async fn escalations_of(pool: &PgPool, incident: &IncidentId) -> Result<Vec<Escalation>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT body::text FROM escalations WHERE incident = $1 ORDER BY id")
        .bind(incident.as_str())
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(|(b,)| decode(b)).collect()
}
