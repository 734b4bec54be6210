//! Change capture from desks that cannot push (ClearQuest has no webhooks): poll
//! with a watermark and an overlap, and drop what was already seen.
//!
//! The watermark — the newest modification time seen — survives restarts in the
//! store. Each poll asks for changes since the watermark *minus an overlap*, because
//! a remote's clock and its commit order can disagree by a little; the overlap's
//! repeats are recognised (same ticket, same modification time, same content) and
//! dropped. Whatever is left goes through [`Gateway::apply_remote`] like a webhook,
//! where echo suppression and note de-duplication make a repeat harmless anyway.
//!
//! [`Gateway::apply_remote`]: crate::gateway::Gateway::apply_remote

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskgate_adapter::RemoteTicket;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use super::inbound::RemoteUpdate;
use super::registry::Adapters;
use crate::config::System;
use crate::gateway::{Gateway, RemoteOutcome, RequestContext};
use crate::model::DeskId;

/// How far back each poll reaches beyond the watermark.
pub const OVERLAP: SignedDuration = SignedDuration::from_secs(120);
/// Where the first poll of a desk starts.
const FIRST_LOOK_BACK: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub seen: usize,
    pub repeats: usize,
    pub applied: usize,
    pub parked: usize,
}

/// Per desk: (ticket, modified) → content fingerprint of what was already applied.
type Seen = HashMap<DeskId, HashMap<(String, Timestamp), u64>>;

pub struct Poller {
    gateway: Arc<Gateway>,
    adapters: Arc<Adapters>,
    /// Pruned below the overlap after every poll.
    seen: Mutex<Seen>,
}

fn fingerprint(t: &RemoteTicket) -> u64 {
    let mut h = DefaultHasher::new();
    t.fields.hash(&mut h);
    for n in &t.notes {
        n.body.hash(&mut h);
    }
    h.finish()
}

impl Poller {
    pub fn new(gateway: Arc<Gateway>, adapters: Arc<Adapters>) -> Self {
        Self { gateway, adapters, seen: Mutex::new(HashMap::new()) }
    }

    /// The desks this poller polls, with their intervals.
    pub fn desks(&self) -> Vec<(DeskId, Duration)> {
        self.gateway
            .config
            .desks
            .values()
            .filter(|d| d.system == System::Clearquest && self.adapters.get(&d.id).is_some())
            .map(|d| {
                let ms = d.clearquest.as_ref().and_then(|c| c.poll_ms).unwrap_or(30_000);
                (d.id.clone(), Duration::from_millis(ms.max(50)))
            })
            .collect()
    }

    /// One poll of `desk`.
    pub async fn poll(&self, desk: &DeskId) -> Result<PollReport, String> {
        let adapter = self.adapters.get(desk).ok_or_else(|| format!("no adapter for {desk}"))?;
        let store = &self.gateway.store;
        let cursor = format!("poll/{desk}");
        let now = self.gateway.clock.now();
        let watermark = store
            .cursor(&cursor)
            .map_err(|e| e.to_string())?
            .and_then(|w| w.parse::<Timestamp>().ok())
            // Remote modification times are the remote's wall clock, whatever clock the
            // gateway was given: the first look-back starts from the earlier of the two.
            .unwrap_or(now.min(Timestamp::now()) - FIRST_LOOK_BACK);
        let tickets = adapter.changed_since(watermark - OVERLAP).await.map_err(|e| e.to_string())?;
        let mut report = PollReport { seen: tickets.len(), ..PollReport::default() };
        let mut newest = watermark;
        let ctx = RequestContext { request_id: Some(format!("poll-{desk}-{}", now.as_millisecond())) };
        for ticket in tickets {
            let modified = ticket.updated_at.unwrap_or(watermark);
            newest = newest.max(modified);
            let print = fingerprint(&ticket);
            let key = (ticket.id.0.clone(), modified);
            let repeat = self.seen_map(|seen| seen.entry(desk.clone()).or_default().insert(key, print) == Some(print));
            if repeat {
                report.repeats += 1;
                continue;
            }
            let Ok(remote_id) = ticket.id.0.parse() else { continue };
            let update = RemoteUpdate { fields: ticket.fields, notes: ticket.notes };
            match self.gateway.apply_remote(desk, &remote_id, &update, &ctx).await {
                Ok(RemoteOutcome::Applied(_)) => report.applied += 1,
                Ok(RemoteOutcome::Parked(_)) => report.parked += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(%desk, ticket = %remote_id, error = %e, "a polled change could not be applied")
                }
            }
        }
        // Forget what the next poll's overlap can no longer return.
        let horizon = newest - OVERLAP;
        self.seen_map(|seen| seen.entry(desk.clone()).or_default().retain(|(_, at), _| *at >= horizon));
        if newest > watermark {
            store.set_cursor(&cursor, &newest.to_string()).await.map_err(|e| e.to_string())?;
        }
        Ok(report)
    }

    fn seen_map<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.seen.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Poll every polled desk at its interval until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let tasks: Vec<_> = self
            .desks()
            .into_iter()
            .map(|(desk, every)| {
                let me = self.clone();
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    loop {
                        // Wait first: a restart does not hammer the desk, and the first
                        // poll reaches back over what happened while deskgate was down.
                        tokio::select! {
                            _ = tokio::time::sleep(every) => {}
                            _ = shutdown.changed() => return,
                        }
                        if *shutdown.borrow() {
                            return;
                        }
                        // Shutdown does not wait for a poll of a desk that hangs: what it
                        // applied is stored, the rest is read again after the restart (the
                        // watermark only moves once a poll is done).
                        let polled = tokio::select! {
                            polled = me.poll(&desk) => polled,
                            _ = shutdown.changed() => return,
                        };
                        match polled {
                            Ok(r) if r.applied + r.parked > 0 => tracing::info!(%desk, ?r, "polled changes"),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(%desk, error = %e, "polling failed; trying again next round"),
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    }
}
