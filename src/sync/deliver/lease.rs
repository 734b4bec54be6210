//! A delivery's hold on its lane while it runs. The lease taken when it starts
//! ([`Store::lease_delivery`](crate::store::Store::lease_delivery)) is renewed every
//! third of its length while the remote is called, so no other replica takes a lane
//! that is still being delivered, however slow the remote.
//!
//! A replica that cannot renew in time (the database out of reach, or another
//! replica holding the lane after all) abandons the delivery where it is, before
//! its lease runs out, and records nothing: the item stays in the outbox for the
//! next holder. What the remote was told is not lost with it, because every
//! delivery is idempotent at the remote — a create first looks the incident's
//! correlation id up and finds the ticket made here.
//!
//! At shutdown the replica ends its leases at once ([`Dispatcher::release_leases`]),
//! so another replica takes those deliveries without waiting for them to run out.

use std::future::Future;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

use super::Dispatcher;

/// Renewals closer together than this would only load the database.
const MIN_RENEW_EVERY: Duration = Duration::from_millis(50);

/// How long ending the leases at shutdown may take.
const RELEASE_WITHIN: Duration = Duration::from_secs(2);

impl Dispatcher {
    /// Run `delivery` of item `seq`, leased until `until`, while renewing the lease;
    /// if the lease cannot be kept, `delivery` is dropped where it is.
    pub(super) async fn while_leased(&self, seq: u64, until: Timestamp, delivery: impl Future<Output = ()>) {
        let every = (self.lease / 3).max(MIN_RENEW_EVERY);
        // The answer granting the lease may itself have been held up (a network that
        // came back): a lease nearly run out is not started on.
        let left: Duration = until.duration_since(self.clock.now()).try_into().unwrap_or(Duration::ZERO);
        if left < every {
            metrics::counter!("deskgate_delivery_leases_lost_total").increment(1);
            tracing::warn!(seq, left_ms = left.as_millis() as u64, "delivery not started: its lease came too late");
            return;
        }
        tokio::select! {
            () = delivery => {}
            why = self.lease_lost(seq, every, Instant::now() + left) => {
                metrics::counter!("deskgate_delivery_leases_lost_total").increment(1);
                tracing::warn!(seq, why, "delivery abandoned: its lease could not be kept; the next holder delivers it again");
            }
        }
    }

    /// Renew the lease on `seq` (held until `held_until`) `every` third of its
    /// length; returns (why) once it cannot be kept until the next renewal.
    async fn lease_lost(&self, seq: u64, every: Duration, mut held_until: Instant) -> &'static str {
        let length = SignedDuration::try_from(self.lease).unwrap_or(SignedDuration::from_secs(60));
        loop {
            tokio::time::sleep(every).await;
            let asked = Instant::now();
            let until = self.clock.now() + length;
            // Bounded: a query to a database cut off by the network hangs for minutes.
            match tokio::time::timeout(every, self.store.renew_lease(seq, &self.holder, until)).await {
                Ok(Ok(true)) => held_until = asked + self.lease,
                Ok(Ok(false)) => return "another holder has it now",
                Ok(Err(e)) => tracing::warn!(seq, error = %e, "renewing a delivery's lease failed"),
                Err(_) => tracing::warn!(seq, "renewing a delivery's lease did not answer in time"),
            }
            // The next try could end after the lease has: give up while it still holds.
            if Instant::now() + every >= held_until {
                return "the lease could not be renewed";
            }
        }
    }

    /// End this process's leases (shutdown, after the deliveries under way finished
    /// or were abandoned): other replicas may take those deliveries at once.
    pub(super) async fn release_leases(&self) {
        match tokio::time::timeout(RELEASE_WITHIN, self.store.release_leases(&self.holder)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(released)) => tracing::info!(released, "delivery leases released for the other replicas"),
            Ok(Err(e)) => tracing::warn!(error = %e, "releasing delivery leases failed; they run out by themselves"),
            Err(_) => tracing::warn!("releasing delivery leases did not answer in time; they run out by themselves"),
        }
    }
}

#[cfg(test)]
mod tests;
