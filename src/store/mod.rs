//! Durable state behind one small trait.
//!
//! [`Store`] is what the rest of the gateway sees: incidents, the cross-reference
//! index in both directions, idempotency keys and the audit log. Every write method
//! returns only once its effect is durable on disk — "2xx means durable" (DESIGN §8)
//! is this trait's contract, so handlers answer as soon as a write returns.
//! [`SledStore`] is the embedded default; nothing outside this module names sled.

mod group_commit;
mod sled_store;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{DeskId, Incident, IncidentId, ModelError, NewIncident, TicketId};

pub use sled_store::SledStore;

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
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("incident {0} not found")]
    NotFound(IncidentId),
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
}

/// A change applied inside the store's transaction: gets the current incident and
/// returns whether it changed anything. It may run more than once under contention,
/// so it must be a pure function of its input.
pub type Mutation<'a> = &'a (dyn Fn(&mut Incident) -> Result<bool, ModelError> + Send + Sync);

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Store a new incident with its origin cross-reference and audit entry, in one
    /// transaction. A replay — same idempotency key and fingerprint, or a ticket of the
    /// same desk already known — returns the existing incident and stores nothing.
    async fn create_incident(
        &self,
        new: NewIncident,
        idempotency: Option<IdempotencyClaim>,
        audit: AuditEntry,
        now: Timestamp,
    ) -> Result<CreateOutcome, StoreError>;

    /// Apply `mutate` to the incident and store the result with the audit entry, in
    /// one transaction; cross-references the mutation adds are indexed in the same
    /// transaction. An unchanged incident is not written and gets no audit entry.
    async fn update_incident(
        &self,
        id: &IncidentId,
        mutate: Mutation<'_>,
        audit: AuditEntry,
    ) -> Result<Incident, StoreError>;

    fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError>;

    /// Which incident a desk's ticket is.
    fn find_by_ref(&self, desk: &DeskId, remote_id: &TicketId) -> Result<Option<IncidentId>, StoreError>;

    /// Incidents in id order after `after`, at most `limit` of those `keep` accepts.
    fn list_incidents(
        &self,
        after: Option<&IncidentId>,
        limit: usize,
        keep: &(dyn Fn(&Incident) -> bool + Sync),
    ) -> Result<Vec<Incident>, StoreError>;

    /// Append to the audit log (durably).
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// The audit log, newest last, after sequence number `after`.
    fn audit_log(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, AuditEntry)>, StoreError>;

    /// Whether the store can take writes (for `/readyz`).
    fn is_ready(&self) -> bool;
}
