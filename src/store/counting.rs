//! A [`Store`] that counts the calls made to it and passes them on: for tests that
//! bound how much a piece of work reads (by calls, not by time).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use parking_lot::Mutex;

use super::{
    AuditEntry, CreateOutcome, CreationPlan, DueDeliveries, DueEscalation, DueTimer, EscalationChange, EscalationQuery,
    IdempotencyClaim, Leadership, ListQuery, Mutation, ReplayAudit, Store, StoreError, TimerQuery,
    backup::BackupSummary,
};
use crate::escalation::Escalation;
use crate::model::{DeskId, Incident, IncidentId, NewIncident, TicketId};
use crate::outbox::{DeadLetter, OutboxItem};

pub struct Counting {
    inner: Arc<dyn Store>,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    /// Whether the inner store answers [`Store::due_for_watch`] itself (a join); if
    /// not, the trait's default runs here, so the reads it makes are counted.
    joins_watch: bool,
    /// Set by [`Counting::pause_after_watch_read`].
    watch_pause: Mutex<Option<Arc<Pause>>>,
}

/// A point a call stops at until the test lets it go on: [`Pause::reached`] is
/// notified when it gets there, and it waits for [`Pause::resume`].
#[derive(Default)]
pub struct Pause {
    pub reached: tokio::sync::Notify,
    pub resume: tokio::sync::Notify,
}

impl Counting {
    pub fn new(inner: Arc<dyn Store>, joins_watch: bool) -> Self {
        Self { inner, calls: Mutex::default(), joins_watch, watch_pause: Mutex::default() }
    }

    /// From now on, [`Store::due_for_watch`] stops after its read, before it returns:
    /// so a test can change the store between a watch's read and what it does next.
    pub fn pause_after_watch_read(&self) -> Arc<Pause> {
        let pause = Arc::new(Pause::default());
        *self.watch_pause.lock() = Some(pause.clone());
        pause
    }

    fn count(&self, method: &'static str) {
        *self.calls.lock().entry(method).or_default() += 1;
    }

    /// Calls by method since the last reset.
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().clone()
    }

    pub fn total(&self) -> usize {
        self.calls().values().sum()
    }

    pub fn reset(&self) {
        self.calls.lock().clear();
    }
}

// Each method the macro lists counts its call under its own name and passes it on;
// a table of one line a method, rather than the trait's signatures written out again.
macro_rules! counted {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        #[async_trait]
        impl Store for Counting {
            $(async fn $name(&self, $($arg: $ty),*) -> Result<$out, StoreError> {
                self.count(stringify!($name));
                self.inner.$name($($arg),*).await
            })*

            async fn is_ready(&self) -> bool {
                self.inner.is_ready().await
            }

            async fn flush(&self) -> Result<(), StoreError> {
                self.count("flush");
                self.inner.flush().await
            }

            async fn due_for_watch(&self, by: Timestamp, limit: usize) -> Result<Vec<DueEscalation>, StoreError> {
                let due = if self.joins_watch {
                    self.count("due_for_watch");
                    self.inner.due_for_watch(by, limit).await
                } else {
                    super::due_with_incidents(self, by, limit).await
                };
                let pause = self.watch_pause.lock().clone();
                if let Some(pause) = pause {
                    pause.reached.notify_one();
                    pause.resume.notified().await;
                }
                due
            }

            fn leadership(&self) -> Leadership {
                self.inner.leadership()
            }
        }
    };
}

counted! {
    create_incident(new: NewIncident, idempotency: Option<IdempotencyClaim>, audit: AuditEntry, now: Timestamp, plan: CreationPlan<'_>) -> CreateOutcome;
    update_incident(id: &IncidentId, mutate: Mutation<'_>, audit: AuditEntry) -> Incident;
    get_incident(id: &IncidentId) -> Option<Incident>;
    find_by_ref(desk: &DeskId, remote_id: &TicketId) -> Option<IncidentId>;
    list_incidents(query: &ListQuery) -> Vec<Incident>;
    count_incidents(query: &ListQuery, at_most: usize) -> usize;
    audit(entry: AuditEntry) -> ();
    audit_log(after: Option<u64>, limit: usize) -> Vec<(u64, AuditEntry)>;
    export(out: &mut (dyn std::io::Write + Send)) -> BackupSummary;
    import(input: &mut (dyn std::io::BufRead + Send), force: bool) -> BackupSummary;
    outbox(limit: usize) -> Vec<OutboxItem>;
    outbox_for(incident: &IncidentId, desk: Option<&DeskId>) -> Vec<OutboxItem>;
    due_deliveries(now: Timestamp, limit: usize) -> DueDeliveries;
    outbox_page(after: Option<u64>, desk: Option<&DeskId>, limit: usize) -> Vec<OutboxItem>;
    dead_letters_page(after: Option<u64>, desk: Option<&DeskId>, limit: usize) -> Vec<DeadLetter>;
    outbox_item(seq: u64) -> Option<OutboxItem>;
    complete_delivery(seq: u64, incident: &IncidentId, mutate: Option<Mutation<'_>>) -> ();
    reschedule_delivery(item: &OutboxItem) -> ();
    dead_letter(letter: DeadLetter) -> ();
    dead_letters(limit: usize) -> Vec<DeadLetter>;
    replay_dead_letter(seq: u64, now: Timestamp, audit: ReplayAudit<'_>) -> OutboxItem;
    escalation(id: &str) -> Option<Escalation>;
    escalations(query: &EscalationQuery) -> Vec<Escalation>;
    due_escalations(by: Timestamp, limit: usize) -> Vec<Escalation>;
    escalations_of(incident: &IncidentId) -> Vec<Escalation>;
    due_timers(query: &TimerQuery<'_>) -> Vec<DueTimer>;
    update_escalation(id: &str, now: Timestamp, change: EscalationChange<'_>, audit: Option<AuditEntry>) -> Escalation;
    put_content(content: bytes::Bytes) -> (String, bool);
    content(sha256: &str) -> Option<bytes::Bytes>;
    content_count() -> usize;
    cursor(name: &str) -> Option<String>;
    set_cursor(name: &str, value: &str) -> ();
    lease_delivery(seq: u64, holder: &str, now: Timestamp, until: Timestamp) -> Option<OutboxItem>;
}
