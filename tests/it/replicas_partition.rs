//! A replica cut off by the network: replica A runs in a network namespace of its
//! own, joined to the host by a veth pair; PostgreSQL and the simulators listen on
//! the host's end, replica B runs on the host. The link is dropped while deliveries
//! are under way and more incidents are accepted through B, then restored. Every
//! accepted incident reaches the national desk exactly once, its notes in order;
//! while cut off A leads nothing, and B takes over leadership within the lease.
//!
//! Needs root and `ip` (iproute2): without them the test fails saying so, unless
//! `DESKGATE_SKIP_NETNS=1` (or `DESKGATE_SKIP_PG=1`).
//!
//! Also here, the other way a replica leaves: shutting down, it releases its
//! leases at once, and the other replica does not wait for them to run out.

use crate::kit;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deskgate_sim::Fault;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use kit::RunningBinary;
use serde_json::{Value, json};

/// A replica's hold on a delivery; the database drops a silent replica's sessions
/// after half of it (at least 2 s), so B leads within it.
const LEASE_SECS: u64 = 4;

/// `ip ARGS`, or why it failed.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// A network namespace joined to the host by a veth pair on a private /30;
/// removed (with the pair) when dropped, also when the test panics.
struct Netns {
    name: String,
    host_if: String,
    /// The host's end, where PostgreSQL and the simulators listen.
    host: Ipv4Addr,
    /// The namespace's end, where replica A listens.
    inside: Ipv4Addr,
    subnet: String,
}

impl Netns {
    /// Whether the machine can do this at all; `Err` says what is missing.
    fn available() -> Result<(), String> {
        let root = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")));
        if root != Some(true) {
            return Err("the partition test must run as root (it makes a network namespace and a veth pair)".into());
        }
        if Command::new("ip").arg("-V").output().is_err() {
            return Err("`ip` is missing: install iproute2 (apt-get install iproute2)".into());
        }
        Ok(())
    }

    fn create() -> Netns {
        // Random enough that two test processes on one machine do not collide.
        let seed = std::process::id().rotate_left(16) ^ rand::random::<u32>();
        let tag = format!("{:06x}", seed & 0xff_ffff);
        let (third, fourth) = ((seed >> 8) as u8, ((seed & 0x3f) as u8) * 4);
        let base = Ipv4Addr::new(10, 213, third, fourth);
        let host = Ipv4Addr::new(10, 213, third, fourth + 1);
        let inside = Ipv4Addr::new(10, 213, third, fourth + 2);
        let ns = Netns {
            name: format!("dg-{tag}"),
            host_if: format!("dgh{tag}"),
            host,
            inside,
            subnet: format!("{base}/30"),
        };
        let ns_if = format!("dgn{tag}");
        let (host_cidr, inside_cidr) = (format!("{host}/30"), format!("{inside}/30"));
        let steps: [&[&str]; 8] = [
            &["netns", "add", &ns.name],
            &["link", "add", &ns.host_if, "type", "veth", "peer", "name", &ns_if],
            &["link", "set", &ns_if, "netns", &ns.name],
            &["addr", "add", &host_cidr, "dev", &ns.host_if],
            &["link", "set", &ns.host_if, "up"],
            &["-n", &ns.name, "addr", "add", &inside_cidr, "dev", &ns_if],
            &["-n", &ns.name, "link", "set", &ns_if, "up"],
            &["-n", &ns.name, "link", "set", "lo", "up"],
        ];
        for step in steps {
            if let Err(e) = ip(step) {
                panic!("setting up the network namespace failed: {e}");
            }
        }
        ns
    }

    /// Drop the link: nothing passes between A and the host.
    fn cut(&self) {
        ip(&["link", "set", &self.host_if, "down"]).unwrap();
    }

