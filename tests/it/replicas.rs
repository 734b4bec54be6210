//! Several gateway processes on one PostgreSQL database (`[gateway.store] kind =
//! "postgres"`): the real binary twice, with the simulators, one replica SIGKILLed
//! again and again while deliveries are under way. Every accepted incident reaches
//! the national desk exactly once, each incident's changes in the order they were
//! made, whichever replica took them; polling and the escalation watch run on one
//! replica at a time, and another takes over when it dies.

use crate::kit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use deskgate_sim::Fault;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use kit::RunningBinary;
use serde_json::{Value, json};

/// How long a replica holds a delivery it took: a killed one's run out after this.
const LEASE_SECS: u64 = 2;

fn config_text(data: &Path, url: &str, sn: &str, cq: &str) -> String {
    let mut c = kit::GatewayConfig::servicenow_to_clearquest(data, sn, cq);
    c.gateway("store", json!({ "kind": "postgres", "url": url, "pool_size": 4, "lease_secs": LEASE_SECS }));
    c.render()
}

async fn start(config: &Path, log: &Path, client: &reqwest::Client) -> RunningBinary {
    RunningBinary::serve_ready(config, log, client).await
}

/// Two replicas' configurations on one fresh database, and a log file per start.
struct Setup {
    dir: tempfile::TempDir,
    configs: [PathBuf; 2],
    starts: usize,
}

impl Setup {
    fn new(sn: &ServiceNowSim, cq: &ClearQuestSim) -> Setup {
        let url = kit::pg::shared().fresh_database();
        let dir = tempfile::tempdir().unwrap();
        let configs = ["a", "b"].map(|name| {
            let config = dir.path().join(format!("gateway-{name}.toml"));
            let text = config_text(&dir.path().join(format!("data-{name}")), &url, &sn.base_url(), cq.base_url());
            std::fs::write(&config, text).unwrap();
            config
        });
        Setup { dir, configs, starts: 0 }
    }

    async fn start(&mut self, replica: usize, client: &reqwest::Client) -> RunningBinary {
        self.starts += 1;
        let log = self.dir.path().join(format!("replica-{replica}-{}.log", self.starts));
        start(&self.configs[replica], &log, client).await
    }
}

/// POST `body` to `path` at one replica, else the other: the answer's JSON.
async fn send(client: &reqwest::Client, bases: &[String; 2], first: usize, path: &str, body: &Value) -> Value {
    kit::replicas::send(client, bases, first, path, body, 20, Duration::from_secs(10)).await
}

