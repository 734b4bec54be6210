//! The accept path on PostgreSQL: a new incident in four round trips, whatever it
//! brings along.
//!
//! BEGIN; one statement that finds a replay (idempotency key, desk ticket) and, only
//! when there is none, takes the next incident number; one statement that writes the
//! incident with its refs, outbox items, escalations, idempotency key and audit
//! entry (rows passed as arrays, so its shape and so its cached prepared statement
//! are the same for any number of them); COMMIT. The counter row is locked from the
//! second round trip to COMMIT only: numbers still go out in commit order, and
//! accepts wait on each other for as short as can be. Uniqueness stays the
//! constraints' to decide: a lost race inserts no ref or key row, and the
//! transaction is tried again (it then finds the winner's incident).

use jiff::Timestamp;
use sqlx::Row;

use super::{Tx, db, decode, encode, is_unique_violation, nanos};
use crate::model::{Incident, IncidentId, NewIncident};
use crate::outbox::OutboxItem;
use crate::store::{AuditEntry, CreateOutcome, CreationPlan, IdempotencyClaim, StoreError};

/// Finds a replay; takes the next number only when there is none (an INSERT … SELECT
/// that proposes no row locks nothing).
const LOOKUP: &str = "
WITH idem AS (
  SELECT fingerprint, incident FROM idempotency WHERE $1::text IS NOT NULL AND desk = $1 AND key = $2
), ticket AS (
  SELECT incident FROM refs WHERE desk = $3 AND remote_id = $4
), next AS (
  INSERT INTO counters (name, value)
  SELECT 'incident', 1 WHERE NOT EXISTS (SELECT 1 FROM idem) AND NOT EXISTS (SELECT 1 FROM ticket)
  ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
  RETURNING value
)
SELECT (SELECT value FROM next),
       (SELECT fingerprint FROM idem),
       (SELECT i.body::text FROM incidents i
         WHERE i.id = coalesce((SELECT incident FROM idem), (SELECT incident FROM ticket))),
       coalesce((SELECT incident FROM idem), (SELECT incident FROM ticket))";

/// Everything a new incident writes, in one statement. The outbox items take their
/// numbers here, in the order given (a lane's items stay in order), and their bodies
/// get the number they took.
const WRITE: &str = "
WITH incident AS (
  INSERT INTO incidents
    (id, body, status, priority, service, created_at, updated_at, origin_desk, assignee, parties, seq, updated_ns, updated_ms,
     deferred_ns, auto_close_ns, rca_due_ns)
  VALUES ($1, $2::jsonb, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8, $9, $10, $11, $12, $13, $14, $15, $16)
), ref_rows AS (
  INSERT INTO refs (desk, remote_id, incident)
  SELECT d, r, $1 FROM unnest($17::text[], $18::text[]) AS t(d, r)
  ON CONFLICT DO NOTHING RETURNING 1
), items AS (
  SELECT nextval('item_seq') AS seq, d, b FROM unnest($19::text[], $20::text[]) WITH ORDINALITY AS t(d, b, n)
), outbox_rows AS (
  INSERT INTO outbox (seq, incident, desk, body, not_before)
  SELECT seq, $1, d, b::jsonb || jsonb_build_object('seq', seq), $21::bigint FROM items
), escalation_rows AS (
  INSERT INTO escalations (id, incident, deadline, body)
  SELECT id, i, deadline, b::jsonb
  FROM unnest($22::text[], $29::text[], $23::bigint[], $24::text[]) AS t(id, i, deadline, b)
  ON CONFLICT (id) DO UPDATE SET deadline = EXCLUDED.deadline, body = EXCLUDED.body
), key_row AS (
  INSERT INTO idempotency (desk, key, fingerprint, incident)
  SELECT $25::text, $26::text, $27::text, $1 WHERE $25::text IS NOT NULL
  ON CONFLICT DO NOTHING RETURNING 1
), audit_row AS (
  INSERT INTO audit (body) VALUES ($28::jsonb)
)
SELECT (SELECT count(*) FROM ref_rows), (SELECT count(*) FROM key_row)";

