//! A [`Store`] that counts the calls made to it and passes them on: for tests that
//! bound how much a piece of work reads (by calls, not by time).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;

use super::{
    AuditEntry, CreateOutcome, CreationPlan, DueDeliveries, DueEscalation, EscalationChange, EscalationQuery,
    IdempotencyClaim, Leadership, ListQuery, Mutation, ReplayAudit, Store, StoreError, backup::BackupSummary,
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
}

impl Counting {
    pub fn new(inner: Arc<dyn Store>, joins_watch: bool) -> Self {
        Self { inner, calls: Mutex::default(), joins_watch }
    }

    fn count(&self, method: &'static str) {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(method).or_default() += 1;
        }
    }

    /// Calls by method since the last reset.
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn total(&self) -> usize {
        self.calls().values().sum()
    }

    pub fn reset(&self) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.clear();
        }
    }
}

#[async_trait]
impl Store for Counting {
    async fn create_incident(
        &self,
        new: NewIncident,
        idempotency: Option<IdempotencyClaim>,
        audit: AuditEntry,
        now: Timestamp,
        plan: CreationPlan<'_>,
    ) -> Result<CreateOutcome, StoreError> {
        self.count("create_incident");
        self.inner.create_incident(new, idempotency, audit, now, plan).await
    }

    async fn update_incident(
        &self,
        id: &IncidentId,
        mutate: Mutation<'_>,
        audit: AuditEntry,
    ) -> Result<Incident, StoreError> {
        self.count("update_incident");
        self.inner.update_incident(id, mutate, audit).await
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        self.count("get_incident");
        self.inner.get_incident(id).await
    }

    async fn find_by_ref(&self, desk: &DeskId, remote_id: &TicketId) -> Result<Option<IncidentId>, StoreError> {
        self.count("find_by_ref");
        self.inner.find_by_ref(desk, remote_id).await
    }

    async fn list_incidents(&self, query: &ListQuery) -> Result<Vec<Incident>, StoreError> {
        self.count("list_incidents");
        self.inner.list_incidents(query).await
    }

    async fn count_incidents(&self, query: &ListQuery, at_most: usize) -> Result<usize, StoreError> {
        self.count("count_incidents");
        self.inner.count_incidents(query, at_most).await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.count("audit");
        self.inner.audit(entry).await
    }

    async fn audit_log(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        self.count("audit_log");
        self.inner.audit_log(after, limit).await
    }

    async fn is_ready(&self) -> bool {
        self.inner.is_ready().await
    }

    async fn export(&self, out: &mut (dyn std::io::Write + Send)) -> Result<BackupSummary, StoreError> {
        self.count("export");
        self.inner.export(out).await
    }

    async fn import(
        &self,
        input: &mut (dyn std::io::BufRead + Send),
        force: bool,
    ) -> Result<BackupSummary, StoreError> {
        self.count("import");
        self.inner.import(input, force).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }

    async fn outbox(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        self.count("outbox");
        self.inner.outbox(limit).await
    }

    async fn outbox_for(&self, incident: &IncidentId, desk: Option<&DeskId>) -> Result<Vec<OutboxItem>, StoreError> {
        self.count("outbox_for");
        self.inner.outbox_for(incident, desk).await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> Result<DueDeliveries, StoreError> {
        self.count("due_deliveries");
        self.inner.due_deliveries(now, limit).await
    }

    async fn outbox_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        self.count("outbox_page");
        self.inner.outbox_page(after, desk, limit).await
    }

    async fn dead_letters_page(
        &self,
        after: Option<u64>,
        desk: Option<&DeskId>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        self.count("dead_letters_page");
        self.inner.dead_letters_page(after, desk, limit).await
    }

    async fn outbox_item(&self, seq: u64) -> Result<Option<OutboxItem>, StoreError> {
        self.count("outbox_item");
        self.inner.outbox_item(seq).await
    }

    async fn complete_delivery(
        &self,
        seq: u64,
        incident: &IncidentId,
        mutate: Option<Mutation<'_>>,
    ) -> Result<(), StoreError> {
        self.count("complete_delivery");
        self.inner.complete_delivery(seq, incident, mutate).await
    }

    async fn reschedule_delivery(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.count("reschedule_delivery");
        self.inner.reschedule_delivery(item).await
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError> {
        self.count("dead_letter");
        self.inner.dead_letter(letter).await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.count("dead_letters");
        self.inner.dead_letters(limit).await
    }

    async fn replay_dead_letter(
        &self,
        seq: u64,
        now: Timestamp,
        audit: ReplayAudit<'_>,
    ) -> Result<OutboxItem, StoreError> {
        self.count("replay_dead_letter");
        self.inner.replay_dead_letter(seq, now, audit).await
    }

    async fn escalation(&self, id: &str) -> Result<Option<Escalation>, StoreError> {
        self.count("escalation");
        self.inner.escalation(id).await
    }

    async fn escalations(&self, query: &EscalationQuery) -> Result<Vec<Escalation>, StoreError> {
        self.count("escalations");
        self.inner.escalations(query).await
    }

    async fn due_escalations(&self, by: Timestamp, limit: usize) -> Result<Vec<Escalation>, StoreError> {
        self.count("due_escalations");
        self.inner.due_escalations(by, limit).await
    }

    async fn due_for_watch(&self, by: Timestamp, limit: usize) -> Result<Vec<DueEscalation>, StoreError> {
        if self.joins_watch {
            self.count("due_for_watch");
            self.inner.due_for_watch(by, limit).await
        } else {
            super::due_with_incidents(self, by, limit).await
        }
    }

    async fn escalations_of(&self, incident: &IncidentId) -> Result<Vec<Escalation>, StoreError> {
        self.count("escalations_of");
        self.inner.escalations_of(incident).await
    }

    async fn update_escalation(
        &self,
        id: &str,
        now: Timestamp,
        change: EscalationChange<'_>,
        audit: Option<AuditEntry>,
    ) -> Result<Escalation, StoreError> {
        self.count("update_escalation");
        self.inner.update_escalation(id, now, change, audit).await
    }

    async fn put_content(&self, content: bytes::Bytes) -> Result<(String, bool), StoreError> {
        self.count("put_content");
        self.inner.put_content(content).await
    }

    async fn content(&self, sha256: &str) -> Result<Option<bytes::Bytes>, StoreError> {
        self.count("content");
        self.inner.content(sha256).await
    }

    async fn content_count(&self) -> Result<usize, StoreError> {
        self.count("content_count");
        self.inner.content_count().await
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.count("cursor");
        self.inner.cursor(name).await
    }

    async fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.count("set_cursor");
        self.inner.set_cursor(name, value).await
    }

    async fn lease_delivery(
        &self,
        seq: u64,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<OutboxItem>, StoreError> {
        self.count("lease_delivery");
        self.inner.lease_delivery(seq, holder, now, until).await
    }

    fn leadership(&self) -> Leadership {
        self.inner.leadership()
    }
}
