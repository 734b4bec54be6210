//! Durable state behind one small trait.
//!
//! [`Store`] is what the rest of the gateway sees: incidents, the cross-reference
//! index in both directions, idempotency keys and the audit log. Every write method
//! returns only once its effect is durable on disk — "2xx means durable" (DESIGN §8)
//! is this trait's contract, so handlers answer as soon as a write returns.
//! [`SledStore`] is the embedded default; nothing outside this module names sled,
//! and [`open`] is the one place that picks the backend from `[gateway.store]`.
//!
//! The trait is shaped so a backend need not be sled: every method is async, and
//! what a listing keeps is data ([`ListQuery`], [`EscalationQuery`]) a backend can
//! translate into its own query, not a closure it can only call.

pub mod backup;
#[cfg(test)]
pub(crate) mod conformance;
#[cfg(test)]
pub(crate) mod counting;
mod group_commit;
pub mod leadership;
pub mod postgres;
mod sled_store;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::escalation::Escalation;
use crate::model::{
    Actor, DeskId, Incident, IncidentId, ModelError, NewIncident, Priority, Role, Service, Status, TicketId, Timer,
};
use crate::outbox::{DeadLetter, Delivery, OutboxItem};

pub use leadership::Leadership;
pub use postgres::PgStore;
pub use sled_store::SledStore;

/// Which backend holds the gateway's state: read from `[gateway.store]`.
pub use crate::config::StoreConfig;

/// Open the store `config` names: the one place that picks a backend.
pub fn open(config: &StoreConfig) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Sled { path, cache_mb } => Ok(std::sync::Arc::new(SledStore::open_with_cache(path, *cache_mb)?)),
        StoreConfig::Postgres(pg) => Ok(std::sync::Arc::new(PgStore::open_lazy(pg)?)),
    }
}

/// Open the store and make sure it answers: a database is reached and its schema
/// brought up to date before the gateway starts serving.
pub async fn connect(config: &StoreConfig) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Postgres(pg) => Ok(std::sync::Arc::new(PgStore::connect(pg).await?)),
        other => open(other),
    }
}

/// Whose view a listing is: what [`Incident::is_visible_to`] decides, as data a
/// backend can evaluate in its own query language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Every incident (the national desk; the gateway's own work).
    Everything,
    /// The incidents this desk is party to: it reported them (origin) or is
    /// assigned them.
    PartyTo(DeskId),
}

impl Viewer {
    /// The view of a desk with its role.
    pub fn of(actor: &Actor) -> Self {
        match actor.role {
            Role::National => Viewer::Everything,
            _ => Viewer::PartyTo(actor.desk.clone()),
        }
    }

    pub fn sees(&self, i: &Incident) -> bool {
        match self {
            Viewer::Everything => true,
            Viewer::PartyTo(desk) => i.has_party(desk),
        }
    }
}

/// Which incidents to list: those matching every filter given and visible to
/// `viewer`, in `order`, after the cursor, skipping `offset`, at most `limit`.
///
/// Every filter here is one a backend serves from an index (or a point lookup);
/// what it cannot index (free text, patterns on a title) the caller filters in
/// memory over a bounded number of candidates. Build one with [`ListQuery::all`]
/// and `..` so that fields added later take their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub service: Option<Service>,
    pub viewer: Viewer,
    /// Keyset cursor of [`OrderBy::Id`] and [`OrderBy::Created`]: continue after
    /// this id (not read for [`OrderBy::Updated`]). [`ListQuery::cursor`], when
    /// given, takes its place in every order.
    pub after: Option<IncidentId>,
    pub limit: usize,
    /// Any of these statuses (a remote state can stand for several); with
    /// `status`, both must hold.
    pub status_in: Option<Vec<Status>>,
    /// Changed at or after this instant.
    pub updated_since: Option<Timestamp>,
    /// Changed before this instant.
    pub updated_before: Option<Timestamp>,
    /// The incident with this sequence number (what the record numbers and issue
    /// keys of the dialects show); at most one incident.
    pub sequence: Option<u64>,
    /// The incident this desk's ticket is (its cross-reference); at most one
    /// incident.
    pub reference: Option<(DeskId, TicketId)>,
    pub order: ListOrder,
    /// Continue after this incident, in `order` (keyset paging).
    pub cursor: Option<ListCursor>,
    /// Matching incidents to skip before the first one returned (after the cursor).
    /// A backend skips them in its index; the cost grows with the offset, so callers
    /// bound it.
    pub offset: usize,
}

