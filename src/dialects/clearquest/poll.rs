//! Change capture from desks that cannot push (ClearQuest has no webhooks): poll
//! with a watermark and an overlap, and drop what was already seen.
//!
//! The algorithm is [`PollState`]'s: each poll asks for changes since the watermark
//! *minus an overlap*, because a remote's clock and its commit order can disagree by
//! a little, and the overlap's repeats are recognised (same ticket, same modification
//! time, same version) and dropped. The state — watermark *and* the versions seen in
//! the overlap — is stored after every change handled, so a restart re-applies
//! nothing. What is left goes through [`Gateway::apply_remote`] like a webhook.
//!
//! [`Gateway::apply_remote`]: crate::gateway::Gateway::apply_remote

use std::sync::Arc;
use std::time::Duration;

use deskgate_adapter::poll::PollState;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use super::interval::PollInterval;
use crate::gateway::adapters::Adapters;
use crate::gateway::inbound::RemoteUpdate;
use crate::gateway::{Gateway, NamedParent, RemoteOutcome, RequestContext};
use crate::model::{DeskId, IncidentId, TicketId};
use crate::ratelimit::RateLimits;
use deskgate_adapter::RemoteTicket;

/// How far back each poll reaches beyond the watermark.
pub const OVERLAP: Duration = Duration::from_secs(120);
/// Where the first poll of a desk starts.
const FIRST_LOOK_BACK: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub seen: usize,
    pub repeats: usize,
    pub applied: usize,
    pub parked: usize,
}

pub struct Poller {
    gateway: Arc<Gateway>,
    adapters: Arc<Adapters>,
    /// The delivery workers' outbound limits: polls take their requests from the same
    /// budget, and deliveries started to a desk make it polled sooner.
    outbound: Option<Arc<RateLimits>>,
}

impl Poller {
    pub fn new(gateway: Arc<Gateway>, adapters: Arc<Adapters>) -> Self {
        Self { gateway, adapters, outbound: None }
    }

    /// This poller sharing `limits` with the delivery workers.
    pub fn with_outbound(mut self, limits: Arc<RateLimits>) -> Self {
        self.outbound = Some(limits);
        self
    }

    /// The desks this poller polls, with their intervals.
    pub fn desks(&self) -> Vec<(DeskId, PollInterval)> {
        let config = self.gateway.config();
        config
            .desks
            .values()
            .filter(|d| crate::dialects::get(d.system).polled() && self.adapters.get(&d.id).is_some())
            .map(|d| {
                let (min, max) = d
                    .clearquest()
                    .map_or_else(|| (Duration::from_millis(1_000), Duration::from_millis(30_000)), |c| c.poll_bounds());
                let budget = config.gateway.rate_limit.with(&d.rate_limit).outbound_per_minute;
                (d.id.clone(), PollInterval::new(min, max, budget))
            })
            .collect()
    }

    /// Deliveries started to `desk` so far (0 without shared limits).
    fn deliveries_to(&self, desk: &DeskId) -> u64 {
        self.outbound.as_ref().map_or(0, |l| l.deliveries_to(desk))
    }

    /// Wait for a request's turn in `desk`'s outbound budget.
    async fn request_turn(&self, desk: &DeskId) {
        if let Some(limits) = &self.outbound {
            limits.until_polled(desk).await;
        }
    }

    /// Where polling of `desk` stands. The cursor holds the [`PollState`] as JSON; a
    /// store written before the seen versions were kept holds the bare watermark.
    async fn state(&self, cursor: &str, now: Timestamp) -> Result<PollState, String> {
        let stored = self.gateway.cursor(cursor).await.map_err(|e| e.to_string())?;
        if let Some(text) = stored {
            if let Ok(state) = serde_json::from_str::<PollState>(&text) {
                return Ok(state);
            }
            if let Ok(watermark) = text.parse::<Timestamp>() {
                return Ok(PollState::starting_at(watermark));
            }
            tracing::warn!(cursor, "unreadable poll state; starting over from the first look-back");
        }
        // Remote modification times are the remote's wall clock, whatever clock the
        // gateway was given: the first look-back starts from the earlier of the two.
        Ok(PollState::starting_at(now.min(Timestamp::now()) - FIRST_LOOK_BACK))
    }