    fn restore(&self) {
        ip(&["link", "set", &self.host_if, "up"]).unwrap();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end deletes the pair; the namespace goes once A is gone.
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// The configuration of a replica listening on `listen`, everything else on the
/// host's end of the link.
fn config_text(data: &Path, listen: &str, url: &str, sn: &str, cq: &str) -> String {
    let mut c = kit::GatewayConfig::servicenow_to_clearquest(data, sn, cq);
    c.gateway("listen", listen);
    c.gateway("store", json!({ "kind": "postgres", "url": url, "pool_size": 4, "lease_secs": LEASE_SECS }));
    c.render()
}

/// POST `body` to `path` at the first replica of `bases` that answers.
async fn send(client: &reqwest::Client, bases: &[String], first: usize, path: &str, body: &Value) -> Value {
    kit::replicas::send(client, bases, first, path, body, 40, Duration::from_secs(3)).await
}

/// How many times the replica's log says it took leadership.
fn times_led(replica: &RunningBinary) -> usize {
    replica.logs().lines().filter(|l| l.contains("leading: this replica polls desks")).count()
}

/// Incidents `round-0 … round-(count-1)` reported at region H and sent through
/// `bases`, each with two notes: id → (title, notes in order).
async fn report(
    client: &reqwest::Client,
    sn: &ServiceNowSim,
    bases: &[String],
    round: &str,
    count: usize,
) -> BTreeMap<String, (String, Vec<String>)> {
    let mut accepted = BTreeMap::new();
    for n in 0..count {
        let title = format!("NSP lookups fail at ward {round}-{n}");
        let body = super::replicas::reported_at_region_h(sn, &title);
        let answer = send(client, bases, n, "/api/v1/incidents", &body).await;
        let id = answer["id"].as_str().expect("an incident id").to_owned();
        let mut notes = Vec::new();
        for (k, which) in ["first", "second"].iter().enumerate() {
            let text = format!("{which} note on {id}");
            send(client, bases, n + k + 1, &format!("/api/v1/incidents/{id}/notes"), &json!({ "body": text })).await;
            notes.push(text);
        }
        accepted.insert(id, (title, notes));
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_by_the_network_leads_nothing_and_every_incident_reaches_the_national_desk_once() {
    if kit::pg::skip() || std::env::var("DESKGATE_SKIP_NETNS").is_ok_and(|v| v == "1") {
        return;
    }
    if let Err(missing) = Netns::available() {
        panic!("{missing}; or set DESKGATE_SKIP_NETNS=1 to skip the partition test");
    }
    let netns = Netns::create();
    let host = netns.host.to_string();
    let pg = kit::pg::PgServer::start_on(&format!("127.0.0.1,{host}"), &netns.subnet);
    pg.database("partition");
    let url = pg.url_at(&host, "partition");
    let on_host = IpAddr::V4(netns.host);
    let sn = ServiceNowSim::spawn_on(on_host, ServiceNowSimConfig::default()).await.unwrap();
    let cq_config = ClearQuestSimConfig { db: "SDS".into(), ..Default::default() };
    let cq = ClearQuestSim::spawn_on(on_host, cq_config).await.unwrap();
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let config = |name: &str, listen: String| -> PathBuf {
        let path = dir.path().join(format!("gateway-{name}.toml"));
        let data = dir.path().join(format!("data-{name}"));
        std::fs::write(&path, config_text(&data, &listen, &url, &sn.base_url(), cq.base_url())).unwrap();
        path
    };
    let (config_a, config_b) = (config("a", format!("{}:0", netns.inside)), config("b", "127.0.0.1:0".into()));

    // A starts first and leads; then B.
    let in_netns = kit::binary::command_in_netns(&netns.name);
    let a = RunningBinary::serve_ready_with(in_netns, &config_a, &dir.path().join("a.log"), &client).await;
    let a_leads = kit::wait::poll_until(Duration::from_secs(10), async || (times_led(&a) > 0).then_some(())).await;
    assert!(a_leads.is_some(), "replica A does not lead:\n{}", a.logs());
    let b =
        RunningBinary::serve_ready_with(kit::binary::command(), &config_b, &dir.path().join("b.log"), &client).await;
    let both = [a.base(), b.base()];

    // Slow answers from the national desk, so that the cut finds deliveries under way.
    cq.faults().push((0..200).map(|i| if i % 4 == 3 { Fault::ServerError } else { Fault::Slow { millis: 700 } }));
    let mut accepted = report(&client, &sn, &both, "before", 6).await;
    let sds = kit::token("sds");
    let waiting = kit::get_json(&client, &format!("{}/api/v1/outbox", b.base()), &sds).await;
    assert!(waiting["items"].as_array().is_some_and(|items| !items.is_empty()), "nothing was under way at the cut");

    let led_before = times_led(&a);
    let cut_at = Instant::now();
    netns.cut();
    // The cut-off leader stops, and the database lets B lead within the lease.
    let b_leads =
        kit::wait::poll_until(Duration::from_secs(LEASE_SECS), async || (times_led(&b) > 0).then_some(())).await;
    assert!(
        b_leads.is_some(),
        "B did not take over within {LEASE_SECS}s of the cut:\nA:\n{}\nB:\n{}",
        a.logs(),
        b.logs()
    );
    let took_over = cut_at.elapsed();
    assert!(a.logs().contains("leadership lost"), "A did not notice it was cut off:\n{}", a.logs());
    // More incidents, through B alone, while A stays cut off for a while.
    accepted.extend(report(&client, &sn, std::slice::from_ref(&both[1]), "during", 4).await);
    tokio::time::sleep(Duration::from_secs(LEASE_SECS)).await;
    assert_eq!(times_led(&a), led_before, "A took leadership while cut off:\n{}", a.logs());
    netns.restore();
    accepted.extend(report(&client, &sn, &both, "after", 2).await);

    cq.faults().clear();
    let outbox = async || kit::replicas::outbox(&client, &b.base(), &sds).await;
    let drained =
        kit::wait::poll_until(Duration::from_secs(60), async || outbox().await.is_empty().then_some(())).await;
    assert!(drained.is_some(), "the outbox did not drain: {:#?}\nA:\n{}", outbox().await, a.logs());
    assert!(times_led(&b) >= 1 && times_led(&a) == led_before, "leadership moved back to A after the restore");

    super::replicas::each_incident_is_at_the_national_desk_once_in_order(&cq, &accepted);
    let dead = kit::get_json(&client, &format!("{}/api/v1/dead-letters", b.base()), &sds).await;
    assert_eq!(dead["items"].as_array().map(Vec::len), Some(0), "{dead:#}");
    let abandoned = a.logs().lines().filter(|l| l.contains("its lease could not be kept")).count();
    eprintln!("B led {took_over:?} after the cut; A abandoned {abandoned} deliveries whose lease it could not keep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_shutting_down_hands_its_deliveries_over_at_once_not_after_its_lease() {
    if kit::pg::skip() {
        return;
    }
    const LONG_LEASE_SECS: u64 = 60;
    let sn = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let cq = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
    let url = kit::pg::shared().fresh_database();
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let config = |name: &str| -> PathBuf {
        let mut c = kit::GatewayConfig::servicenow_to_clearquest(&dir.path().join(name), &sn.base_url(), cq.base_url());
        let store = json!({ "kind": "postgres", "url": url, "pool_size": 4, "lease_secs": LONG_LEASE_SECS });
        c.gateway("store", store);
        // The national desk's slow answer outlasts the shutdown's grace for deliveries.
        c.desk_subkey("sds", "clearquest", "timeout_secs", 40);
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, c.render()).unwrap();
        path
    };
    let (config_a, config_b) = (config("a"), config("b"));
    let a = RunningBinary::serve_ready(&config_a, &dir.path().join("a.log"), &client).await;
    // A's first call to the national desk hangs for longer than A's stop grace.
    cq.faults().push([Fault::Slow { millis: 30_000 }]);
    let accepted = report(&client, &sn, &[a.base()], "shutdown", 1).await;
    let taken =
        kit::wait::poll_until(Duration::from_secs(10), async || (cq.faults().pending() == 0).then_some(())).await;
    assert!(taken.is_some(), "A never called the national desk:\n{}", a.logs());
    let b = RunningBinary::serve_ready(&config_b, &dir.path().join("b.log"), &client).await;
    a.sigterm();
    let signalled = Instant::now();
    let sds = kit::token("sds");
    let delivered = kit::wait::poll_until(Duration::from_secs(LONG_LEASE_SECS), async || {
        let page = kit::get_json(&client, &format!("{}/api/v1/outbox", b.base()), &sds).await;
        page["items"].as_array().is_some_and(Vec::is_empty).then_some(())
    })
    .await;
    assert!(delivered.is_some(), "B never delivered:\n{}", b.logs());
    let after = signalled.elapsed();
    assert!(
        a.logs().contains("delivery abandoned at shutdown") && a.logs().contains("delivery leases released"),
        "A did not abandon and release its delivery at shutdown:\n{}",
        a.logs()
    );
    assert!(
        after < Duration::from_secs(LONG_LEASE_SECS / 2),
        "B waited {after:?} after A's shutdown: for A's lease to run out, not for its release"
    );
    let (id, (title, notes)) = accepted.into_iter().next().expect("one incident");
    let records: Vec<_> =
        cq.records().into_iter().filter(|r| r.fields.get("cq:deskgate_Incident") == Some(&id)).collect();
    assert_eq!(records.len(), 1, "{id} at the national desk once");
    assert_eq!(records[0].fields.get("cq:Headline"), Some(&title));
    let log = records[0].fields.get("cq:Notes_Log").cloned().unwrap_or_default();
    assert!(notes.iter().all(|n| log.contains(n.as_str())), "{id}: a note is missing at the national desk:\n{log}");
}
