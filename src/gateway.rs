//! The gateway's use cases, shared by every dialect.
//!
//! Routers parse their wire format into model types and call these methods; the
//! methods enforce visibility and the model's rules, write through the [`Store`] and
//! keep the audit log. Nothing here knows HTTP or a wire format. Its parts (store,
//! configuration, clock, mappings) are private: routers and workers call its
//! methods, and who may do what is decided in them.

mod attachments;
mod detected;
mod escalations;
mod hand_on;
mod listing;
mod lookups;
mod mitz;
mod operations;
mod process;
mod profile;
mod report;
mod support;
mod views;
mod with_notes;

pub mod adapters;
pub mod health;
pub use attachments::{Attached, NewAttachment};
pub use hand_on::HandOn;
pub mod inbound;
pub mod notifications;
pub mod plan;

pub use escalations::end_escalation;
pub use mitz::{alerts, redact};
pub use support::NamedParent;
pub use views::IncidentView;

use std::sync::Arc;

use jiff::Timestamp;

use crate::auth::{Authenticator, DeskPrincipal};
use crate::clock::Clock;
use crate::config::Config;
use crate::escalation::{EscalationHook, should_escalate};
use crate::gateway::plan::{Planner, Via};
use crate::mapping::Mappings;
use crate::model::{Actor, Role, Written};
use crate::model::{
    Change, DeskId, Incident, IncidentId, ModelError, NewIncident, Priority, Service, Status, Text, TicketId,
    Visibility,
};
use crate::rejections::{MAX_REASON, MAX_SUBJECT, RejectionLimiter, Verdict, bounded};
use crate::store::{
    AuditEntry, AuditKind, CreateOutcome, Effects, IdempotencyClaim, ListQuery, RequestIdSource, Store, StoreError,
    Viewer,
};

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

/// What became of a change reported by a remote desk.
#[derive(Debug)]
pub enum RemoteOutcome {
    Applied(Box<Incident>),
    /// Nothing to do: the values were already there, or deskgate's own writes echoed.
    NothingNew {
        echoes: Vec<String>,
    },
    /// The desk's ticket is not one deskgate knows.
    UnknownTicket,
    /// A delivery already taken, or a version of the ticket no newer than the newest
    /// applied (a replayed webhook): nothing changed; audited as a replay.
    Replayed(String),
    /// The change breaks a rule (e.g. closing a P1 without an approved report): not
    /// applied; recorded in the audit log and as an internal note on the incident.
    Parked(String),
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
    /// Who chose `request_id`.
    pub request_id_source: RequestIdSource,
    /// The start of an `X-Request-Id` that was not accepted (sanitised, bounded).
    pub request_id_hint: Option<String>,
    /// The address the request came from, when served over a socket: rejections
    /// are rate-limited per address.
    pub peer: Option<std::net::IpAddr>,
}

impl RequestContext {
    /// `request_id_source` as an audit entry records it: only with an id.
    pub fn audited_source(&self) -> Option<RequestIdSource> {
        self.request_id.as_ref().map(|_| self.request_id_source)
    }
}

pub struct Gateway {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    auth: Authenticator,
    clock: Arc<dyn Clock>,
    /// Woken whenever a change put deliveries in the outbox.
    outbox_changed: Arc<tokio::sync::Notify>,
    /// How each desk's vocabulary maps to the canonical model.
    mappings: Arc<Mappings>,
    /// Opens escalations for new and upgraded P1/P2 incidents and defers P3/P4
    /// reports outside staffed hours; none without `gateway.contacts`.
    escalation: Option<Arc<dyn EscalationHook>>,
    /// How many rejections per source address are audited one by one.
    rejections: RejectionLimiter,
}

impl Gateway {
    /// A gateway without mappings (nothing is translated or delivered); see
    /// [`Gateway::with_mappings`].
    pub fn new(config: Arc<Config>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let auth = Authenticator::new(&config);
        Self {
            store,
            auth,
            clock,
            outbox_changed: Arc::new(tokio::sync::Notify::new()),
            mappings: Arc::new(Mappings::default()),
            escalation: None,
            rejections: RejectionLimiter::new(
                config.gateway.limits.rejections_audited_per_window,
                std::time::Duration::from_secs(config.gateway.limits.rejection_window_secs),
            ),
            config,
        }
    }

    pub fn with_escalation(mut self, hook: Arc<dyn EscalationHook>) -> Self {
        self.escalation = Some(hook);
        self
    }