/// What a listing is ordered by; ties (and [`OrderBy::Id`]) in id order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OrderBy {
    /// By incident id (the store's key order).
    #[default]
    Id,
    /// By sequence number: the order incidents were created in.
    Created,
    /// By the time of the last change (to the millisecond), then id.
    Updated,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListOrder {
    pub by: OrderBy,
    pub descending: bool,
}

impl ListOrder {
    pub fn ascending(by: OrderBy) -> Self {
        Self { by, descending: false }
    }

    pub fn descending(by: OrderBy) -> Self {
        Self { by, descending: true }
    }
}

/// Where a page ended: its last incident's sort keys. The next page starts just
/// after it in the query's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCursor {
    pub id: IncidentId,
    pub updated_at: Timestamp,
}

impl ListCursor {
    pub fn of(i: &Incident) -> Self {
        Self { id: i.id.clone(), updated_at: i.updated_at }
    }
}

/// The sequence number in an incident id (`INC-2026-000042` → 42).
pub fn sequence_of(id: &IncidentId) -> Option<u64> {
    id.as_str().rsplit('-').next().and_then(|s| s.parse().ok())
}

impl ListQuery {
    /// Every incident, `limit` at a time.
    pub fn all(limit: usize) -> Self {
        Self {
            status: None,
            priority: None,
            service: None,
            viewer: Viewer::Everything,
            after: None,
            limit,
            status_in: None,
            updated_since: None,
            updated_before: None,
            sequence: None,
            reference: None,
            order: ListOrder::default(),
            cursor: None,
            offset: 0,
        }
    }

    /// Whether `i` is one the query asks for (cursor, offset and limit aside).
    pub fn matches(&self, i: &Incident) -> bool {
        self.viewer.sees(i)
            && self.status.is_none_or(|s| i.status == s)
            && self.status_in.as_ref().is_none_or(|any| any.contains(&i.status))
            && self.priority.is_none_or(|p| i.priority == Some(p))
            && self.service.as_ref().is_none_or(|s| &i.service == s)
            && self.updated_since.is_none_or(|t| i.updated_at >= t)
            && self.updated_before.is_none_or(|t| i.updated_at < t)
            && self.sequence.is_none_or(|n| sequence_of(&i.id) == Some(n))
            && self
                .reference
                .as_ref()
                .is_none_or(|(desk, ticket)| i.refs.iter().any(|r| &r.desk == desk && &r.remote_id == ticket))
    }

    /// Whether `i` comes after the query's cursor in its order (true without one).
    pub fn is_after_cursor(&self, i: &Incident) -> bool {
        use std::cmp::Ordering;
        let cmp = match (&self.cursor, &self.after) {
            (Some(c), _) => self.compare_to(i, &c.id, c.updated_at),
            // An id alone is no position in the order of changes.
            (None, Some(_)) if self.order.by == OrderBy::Updated => return true,
            (None, Some(id)) => self.compare_to(i, id, i.updated_at),
            (None, None) => return true,
        };
        cmp == Ordering::Greater
    }

    fn compare_to(&self, i: &Incident, id: &IncidentId, updated_at: Timestamp) -> std::cmp::Ordering {
        let by_id = || match self.order.by {
            OrderBy::Created => sequence_of(&i.id).cmp(&sequence_of(id)).then_with(|| i.id.cmp(id)),
            _ => i.id.cmp(id),
        };
        let natural = match self.order.by {
            OrderBy::Updated => i.updated_at.as_millisecond().cmp(&updated_at.as_millisecond()).then_with(by_id),
            _ => by_id(),
        };
        if self.order.descending { natural.reverse() } else { natural }
    }

