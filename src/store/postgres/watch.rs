//! The escalation watch's read: the due escalations with the facts of their
//! incidents, in one query on the deadline index (what merely waits is not read).

use jiff::Timestamp;
use sqlx::postgres::PgPool;

use super::{db, decode, limit_i64, nanos};
use crate::store::{DueEscalation, StoreError};

pub(super) async fn due_for_watch(
    pool: &PgPool,
    by: Timestamp,
    limit: usize,
) -> Result<Vec<DueEscalation>, StoreError> {
    // The facts under the incident's own field names (see IncidentFacts).
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT e.body::text,
                (SELECT jsonb_build_object('id', i.body->'id', 'kind', i.body->'kind', 'status', i.body->'status',
                                           'priority', i.body->'priority', 'service', i.body->'service')::text
                 FROM incidents i WHERE i.id = e.incident)
         FROM escalations e
         WHERE e.deadline IS NOT NULL AND e.deadline <= $1 ORDER BY e.deadline, e.id LIMIT $2",
    )
    .bind(nanos(by))
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|(e, i)| Ok(DueEscalation { escalation: decode(e)?, incident: i.as_deref().map(decode).transpose()? }))
        .collect()
}
