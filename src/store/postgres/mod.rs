//! [`PgStore`]: the gateway's state in one PostgreSQL database that several
//! replicas share.
//!
//! The schema is `migrations/postgres/` (embedded, applied at start under
//! PostgreSQL's own migration lock, so replicas starting together apply it once).
//! Every method is one transaction; its COMMIT (with `synchronous_commit` on) is
//! what makes "2xx means durable" hold. What must be one across replicas is a
//! constraint of the database: one incident per desk ticket (`refs`), one use of
//! an idempotency key. A replica that loses such a race retries its transaction
//! and finds the winner's incident. Outbox items are leased (see `outbox.rs`);
//! the work only one replica may do is led through an advisory lock
//! (`leader.rs`).

mod accept;
mod backup;
mod leader;
mod outbox;
mod pages;
mod query;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
mod watch;

use std::sync::OnceLock;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};

use super::{
    AuditEntry, CreateOutcome, CreationPlan, DueDeliveries, EscalationChange, EscalationQuery, IdempotencyClaim,
    Leadership, ListQuery, Mutation, ReplayAudit, Store, StoreError, Viewer, backup::BackupSummary,
};
use crate::config::PostgresConfig;
use crate::escalation::Escalation;
use crate::model::{DeskId, Incident, IncidentId, NewIncident, TicketId, Timer};
use crate::outbox::{DeadLetter, Delivery, OutboxItem};

/// The embedded schema.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How often a transaction that lost a uniqueness race to another replica is tried
/// again (the next try sees the winner and replays it).
const RACE_RETRIES: usize = 5;

pub struct PgStore {
    pool: PgPool,
    options: PgConnectOptions,
    /// Set once the schema is known to be current.
    migrated: tokio::sync::OnceCell<()>,
    leadership: OnceLock<Leadership>,
    /// Dropped with the store: the leadership task stops and lets go of the lock.
    stop_leading: tokio::sync::watch::Sender<()>,
    /// A delivery's lease: the bounds on a silent replica's sessions follow it.
    lease: std::time::Duration,
}

pub(crate) type Tx<'a> = Transaction<'a, Postgres>;
type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

pub(crate) fn db(e: sqlx::Error) -> StoreError {
    // sqlx's messages name the server and the failing statement, never the password.
    StoreError::Io(format!("postgres: {e}"))
}

fn migrate_error(e: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Io(format!("postgres: applying the schema: {e}"))
}

pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn encode<T: Serialize>(value: &T) -> String {
    // Serialising our own plain data types cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// A sequence number as the database keeps it (BIGINT).
pub(crate) fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(crate) fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// An instant as the indexed columns keep it: nanoseconds since the epoch.
pub(crate) fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_nanosecond() < 0 { i64::MIN } else { i64::MAX })
}

/// Whether the error is a unique constraint another transaction won.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

impl PgStore {
    /// A store on the database `config` names, connecting on first use (the schema
    /// is applied then).
    pub fn open_lazy(config: &PostgresConfig) -> Result<Self, StoreError> {
        let mut options: PgConnectOptions = config
            .url
            .parse()
            .map_err(|e| StoreError::Io(format!("postgres: gateway.store.url is not a PostgreSQL URL: {e}")))?;
        if let Some(password) = &config.password {
            options = options.password(password.expose());
        }
        // Every COMMIT is on disk (and on synchronous standbys) before it returns.
        options = options.options([("synchronous_commit", "on")]).application_name("deskgate");
        options = leader::bounded(options, config.lease);
        let pool = PgPoolOptions::new()
            .max_connections(config.pool_size.max(1))
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_lazy_with(options.clone());
        Ok(Self {
            pool,
            options,
            migrated: tokio::sync::OnceCell::new(),
            leadership: OnceLock::new(),
            stop_leading: tokio::sync::watch::channel(()).0,
            lease: config.lease,
        })
    }

    /// Connect now and bring the schema up to date.
    pub async fn connect(config: &PostgresConfig) -> Result<Self, StoreError> {
        let store = Self::open_lazy(config)?;
        store.pool().await?;
        Ok(store)
    }