    /// Sort `incidents` in the query's order.
    pub fn sort(&self, incidents: &mut [Incident]) {
        incidents.sort_by(|a, b| self.compare_to(a, &b.id, b.updated_at));
    }

    /// The query in memory over `incidents` (any order): the reference a backend's
    /// answer must equal, and the default for backends without indexes.
    pub fn apply(&self, incidents: impl IntoIterator<Item = Incident>) -> Vec<Incident> {
        let mut out: Vec<Incident> =
            incidents.into_iter().filter(|i| self.matches(i) && self.is_after_cursor(i)).collect();
        self.sort(&mut out);
        out.into_iter().skip(self.offset).take(self.limit).collect()
    }
}

/// Waiting deliveries that are due, for the dispatcher.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DueDeliveries {
    /// The head of every lane that is due (not held by a dead letter), earliest
    /// `not_before` first, at most the limit asked for.
    pub items: Vec<OutboxItem>,
    /// When the earliest lane head that is not yet due will be.
    pub next_due: Option<Timestamp>,
}

/// A page of the incidents whose `timer` is due by `by`: earliest first (ties by
/// id), after `after` (the last of the previous page), at most `limit`.
#[derive(Clone, Copy, Debug)]
pub struct TimerQuery<'a> {
    pub timer: Timer,
    pub by: Timestamp,
    pub after: Option<&'a DueTimer>,
    pub limit: usize,
}

/// An incident whose timer ([`Incident::timer`]) is due, and the instant it is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTimer {
    pub at: Timestamp,
    pub incident: IncidentId,
}

/// A due escalation with what its incident is now (`None`: not stored), for the
/// escalation watch.
#[derive(Clone, Debug, PartialEq)]
pub struct DueEscalation {
    pub escalation: Escalation,
    pub incident: Option<crate::escalation::IncidentFacts>,
}

/// The page of `all` (in `seq` order) after `after`, of `desk` only if given, at
/// most `limit`; `key` gives an entry's sequence number and desk.
fn page<T>(
    all: Vec<T>,
    key: impl Fn(&T) -> (u64, &DeskId),
    after: Option<u64>,
    desk: Option<&DeskId>,
    limit: usize,
) -> Vec<T> {
    let wanted = |t: &T| {
        let (seq, of) = key(t);
        after.is_none_or(|a| seq > a) && desk.is_none_or(|d| of == d)
    };
    all.into_iter().filter(wanted).take(limit).collect()
}

/// [`Store::due_escalations`], then each one's incident by id: what
/// [`Store::due_for_watch`] does on a backend without a join.
pub async fn due_with_incidents<S: Store + ?Sized>(
    store: &S,
    by: Timestamp,
    limit: usize,
) -> Result<Vec<DueEscalation>, StoreError> {
    let mut out = Vec::new();
    for escalation in store.due_escalations(by, limit).await? {
        let incident = match escalation.incident_id.parse::<IncidentId>() {
            Ok(id) => store.get_incident(&id).await?.map(|i| crate::escalation::IncidentFacts::of(&i)),
            Err(_) => None,
        };
        out.push(DueEscalation { escalation, incident });
    }
    Ok(out)
}

/// Which escalations to list, in id order, at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationQuery {
    /// Keyset cursor: only those with an id after this one.
    pub after: Option<String>,
    /// Only those waiting for an acknowledgement whose deadline is at or before this.
    pub due_by: Option<Timestamp>,
    /// Only those of incidents this viewer sees.
    pub viewer: Viewer,
    pub limit: usize,
}

impl EscalationQuery {
    pub fn all(limit: usize) -> Self {
        Self { after: None, due_by: None, viewer: Viewer::Everything, limit }
    }

    /// Whether `e`, of the incident `incident` (if stored), is one the query asks for.
    pub fn matches(&self, e: &Escalation, incident: Option<&Incident>) -> bool {
        let due = self.due_by.is_none_or(|by| e.state.is_waiting() && e.deadline.is_some_and(|d| d <= by));
        let visible = match self.viewer {
            Viewer::Everything => true,
            _ => incident.is_some_and(|i| self.viewer.sees(i)),
        };
        due && visible && self.after.as_ref().is_none_or(|after| e.id.as_str() > after.as_str())
    }
}