    /// Inside a change's transaction: when the change makes `i` a P1/P2 or upgrades
    /// it into P1/P2 ([`should_escalate`]), open an escalation decided at `now` and
    /// queue its notifications (the contact, the stakeholder mail) with the change.
    fn escalate(&self, previous: Option<Priority>, i: &mut Incident, now: Timestamp, effects: &mut Effects) {
        let (Some(hook), Some(priority)) = (&self.escalation, i.priority) else { return };
        // A support request, or an incident already resolved, is not escalated: its
        // parent is, or nobody needs to be paged.
        if !should_escalate(previous, priority) || crate::escalation::end_reason(i).is_some() {
            return;
        }
        if let Some(e) = hook.escalate(&crate::gateway::notifications::escalation_id(i), i, previous, now) {
            // Urgent now: whatever deferral a P3/P4 report had no longer applies.
            i.deferred_until = None;
            effects.deliveries.extend(crate::gateway::notifications::opened(&self.config, &e));
            effects.escalations.push(e);
        }
    }

    /// Inside a submission's transaction: a P3/P4 report arriving outside staffed
    /// hours is marked to be taken up at the next working start; a P1/P2 escalates.
    fn on_created(&self, i: &mut Incident, now: Timestamp, effects: &mut Effects) {
        self.classify(i);
        if let (Some(hook), Some(priority)) = (&self.escalation, i.priority) {
            if !priority.is_major() {
                i.deferred_until = hook.defer_until(priority, now);
            }
        }
        self.escalate(None, i, now, effects);
        self.after_created(i, now, effects);
    }

    pub fn with_mappings(mut self, mappings: Arc<Mappings>) -> Self {
        self.mappings = mappings;
        self
    }