    /// One poll of `desk`.
    pub async fn poll(&self, desk: &DeskId) -> Result<PollReport, String> {
        let adapter = self.adapters.get(desk).ok_or_else(|| format!("no adapter for {desk}"))?;
        let cursor = crate::gateway::health::poll_cursor(desk);
        let now = self.gateway.now();
        let mut state = self.state(&cursor, now).await?;
        self.request_turn(desk).await;
        // What is read now is applied one ticket after the other; a write deskgate
        // makes to one of them meanwhile is not in it (see `Written::is_newer_than`).
        let read = crate::model::RemoteVersion { read_at: Some(Timestamp::now()), ..Default::default() };
        let tickets = adapter.changed_since(state.query_from(OVERLAP)).await.map_err(|e| e.to_string())?;
        let mut report = PollReport { seen: tickets.len(), ..PollReport::default() };
        let fresh = state.fresh(OVERLAP, tickets);
        report.repeats = report.seen - fresh.len();
        let ctx =
            RequestContext { request_id: Some(format!("poll-{desk}-{}", now.as_millisecond())), ..Default::default() };
        for ticket in fresh {
            if let Ok(remote_id) = ticket.id.0.parse() {
                let update = RemoteUpdate { fields: ticket.fields.clone(), notes: ticket.notes.clone() };
                match self.gateway.apply_remote(desk, &remote_id, &update, &read, &ctx).await {
                    Ok(RemoteOutcome::Applied(_)) => report.applied += 1,
                    Ok(RemoteOutcome::Parked(_)) => report.parked += 1,
                    Ok(RemoteOutcome::UnknownTicket) => {
                        match super::detected::read_in(&self.gateway, desk, &remote_id, &ticket, &ctx).await {
                            Ok(created) => report.applied += usize::from(created),
                            Err(e) => {
                                tracing::warn!(%desk, ticket = %remote_id, error = %e, "a record could not be read in")
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(%desk, ticket = %remote_id, error = %e, "a polled change could not be applied")
                    }
                }
                if let Err(e) = self.parent_field(desk, &remote_id, &ticket, &ctx).await {
                    tracing::warn!(%desk, ticket = %remote_id, error = %e, "a polled parent field could not be read");
                }
            }
            // Handled: a restart from here on does not read it as new again.
            state.mark(&ticket, OVERLAP);
            let text = serde_json::to_string(&state).map_err(|e| e.to_string())?;
            self.gateway.set_cursor(&cursor, &text).await.map_err(|e| e.to_string())?;
        }
        Ok(report)
    }

    /// The national desk's parent field on a polled record (step 3): a value naming
    /// an incident — its deskgate id, or the ClearQuest id of another record deskgate
    /// knows — makes this record's incident a support request of it.
    async fn parent_field(
        &self,
        desk: &DeskId,
        remote_id: &TicketId,
        ticket: &RemoteTicket,
        ctx: &RequestContext,
    ) -> Result<(), String> {
        let options = self.gateway.desk(desk).and_then(|d| d.clearquest());
        let Some(field) = options.and_then(|o| o.parent_field()) else { return Ok(()) };
        let value = ticket.fields.extra.get(&field).map(|v| v.trim()).unwrap_or_default();
        if value.is_empty() {
            return Ok(());
        }
        let named = if let Ok(id) = value.parse::<IncidentId>() {
            NamedParent::Known(id)
        } else {
            // Shown back only when it is a plain ticket number without patient data.
            let shown = crate::model::parse_display_id("parent", value).ok();
            let mut found = None;
            if let (Some(display_id), Some(adapter)) = (&shown, self.adapters.get(desk)) {
                self.request_turn(desk).await;
                let record = adapter.find_by_display_id(display_id).await.map_err(|e| e.to_string())?;
                if let Some(parent) = record.and_then(|r| r.id.0.parse::<TicketId>().ok()) {
                    found = self.gateway.ticket_incident(desk, &parent).await.map_err(|e| e.to_string())?;
                }
            }
            found.map_or(NamedParent::Unknown(shown), NamedParent::Known)
        };
        let field = field.trim_start_matches("cq:");
        self.gateway.parent_named(desk, remote_id, field, named, ctx).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Poll every polled desk at its interval until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        self.run_led(shutdown, crate::store::Leadership::always()).await
    }

    /// Like [`Poller::run`], polling only while `leadership` says this process
    /// leads: replicas sharing a store poll each desk once, not once each.
    pub async fn run_led(self: Arc<Self>, shutdown: watch::Receiver<bool>, leadership: crate::store::Leadership) {
        let tasks: Vec<_> = self
            .desks()
            .into_iter()
            .map(|(desk, mut every)| {
                let me = self.clone();
                let mut shutdown = shutdown.clone();
                let mut leadership = leadership.clone();
                tokio::spawn(async move {
                    let mut deliveries = me.deliveries_to(&desk);
                    loop {
                        // Wait first: a restart does not hammer the desk, and the first
                        // poll reaches back over what happened while deskgate was down.
                        // A long wait is cut short when deliveries to the desk begin.
                        let until = tokio::time::Instant::now() + every.current();
                        loop {
                            let step = every.min().min(until.saturating_duration_since(tokio::time::Instant::now()));
                            tokio::select! {
                                _ = tokio::time::sleep(step) => {}
                                _ = shutdown.changed() => return,
                            }
                            if *shutdown.borrow() {
                                return;
                            }
                            if tokio::time::Instant::now() >= until || me.deliveries_to(&desk) != deliveries {
                                break;
                            }
                        }
                        if !leadership.is_leader() {
                            continue;
                        }
                        let started = me.deliveries_to(&desk);
                        // Shutdown does not wait for a poll of a desk that hangs: what it
                        // applied is stored, the rest is read again after the restart (the
                        // watermark only moves once a poll is done).
                        let polled = tokio::select! {
                            polled = me.poll(&desk) => polled,
                            _ = shutdown.changed() => return,
                            // Another replica may lead now: it reads the rest again.
                            () = leadership.lost() => continue,
                        };
                        let changes = match polled {
                            Ok(r) => {
                                if r.applied + r.parked > 0 {
                                    tracing::info!(%desk, ?r, "polled changes");
                                }
                                r.seen > r.repeats
                            }
                            Err(e) => {
                                tracing::warn!(%desk, error = %e, "polling failed; trying again next round");
                                false
                            }
                        };
                        every.next(changes, started != deliveries);
                        deliveries = started;
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    }
}

#[cfg(test)]
mod tests;