/// What a desk sent with `Idempotency-Key`, and a fingerprint of the request, so a
/// replay with the same key but a different body is recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub desk: DeskId,
    pub key: String,
    pub fingerprint: String,
}

/// The result of a submission.
#[derive(Clone, Debug, PartialEq)]
pub enum CreateOutcome {
    Created(Incident),
    /// The same submission was accepted before (same idempotency key, or the same
    /// desk ticket): nothing new was stored.
    Replayed(Incident),
}

impl CreateOutcome {
    pub fn incident(&self) -> &Incident {
        match self {
            CreateOutcome::Created(i) | CreateOutcome::Replayed(i) => i,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    Submitted,
    Replayed,
    Updated,
    Rejected,
}

/// One line of the audit log: who did what, or who was turned away and why.
/// Never holds tokens, secrets or the rejected text itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub kind: AuditKind,
    /// The registered desk, when the caller was one.
    pub desk: Option<String>,
    /// Who the caller said it was (`sub` of a verified token, for rejections).
    pub subject: Option<String>,
    pub incident: Option<String>,
    pub reason: String,
    pub request_id: Option<String>,
    /// Who chose `request_id`: the caller (`client`, an `X-Request-Id` it sent) or
    /// the gateway (`gateway`, ids starting `gw-`). A client's id is its claim only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id_source: Option<RequestIdSource>,
    /// The start of an `X-Request-Id` the gateway did not accept (sanitised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id_hint: Option<String>,
}

impl AuditEntry {
    /// An entry with when, what and why only; the `with_` setters add who and which.
    pub fn new(at: Timestamp, kind: AuditKind, reason: impl Into<String>) -> Self {
        Self {
            at,
            kind,
            desk: None,
            subject: None,
            incident: None,
            reason: reason.into(),
            request_id: None,
            request_id_source: None,
            request_id_hint: None,
        }
    }

    pub fn with_desk(mut self, desk: impl ToString) -> Self {
        self.desk = Some(desk.to_string());
        self
    }

    pub fn with_incident(mut self, incident: impl ToString) -> Self {
        self.incident = Some(incident.to_string());
        self
    }

    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

/// Who chose a request's id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestIdSource {
    /// The caller's `X-Request-Id`, accepted as sent.
    Client,
    /// Generated by the gateway (`gw-…`).
    #[default]
    Gateway,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("incident {0} not found")]
    NotFound(IncidentId),
    #[error("dead letter {0} not found")]
    NoDeadLetter(u64),
    #[error("escalation {0} not found")]
    NoEscalation(String),
    #[error("this Idempotency-Key was used before for a different request")]
    IdempotencyMismatch,
    #[error("{desk} ticket {remote_id} already refers to {incident}")]
    RefTaken { desk: DeskId, remote_id: TicketId, incident: IncidentId },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("storage failure: {0}")]
    Io(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Another process holds the store (sled takes an exclusive lock on open).
    #[error("the data directory {0} is in use by another process — is the gateway running on it? Stop it first")]
    Locked(String),
    #[error("restore refused: {0}")]
    Restore(String),
}

/// What a mutation did: whether the incident changed, and what remote desks must be
/// told about it. The deliveries enter the outbox in the same transaction, and so
/// do the escalations the change opened (a new or upgraded P1/P2): an accepted
/// change never lacks the escalation it called for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    pub changed: bool,
    pub deliveries: Vec<Delivery>,
    /// Escalation records to store, keyed by their id (their notifications are
    /// among `deliveries`).
    pub escalations: Vec<Escalation>,
}

impl Effects {
    pub fn unchanged() -> Self {
        Self::default()
    }
}

/// A change applied inside the store's transaction: gets the current incident and
/// says what it did. It may run more than once under contention, so it must be a
/// pure function of its input.
pub type Mutation<'a> = &'a (dyn Fn(&mut Incident) -> Result<Effects, ModelError> + Send + Sync);

