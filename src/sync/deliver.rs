//! Delivery workers: take due deliveries from the outbox and carry them out.
//!
//! Lanes — (incident, desk) pairs — are independent: each delivers its items strictly
//! in outbox order, one at a time; different lanes run in parallel up to a limit. A
//! lane whose head is dead-lettered is held until the dead letter is replayed, so a
//! later change never overtakes an earlier one at the same desk.
//!
//! Retry is a property of the error: the adapter says retriable or permanent.
//! Retriable failures back off exponentially with jitter, never sooner than the
//! remote's `Retry-After`; permanent ones and exhausted retries become dead letters
//! carrying the remote's answer. A delivery that waits for another lane (a link to a
//! ticket not created yet) is rescheduled without counting as an attempt.
//!
//! Every delivery is idempotent at the remote: a create looks up the incident's
//! correlation id first, statuses and priorities are set (not toggled), links carry
//! a global id, notes carry a marker the adapters can find again.
//!
//! Who may be told is checked again when a delivery runs, not only when it was
//! planned: a delivery to a desk that is no longer party to the incident (reassigned
//! away while its tool was down), or of a note the desk may not see, is dropped —
//! completed without calling the remote — and the audit log says why.
//!
//! At shutdown no delivery starts any more; those under way get [`STOP_GRACE`] and
//! are then abandoned where they are. An abandoned delivery stays in the outbox and
//! runs after the restart (at-least-once, idempotent at the remote).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use std::time::Duration;

use deskgate_adapter::{AdapterError, RemoteId, RemoteLink, RemoteNote};
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::Config;
use crate::gateway::adapters::Adapters;
use crate::gateway::plan::Planner;
use crate::mapping::{Mappings, StatusOutbound};
use crate::model::{Actor, DeskId, DialectId, Incident, IncidentId, ModelError, Ref, TicketId, Visibility, Written};
use crate::outbox::{Action, DeadLetter, OutboxItem, Unassigned};
use crate::ratelimit::RateLimits;
use crate::store::{AuditEntry, AuditKind, Effects, Store, StoreError};

/// How long deliveries under way at shutdown may take before they are abandoned.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// At most this many due lane heads are read per dispatch round; a full round is
/// followed by another at once.
const DUE_PER_ROUND: usize = 10_000;

