#[test]
fn a_remote_copy_s_name_and_link_follow_the_rules_of_every_reference() {
    let desk: DeskId = "drift".parse().unwrap();
    let id: TicketId = "DRIFT-7".parse().unwrap();
    let good = checked_copy(&desk, &id, "DRIFT-7", Some("https://jira.drift.example/browse/DRIFT-7".into()));
    assert_eq!(good, ("DRIFT-7".into(), Some("https://jira.drift.example/browse/DRIFT-7".into())));
    let hostile = checked_copy(&desk, &id, "<script>x</script>", Some("javascript:alert(1)".into()));
    assert_eq!(hostile, ("DRIFT-7".into(), None));
    let patient = checked_copy(&desk, &id, "0102031047", Some("https://x.example/?cpr=010203-1047".into()));
    assert_eq!(patient, ("DRIFT-7".into(), None), "patient data is neither shown nor linked");
}
use std::path::Path;

use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};

use super::*;
use crate::config::MapEnv;
use crate::model::{Role, Text};
use crate::outbox::Delivery;
use crate::store::SledStore;

/// Region H on a ServiceNow simulator, the national desk on the native API, and a
/// dispatcher delivering to them from a sled store of its own.
struct Setup {
    sim: ServiceNowSim,
    sled: Arc<SledStore>,
    store: Arc<dyn Store>,
    dispatcher: Arc<Dispatcher>,
    _dir: tempfile::TempDir,
}

async fn region_h_on_servicenow() -> Setup {
    region_h_on_servicenow_over(|store| store).await
}