/// What a newly created incident causes: its deliveries and escalations. It may
/// also mark the incident before it is first stored (a deferred report); `changed`
/// is not read. Like a [`Mutation`], it may run more than once.
pub type CreationPlan<'a> = &'a (dyn Fn(&mut Incident) -> Effects + Send + Sync);

/// A change to a stored escalation (an acknowledgement, a timeout), given the facts of
/// its incident as the same transaction reads them (`None`: the incident is not
/// stored), so a change can check that the incident still calls for it: returns the
/// deliveries it causes (the next contact's notifications), queued in the same
/// transaction. It may run more than once under contention.
pub type EscalationChange<'a> = &'a (
        dyn Fn(&mut Escalation, Option<&crate::escalation::IncidentFacts>) -> Result<Vec<Delivery>, ModelError>
            + Send
            + Sync
    );

/// The audit entry a dead-letter replay records, made from the item as replayed.
pub type ReplayAudit<'a> = &'a (dyn Fn(&OutboxItem) -> AuditEntry + Send + Sync);

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Store a new incident with its origin cross-reference, audit entry and the
    /// deliveries `plan` names, in one transaction. A replay — same idempotency key and
    /// fingerprint, or a ticket of the same desk already known — returns the existing
    /// incident and stores nothing. Incident numbers only grow and are never reused;
    /// a replay or a refusal may leave one unused.
    async fn create_incident(
        &self,
        new: NewIncident,
        idempotency: Option<IdempotencyClaim>,
        audit: AuditEntry,
        now: Timestamp,
        plan: CreationPlan<'_>,
    ) -> Result<CreateOutcome, StoreError>;

    /// Apply `mutate` to the incident and store the result with the audit entry and
    /// the deliveries it planned, in one transaction; cross-references the mutation
    /// adds are indexed in the same transaction. An unchanged incident is not written
    /// and gets no audit entry.
    async fn update_incident(
        &self,
        id: &IncidentId,
        mutate: Mutation<'_>,
        audit: AuditEntry,
    ) -> Result<Incident, StoreError>;

    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError>;

    /// Which incident a desk's ticket is.
    async fn find_by_ref(&self, desk: &DeskId, remote_id: &TicketId) -> Result<Option<IncidentId>, StoreError>;

    /// The incidents `query` asks for, in its order ([`ListQuery::apply`] is the
    /// reference).
    async fn list_incidents(&self, query: &ListQuery) -> Result<Vec<Incident>, StoreError>;

    /// How many incidents `query` matches (cursor, offset and limit aside), counting
    /// at most `at_most`: a bounded count for totals a dialect reports.
    async fn count_incidents(&self, query: &ListQuery, at_most: usize) -> Result<usize, StoreError> {
        let all = ListQuery { after: None, cursor: None, offset: 0, limit: at_most, ..query.clone() };
        Ok(self.list_incidents(&all).await?.len())
    }

    /// Append to the audit log (durably).
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// The audit log, newest last, after sequence number `after`.
    async fn audit_log(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, AuditEntry)>, StoreError>;

    /// Whether the store can take writes (for `/readyz`).
    async fn is_ready(&self) -> bool;

    // --- backup -----------------------------------------------------------------

    /// Write everything the store holds to `out` as the [`backup`] format's typed
    /// records. The copy is of one point in time only while nothing writes
    /// meanwhile: `deskgate backup` opens the store itself, which the store's lock
    /// allows only with the gateway stopped.
    async fn export(&self, out: &mut (dyn std::io::Write + Send)) -> Result<backup::BackupSummary, StoreError>;

    /// Load a backup written by [`Store::export`] (or by an older version, converted
    /// as it is read). Every line is checked before anything is written; a store
    /// that is not empty is refused unless `force`, which empties it first. Durable
    /// when it returns.
    async fn import(
        &self,
        input: &mut (dyn std::io::BufRead + Send),
        force: bool,
    ) -> Result<backup::BackupSummary, StoreError>;

    /// Make everything written so far durable (at shutdown; every write method is
    /// durable on its own already).
    async fn flush(&self) -> Result<(), StoreError>;

    // --- the outbox -------------------------------------------------------------

    /// Waiting deliveries in `seq` order (at most `limit`).
    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;

    /// The waiting deliveries about `incident` (to `desk` only, if given), in `seq`
    /// order: one incident's lanes, whatever else waits.
    async fn outbox_for(&self, incident: &IncidentId, desk: Option<&DeskId>) -> Result<Vec<OutboxItem>, StoreError> {
        let all = self.outbox(usize::MAX).await?;
        Ok(all.into_iter().filter(|i| &i.incident == incident && desk.is_none_or(|d| &i.desk == d)).collect())
    }

    /// The lane heads due at `now` (at most `limit`), and when the next one is due.
    /// A lane held by a dead letter has no head.
    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<DueDeliveries, StoreError> {
        let held: std::collections::HashSet<(IncidentId, DeskId)> =
            self.dead_letters(usize::MAX).await?.into_iter().map(|d| d.item.lane()).collect();
        let mut heads = std::collections::HashSet::new();
        let mut due = DueDeliveries::default();
        for item in self.outbox(usize::MAX).await? {
            let lane = item.lane();
            if !heads.insert(lane.clone()) || held.contains(&lane) {
                continue;
            }
            if item.not_before > now {
                due.next_due = Some(due.next_due.map_or(item.not_before, |n| n.min(item.not_before)));
            } else {
                due.items.push(item);
            }
        }
        due.items.sort_by_key(|i| (i.not_before, i.seq));
        due.items.truncate(limit);
        Ok(due)
    }

    /// A page of the waiting deliveries: those after sequence number `after`, to
    /// `desk` only if given, in `seq` order, at most `limit`. A backend seeks to
    /// `after` in its index rather than reading what comes before.
    async fn outbox_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(page(self.outbox(usize::MAX).await?, |i| (i.seq, &i.desk), after, desk, limit))
    }

    /// A page of the dead letters, as [`Store::outbox_page`] pages the outbox.
    async fn dead_letters_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(page(self.dead_letters(usize::MAX).await?, |d| (d.item.seq, &d.item.desk), after, desk, limit))
    }

    /// One waiting delivery as it stands now; `None` once completed or dead-lettered.
    async fn outbox_item(&self, seq: u64) -> Result<Option<OutboxItem>, StoreError>;

    /// A delivery succeeded: remove it, and apply `mutate` (e.g. record the new remote
    /// ticket as a cross-reference) in the same transaction.
    async fn complete_delivery(
        &self,
        seq: u64,
        incident: &IncidentId,
        mutate: Option<Mutation<'_>>,
    ) -> Result<(), StoreError>;

    /// A delivery failed and will be tried again at `item.not_before`.
    async fn reschedule_delivery(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// A delivery failed for good: move it to the dead letters.
    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError>;

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;

    /// Put a dead letter back in the outbox, in its original place in its lane, due now,
    /// with the audit entry `audit` makes of it, in one transaction.
    async fn replay_dead_letter(
        &self,
        seq: u64,
        now: Timestamp,
        audit: ReplayAudit<'_>,
    ) -> Result<OutboxItem, StoreError>;

    // --- escalations ----------------------------------------------------------------
    //
    // Opened through [`Effects::escalations`] with the change that called for them;
    // afterwards changed only through [`Store::update_escalation`].

    async fn escalation(&self, id: &str) -> Result<Option<Escalation>, StoreError>;

    /// The escalations `query` asks for, in id order (incident, then the change that
    /// opened it).
    async fn escalations(&self, query: &EscalationQuery) -> Result<Vec<Escalation>, StoreError>;

    /// Waiting escalations whose deadline is at or before `by`, earliest deadline
    /// first (then id), at most `limit`.
    async fn due_escalations(&self, by: Timestamp, limit: usize) -> Result<Vec<Escalation>, StoreError> {
        let query = EscalationQuery { due_by: Some(by), ..EscalationQuery::all(usize::MAX) };
        let mut due = self.escalations(&query).await?;
        due.sort_by(|a, b| a.deadline.cmp(&b.deadline).then_with(|| a.id.cmp(&b.id)));
        due.truncate(limit);
        Ok(due)
    }

    /// [`Store::due_escalations`], each with the facts of its incident the watch
    /// decides on. A backend that can read both at once does (a join); the default
    /// reads each due one's incident: what a round reads grows with what is due,
    /// never with what merely waits.
    async fn due_for_watch(&self, by: Timestamp, limit: usize) -> Result<Vec<DueEscalation>, StoreError> {
        due_with_incidents(self, by, limit).await
    }

    /// The incidents whose timer is due, as `query` asks. Served by an index of each
    /// timer's instant: a page costs what it returns, not what the store holds.
    async fn due_timers(&self, query: &TimerQuery<'_>) -> Result<Vec<DueTimer>, StoreError>;

    /// The escalations of one incident, in id order.
    async fn escalations_of(&self, incident: &IncidentId) -> Result<Vec<Escalation>, StoreError> {
        let all = self.escalations(&EscalationQuery::all(usize::MAX)).await?;
        Ok(all.into_iter().filter(|e| e.incident_id == incident.as_str()).collect())
    }

    /// Apply `change` to the escalation and store it with the deliveries it returns and
    /// the audit entry, if any (its `incident` set to the escalation's), in one
    /// transaction; durable when it returns.
    async fn update_escalation(
        &self,
        id: &str,
        now: Timestamp,
        change: EscalationChange<'_>,
        audit: Option<AuditEntry>,
    ) -> Result<Escalation, StoreError>;

    // --- attachment content ------------------------------------------------------

    /// Keep `content` under its SHA-256 (lower-case hex, returned): content already
    /// held is not written again, so the same file attached twice, to one incident
    /// or to many, is stored once. The flag says whether it was new. Durable when it
    /// returns.
    async fn put_content(&self, content: bytes::Bytes) -> Result<(String, bool), StoreError>;

    /// The content stored under `sha256`.
    async fn content(&self, sha256: &str) -> Result<Option<bytes::Bytes>, StoreError>;

    /// How many distinct contents are held.
    async fn content_count(&self) -> Result<usize, StoreError>;

    // --- cursors ------------------------------------------------------------------

    /// A named position kept across restarts (e.g. a poll watermark).
    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError>;

    // --- replicas -------------------------------------------------------------------

    /// Take outbox item `seq` for delivery by `holder` until `until`: the item as it
    /// stands now, if it is still waiting and due at `now`. A store shared by several
    /// processes also requires it to be its lane's head, its lane not held by a dead
    /// letter, and no other holder's lease in force, so a lane is delivered in order
    /// by one process at a time; the lease ends when the delivery is completed,
    /// rescheduled or dead-lettered, or when `until` passes. A store of one process
    /// (the default) has one holder: the dispatcher's own lanes keep the order.
    async fn lease_delivery(
        &self,
        seq: u64,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let _ = (holder, until);
        Ok(self.outbox_item(seq).await?.filter(|item| item.not_before <= now))
    }

    /// Extend `holder`'s lease on item `seq` to `until` while its delivery runs:
    /// false when it holds it no more (another holder took it, or it is gone). A
    /// store of one process (the default) has nothing to renew.
    async fn renew_lease(&self, seq: u64, holder: &str, until: Timestamp) -> Result<bool, StoreError> {
        let _ = (seq, holder, until);
        Ok(true)
    }

    /// Let go of every lease `holder` has (at shutdown), so other processes take
    /// those deliveries at once; how many there were.
    async fn release_leases(&self, holder: &str) -> Result<u64, StoreError> {
        let _ = holder;
        Ok(0)
    }

    /// Whether this process runs the work only one process may run at a time
    /// (polling, the escalation watch). A store of one process always leads.
    fn leadership(&self) -> Leadership {
        Leadership::always()
    }
}