/// One try at storing `new`; `None`: another replica won a uniqueness race
/// meanwhile, try again.
pub(super) async fn try_create(
    mut tx: Tx<'_>,
    new: &NewIncident,
    idempotency: Option<&IdempotencyClaim>,
    audit: &AuditEntry,
    now: Timestamp,
    plan: CreationPlan<'_>,
) -> Result<Option<CreateOutcome>, StoreError> {
    let (next, fingerprint, existing, holder): (Option<i64>, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as(LOOKUP)
            .bind(idempotency.map(|c| c.desk.as_str()))
            .bind(idempotency.map(|c| c.key.as_str()))
            .bind(new.origin.desk.as_str())
            .bind(new.origin.ticket.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
    if let Some(holder) = holder {
        if let (Some(claim), Some(fingerprint)) = (idempotency, &fingerprint) {
            if *fingerprint != claim.fingerprint {
                return Err(StoreError::IdempotencyMismatch);
            }
        }
        return match existing {
            Some(body) => Ok(Some(CreateOutcome::Replayed(decode(&body)?))),
            None => Err(StoreError::Corrupt(format!("an idempotency key or ref points at missing {holder}"))),
        };
    }
    let Some(seq) = next else {
        return Err(StoreError::Corrupt("the incident counter gave no number".into()));
    };
    let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
    let mut incident = new.clone().into_incident(IncidentId::new(year, seq.max(1) as u64), now);
    let effects = plan(&mut incident);
    let entry = AuditEntry { incident: Some(incident.id.to_string()), ..audit.clone() };
    let (refs_won, key_won): (i64, i64) = write(&mut tx, &incident, &effects, idempotency, &entry, now).await?;
    if refs_won != incident.refs.len() as i64 || (idempotency.is_some() && key_won != 1) {
        // Another replica stored this ticket or used this key meanwhile.
        return Ok(None);
    }
    match tx.commit().await {
        Ok(()) => Ok(Some(CreateOutcome::Created(incident))),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(db(e)),
    }
}

async fn write(
    tx: &mut Tx<'_>,
    incident: &Incident,
    effects: &crate::store::Effects,
    idempotency: Option<&IdempotencyClaim>,
    audit: &AuditEntry,
    now: Timestamp,
) -> Result<(i64, i64), StoreError> {
    let (ref_desks, ref_ids): (Vec<&str>, Vec<&str>) =
        incident.refs.iter().map(|r| (r.desk.as_str(), r.remote_id.as_str())).unzip();
    let request_id = audit.request_id.clone();
    let (item_desks, item_bodies): (Vec<&str>, Vec<String>) = effects
        .deliveries
        .iter()
        .map(|d| {
            // The number is the database's (see WRITE).
            let item = OutboxItem::queued(0, &incident.id, d, now, request_id.as_deref());
            (d.desk.as_str(), encode(&item))
        })
        .unzip();
    let escalation_ids: Vec<&str> = effects.escalations.iter().map(|e| e.id.as_str()).collect();
    let deadlines: Vec<Option<i64>> =
        effects.escalations.iter().map(|e| e.deadline.filter(|_| e.state.is_waiting()).map(nanos)).collect();
    let escalation_incidents: Vec<&str> = effects.escalations.iter().map(|e| e.incident_id.as_str()).collect();
    let escalation_bodies: Vec<String> = effects.escalations.iter().map(encode).collect();
    let row = super::bind_incident_row(sqlx::query(WRITE), incident)
        .bind(ref_desks)
        .bind(ref_ids)
        .bind(item_desks)
        .bind(item_bodies)
        .bind(nanos(now))
        .bind(escalation_ids)
        .bind(deadlines)
        .bind(escalation_bodies)
        .bind(idempotency.map(|k| k.desk.as_str()))
        .bind(idempotency.map(|k| k.key.as_str()))
        .bind(idempotency.map(|k| k.fingerprint.as_str()))
        .bind(encode(audit))
        .bind(escalation_incidents)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
    Ok((row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?))
}