/// The simulators, and two replicas on one fresh database serving against them.
async fn two_replicas() -> (ServiceNowSim, ClearQuestSim, reqwest::Client, Setup, [RunningBinary; 2]) {
    let sn = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let cq = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
    let client = reqwest::Client::new();
    let mut setup = Setup::new(&sn, &cq);
    let replicas = [setup.start(0, &client).await, setup.start(1, &client).await];
    (sn, cq, client, setup, replicas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_every_accepted_incident_once_and_in_order_with_one_killed_repeatedly() {
    if kit::pg::skip() {
        return;
    }
    let (sn, cq, client, mut setup, mut replicas) = two_replicas().await;

    const ROUNDS: usize = 4;
    const BATCH: usize = 8;
    // incident id → (title, the notes added to it, in order)
    let mut accepted: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut killed_with_undelivered = 0;
    let sds = kit::token("sds");
    for round in 0..ROUNDS {
        cq.faults().push((0..60).map(|i| if i % 3 == 2 { Fault::ServerError } else { Fault::Slow { millis: 250 } }));
        let bases = [replicas[0].base(), replicas[1].base()];
        let mut batch = Vec::new();
        for n in 0..BATCH {
            let title = format!("NSP lookups fail at ward {round}-{n}");
            let body = reported_at_region_h(&sn, &title);
            // Alternate replicas: the incidents of one round are spread over both.
            let answer = send(&client, &bases, n, "/api/v1/incidents", &body).await;
            let id = answer["id"].as_str().expect("an incident id").to_owned();
            accepted.insert(id.clone(), (title, Vec::new()));
            batch.push(id);
        }
        // Two notes per incident, each to the other replica than the one before: one
        // incident's lane is fed by both.
        for (n, id) in batch.iter().enumerate() {
            for (k, which) in ["first", "second"].iter().enumerate() {
                let text = format!("{which} note on {id}");
                send(&client, &bases, n + k, &format!("/api/v1/incidents/{id}/notes"), &json!({ "body": text })).await;
                accepted.get_mut(id).unwrap().1.push(text);
            }
        }
        // Kill one replica while deliveries are under way, then start it again.
        let waiting = kit::get_json(&client, &format!("{}/api/v1/outbox", bases[0]), &sds).await;
        if waiting["items"].as_array().is_some_and(|items| !items.is_empty()) {
            killed_with_undelivered += 1;
        }
        let victim = round % 2;
        replicas[victim].kill();
        replicas[victim] = setup.start(victim, &client).await;
    }
    assert!(killed_with_undelivered > 0, "no kill hit a delivery in flight");

    cq.faults().clear();
    let outbox = async || kit::replicas::outbox(&client, &replicas[0].base(), &sds).await;
    // A killed replica's leases run out after LEASE_SECS; then the other delivers.
    let drained = kit::wait::wait_polls(async || outbox().await.is_empty(), 3_000).await;
    assert!(drained, "the outbox did not drain: {:#?}", outbox().await);

    each_incident_is_at_the_national_desk_once_in_order(&cq, &accepted);
    let dead = kit::get_json(&client, &format!("{}/api/v1/dead-letters", replicas[1].base()), &sds).await;
    assert_eq!(dead["items"].as_array().map(Vec::len), Some(0), "{dead:#}");
}

/// Region H's ServiceNow gets a record of `title` from its user; the report of it to
/// send to the native API.
pub(crate) fn reported_at_region_h(sn: &ServiceNowSim, title: &str) -> Value {
    let record = sn.create_as_user(&[("short_description", title), ("impact", "2")]).unwrap();
    json!({
        "title": title, "description": "Reported by phone", "service": "NSP",
        "ticket_id": record["sys_id"], "display_id": record["number"], "urgency": "medium", "impact": "medium",
    })
}

/// Every accepted incident is at the national desk once, with its title and its
/// notes in the order they were added; `accepted`: incident id → (title, notes).
pub(crate) fn each_incident_is_at_the_national_desk_once_in_order(
    cq: &ClearQuestSim,
    accepted: &BTreeMap<String, (String, Vec<String>)>,
) {
    let mut at_national: BTreeMap<String, Vec<&deskgate_sim::clearquest::SimRecord>> = BTreeMap::new();
    let records = cq.records();
    for record in &records {
        let incident = record.fields.get("cq:deskgate_Incident").cloned().unwrap_or_default();
        at_national.entry(incident).or_default().push(record);
    }
    let duplicates: Vec<_> = at_national.iter().filter(|(_, r)| r.len() > 1).map(|(id, _)| id).collect();
    assert!(duplicates.is_empty(), "created more than once at the national desk: {duplicates:?}");
    assert_eq!(at_national.keys().collect::<Vec<_>>(), accepted.keys().collect::<Vec<_>>());
    for (id, (title, notes)) in accepted {
        let record = at_national[id][0];
        assert_eq!(record.fields.get("cq:Headline"), Some(title), "{id}");
        let log = record.fields.get("cq:Notes_Log").cloned().unwrap_or_default();
        let at: Vec<usize> = notes.iter().map(|n| log.find(n.as_str()).unwrap_or(usize::MAX)).collect();
        assert!(at.iter().all(|&p| p != usize::MAX), "{id}: a note is missing at the national desk:\n{log}");
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{id}: notes arrived out of order:\n{log}");
    }
}

/// Whether the replica's log says it took over leadership.
fn leads(replica: &RunningBinary) -> bool {
    replica.logs().lines().any(|l| l.contains("leading: this replica polls desks"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_fails_over_to_the_other_replica_when_the_leader_is_killed() {
    if kit::pg::skip() {
        return;
    }
    let (_sn, _cq, _client, _setup, mut replicas) = two_replicas().await;
    let one_leads = kit::wait::wait_polls(async || leads(&replicas[0]) || leads(&replicas[1]), 1_000).await;
    assert!(one_leads, "no replica leads:\n{}\n{}", replicas[0].logs(), replicas[1].logs());
    // Give the other time to try (it retries every second): still one leader.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(leads(&replicas[0]) != leads(&replicas[1]), "both replicas lead");
    let leader = if leads(&replicas[0]) { 0 } else { 1 };
    let other = 1 - leader;
    replicas[leader].kill();
    // PostgreSQL lets go of a dead session's lock as soon as its connection drops;
    // the other replica tries every second: well within the delivery lease.
    let took_over = kit::wait::wait_polls(async || leads(&replicas[other]), (LEASE_SECS as usize) * 100 + 100).await;
    assert!(took_over, "the other replica did not take over:\n{}", replicas[other].logs());
}

/// What a store holds, as the trait reads it.
async fn contents(store: &dyn deskgate::store::Store) -> (Vec<deskgate::model::Incident>, usize, usize) {
    let incidents = store.list_incidents(&deskgate::store::ListQuery::all(1_000)).await.unwrap();
    let outbox = store.outbox(1_000).await.unwrap().len();
    let audit = store.audit_log(None, 1_000).await.unwrap().len();
    (incidents, outbox, audit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_a_sled_store_into_postgres_and_refuses_a_database_that_is_not_empty() {
    if kit::pg::skip() {
        return;
    }
    let mut gw = kit::TestGateway::start().await;
    for ticket in ["INC0010001", "INC0010002", "INC0010003"] {
        assert!(gw.submit("region-h", &kit::incident(ticket)).await.status().is_success());
    }
    gw.shutdown().await;
    let dir = gw.data.path().join("store");
    let url = kit::pg::shared().fresh_database();
    let migrate = |force: bool| {
        let mut cmd = kit::binary::command();
        cmd.args(["migrate", "--from", &format!("sled:{}", dir.display()), "--to", &format!("postgres:{url}")]);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let out = migrate(false);
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("migrated"), "{said}");

    let sled = deskgate::store::open(&deskgate::store::StoreConfig::sled(dir.clone())).unwrap();
    let pg_config = deskgate::config::PostgresConfig {
        url: url.clone(),
        password: None,
        pool_size: 2,
        lease: Duration::from_secs(LEASE_SECS),
    };
    let pg = deskgate::store::connect(&deskgate::store::StoreConfig::Postgres(pg_config)).await.unwrap();
    let (from, to) = (contents(&*sled).await, contents(&*pg).await);
    assert_eq!(from.0.len(), 3);
    let reasons = async |store: &dyn deskgate::store::Store| -> Vec<String> {
        store
            .audit_log(None, 1_000)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, e)| format!("{:?} {}", e.kind, e.reason))
            .collect()
    };
    assert_eq!(
        to,
        from,
        "the same incidents, outbox and audit log: {:?} / {:?}",
        reasons(&*pg).await,
        reasons(&*sled).await
    );
    for i in &from.0 {
        let origin = &i.refs[0];
        assert_eq!(pg.find_by_ref(&origin.desk, &origin.remote_id).await.unwrap().as_ref(), Some(&i.id));
    }
    drop(sled);
    // A database that holds something is not overwritten by accident.
    let again = migrate(false);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"), "{again:?}");
    assert!(migrate(true).status.success(), "--force replaces the contents");
}