    /// The clock's now.
    pub fn now(&self) -> Timestamp {
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
            desk: desk.map(ToString::to_string),
            request_id: ctx.request_id.clone(),
            request_id_source: ctx.audited_source(),
            request_id_hint: ctx.request_id_hint.clone(),
            ..AuditEntry::new(self.now(), kind, reason)
        }
    }

    /// Store the change `mutate` makes to incident `id`, audited by `entry`, and wake
    /// the outbox for the deliveries it planned. A desk not party to the incident
    /// ([`ModelError::NOT_PARTY`]) is told it is not found.
    async fn store_change(
        &self,
        id: &IncidentId,
        mutate: crate::store::Mutation<'_>,
        entry: AuditEntry,
    ) -> Result<Incident, GatewayError> {
        let updated = self.store.update_incident(id, mutate, entry).await.map_err(|e| hide_invisible(e, id))?;
        self.outbox_changed.notify_one();
        Ok(updated)
    }

    /// Record that a request was turned away (best effort: a failing audit write must
    /// not turn a 4xx into a 5xx, but it is logged). What the caller controls is
    /// truncated, and beyond a number per source address and window rejections are
    /// only counted, then summarised in one entry (see [`crate::rejections`]).
    pub async fn audit_rejection(
        &self,
        desk: Option<&DeskId>,
        subject: Option<&str>,
        reason: &str,
        ctx: &RequestContext,
    ) {
        metrics::counter!("deskgate_rejections_total", "reason" => reason_label(reason)).increment(1);
        match self.rejections.admit(ctx.peer) {
            Verdict::Audit => {}
            Verdict::Count => return,
            Verdict::Summarise { address, count, window_end } => {
                let (store, clock, window) = (self.store.clone(), self.clock.clone(), self.rejections.window());
                tokio::spawn(async move {
                    tokio::time::sleep_until(window_end).await;
                    let n = count.load(std::sync::atomic::Ordering::SeqCst);
                    let entry = AuditEntry::new(
                        clock.now(),
                        AuditKind::Rejected,
                        crate::rejections::summary(n, address, window),
                    );
                    if let Err(e) = store.audit(entry).await {
                        tracing::error!(error = %e, further = n, "could not record a summary of rejections in the audit log");
                    }
                });
                return;
            }
        }
        let mut entry = self.entry(AuditKind::Rejected, desk, bounded(reason, MAX_REASON), ctx);
        entry.subject = subject.map(|s| bounded(s, MAX_SUBJECT));
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
        self.submit_classified(who, new, &crate::model::Classify::default(), idempotency, ctx).await
    }

    /// [`Gateway::submit`] with the reporter's category and calamity criteria.
    pub async fn submit_classified(
        &self,
        who: &DeskPrincipal,
        new: NewIncident,
        classify: &crate::model::Classify,
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
        let planner = Planner::new(&self.config);
        let now = self.now();
        // Whether the creation queued a delivery: only then is there work for the
        // dispatcher to wake up to.
        let queued = std::sync::atomic::AtomicBool::new(false);
        let plan = |i: &mut Incident| {
            profile::on_created(&self.config, i);
            let mut effects = Effects { changed: true, deliveries: planner.created(i), ..Effects::default() };
            i.classify_new(classify);
            self.on_created(i, now, &mut effects);
            self.after_classified(None, i, &who.desk, now, &mut effects);
            queued.store(!effects.deliveries.is_empty(), std::sync::atomic::Ordering::Relaxed);
            effects
        };
        let outcome = self.store.create_incident(new, claim, entry, now, &plan).await?;
        if matches!(outcome, CreateOutcome::Created(_)) && queued.load(std::sync::atomic::Ordering::Relaxed) {
            self.outbox_changed.notify_one();
        }
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
    pub async fn get(&self, who: &DeskPrincipal, id: &IncidentId) -> Result<Incident, GatewayError> {
        match self.store.get_incident(id).await? {
            Some(i) if i.is_visible_to(&who.actor()) => Ok(redact(i, &who.actor())),
            _ => Err(GatewayError::NotFound(id.to_string())),
        }
    }

    pub async fn list(&self, who: &DeskPrincipal, filter: &ListFilter) -> Result<Vec<Incident>, GatewayError> {
        let query = ListQuery {
            status: filter.status,
            priority: filter.priority,
            service: filter.service.clone(),
            viewer: Viewer::of(&who.actor()),
            after: filter.after.clone(),
            ..ListQuery::all(filter.limit)
        };
        Ok(self.store.list_incidents(&query).await?.into_iter().map(|i| redact(i, &who.actor())).collect())
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
                return Err(ModelError::NOT_PARTY);
            }
            i.ensure_room_for_notes(1, self.config.gateway.limits.notes_per_incident)?;
            let before = i.clone();
            i.add_note(&actor, body.clone(), visibility, now);
            Ok(Effects {
                changed: true,
                deliveries: Planner::new(&self.config).changed(&before, i, &actor.desk, Via::Api),
                ..Effects::default()
            })
        };
        let updated = self.store_change(id, &mutate, entry).await?;
        Ok(redact(updated, &actor))
    }

    pub async fn update(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        change: &Change,
        ctx: &RequestContext,
    ) -> Result<Incident, GatewayError> {
        self.update_if(who, id, change, ctx, &|_| true).await
    }

    /// [`Gateway::update`], applied only if the incident, as the change's own
    /// transaction reads it, still meets `still`; otherwise it is left as it is (no
    /// write, no audit) and returned. For passes that decided from an index read
    /// earlier: what changed since is seen here.
    pub(crate) async fn update_if(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        change: &Change,
        ctx: &RequestContext,
        still: &(dyn Fn(&Incident) -> bool + Sync),
    ) -> Result<Incident, GatewayError> {
        let actor = who.actor();
        let now = self.now();
        let change = &self.with_rca_due(change, now);
        let held = profile::with_hold_reason(&self.config, change);
        let change = held.as_ref().unwrap_or(change);
        if let Some(assignee) = &change.assignee {
            let desk =
                self.config.desk(assignee).filter(|d| d.role == crate::model::Role::Supplier).ok_or(
                    ModelError::Invalid { field: "assignee", expected: "the id of a registered supplier desk" },
                )?;
            tracing::debug!(supplier = %desk.id, "assigning");
        }
        // A report marked as a further report of a known incident: its reporter is told
        // which incident it joined (a public note from the national desk).
        let mut joined_note = None;
        if let Some(parent) = &change.parent {
            let Some(parent_incident) = self.store.get_incident(parent).await? else {
                return Err(ModelError::Invalid { field: "parent", expected: "the id of an existing incident" }.into());
            };
            if change.kind == Some(crate::model::Kind::SupportRequest) {
                let national =
                    parent_incident.ref_for(&who.desk).map(|r| format!(" (national ticket {})", r.display_id));
                joined_note = Some(Text::parse(
                    "note",
                    &format!(
                        "Registered as a further report of {parent}{}: {}. The incident is handled there; this ticket is a support request referring to it.",
                        national.unwrap_or_default(),
                        parent_incident.title.as_str()
                    ),
                )?);
            }
        }
        // Linking an RFC/problem: the reporter is told what the incident waits for (step 11).
        let release_note = change
            .rfc
            .as_ref()
            .map(|l| if held.is_some() { profile::problem_note(l) } else { release_note(l) })
            .transpose()?;
        let entry = self.entry(AuditKind::Updated, Some(&who.desk), describe_change(change), ctx);
        let mutate = |i: &mut Incident| {
            if !i.is_visible_to(&actor) {
                return Err(ModelError::NOT_PARTY);
            }
            if !still(i) {
                return Ok(Effects::unchanged());
            }
            let before = i.clone();
            let was_support_request = i.kind == crate::model::Kind::SupportRequest;
            if change.approve_report && actor.role == Role::National {
                self.config.gateway.report.policy.admits_desk_approval(i)?;
            }
            let mut changed = i.apply(&actor, change, now)?;
            profile::after_change(&self.config, &actor, &before, i, now);
            if let Some(note) = joined_note.as_ref().filter(|_| !was_support_request) {
                i.add_note(&actor, note.clone(), Visibility::Public, now);
                changed = true;
            }
            if let Some(note) = release_note.as_ref().filter(|_| i.external_links.len() > before.external_links.len()) {
                i.add_note(&actor, note.clone(), Visibility::Public, now);
                changed = true;
            }
            let deliveries = if changed {
                Planner::new(&self.config).changed(&before, i, &actor.desk, Via::Api)
            } else {
                Vec::new()
            };
            let mut effects = Effects { changed, deliveries, ..Effects::default() };
            if changed {
                self.escalate(before.priority, i, now, &mut effects);
                self.after_changed(&before, i, &actor, &mut effects);
                self.after_classified(Some(&before), i, &actor.desk, now, &mut effects);
            }
            Ok(effects)
        };
        let updated = match self.store.update_incident(id, &mutate, entry).await {
            Err(StoreError::Model(rule @ ModelError::Forbidden(_)))
                if Incident::is_close_by_supplier(&actor, change)
                    && change.status.is_some_and(|end| rule == ModelError::Forbidden(Incident::close_refusal(end))) =>
            {
                // Step 15: the national desk decides; it is told, and the caller refused.
                self.park_reason(
                    id,
                    &who.desk,
                    format!("not applied: a change from {} through the API: {rule}", who.desk),
                    now,
                    ctx,
                )
                .await?;
                return Err(rule.into());
            }
            other => other.map_err(|e| hide_invisible(e, id))?,
        };
        self.outbox_changed.notify_one();
        self.end_escalations(&updated).await;
        self.follow_support_requests(&updated, ctx).await;
        Ok(redact(updated, &actor))
    }

    /// Apply a change a remote desk reported (webhook, push, poll), as that desk.
    pub async fn apply_remote(
        &self,
        desk: &DeskId,
        remote_id: &TicketId,
        update: &crate::gateway::inbound::RemoteUpdate,
        version: &crate::model::RemoteVersion,
        ctx: &RequestContext,
    ) -> Result<RemoteOutcome, GatewayError> {
        let Some(id) = self.store.find_by_ref(desk, remote_id).await? else {
            return Ok(RemoteOutcome::UnknownTicket);
        };
        if let Some(outcome) = self.refuse_non_party(desk, remote_id, &id, ctx).await? {
            return Ok(outcome);
        }
        // Fields with a patient identifier are never applied; the rest of the report is.
        let (clean, refused) = crate::gateway::inbound::without_patient_data(update);
        let update = &clean;
        let desk_config = self.config.desk(desk).ok_or_else(|| GatewayError::NotFound(desk.to_string()))?;
        let mapping = self
            .mappings
            .desk(desk)
            .ok_or_else(|| ModelError::Conflict(format!("no mapping is configured for {desk}")))?;
        let actor = Actor { desk: desk.clone(), role: desk_config.role };
        let now = self.now();
        let echoes = parking_lot::Mutex::new(Vec::new());
        let applied = std::sync::atomic::AtomicBool::new(false);
        let replay = parking_lot::Mutex::new(None::<String>);
        let entry = self.entry(AuditKind::Updated, Some(desk), format!("change from {desk} ticket {remote_id}"), ctx);
        // What deskgate is writing to this desk's copy right now: a webhook about such a
        // write may come before its answer does.
        let writing: Vec<_> =
            self.store.outbox_for(&id, Some(desk)).await?.into_iter().map(|item| item.action).collect();
        let mutate = |i: &mut Incident| {
            // Checked and recorded in the change's own transaction: two copies of one
            // delivery cannot both pass.
            let replayed = i.refs.iter().find(|r| &r.desk == desk).and_then(|r| r.seen.replay(version));
            let is_replay = replayed.is_some();
            *replay.lock() = replayed;
            if is_replay {
                return Ok(Effects::unchanged());
            }
            let reading = crate::gateway::inbound::read_with_outbox(
                &self.config,
                mapping,
                i,
                desk,
                update,
                &writing,
                version.read_at,
            )
            .map_err(|e| ModelError::Conflict(format!("{desk}: {e}")))?;
            *echoes.lock() = reading.echoes.clone();
            let before = i.clone();
            // Remember what the desk's copy holds now; it is not news when read again.
            let mut changed = false;
            if let Some(r) = i.refs.iter_mut().find(|r| &r.desk == desk) {
                let known = Written {
                    status: reading.reported.status.or(r.written.status),
                    priority: reading.reported.priority.or(r.written.priority),
                    at: r.written.at,
                };
                changed |= r.written != known;
                r.written = known;
                changed |= r.seen.record(version);
            }
            if reading.is_empty() {
                return Ok(Effects { changed, ..Effects::unchanged() });
            }
            i.ensure_room_for_notes(reading.notes.len(), self.config.gateway.limits.notes_per_incident)?;
            for (text, public) in &reading.notes {
                let visibility = if *public { Visibility::Public } else { Visibility::Internal };
                i.add_note(&actor, text.clone(), visibility, now);
                changed = true;
            }
            if !reading.change.is_empty() {
                changed |= i.apply(&actor, &reading.change, now)?;
                profile::after_change(&self.config, &actor, &before, i, now);
            }
            let deliveries =
                if changed { Planner::new(&self.config).changed(&before, i, desk, Via::Remote) } else { Vec::new() };
            applied.store(changed, std::sync::atomic::Ordering::SeqCst);
            let mut effects = Effects { changed, deliveries, ..Effects::default() };
            if changed {
                self.escalate(before.priority, i, now, &mut effects);
                self.after_changed(&before, i, &actor, &mut effects);
                self.after_classified(Some(&before), i, desk, now, &mut effects);
            }
            Ok(effects)
        };
        let outcome = match self.store.update_incident(&id, &mutate, entry).await {
            Ok(incident) => {
                self.outbox_changed.notify_one();
                let echoes = echoes.into_inner();
                if let Some(why) = replay.into_inner() {
                    let reason = format!("replay: a report from {desk} ticket {remote_id} was not applied: {why}");
                    tracing::info!(incident = %id, %reason, "remote report replayed");
                    metrics::counter!("deskgate_remote_changes_replayed_total", "desk" => desk.to_string())
                        .increment(1);
                    self.audit_rejection(Some(desk), None, &reason, ctx).await;
                    return Ok(RemoteOutcome::Replayed(reason));
                }
                if applied.into_inner() {
                    self.end_escalations(&incident).await;
                    self.follow_support_requests(&incident, ctx).await;
                    RemoteOutcome::Applied(Box::new(incident))
                } else {
                    RemoteOutcome::NothingNew { echoes }
                }
            }
            Err(StoreError::Model(
                rule @ (ModelError::Conflict(_)
                | ModelError::IllegalTransition { .. }
                | ModelError::Forbidden(_)
                | ModelError::Full { .. }
                | ModelError::PatientData { .. }),
            )) => RemoteOutcome::Parked(self.park(&id, desk, remote_id, &rule.to_string(), now, ctx).await?),
            Err(e) => return Err(e.into()),
        };
        if refused.is_empty() {
            return Ok(outcome);
        }
        let refused = refused.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        let reason = self.park(&id, desk, remote_id, &refused, now, ctx).await?;
        Ok(match outcome {
            RemoteOutcome::Applied(incident) => RemoteOutcome::Applied(incident),
            _ => RemoteOutcome::Parked(reason),
        })
    }

    /// A remote desk's change (or part of one) that is not applied: audited, and noted
    /// internally on the incident for the national desk, once. The reason it returns
    /// names the fields and the rule, never a refused value.
    async fn park(
        &self,
        id: &IncidentId,
        desk: &DeskId,
        remote_id: &TicketId,
        rule: &str,
        now: Timestamp,
        ctx: &RequestContext,
    ) -> Result<String, GatewayError> {
        let reason = format!("not applied: a change from {desk} ticket {remote_id}: {rule}");
        self.park_reason(id, desk, reason, now, ctx).await
    }

    /// A change that is not applied, with `reason`: audited, and noted internally on
    /// the incident for the national desk, once.
    async fn park_reason(
        &self,
        id: &IncidentId,
        desk: &DeskId,
        reason: String,
        now: Timestamp,
        ctx: &RequestContext,
    ) -> Result<String, GatewayError> {
        tracing::warn!(incident = %id, %reason, "change parked");
        metrics::counter!("deskgate_remote_changes_parked_total", "desk" => desk.to_string()).increment(1);
        self.audit_rejection(Some(desk), None, &reason, ctx).await;
        let note = Text::parse("note", &format!("deskgate {reason}. The national desk decides how to proceed."))
            .map_err(GatewayError::Model)?;
        let national = self.config.national_desk().map(|d| Actor { desk: d.id.clone(), role: Role::National });
        // The desk's tool keeps reporting the refused value with every later
        // event (including the one about this very note): say it once.
        let noted = self
            .store
            .get_incident(id)
            .await?
            .and_then(|i| i.notes.last().cloned())
            .is_some_and(|n| n.visibility == Visibility::Internal && n.body == note);
        if let Some(national) = national.filter(|_| !noted) {
            let entry = self.entry(AuditKind::Updated, Some(desk), "parked change noted", ctx);
            let add = |i: &mut Incident| {
                let before = i.clone();
                i.add_note(&national, note.clone(), Visibility::Internal, now);
                Ok(Effects {
                    changed: true,
                    deliveries: Planner::new(&self.config).changed(&before, i, &national.desk, Via::Api),
                    ..Effects::default()
                })
            };
            self.store.update_incident(id, &add, entry).await?;
            self.outbox_changed.notify_one();
        }
        Ok(reason)
    }

    /// A report from a desk's tool about a copy that is no longer kept in step (the
    /// desk was reassigned away, or the incident became a support request): nothing
    /// changes, the report is audited and answered as for an unknown ticket.
    async fn refuse_non_party(
        &self,
        desk: &DeskId,
        remote_id: &TicketId,
        id: &IncidentId,
        ctx: &RequestContext,
    ) -> Result<Option<RemoteOutcome>, GatewayError> {
        let Some(incident) = self.store.get_incident(id).await? else { return Ok(None) };
        if Planner::new(&self.config).is_party(&incident, desk) {
            return Ok(None);
        }
        let reason = format!("a change from {desk} ticket {remote_id} ignored: {desk} is no longer party to {id}");
        tracing::info!(incident = %id, %reason, "remote change from a desk that is not a party");
        self.audit_rejection(Some(desk), None, &reason, ctx).await;
        Ok(Some(RemoteOutcome::UnknownTicket))
    }

    /// Which incident a desk's ticket is, if the caller may see it.
    pub async fn find_ref(
        &self,
        who: &DeskPrincipal,
        desk: &DeskId,
        remote_id: &TicketId,
    ) -> Result<Incident, GatewayError> {
        let not_found = || GatewayError::NotFound(format!("{desk} ticket {remote_id}"));
        let id = self.store.find_by_ref(desk, remote_id).await?.ok_or_else(not_found)?;
        self.get(who, &id).await.map_err(|_| not_found())
    }
}

/// A desk that is not party to an incident learns nothing about it: 404, as if absent.
fn hide_invisible(e: StoreError, id: &IncidentId) -> GatewayError {
    match e {
        StoreError::Model(e) if e == ModelError::NOT_PARTY => GatewayError::NotFound(id.to_string()),
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
    if let Some(link) = &c.rfc {
        parts.push(format!("{} {} linked", link.kind.label(), link.key));
    }
    parts.extend(c.classify.describe());
    parts.join(", ")
}

/// The public note that tells the parties, the reporter first, what the incident waits for.
fn release_note(link: &crate::model::ReleaseLink) -> Result<Text, ModelError> {
    let url = link.url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default();
    Text::parse(
        "note",
        &format!(
            "Awaiting release of {}{url}: the incident cannot be solved until this {} in SDS-Jira is released. It is pending release meanwhile.",
            link.key,
            link.kind.label()
        ),
    )
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