/// [`region_h_on_servicenow`], the dispatcher reading the store through `wrap`.
async fn region_h_on_servicenow_over(wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>) -> Setup {
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let text = format!(
        r#"
        [gateway]
        listen = "127.0.0.1:0"
        [desks.region-h]
        name = "Region H"
        role = "local"
        system = "servicenow"
        endpoint = "{}"
        credentials = {{ kind = "basic", username = "deskgate.integration", password = {{ env = "T_SN" }} }}
        [desks.sds]
        name = "SDS"
        role = "national"
        system = "native"
        "#,
        sim.base_url()
    );
    let env = MapEnv::new(false).with("T_SN", "integration-password");
    let config = Arc::new(Config::from_toml(&text, Path::new("."), &env).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let sled = Arc::new(SledStore::open(dir.path()).unwrap());
    let store: Arc<dyn Store> = wrap(sled.clone());
    let mappings = Arc::new(crate::dialects::mappings(&config).unwrap());
    let adapters = Arc::new(crate::dialects::adapters(&config).unwrap());
    let clock: Arc<dyn Clock> = Arc::new(crate::clock::SystemClock);
    let dispatcher =
        Arc::new(Dispatcher::new(config.clone(), store.clone(), adapters, mappings, clock, Arc::new(Notify::new())));
    Setup { sim, sled, store, dispatcher, _dir: dir }
}

/// Deliveries planned by hand (as a faulty plan would) are checked again when
/// they run: an internal note never reaches a local desk's tool.
#[tokio::test]
async fn a_note_the_desk_may_not_see_is_dropped_and_audited_never_delivered() {
    let Setup { sim, store, dispatcher, .. } = region_h_on_servicenow().await;
    let record = sim.create_as_user(&[("short_description", "FMK down")]).unwrap();
    let sys_id = record["sys_id"].clone();
    let region_h: DeskId = "region-h".parse().unwrap();
    let mut new = crate::model::testing::report("region-h", crate::model::DialectId::Servicenow, &sys_id);
    new.origin_ref.display_id = record["number"].clone();

    let national = Actor { desk: "sds".parse().unwrap(), role: Role::National };
    let plan = |i: &mut Incident| {
        for (body, visibility) in [("Caller is the CIO", Visibility::Internal), ("We are on it", Visibility::Public)] {
            i.add_note(&national, Text::parse("body", body).unwrap(), visibility, Timestamp::now());
        }
        let deliveries = (0..2).map(|index| Delivery { desk: region_h.clone(), action: Action::Note { index } });
        Effects { changed: true, deliveries: deliveries.collect(), ..Effects::default() }
    };
    let entry = AuditEntry::new(Timestamp::now(), AuditKind::Submitted, "submitted").with_desk("region-h");
    store.create_incident(new, None, entry, Timestamp::now(), &plan).await.unwrap();

    for item in store.outbox(10).await.unwrap() {
        dispatcher.deliver(item).await;
    }
    assert!(store.outbox(10).await.unwrap().is_empty(), "both completed");
    let journal: Vec<_> = sim.journal(&sys_id).into_iter().map(|j| j.value).collect();
    assert!(journal.iter().any(|v| v.contains("We are on it")), "{journal:?}");
    assert!(journal.iter().all(|v| !v.contains("CIO")), "the internal note reached the local desk: {journal:?}");
    let audit = store.audit_log(None, 100).await.unwrap();
    let dropped: Vec<_> = audit.iter().filter(|(_, e)| e.reason.starts_with("delivery dropped")).collect();
    assert_eq!(dropped.len(), 1, "{audit:?}");
    assert!(dropped[0].1.reason.contains("note #1 is internal"), "{:?}", dropped[0]);
    assert!(!dropped[0].1.reason.contains("CIO"), "no note text in the audit log");
}

#[test]
fn backoff_grows_is_capped_and_honours_retry_after() {
    let p = RetryPolicy { base: Duration::from_secs(2), max_delay: Duration::from_secs(60), ..RetryPolicy::default() };
    for attempts in 0..10 {
        let d = p.delay(attempts, None);
        let full = (Duration::from_secs(2) * 2u32.pow(attempts)).min(Duration::from_secs(60));
        assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d:?} not in [{:?}, {full:?}]", full / 2);
    }
    assert!(p.delay(0, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
    assert!(p.delay(30, None) <= Duration::from_secs(60), "no overflow on many attempts");
}

/// The permit bounding how many remotes are called at once comes back as soon as
/// the remote has answered: recording the outcome, which waits for a flush, does
/// not hold up the next delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_hands_its_permit_back_before_its_outcome_is_flushed() {
    let Setup { sim, sled, store, dispatcher, .. } = region_h_on_servicenow().await;
    let record = sim.create_as_user(&[("short_description", "FMK down")]).unwrap();
    let sys_id = record["sys_id"].clone();
    let mut new = crate::model::testing::report("region-h", crate::model::DialectId::Servicenow, &sys_id);
    new.origin_ref.display_id = record["number"].clone();
    let national = Actor { desk: "sds".parse().unwrap(), role: Role::National };
    let plan = |i: &mut Incident| {
        i.add_note(&national, Text::parse("body", "We are on it").unwrap(), Visibility::Public, Timestamp::now());
        let note = Delivery { desk: "region-h".parse().unwrap(), action: Action::Note { index: 0 } };
        Effects { changed: true, deliveries: vec![note], ..Effects::default() }
    };
    let entry = AuditEntry::new(Timestamp::now(), AuditKind::Submitted, "submitted").with_desk("region-h");
    store.create_incident(new, None, entry, Timestamp::now(), &plan).await.unwrap();
    let item = store.outbox(10).await.unwrap().remove(0);

    let permits = Arc::new(Semaphore::new(1));
    let permit = permits.clone().acquire_owned().await.unwrap();
    sled.hold_flushes(true);
    let delivery = tokio::spawn({
        let dispatcher = dispatcher.clone();
        async move { dispatcher.deliver_holding(item, Some(permit)).await }
    });
    let back = tokio::time::timeout(Duration::from_secs(10), permits.acquire()).await;
    assert!(back.is_ok(), "the permit was held while the outcome waited for its flush");
    assert!(sim.journal(&sys_id).iter().any(|j| j.value.contains("We are on it")), "the remote was told first");
    assert!(!delivery.is_finished(), "the outcome waits for its flush");
    sled.hold_flushes(false);
    delivery.await.unwrap();
    assert!(store.outbox(10).await.unwrap().is_empty(), "completed once flushed");
}

/// The flush before a round's deliveries makes what they tell a remote durable
/// first. A round that finds nothing due has nothing to make durable and asks for no
/// flush: woken after every accepted change, it would otherwise add one per change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_with_nothing_due_asks_for_no_flush_and_one_with_a_due_item_does() {
    let counting = std::sync::OnceLock::new();
    let setup = region_h_on_servicenow_over(|inner| {
        let c = Arc::new(crate::store::counting::Counting::new(inner, false));
        let _ = counting.set(c.clone());
        c
    })
    .await;
    let counting = counting.get().expect("the dispatcher's store").clone();
    let permits = Arc::new(Semaphore::new(4));
    let flushes = |c: &crate::store::counting::Counting| c.calls().get("flush").copied().unwrap_or(0);

    setup.dispatcher.dispatch_due(&permits).await.unwrap();
    assert_eq!(counting.calls().get("due_deliveries"), Some(&1), "the round read the due lane heads");
    assert_eq!(flushes(&counting), 0, "nothing was due, yet the round asked for a flush");

    let record = setup.sim.create_as_user(&[("short_description", "FMK down")]).unwrap();
    let new = crate::model::testing::report("region-h", crate::model::DialectId::Servicenow, &record["sys_id"]);
    let plan = |_: &mut Incident| {
        let update = Delivery { desk: "region-h".parse().unwrap(), action: Action::Note { index: 0 } };
        Effects { changed: true, deliveries: vec![update], ..Effects::default() }
    };
    let entry = AuditEntry::new(Timestamp::now(), AuditKind::Submitted, "submitted").with_desk("region-h");
    setup.sled.create_incident(new, None, entry, Timestamp::now(), &plan).await.unwrap();
    counting.reset();
    setup.dispatcher.dispatch_due(&permits).await.unwrap();
    assert_eq!(flushes(&counting), 1, "a round that starts a delivery flushes before it");
}