    /// The pool, once the schema is current.
    async fn pool(&self) -> Result<&PgPool, StoreError> {
        self.migrated.get_or_try_init(|| async { MIGRATOR.run(&self.pool).await.map_err(migrate_error) }).await?;
        Ok(&self.pool)
    }

    async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        self.pool().await?.begin().await.map_err(db)
    }
}

/// The columns listings filter on, taken from the incident itself.
struct Columns {
    status: &'static str,
    priority: Option<&'static str>,
    parties: Vec<String>,
    /// Each [`Timer`]'s instant, in nanoseconds, in the order of [`Timer::ALL`]:
    /// `deferred_ns`, `auto_close_ns`, `rca_due_ns`.
    timers: [Option<i64>; 3],
}

/// The column holding `timer`'s instant.
fn timer_column(timer: Timer) -> &'static str {
    match timer {
        Timer::Deferral => "deferred_ns",
        Timer::AutoClose => "auto_close_ns",
        Timer::RcaDue => "rca_due_ns",
    }
}

fn columns(i: &Incident) -> Columns {
    let mut parties = vec![i.origin.desk.as_str().to_owned()];
    if let Some(a) = &i.assignee {
        if !parties.iter().any(|p| p == a.as_str()) {
            parties.push(a.as_str().to_owned());
        }
    }
    let timers = Timer::ALL.map(|t| i.timer(t).map(nanos));
    Columns { status: i.status.as_str(), priority: i.priority.map(|p| p.as_str()), parties, timers }
}

/// `query` with an incident row's sixteen columns bound as `$1` … `$16`, in the
/// order `id, body, status, priority, service, created_at, updated_at, origin_desk,
/// assignee, parties, seq, updated_ns, updated_ms, deferred_ns, auto_close_ns,
/// rca_due_ns`; the statement binds its own arguments after them.
fn bind_incident_row<'q>(query: PgQuery<'q>, i: &'q Incident) -> PgQuery<'q> {
    let c = columns(i);
    query
        .bind(i.id.as_str())
        .bind(encode(i))
        .bind(c.status)
        .bind(c.priority)
        .bind(i.service.as_str())
        .bind(i.created_at.to_string())
        .bind(i.updated_at.to_string())
        .bind(i.origin.desk.as_str())
        .bind(i.assignee.as_ref().map(|a| a.as_str()))
        .bind(c.parties)
        .bind(super::sequence_of(&i.id).map_or(0, seq_i64))
        .bind(nanos(i.updated_at))
        .bind(i.updated_at.as_millisecond())
        .bind(c.timers[0])
        .bind(c.timers[1])
        .bind(c.timers[2])
}