/// How often and how long to retry.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// The first retry waits about this long; each further one twice as long.
    pub base: Duration,
    pub max_delay: Duration,
    /// After this many failed attempts the delivery becomes a dead letter.
    pub max_attempts: u32,
    /// How long a delivery that waits for another lane sleeps before looking again.
    pub waiting: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
            max_attempts: 12,
            waiting: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`: exponential, with jitter in the upper
    /// half so synchronized failures spread out, and never below `Retry-After`.
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempts.min(20)).min(self.max_delay);
        let jittered = exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
        retry_after.map_or(jittered, |r| jittered.max(r))
    }
}

type Completion = Box<dyn Fn(&mut Incident) -> Result<Effects, ModelError> + Send + Sync>;

pub(super) enum Failure {
    Remote(AdapterError),
    /// Another lane must finish first; not an attempt.
    Waiting(String),
    /// Something on our side makes the delivery impossible (no adapter, no incident).
    Impossible(String),
    /// The desk may no longer be told this: completed without calling the remote.
    Dropped(String),
    /// Shutdown began before the remote was called: the item stays as it is.
    Stopping,
}

impl From<AdapterError> for Failure {
    fn from(e: AdapterError) -> Self {
        Failure::Remote(e)
    }
}

/// The store failing is a wait: the item is tried again, and no attempt counted.
impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Waiting(format!("store: {e}"))
    }
}

pub struct Dispatcher {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub adapters: Arc<Adapters>,
    pub mappings: Arc<Mappings>,
    pub clock: Arc<dyn Clock>,
    pub wake: Arc<Notify>,
    pub policy: RetryPolicy,
    pub concurrency: usize,
    /// Outbound rate limits per remote desk: every delivery waits its turn.
    pub rate_limits: Arc<RateLimits>,
    /// Carries out escalation notifications ([`Action::Notify`], [`Action::Stakeholders`]).
    pub notifier: Arc<crate::notify::Notifier>,
    /// How long deliveries under way at shutdown may take ([`STOP_GRACE`]).
    pub stop_grace: Duration,
    in_flight: Mutex<HashSet<(IncidentId, DeskId)>>,
    /// The shutdown signal [`Dispatcher::run`] was given.
    shutdown: OnceLock<watch::Receiver<bool>>,
    /// Turns true when the deliveries still under way are given up.
    abandon: watch::Sender<bool>,
    /// Who this process is when it takes a delivery ([`Store::lease_delivery`]),
    /// and for how long: replicas sharing a store deliver each lane one at a time.
    pub holder: String,
    pub lease: Duration,
}

impl Dispatcher {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        adapters: Arc<Adapters>,
        mappings: Arc<Mappings>,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
    ) -> Self {
        let config_lease = config.gateway.store.delivery_lease();
        Self {
            rate_limits: Arc::new(RateLimits::from_config(&config)),
            notifier: Arc::new(crate::notify::Notifier::new(&config)),
            config,
            store,
            adapters,
            mappings,
            clock,
            wake,
            policy: RetryPolicy::default(),
            concurrency: 16,
            stop_grace: STOP_GRACE,
            in_flight: Mutex::new(HashSet::new()),
            shutdown: OnceLock::new(),
            abandon: watch::channel(false).0,
            holder: format!("deskgate-{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            lease: config_lease,
        }
    }

    /// Whether shutdown has begun: nothing new is sent to a remote after that.
    fn stopping(&self) -> bool {
        self.shutdown.get().is_some_and(|s| *s.borrow())
    }

    /// Deliver until `shutdown` turns true. From then on no delivery starts; those
    /// under way get `stop_grace` to finish and are then abandoned (they stay in the
    /// outbox for the next start).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let _ = self.shutdown.set(shutdown.clone());
        let permits = Arc::new(Semaphore::new(self.concurrency.max(1)));
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Reading the outbox waits for a flush and for free lanes: the signal must
            // not wait behind either.
            let dispatched = tokio::select! {
                dispatched = self.dispatch_due(&permits) => dispatched,
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
            };
            let next_due = match dispatched {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "reading the outbox failed");
                    Some(self.clock.now() + SignedDuration::from_secs(1))
                }
            };
            let sleep = next_due
                .map(|t| t.duration_since(self.clock.now()).try_into().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(5))
                .min(Duration::from_secs(5));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        // The deliveries under way may finish within the grace (every permit back
        // means no remote is being called, every lane let go that no outcome is still
        // being recorded); then they are given up where they are.
        let all = self.concurrency.max(1) as u32;
        let under_way = self.in_flight.lock().len();
        if under_way > 0 {
            tracing::info!(under_way, grace_ms = self.stop_grace.as_millis() as u64, "stopping delivery");
        }
        let finished = async {
            let _all = permits.acquire_many(all).await;
            while !self.in_flight.lock().is_empty() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        if tokio::time::timeout(self.stop_grace, finished).await.is_err() {
            tracing::warn!(
                abandoned = self.in_flight.lock().len(),
                "deliveries still under way at shutdown abandoned; they stay in the outbox and run after the restart"
            );
            self.abandon.send_replace(true);
            // Each abandoned delivery drops its work at once and hands its permit back.
            let _ = tokio::time::timeout(Duration::from_secs(1), permits.acquire_many(all)).await;
        }
        self.release_leases().await;
    }

    /// Start every due lane head; returns when the next not-yet-due item is due.
    async fn dispatch_due(self: &Arc<Self>, permits: &Arc<Semaphore>) -> Result<Option<Timestamp>, StoreError> {
        // Lane heads only, from the store's index of them by due time: a round costs
        // what it starts, not what waits. Lanes held by a dead letter have no head.
        let now = self.clock.now();
        let due = self.store.due_deliveries(now, DUE_PER_ROUND).await?;
        // An item can be visible before the group commit that makes its change durable
        // has flushed. Delivering it then, and crashing, would tell a remote desk about
        // a change (even an incident id) the restarted gateway never had. Everything
        // read above is durable once this returns. A round that found nothing to
        // start has nothing to make durable: it does not call for a flush of its own.
        if !due.items.is_empty() {
            self.store.flush().await?;
        }
        // A full round leaves more due: come back at once.
        let next_due = if due.items.len() >= DUE_PER_ROUND { Some(now) } else { due.next_due };
        for item in due.items {
            let lane = item.lane();
            if self.in_flight.lock().contains(&lane) {
                continue;
            }
            let Ok(permit) = permits.clone().acquire_owned().await else { break };
            let mut permit = Some(permit);
            if self.stopping() {
                break;
            }
            self.in_flight.lock().insert(lane.clone());
            let me = self.clone();
            let mut abandon = self.abandon.subscribe();
            tokio::spawn(async move {
                // The snapshot may be stale: this lane's previous delivery — of this very
                // item — may have completed or rescheduled it since it was read. Holding
                // the lane, deliver the item as it stands now, if it is still due.
                // A shared store may refuse the lease (another replica holds the lane):
                // then no new round is called for, or the rounds would spin on it.
                let deliver = async {
                    if me.stopping() {
                        return false;
                    }
                    let now = me.clock.now();
                    let until = now + SignedDuration::try_from(me.lease).unwrap_or(SignedDuration::from_secs(60));
                    match me.store.lease_delivery(item.seq, &me.holder, now, until).await {
                        Ok(Some(current)) => {
                            me.while_leased(current.seq, until, me.deliver_holding(current, permit.take())).await;
                            true
                        }
                        Ok(None) => false,
                        Err(e) => {
                            tracing::error!(error = %e, seq = item.seq, "reading an outbox item failed");
                            false
                        }
                    }
                };
                let again = tokio::select! {
                    delivered = deliver => delivered,
                    _ = abandon.wait_for(|a| *a) => {
                        tracing::warn!(seq = item.seq, incident = %item.incident, desk = %item.desk, "delivery abandoned at shutdown");
                        true
                    }
                };
                me.in_flight.lock().remove(&lane);
                drop(permit);
                if again {
                    me.wake.notify_one();
                }
            });
        }
        Ok(next_due)
    }

    /// Carry out one delivery and record the outcome.
    pub async fn deliver(&self, item: OutboxItem) {
        self.deliver_holding(item, None).await
    }

    /// [`Dispatcher::deliver`] holding one of the permits that bound how many remotes
    /// are called at once: it is handed back as soon as the remote has answered, so
    /// recording the outcome (a store write and its flush) does not keep the next
    /// delivery from starting. The lane stays taken until the outcome is recorded.
    async fn deliver_holding(&self, item: OutboxItem, permit: Option<OwnedSemaphorePermit>) {
        let span = tracing::info_span!("deliver", incident = %item.incident, desk = %item.desk, seq = item.seq);
        // Instrumented, not entered: a guard held across `.await` would lend this span
        // to whatever else runs on the thread meanwhile.
        self.deliver_in_span(item, permit).instrument(span).await
    }

    async fn deliver_in_span(&self, item: OutboxItem, permit: Option<OwnedSemaphorePermit>) {
        let desk_label = item.desk.to_string();
        let outcome = deskgate_adapter::with_request_id(item.correlation(), self.attempt(&item)).await;
        drop(permit);
        let now = self.clock.now();
        let recorded = match outcome {
            Ok(completion) => {
                metrics::counter!("deskgate_deliveries_total", "desk" => desk_label, "outcome" => "delivered")
                    .increment(1);
                tracing::info!(action = %item.action.describe(), "delivered");
                self.store.complete_delivery(item.seq, &item.incident, completion.as_deref()).await
            }
            Err(Failure::Waiting(why)) => {
                tracing::debug!(%why, "waiting");
                let next = OutboxItem { not_before: now + self.policy.waiting, last_error: Some(why), ..item };
                self.store.reschedule_delivery(&next).await
            }
            Err(Failure::Remote(e)) if e.is_retriable() && item.attempts + 1 < self.policy.max_attempts => {
                let delay = self.policy.delay(item.attempts, e.retry_after());
                metrics::counter!("deskgate_delivery_retries_total", "desk" => desk_label).increment(1);
                tracing::warn!(error = %e, attempt = item.attempts + 1, retry_in_ms = delay.as_millis() as u64, "delivery failed; will retry");
                let next = OutboxItem {
                    attempts: item.attempts + 1,
                    not_before: now + delay,
                    last_error: Some(e.to_string()),
                    ..item
                };
                self.store.reschedule_delivery(&next).await
            }
            Err(Failure::Remote(e)) => {
                let error = if e.is_retriable() {
                    format!("gave up after {} attempts: {e}", item.attempts + 1)
                } else {
                    format!("refused by {}: {e}", item.desk)
                };
                metrics::counter!("deskgate_dead_letters_total", "desk" => desk_label).increment(1);
                tracing::error!(%error, "delivery dead-lettered");
                let letter = DeadLetter {
                    remote_status: e.status(),
                    remote_body: e.body().map(str::to_owned),
                    item: OutboxItem { attempts: item.attempts + 1, last_error: Some(error.clone()), ..item },
                    failed_at: now,
                    error,
                };
                self.store.dead_letter(letter).await
            }
            Err(Failure::Stopping) => {
                tracing::info!("shutdown began before the remote was called; the delivery stays in the outbox");
                Ok(())
            }
            Err(Failure::Dropped(why)) => {
                metrics::counter!("deskgate_deliveries_total", "desk" => desk_label, "outcome" => "dropped")
                    .increment(1);
                tracing::info!(action = %item.action.describe(), %why, "delivery dropped");
                self.drop_delivery(&item, &why).await
            }
            Err(Failure::Impossible(error)) => {
                metrics::counter!("deskgate_dead_letters_total", "desk" => desk_label).increment(1);
                tracing::error!(%error, "delivery impossible; dead-lettered");
                let letter = DeadLetter {
                    item: OutboxItem { last_error: Some(error.clone()), ..item },
                    failed_at: now,
                    error,
                    remote_status: None,
                    remote_body: None,
                };
                self.store.dead_letter(letter).await
            }
        };
        if let Err(e) = recorded {
            // The item stays in the outbox as it was and is tried again.
            tracing::error!(error = %e, "recording a delivery outcome failed");
        }
    }

    /// The incident `item` is about; one that no longer exists cannot be delivered.
    async fn incident_of(&self, item: &OutboxItem) -> Result<Incident, Failure> {
        self.store
            .get_incident(&item.incident)
            .await?
            .ok_or_else(|| Failure::Impossible(format!("{} no longer exists", item.incident)))
    }

    async fn attempt(&self, item: &OutboxItem) -> Result<Option<Completion>, Failure> {
        if let Action::Notify { escalation, .. } | Action::Stakeholders { escalation } = &item.action {
            return self.notify(item, escalation).await.map(|()| None);
        }
        if let Action::Alert { alert, to, sms } = &item.action {
            let incident = self.incident_of(item).await?;
            return self.notifier.alert(*alert, *to, *sms, &incident).await.map(|()| None).map_err(Failure::Remote);
        }
        let incident = self.incident_of(item).await?;
        if item.action == Action::DetectedMail {
            return self.detected_mail(&incident).await.map(|()| None);
        }
        if item.action == Action::Journal {
            let sink = self.config.gateway.journal.as_ref();
            let sink = sink.ok_or_else(|| Failure::Dropped("no journal is configured ([gateway.journal])".into()))?;
            return self.notifier.journal(sink, &incident).await.map(|()| None).map_err(Failure::Remote);
        }
        // Planned when the desk was a party; it may not be one any more.
        let planner = Planner::new(&self.config);
        let to_non_party = matches!(item.action, Action::Unassigned { .. } | Action::Coordinate { .. });
        if !to_non_party && !planner.is_party(&incident, &item.desk) {
            return Err(Failure::Dropped(not_party(&incident, &item.desk)));
        }
        let adapter = self
            .adapters
            .get(&item.desk)
            .ok_or_else(|| Failure::Impossible(format!("no adapter is configured for {}", item.desk)))?;
        let mapping = self
            .mappings
            .desk(&item.desk)
            .ok_or_else(|| Failure::Impossible(format!("no mapping is configured for {}", item.desk)))?;
        self.rate_limits.until_ready(&item.desk).await;
        if self.stopping() {
            return Err(Failure::Stopping);
        }
        let as_origin = incident.origin.desk == item.desk;
        let my_ref = || {
            incident
                .ref_for(&item.desk)
                .map(|r| RemoteId(r.remote_id.to_string()))
                .ok_or_else(|| Failure::Waiting(format!("{} has no ticket for {} yet", item.desk, incident.id)))
        };
        match &item.action {
            Action::Create => {
                if incident.ref_for(&item.desk).is_some() {
                    return Ok(None);
                }
                let correlation = incident.id.as_str();
                let ticket = match adapter.find_by_correlation(correlation).await? {
                    Some(existing) => existing,
                    None => {
                        let mut fields = mapping.create_fields(&incident, as_origin);
                        let system = self.config.desk(&item.desk).map_or(DialectId::Native, |d| d.system);
                        fields.extra.extend(crate::dialects::get(system).category_fields(incident.category));
                        adapter.create(&fields, correlation).await?
                    }
                };
                let system = self.config.desk(&item.desk).map_or(DialectId::Native, |d| d.system);
                let remote_id = ticket
                    .id
                    .0
                    .parse()
                    .map_err(|_| Failure::Impossible(format!("{} answered an unusable ticket id", item.desk)))?;
                // The copy starts with the incident's status and priority: a poll that
                // reads them back is reading deskgate's own write.
                let (display_id, url) = checked_copy(&item.desk, &remote_id, &ticket.display_id, ticket.url);
                let new_ref = Ref {
                    desk: item.desk.clone(),
                    system,
                    remote_id,
                    display_id,
                    url,
                    written: Written {
                        status: Some(incident.status),
                        priority: incident.priority,
                        at: Some(Timestamp::now()),
                    },
                    seen: Default::default(),
                };
                Ok(Some(Box::new(move |i: &mut Incident| {
                    if i.ref_for(&new_ref.desk).is_some() {
                        return Ok(Effects::unchanged());
                    }
                    i.refs.push(new_ref.clone());
                    i.version += 1;
                    Ok(Effects { changed: true, ..Effects::default() })
                })))
            }
            Action::Status { status, resolution } => {
                let id = my_ref()?;
                let outbound = mapping.status_fields(*status, resolution.as_deref(), as_origin);
                if let Some(fields) = outbound.fields() {
                    adapter.update(&id, fields).await?;
                }
                if let Some(body) = outbound.note() {
                    // Marked like every note deskgate writes, so it is not read back as news.
                    let body = format!("{body}\n\n— via deskgate [{}]", incident.id);
                    adapter.add_note(&id, &RemoteNote { body, public: true, author: None, at: None }).await?;
                }
                match outbound {
                    StatusOutbound::Note(_) => Ok(None),
                    _ => {
                        let status = *status;
                        Ok(Some(remember(&item.desk, move |w| w.status = Some(status))))
                    }
                }
            }
            Action::Priority { priority } => {
                let id = my_ref()?;
                adapter.update(&id, &mapping.priority_fields_for(*priority, &incident)).await?;
                let priority = *priority;
                Ok(Some(remember(&item.desk, move |w| w.priority = Some(priority))))
            }
            Action::Note { index } => {
                let id = my_ref()?;
                let note = incident
                    .notes
                    .get(*index)
                    .ok_or_else(|| Failure::Impossible(format!("{} has no note #{}", incident.id, index + 1)))?;
                let role = self.config.desk(&item.desk).map(|d| d.role);
                let reader = role.map(|role| Actor { desk: item.desk.clone(), role });
                if !reader.is_some_and(|reader| incident.shows_note(note, &reader)) {
                    return Err(Failure::Dropped(format!(
                        "note #{} is internal and {} may not see internal notes",
                        index + 1,
                        item.desk
                    )));
                }
                let author = self.config.desk(&note.author_desk).map_or(note.author_desk.as_str(), |d| d.name.as_str());
                let body = format!("{}\n\n— {author} via deskgate [{}#{}]", note.body.as_str(), incident.id, index + 1);
                let remote = RemoteNote {
                    body,
                    public: note.visibility == Visibility::Public,
                    author: Some(note.author_desk.to_string()),
                    at: Some(note.at),
                };
                adapter.add_note(&id, &remote).await?;
                Ok(None)
            }
            Action::Link { with } => {
                if !planner.is_party(&incident, with) {
                    return Err(Failure::Dropped(format!("no link to its copy: {}", not_party(&incident, with))));
                }
                let id = my_ref()?;
                let other = incident
                    .ref_for(with)
                    .ok_or_else(|| Failure::Waiting(format!("{with} has no ticket for {} yet", incident.id)))?;
                let name = self.config.desk(with).map_or(with.as_str(), |d| d.name.as_str());
                let link = RemoteLink {
                    global_id: format!("deskgate:{}:{}", incident.id, with),
                    title: format!("{name}: {} ({})", other.display_id, incident.id),
                    url: other.url.clone(),
                    display_id: other.display_id.clone(),
                };
                adapter.link(&id, &link).await?;
                Ok(None)
            }
            Action::Attachment { index } => {
                let id = my_ref()?;
                let attachment = incident
                    .attachments
                    .get(*index)
                    .ok_or_else(|| Failure::Impossible(format!("{} has no attachment #{}", incident.id, index + 1)))?;
                if attachment.delivered_to.contains(&item.desk) {
                    return Ok(None);
                }
                let files = adapter
                    .attachment_api()
                    .ok_or_else(|| Failure::Dropped(format!("{}'s system takes no attachments", item.desk)))?;
                let content = self.store.content(&attachment.sha256).await?.ok_or_else(|| {
                    Failure::Impossible(format!("the content of attachment #{} is not stored", index + 1))
                })?;
                let upload = deskgate_adapter::AttachmentUpload {
                    file_name: attachment.file_name.clone(),
                    content_type: attachment.content_type.clone(),
                    content,
                };
                // An earlier attempt whose answer was lost may have attached it already.
                if !upload.is_among(&files.list(&id).await?) {
                    files.add(&id, &upload).await?;
                }
                let (desk, index) = (item.desk.clone(), *index);
                Ok(Some(Box::new(move |i: &mut Incident| {
                    Ok(Effects { changed: i.attachment_delivered(index, &desk), ..Effects::default() })
                })))
            }
            Action::Unassigned { why } => {
                if planner.is_party(&incident, &item.desk) {
                    return Err(Failure::Dropped(format!("{} is a party to {} again", item.desk, incident.id)));
                }
                let Some(copy) = incident.ref_for(&item.desk) else {
                    return Err(Failure::Dropped(format!("{} has no copy of {} to tell", item.desk, incident.id)));
                };
                // Only the id: the desk may no longer see anything else of the incident.
                let what = match why {
                    Unassigned::Reassigned => "was reassigned by the national desk",
                    Unassigned::HandedOn => "was handed on to another supplier",
                    Unassigned::SupportRequest => {
                        "was registered by the national desk as a further report of another incident"
                    }
                };
                let body = format!(
                    "{} {what}; this copy is no longer kept in step.\n\n— via deskgate [{}]",
                    incident.id, incident.id
                );
                let id = RemoteId(copy.remote_id.to_string());
                adapter.add_note(&id, &RemoteNote { body, public: true, author: None, at: None }).await?;
                Ok(None)
            }
            Action::SupportRequest { id } => {
                self.support_request_links(&incident, &item.desk, id, &*adapter).await.map(|()| None)
            }
            Action::Coordinate { solved_by } => {
                let Some(copy) = incident.ref_for(&item.desk) else {
                    return Err(Failure::Dropped(format!("{} has no copy of {} to note on", item.desk, incident.id)));
                };
                let body = crate::notify::journal::coordination_note(&self.config, &incident, solved_by);
                let id = RemoteId(copy.remote_id.to_string());
                adapter.add_note(&id, &RemoteNote { body, public: false, author: None, at: None }).await?;
                Ok(None)
            }
            // Carried out by `notify`, the detected mail and the journal before any adapter is looked up.
            Action::Notify { .. }
            | Action::Stakeholders { .. }
            | Action::Alert { .. }
            | Action::DetectedMail
            | Action::Journal => Ok(None),
            Action::Deferral { until } => {
                let desk = self.config.desk(&item.desk);
                super::deferral::show(adapter.as_ref(), desk, &my_ref()?, until.as_deref(), &incident).await?;
                Ok(None)
            }
        }
    }
}

impl Dispatcher {
    /// An escalation notification: to a contact's channel or the stakeholders.
    async fn notify(&self, item: &OutboxItem, escalation: &str) -> Result<(), Failure> {
        let record = self
            .store
            .escalation(escalation)
            .await?
            .ok_or_else(|| Failure::Impossible(format!("escalation {escalation} no longer exists")))?;
        let incident = self.incident_of(item).await?;
        self.notifier.deliver(&item.action, &record, &incident).await.map_err(Failure::Remote)
    }
}

impl Dispatcher {
    /// A delivery the desk may no longer receive: completed without calling the
    /// remote, and the audit log says why.
    async fn drop_delivery(&self, item: &OutboxItem, why: &str) -> Result<(), StoreError> {
        let reason = format!("delivery dropped ({} to {}): {why}", item.action.describe(), item.desk);
        let entry = AuditEntry::new(self.clock.now(), AuditKind::Rejected, reason)
            .with_desk(&item.desk)
            .with_incident(&item.incident)
            .with_request_id(item.correlation());
        self.store.audit(entry).await?;
        self.store.complete_delivery(item.seq, &item.incident, None).await
    }
}

/// Why `desk` is not party to `incident`, for the audit log.
fn not_party(incident: &Incident, desk: &DeskId) -> String {
    if incident.assignee.as_ref() == Some(desk) {
        let parent = incident.parent.as_ref().map(|p| format!(" {p}")).unwrap_or_default();
        return format!("{} is a support request; its supplier works the parent incident{parent}", incident.id);
    }
    if incident.supplier_only && incident.assignee.is_some() {
        return format!("{} is handled in its supplier's tool only", incident.id);
    }
    let assigned = incident.assignee.as_ref().map_or_else(|| "no supplier".to_owned(), ToString::to_string);
    format!("{desk} is no longer party to {} (assigned to {assigned})", incident.id)
}

/// A completion that records on `desk`'s ref what was written there, and when the
/// desk answered (echo suppression; a poll that read the copy before then is older).
fn remember(desk: &DeskId, set: impl Fn(&mut Written) + Send + Sync + 'static) -> Completion {
    let desk = desk.clone();
    // The wall clock, as a poll's reading time is: both say when the desk was spoken to.
    let answered = Timestamp::now();
    Box::new(move |i: &mut Incident| {
        let Some(r) = i.refs.iter_mut().find(|r| r.desk == desk) else { return Ok(Effects::unchanged()) };
        let before = r.written.clone();
        set(&mut r.written);
        r.written.at = Some(answered);
        Ok(Effects { changed: r.written != before, ..Effects::default() })
    })
}

/// What a remote desk answered about its new copy, held to the rules every inbound
/// reference follows (every party is shown it): a readable display id, else the
/// remote id; an absolute http(s) link, else none.
fn checked_copy(
    desk: &DeskId,
    remote_id: &TicketId,
    display_id: &str,
    url: Option<String>,
) -> (String, Option<String>) {
    let display_id = crate::model::parse_display_id("display_id", display_id).unwrap_or_else(|e| {
        tracing::warn!(%desk, error = %e, "a remote desk named its copy unreadably; showing its id instead");
        remote_id.to_string()
    });
    let url = url.filter(|u| match crate::model::parse_url("url", u) {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(%desk, error = %e, "a remote desk linked its copy with an unusable URL; not kept");
            false
        }
    });
    (display_id, url)
}

mod lease;
#[cfg(test)]
mod tests;
