//! The operator's use cases: the audit log, the outbox and dead letters, replaying a
//! dead letter, readiness. Who may do what is decided here, not in the routers.

use super::{Gateway, GatewayError, RequestContext};
use crate::auth::DeskPrincipal;
use crate::model::{DeskId, ModelError, Role};
use crate::outbox::{DeadLetter, OutboxItem};
use crate::store::{AuditEntry, AuditKind, StoreError};

/// The national desk sees every lane; a desk its own.
pub(super) fn sees_lane(who: &DeskPrincipal, desk: &DeskId) -> bool {
    who.role == Role::National || &who.desk == desk
}

/// The desk whose lanes `who` sees; `None`: every lane (the national desk).
fn own_lanes(who: &DeskPrincipal) -> Option<&DeskId> {
    (who.role != Role::National).then_some(&who.desk)
}

impl Gateway {
    /// A page of the audit log, oldest first, after sequence number `after`. Only the
    /// national desk reads it.
    pub async fn audit_log(
        &self,
        who: &DeskPrincipal,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, GatewayError> {
        if who.role != Role::National {
            return Err(ModelError::Forbidden("the audit log is for the national desk".into()).into());
        }
        self.audit_entries(after, limit).await
    }

    /// The audit log as stored, for the operator's own tools where no desk asks
    /// (checks after a restore, load tests).
    pub async fn audit_entries(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, GatewayError> {
        Ok(self.store.audit_log(after, limit).await?)
    }

    /// The incidents `query` asks for, for the operator's own tools where no desk
    /// asks (a desk's listing is [`Gateway::list`], with its visibility).
    pub async fn incidents(
        &self,
        query: &crate::store::ListQuery,
    ) -> Result<Vec<crate::model::Incident>, GatewayError> {
        Ok(self.store.list_incidents(query).await?)
    }

    /// Deliveries waiting to go out, in order: all for the national desk, a desk's
    /// own lanes for any other.
    pub async fn outbox(&self, who: &DeskPrincipal, limit: usize) -> Result<Vec<OutboxItem>, GatewayError> {
        self.outbox_page(who, None, limit).await
    }

    /// A page of [`Gateway::outbox`]: after sequence number `after`, at most `limit`;
    /// the store picks the desk's lanes from its index.
    pub async fn outbox_page(
        &self,
        who: &DeskPrincipal,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, GatewayError> {
        Ok(self.store.outbox_page(after, own_lanes(who), limit).await?)
    }

    /// Deliveries that failed for good, with the same visibility as the outbox.
    pub async fn dead_letters(&self, who: &DeskPrincipal, limit: usize) -> Result<Vec<DeadLetter>, GatewayError> {
        self.dead_letters_page(who, None, limit).await
    }

    /// A page of [`Gateway::dead_letters`], as [`Gateway::outbox_page`] pages the outbox.
    pub async fn dead_letters_page(
        &self,
        who: &DeskPrincipal,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, GatewayError> {
        Ok(self.store.dead_letters_page(after, own_lanes(who), limit).await?)
    }

    /// Put dead letter `seq` back in the outbox, in its place in its lane, audited.
    /// Only the national desk replays.
    pub async fn replay_dead_letter(
        &self,
        who: &DeskPrincipal,
        seq: u64,
        ctx: &RequestContext,
    ) -> Result<OutboxItem, GatewayError> {
        self.may_replay(who)?;
        let now = self.now();
        let audit = |item: &OutboxItem| AuditEntry {
            at: now,
            incident: Some(item.incident.to_string()),
            ..self.entry(
                AuditKind::Updated,
                Some(&who.desk),
                format!("replayed dead letter {seq} ({} to {})", item.action.describe(), item.desk),
                ctx,
            )
        };
        let item = match self.store.replay_dead_letter(seq, now, &audit).await {
            Ok(item) => item,
            Err(StoreError::NoDeadLetter(_)) => return Err(GatewayError::NotFound(format!("dead letter {seq}"))),
            Err(e) => return Err(e.into()),
        };
        self.outbox_changed.notify_one();
        Ok(item)
    }

    /// Only the national desk replays dead letters.
    pub fn may_replay(&self, who: &DeskPrincipal) -> Result<(), GatewayError> {
        if who.role != Role::National {
            return Err(ModelError::Forbidden("only the national desk replays dead letters".into()).into());
        }
        Ok(())
    }

    /// Whether the gateway can take writes (`/readyz`).
    pub async fn is_ready(&self) -> bool {
        self.store.is_ready().await
    }

    /// Make everything written so far durable (at shutdown).
    pub async fn flush(&self) -> Result<(), GatewayError> {
        Ok(self.store.flush().await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::config::testing::{GATEWAY, NATIONAL, env, region_h};
    use crate::outbox::{Action, Delivery};
    use crate::store::{CreateOutcome, Effects, Store};

    fn principal(desk: &str, role: Role) -> DeskPrincipal {
        DeskPrincipal { desk: desk.parse().expect("a desk id"), role }
    }

    async fn gateway(dir: &std::path::Path) -> (Gateway, Arc<dyn Store>) {
        let federation = format!("{GATEWAY}{NATIONAL}{}", region_h("native"));
        let config = Config::from_toml(&federation, std::path::Path::new("."), &env()).expect("the federation loads");
        let store = crate::store::open(&crate::store::StoreConfig::sled(dir.to_owned())).expect("opens");
        let gateway = Gateway::new(Arc::new(config), store.clone(), Arc::new(crate::clock::SystemClock));
        (gateway, store)
    }

    /// The dispatcher is woken by a submission that queued deliveries, and only by
    /// such a one: with no other desk to tell, there is nothing for it to do.
    #[tokio::test]
    async fn a_submission_wakes_the_dispatcher_only_when_it_queued_a_delivery() {
        async fn woken(federation: String) -> bool {
            let dir = tempfile::tempdir().expect("a directory");
            let config = Config::from_toml(&federation, std::path::Path::new("."), &env()).expect("it loads");
            let store = crate::store::open(&crate::store::StoreConfig::sled(dir.path().to_owned())).expect("opens");
            let gateway = Gateway::new(Arc::new(config), store.clone(), Arc::new(crate::clock::SystemClock));
            let signal = gateway.outbox_signal();
            let new = crate::model::testing::report("region-h", crate::model::DialectId::Native, "t-1");
            let ctx = RequestContext::default();
            let outcome = gateway.submit(&principal("region-h", Role::Local), new, None, &ctx).await.expect("accepted");
            assert!(matches!(outcome, CreateOutcome::Created(_)), "a new incident");
            let queued = !store.outbox(10).await.expect("reads").is_empty();
            // A notification given before anyone waits is kept: the first poll sees it.
            let woken = tokio::time::timeout(std::time::Duration::ZERO, signal.notified()).await.is_ok();
            assert_eq!(woken, queued, "woken: {woken}; deliveries queued: {queued}");
            woken
        }
        // A national desk on a tool of its own: it is told of every new incident.
        let national_on_servicenow = r#"
[desks.sds]
name = "National Service Desk"
role = "national"
system = "servicenow"
endpoint = "http://127.0.0.1:9"
credentials = { kind = "basic", username = "deskgate", password = { env = "T_SDS" } }
"#;
        let told = format!("{GATEWAY}{national_on_servicenow}{}", region_h("native"));
        assert!(woken(told).await, "the national desk is told of the new incident");
        // On deskgate's own API the national desk reads the incident there: no delivery.
        assert!(!woken(format!("{GATEWAY}{NATIONAL}{}", region_h("native"))).await, "no desk to tell");
    }

    #[tokio::test]
    async fn only_the_national_desk_reads_the_audit_log_and_replays_dead_letters() {
        let dir = tempfile::tempdir().expect("a directory");
        let (gateway, store) = gateway(dir.path()).await;
        let new = crate::model::testing::report("region-h", crate::model::DialectId::Native, "t-1");

        let plan = |_: &mut crate::model::Incident| Effects {
            deliveries: vec![
                Delivery { desk: "sds".parse().expect("a desk"), action: Action::Create },
                Delivery { desk: "region-h".parse().expect("a desk"), action: Action::Note { index: 0 } },
            ],
            ..Effects::default()
        };
        let entry = gateway.entry(AuditKind::Submitted, None, "submitted", &RequestContext::default());
        store.create_incident(new, None, entry, gateway.now(), &plan).await.expect("created");
        let local = principal("region-h", Role::Local);
        let national = principal("sds", Role::National);

        let refused = gateway.audit_log(&local, None, 10).await;
        assert!(matches!(refused, Err(GatewayError::Model(ModelError::Forbidden(_)))), "{refused:?}");
        assert_eq!(gateway.audit_log(&national, None, 10).await.expect("the national desk reads").len(), 1);

        // Each desk sees its own lanes; the national desk all of them.
        let lanes = |items: Vec<OutboxItem>| items.into_iter().map(|i| i.desk.to_string()).collect::<Vec<_>>();
        assert_eq!(lanes(gateway.outbox(&local, 10).await.expect("reads")), ["region-h"]);
        assert_eq!(lanes(gateway.outbox(&national, 10).await.expect("reads")), ["sds", "region-h"]);

        let item = store.outbox(1).await.expect("reads").remove(0);
        let letter = DeadLetter {
            item: item.clone(),
            failed_at: gateway.now(),
            error: "400".into(),
            remote_status: Some(400),
            remote_body: None,
        };
        store.dead_letter(letter).await.expect("dead-lettered");
        assert!(gateway.dead_letters(&local, 10).await.expect("reads").is_empty(), "not region-h's lane");
        let ctx = RequestContext::default();
        let refused = gateway.replay_dead_letter(&local, item.seq, &ctx).await;
        assert!(matches!(refused, Err(GatewayError::Model(ModelError::Forbidden(_)))), "{refused:?}");
        assert!(gateway.may_replay(&local).is_err());
        assert_eq!(store.dead_letters(10).await.expect("reads").len(), 1, "a refused replay changes nothing");
        let missing = gateway.replay_dead_letter(&national, item.seq + 100, &ctx).await;
        assert!(matches!(missing, Err(GatewayError::NotFound(_))), "{missing:?}");
        let replayed = gateway.replay_dead_letter(&national, item.seq, &ctx).await.expect("replayed");
        assert_eq!(replayed.seq, item.seq);
        let log = gateway.audit_log(&national, None, 10).await.expect("reads");
        assert!(log.last().is_some_and(|(_, e)| e.reason.starts_with("replayed dead letter")), "{log:?}");
    }
}