/// Insert or replace an incident row.
async fn put_incident(tx: &mut Tx<'_>, i: &Incident) -> Result<(), StoreError> {
    let upsert = sqlx::query(
        "INSERT INTO incidents
           (id, body, status, priority, service, created_at, updated_at, origin_desk, assignee, parties, seq, updated_ns, updated_ms,
            deferred_ns, auto_close_ns, rca_due_ns)
         VALUES ($1, $2::jsonb, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, status = EXCLUDED.status, priority = EXCLUDED.priority,
           service = EXCLUDED.service, updated_at = EXCLUDED.updated_at, assignee = EXCLUDED.assignee,
           parties = EXCLUDED.parties, updated_ns = EXCLUDED.updated_ns, updated_ms = EXCLUDED.updated_ms,
           deferred_ns = EXCLUDED.deferred_ns, auto_close_ns = EXCLUDED.auto_close_ns, rca_due_ns = EXCLUDED.rca_due_ns",
    );
    bind_incident_row(upsert, i).execute(&mut **tx).await.map_err(db)?;
    Ok(())
}

/// The incident, locked for this transaction.
async fn get_incident_for_update(tx: &mut Tx<'_>, id: &str) -> Result<Option<Incident>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT body::text FROM incidents WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?;
    row.map(|(b,)| decode(&b)).transpose()
}

/// Index every ref of `incident`, refusing a ref another incident holds (whichever
/// replica stored it: the constraint decides).
async fn index_refs(tx: &mut Tx<'_>, incident: &Incident) -> Result<(), StoreError> {
    for r in &incident.refs {
        sqlx::query("INSERT INTO refs (desk, remote_id, incident) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(r.desk.as_str())
            .bind(r.remote_id.as_str())
            .bind(incident.id.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        let (holder,): (String,) = sqlx::query_as("SELECT incident FROM refs WHERE desk = $1 AND remote_id = $2")
            .bind(r.desk.as_str())
            .bind(r.remote_id.as_str())
            .fetch_one(&mut **tx)
            .await
            .map_err(db)?;
        if holder != incident.id.as_str() {
            let other = holder.parse().map_err(|_| StoreError::Corrupt(format!("refs entry {holder:?}")))?;
            return Err(StoreError::RefTaken { desk: r.desk.clone(), remote_id: r.remote_id.clone(), incident: other });
        }
    }
    Ok(())
}

async fn audit_in(tx: &mut Tx<'_>, entry: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (body) VALUES ($1::jsonb)")
        .bind(encode(entry))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

async fn put_escalation(tx: &mut Tx<'_>, e: &Escalation) -> Result<(), StoreError> {
    let deadline = e.deadline.filter(|_| e.state.is_waiting()).map(nanos);
    sqlx::query(
        "INSERT INTO escalations (id, incident, deadline, body) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (id) DO UPDATE SET deadline = EXCLUDED.deadline, body = EXCLUDED.body",
    )
    .bind(&e.id)
    .bind(&e.incident_id)
    .bind(deadline)
    .bind(encode(e))
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn create_incident(
        &self,
        new: NewIncident,
        idempotency: Option<IdempotencyClaim>,
        audit: AuditEntry,
        now: Timestamp,
        plan: CreationPlan<'_>,
    ) -> Result<CreateOutcome, StoreError> {
        for _ in 0..RACE_RETRIES {
            let tx = self.begin().await?;
            if let Some(outcome) = accept::try_create(tx, &new, idempotency.as_ref(), &audit, now, plan).await? {
                return Ok(outcome);
            }
        }
        Err(StoreError::Io("postgres: the submission kept racing another replica's; try again".into()))
    }

    async fn update_incident(
        &self,
        id: &IncidentId,
        mutate: Mutation<'_>,
        audit: AuditEntry,
    ) -> Result<Incident, StoreError> {
        let mut tx = self.begin().await?;
        let Some(mut current) = get_incident_for_update(&mut tx, id.as_str()).await? else {
            return Err(StoreError::NotFound(id.clone()));
        };
        let effects = mutate(&mut current)?;
        if !effects.changed {
            return Ok(current);
        }
        put_incident(&mut tx, &current).await?;
        index_refs(&mut tx, &current).await?;
        outbox::enqueue(&mut tx, &current, &effects.deliveries, current.updated_at, audit.request_id.as_deref())
            .await?;
        for e in &effects.escalations {
            put_escalation(&mut tx, e).await?;
        }
        let entry = AuditEntry { incident: Some(id.to_string()), ..audit };
        audit_in(&mut tx, &entry).await?;
        tx.commit().await.map_err(db)?;
        Ok(current)
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT body::text FROM incidents WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.pool().await?)
            .await
            .map_err(db)?;
        row.map(|(b,)| decode(&b)).transpose()
    }

    async fn find_by_ref(&self, desk: &DeskId, remote_id: &TicketId) -> Result<Option<IncidentId>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT incident FROM refs WHERE desk = $1 AND remote_id = $2")
            .bind(desk.as_str())
            .bind(remote_id.as_str())
            .fetch_optional(self.pool().await?)
            .await
            .map_err(db)?;
        row.map(|(id,)| id.parse().map_err(|_| StoreError::Corrupt("refs value is not an incident id".into())))
            .transpose()
    }

    async fn list_incidents(&self, query: &ListQuery) -> Result<Vec<Incident>, StoreError> {
        query::list(self.pool().await?, query).await
    }

    async fn count_incidents(&self, query: &ListQuery, at_most: usize) -> Result<usize, StoreError> {
        query::count(self.pool().await?, query, at_most).await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit (body) VALUES ($1::jsonb)")
            .bind(encode(&entry))
            .execute(self.pool().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn audit_log(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, body::text FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")
                // Restored entries may start at 0 (sled numbers from 0).
                .bind(after.map_or(-1, seq_i64))
                .bind(limit_i64(limit))
                .fetch_all(self.pool().await?)
                .await
                .map_err(db)?;
        rows.iter().map(|(seq, b)| Ok((*seq as u64, decode(b)?))).collect()
    }

    async fn is_ready(&self) -> bool {
        match self.pool().await {
            Ok(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
            Err(_) => false,
        }
    }

    async fn export(&self, out: &mut (dyn std::io::Write + Send)) -> Result<BackupSummary, StoreError> {
        backup::export(self.pool().await?, out).await
    }

    async fn import(
        &self,
        input: &mut (dyn std::io::BufRead + Send),
        force: bool,
    ) -> Result<BackupSummary, StoreError> {
        let backup = super::backup::read(input)?;
        backup::import(self.pool().await?, &backup, force).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // Every method's COMMIT was durable already.
        Ok(())
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        outbox::list(self.pool().await?, limit).await
    }

    async fn outbox_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        pages::page(self.pool().await?, pages::OUTBOX, after, desk, limit).await
    }

    async fn dead_letters_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        pages::page(self.pool().await?, pages::DEAD_LETTERS, after, desk, limit).await
    }

    async fn outbox_for(&self, incident: &IncidentId, desk: Option<&DeskId>) -> Result<Vec<OutboxItem>, StoreError> {
        query::outbox_for(self.pool().await?, incident, desk).await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<DueDeliveries, StoreError> {
        query::due_deliveries(self.pool().await?, now, limit).await
    }

    async fn due_escalations(&self, by: Timestamp, limit: usize) -> Result<Vec<Escalation>, StoreError> {
        query::due_escalations(self.pool().await?, by, limit).await
    }

    async fn due_timers(&self, query: &super::TimerQuery<'_>) -> Result<Vec<super::DueTimer>, StoreError> {
        query::due_timers(self.pool().await?, query).await
    }

    async fn due_for_watch(&self, by: Timestamp, limit: usize) -> Result<Vec<super::DueEscalation>, StoreError> {
        watch::due_for_watch(self.pool().await?, by, limit).await
    }

    async fn escalations_of(&self, incident: &IncidentId) -> Result<Vec<Escalation>, StoreError> {
        query::escalations_of(self.pool().await?, incident).await
    }

    async fn outbox_item(&self, seq: u64) -> Result<Option<OutboxItem>, StoreError> {
        outbox::item(self.pool().await?, seq).await
    }

    async fn complete_delivery(
        &self,
        seq: u64,
        incident: &IncidentId,
        mutate: Option<Mutation<'_>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM outbox WHERE seq = $1").bind(seq_i64(seq)).execute(&mut *tx).await.map_err(db)?;
        if let Some(mutate) = mutate {
            let Some(mut current) = get_incident_for_update(&mut tx, incident.as_str()).await? else {
                return Err(StoreError::NotFound(incident.clone()));
            };
            let effects = mutate(&mut current)?;
            if effects.changed {
                put_incident(&mut tx, &current).await?;
                index_refs(&mut tx, &current).await?;
                outbox::enqueue(&mut tx, &current, &effects.deliveries, current.updated_at, None).await?;
            }
        }
        tx.commit().await.map_err(db)
    }

    async fn reschedule_delivery(&self, item: &OutboxItem) -> Result<(), StoreError> {
        outbox::reschedule(self.pool().await?, item).await
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        outbox::dead_letter(self.pool().await?, &letter).await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        outbox::dead_letters(self.pool().await?, limit).await
    }

    async fn replay_dead_letter(
        &self,
        seq: u64,
        now: Timestamp,
        audit: ReplayAudit<'_>,
    ) -> Result<OutboxItem, StoreError> {
        let mut tx = self.begin().await?;
        let item = outbox::replay(&mut tx, seq, now).await?;
        audit_in(&mut tx, &audit(&item)).await?;
        tx.commit().await.map_err(db)?;
        Ok(item)
    }

    async fn escalation(&self, id: &str) -> Result<Option<Escalation>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT body::text FROM escalations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(db)?;
        row.map(|(b,)| decode(&b)).transpose()
    }

    async fn escalations(&self, query: &EscalationQuery) -> Result<Vec<Escalation>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let party = match &query.viewer {
            Viewer::Everything => None,
            Viewer::PartyTo(desk) => Some(desk.as_str()),
        };
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT e.body::text FROM escalations e
             WHERE ($1::bigint IS NULL OR e.deadline <= $1) AND ($4::text IS NULL OR e.id > $4)
               AND ($2::text IS NULL OR EXISTS (
                 SELECT 1 FROM incidents i WHERE i.id = e.incident AND i.parties @> ARRAY[$2::text]))
             ORDER BY e.id LIMIT $3",
        )
        .bind(query.due_by.map(nanos))
        .bind(party)
        .bind(limit_i64(query.limit))
        .bind(query.after.as_deref())
        .fetch_all(self.pool().await?)
        .await
        .map_err(db)?;
        rows.iter().map(|(b,)| decode(b)).collect()
    }

    async fn update_escalation(
        &self,
        id: &str,
        now: Timestamp,
        change: EscalationChange<'_>,
        audit: Option<AuditEntry>,
    ) -> Result<Escalation, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<(String,)> = sqlx::query_as("SELECT body::text FROM escalations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some((body,)) = row else { return Err(StoreError::NoEscalation(id.to_owned())) };
        let mut escalation: Escalation = decode(&body)?;
        // Locked, as a change of the incident locks it: that change is either before
        // this one (and seen) or after it; and the lane's items enter in the order of
        // the incident's changes.
        let incident = get_incident_for_update(&mut tx, &escalation.incident_id).await?;
        let facts = incident.as_ref().map(crate::escalation::IncidentFacts::of);
        let deliveries: Vec<Delivery> = change(&mut escalation, facts.as_ref())?;
        put_escalation(&mut tx, &escalation).await?;
        if !deliveries.is_empty() {
            let Some(incident) = &incident else {
                return Err(StoreError::Corrupt(format!(
                    "escalation {id} refers to a missing incident {}",
                    escalation.incident_id
                )));
            };
            outbox::enqueue(&mut tx, incident, &deliveries, now, None).await?;
        }
        if let Some(entry) = &audit {
            let entry = AuditEntry { incident: Some(escalation.incident_id.clone()), ..entry.clone() };
            audit_in(&mut tx, &entry).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(escalation)
    }

    async fn put_content(&self, content: bytes::Bytes) -> Result<(String, bool), StoreError> {
        let sha256 = crate::model::attachment::sha256_hex(&content);
        // Named by its hash: content already there is this content.
        let new = sqlx::query("INSERT INTO contents (sha256, content) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&sha256)
            .bind(content.as_ref())
            .execute(self.pool().await?)
            .await
            .map_err(db)?
            .rows_affected()
            == 1;
        Ok((sha256, new))
    }

    async fn content(&self, sha256: &str) -> Result<Option<bytes::Bytes>, StoreError> {
        let row = sqlx::query("SELECT content FROM contents WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(db)?;
        row.map(|r| r.try_get::<Vec<u8>, _>(0).map(bytes::Bytes::from).map_err(db)).transpose()
    }

    async fn content_count(&self) -> Result<usize, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM contents").fetch_one(self.pool().await?).await.map_err(db)?;
        Ok(n as usize)
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(db)?;
        Ok(row.map(|(v,)| v))
    }

    async fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = $2")
            .bind(name)
            .bind(value)
            .execute(self.pool().await?)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn lease_delivery(
        &self,
        seq: u64,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let mut tx = self.begin().await?;
        let item = outbox::lease(&mut tx, seq, holder, now, until).await?;
        tx.commit().await.map_err(db)?;
        Ok(item)
    }

    async fn renew_lease(&self, seq: u64, holder: &str, until: Timestamp) -> Result<bool, StoreError> {
        outbox::renew(self.pool().await?, seq, holder, until).await
    }

    async fn release_leases(&self, holder: &str) -> Result<u64, StoreError> {
        outbox::release(self.pool().await?, holder).await
    }

    fn leadership(&self) -> Leadership {
        self.leadership
            .get_or_init(|| leader::start(self.options.clone(), self.lease, self.stop_leading.subscribe()))
            .clone()
    }
}
