//! The gateway's use cases, shared by every dialect.
//!
//! Routers parse their wire format into model types and call these methods; the
//! methods enforce visibility and the model's rules, write through the [`Store`] and
//! keep the audit log. Nothing here knows HTTP or a wire format.

use std::sync::Arc;

use jiff::Timestamp;

use crate::auth::{Authenticator, DeskPrincipal};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{
    Change, DeskId, Incident, IncidentId, ModelError, NewIncident, Priority, Service, Status, Text, TicketId,
    Visibility,
};
use crate::store::{AuditEntry, AuditKind, CreateOutcome, IdempotencyClaim, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Not there, or not visible to this desk — the two are deliberately the same.
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for GatewayError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => GatewayError::NotFound(id.to_string()),
            StoreError::Model(m) => GatewayError::Model(m),
            other => GatewayError::Store(other),
        }
    }
}

/// Filters for listing incidents.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub service: Option<Service>,
    pub after: Option<IncidentId>,
    pub limit: usize,
}

/// Context of one request, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
}

pub struct Gateway {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    pub clock: Arc<dyn Clock>,
}

impl Gateway {
    pub fn new(config: Arc<Config>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let auth = Authenticator::new(&config);
        Self { config, store, auth, clock }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn entry(
        &self,
        kind: AuditKind,
        desk: Option<&DeskId>,
        reason: impl Into<String>,
        ctx: &RequestContext,
    ) -> AuditEntry {
        AuditEntry {
            at: self.now(),
            kind,
            desk: desk.map(ToString::to_string),
            subject: None,
            incident: None,
            reason: reason.into(),
            request_id: ctx.request_id.clone(),
        }
    }

    /// Record that a request was turned away (best effort: a failing audit write must
    /// not turn a 4xx into a 5xx, but it is logged).
    pub async fn audit_rejection(
        &self,
        desk: Option<&DeskId>,
        subject: Option<&str>,
        reason: &str,
        ctx: &RequestContext,
    ) {
        let mut entry = self.entry(AuditKind::Rejected, desk, reason, ctx);
        entry.subject = subject.map(str::to_owned);
        metrics::counter!("deskgate_rejections_total", "reason" => reason_label(reason)).increment(1);
        if let Err(e) = self.store.audit(entry).await {
            tracing::error!(error = %e, "could not record a rejection in the audit log");
        }
    }

    /// A local desk submits an incident. Only local desks (and the national desk, for
    /// reports it takes itself) submit; replays return the incident already stored.
    pub async fn submit(
        &self,
        who: &DeskPrincipal,
        new: NewIncident,
        idempotency: Option<(String, String)>,
        ctx: &RequestContext,
    ) -> Result<CreateOutcome, GatewayError> {
        if who.role == crate::model::Role::Supplier {
            return Err(ModelError::Forbidden(
                "suppliers do not submit incidents through this endpoint; incidents they detect themselves are created in their own tool and picked up from there".into(),
            )
            .into());
        }
        let claim = idempotency.map(|(key, fingerprint)| IdempotencyClaim { desk: who.desk.clone(), key, fingerprint });
        let entry = self.entry(
            AuditKind::Submitted,
            Some(&who.desk),
            format!("submitted {} ticket {}", who.desk, new.origin.ticket),
            ctx,
        );
        let outcome = self.store.create_incident(new, claim, entry, self.now()).await?;
        match &outcome {
            CreateOutcome::Created(i) => {
                metrics::counter!("deskgate_incidents_accepted_total", "desk" => who.desk.to_string()).increment(1);
                tracing::info!(incident = %i.id, desk = %who.desk, "incident accepted");
            }
            CreateOutcome::Replayed(i) => {
                metrics::counter!("deskgate_incidents_replayed_total", "desk" => who.desk.to_string()).increment(1);
                tracing::info!(incident = %i.id, desk = %who.desk, "submission replayed; nothing stored");
            }
        }
        Ok(outcome)
    }

    /// An incident the desk is party to.
    pub fn get(&self, who: &DeskPrincipal, id: &IncidentId) -> Result<Incident, GatewayError> {
        match self.store.get_incident(id)? {
            Some(i) if i.is_visible_to(&who.actor()) => Ok(i),
            _ => Err(GatewayError::NotFound(id.to_string())),
        }
    }

    pub fn list(&self, who: &DeskPrincipal, filter: &ListFilter) -> Result<Vec<Incident>, GatewayError> {
        let actor = who.actor();
        let keep = |i: &Incident| {
            i.is_visible_to(&actor)
                && filter.status.is_none_or(|s| i.status == s)
                && filter.priority.is_none_or(|p| i.priority == Some(p))
                && filter.service.as_ref().is_none_or(|s| &i.service == s)
        };
        Ok(self.store.list_incidents(filter.after.as_ref(), filter.limit, &keep)?)
    }

    pub async fn add_note(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        body: Text,
        visibility: Visibility,
        ctx: &RequestContext,
    ) -> Result<Incident, GatewayError> {
        let actor = who.actor();
        let now = self.now();
        let entry = self.entry(AuditKind::Updated, Some(&who.desk), "note added", ctx);
        let mutate = |i: &mut Incident| {
            if !i.is_visible_to(&actor) {
                return Err(ModelError::Invalid { field: "id", expected: "an incident this desk is party to" });
            }
            i.add_note(&actor, body.clone(), visibility, now);
            Ok(true)
        };
        self.store.update_incident(id, &mutate, entry).await.map_err(|e| hide_invisible(e, id))
    }

    pub async fn update(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        change: &Change,
        ctx: &RequestContext,
    ) -> Result<Incident, GatewayError> {
        let actor = who.actor();
        let now = self.now();
        if let Some(assignee) = &change.assignee {
            let desk =
                self.config.desk(assignee).filter(|d| d.role == crate::model::Role::Supplier).ok_or(
                    ModelError::Invalid { field: "assignee", expected: "the id of a registered supplier desk" },
                )?;
            tracing::debug!(supplier = %desk.id, "assigning");
        }
        if let Some(parent) = &change.parent {
            if self.store.get_incident(parent)?.is_none() {
                return Err(ModelError::Invalid { field: "parent", expected: "the id of an existing incident" }.into());
            }
        }
        let entry = self.entry(AuditKind::Updated, Some(&who.desk), describe_change(change), ctx);
        let mutate = |i: &mut Incident| {
            if !i.is_visible_to(&actor) {
                return Err(ModelError::Invalid { field: "id", expected: "an incident this desk is party to" });
            }
            i.apply(&actor, change, now)
        };
        self.store.update_incident(id, &mutate, entry).await.map_err(|e| hide_invisible(e, id))
    }

    /// Which incident a desk's ticket is, if the caller may see it.
    pub fn find_ref(&self, who: &DeskPrincipal, desk: &DeskId, remote_id: &TicketId) -> Result<Incident, GatewayError> {
        let not_found = || GatewayError::NotFound(format!("{desk} ticket {remote_id}"));
        let id = self.store.find_by_ref(desk, remote_id)?.ok_or_else(not_found)?;
        self.get(who, &id).map_err(|_| not_found())
    }
}

/// A desk that is not party to an incident learns nothing about it: 404, as if absent.
fn hide_invisible(e: StoreError, id: &IncidentId) -> GatewayError {
    match e {
        StoreError::Model(ModelError::Invalid { field: "id", .. }) => GatewayError::NotFound(id.to_string()),
        other => other.into(),
    }
}

fn describe_change(c: &Change) -> String {
    let mut parts = Vec::new();
    if let Some(s) = c.status {
        parts.push(format!("status → {s}"));
    }
    if let Some(p) = c.priority {
        parts.push(format!("priority → {p}"));
    }
    if let Some(a) = &c.assignee {
        parts.push(format!("assignee → {a}"));
    }
    if let Some(k) = c.kind {
        parts.push(format!("kind → {k:?}"));
    }
    if let Some(p) = &c.parent {
        parts.push(format!("parent → {p}"));
    }
    if c.report.is_some() {
        parts.push("report submitted".into());
    }
    if c.approve_report {
        parts.push("report approved".into());
    }
    parts.join(", ")
}

/// A bounded label for the rejection metric (the reason text itself is free-form).
fn reason_label(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.contains("not a registered desk") || r.contains("referred") {
        "not_a_desk"
    } else if r.contains("patient") {
        "patient_data"
    } else if r.contains("token") || r.contains("bearer") {
        "unauthenticated"
    } else {
        "other"
    }
}
