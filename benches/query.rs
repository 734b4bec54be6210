//! Query benchmark: what a lookup costs as history grows, and what a webhook costs
//! with a long outbox, each against a baseline measured in the same run.
//!
//! - **Lookups** over HTTP on loopback, on stores of each size in `BENCH_SIZES`
//!   (default `10000,100000,1000000`): a ServiceNow Table API query by `number`, a
//!   Jira search by `key`, and the first page (50) of the native list of a desk
//!   party to a third of the incidents. The store is written straight into sled in
//!   the store's layout (records only; the gateway builds its indexes when it opens
//!   the directory, timed too). Each figure is the median of `BENCH_ITERS` (default
//!   200) calls; the ratio is against the first size.
//! - **Webhook**: a remote desk's report about one incident (the gateway's
//!   `apply_remote`, what every webhook and poll runs), with `BENCH_OUTBOX`
//!   (default 1000000) deliveries waiting for other incidents vs none.
//!
//! `cargo bench --bench query` (env: `BENCH_SIZES`, `BENCH_ITERS`, `BENCH_OUTBOX`,
//! `BENCH_CACHE_MB` for `[gateway.store] cache_mb`).

use std::path::Path;
use std::time::{Duration, Instant};

use deskgate::model::{DeskId, IncidentId};
use deskgate::outbox::{Action, OutboxItem};
use deskgate::startup::Application;
use serde_json::{Value, json};

#[path = "../tests/it/kit/mod.rs"]
mod kit;

#[path = "support/common.rs"]
mod common;
use common::env_or;

/// The desks incidents come from, by sequence: ServiceNow, Jira and native callers.
const ORIGINS: [(&str, &str); 3] = [("pharmacy", "native"), ("region-h", "servicenow"), ("region-m", "jira")];

fn config(data: &Path) -> kit::GatewayConfig {
    let mut c = kit::GatewayConfig::standard(data, 1 << 20);
    c.open_rate_limits().unthrottled_inbound();
    if let Some(mb) = cache_mb() {
        c.gateway("store", json!({ "kind": "sled", "cache_mb": mb }));
    }
    c
}

/// `[gateway.store] cache_mb` for the gateway under test (`BENCH_CACHE_MB`), if set.
fn cache_mb() -> Option<u64> {
    std::env::var("BENCH_CACHE_MB").ok().and_then(|v| v.parse().ok())
}

fn main() {
    let sizes: Vec<u64> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let iters: usize = env_or("BENCH_ITERS", 200);
    let outbox: u64 = env_or("BENCH_OUTBOX", 1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let template = template().await;
        let mut first: Option<[Duration; 3]> = None;
        let cache = cache_mb().map_or("sled's default page cache".to_owned(), |mb| format!("cache_mb = {mb}"));
        println!(
            "\nlookups (median of {iters}; ratio against {} incidents; {cache})",
            sizes.first().copied().unwrap_or(0)
        );
        println!(
            "{:>10}  {:>10}  {:>22}  {:>22}  {:>22}",
            "incidents", "open", "ServiceNow number=", "JQL key=", "native list page"
        );
        for &size in &sizes {
            let (open, figures) = lookups(&template, size, iters).await;
            let base = *first.get_or_insert(figures);
            let cell = |i: usize| {
                format!("{:>8.3} ms ({:>5.2}×)", ms(figures[i]), figures[i].as_secs_f64() / base[i].as_secs_f64())
            };
            println!("{size:>10}  {:>7.1} s  {:>22}  {:>22}  {:>22}", open.as_secs_f64(), cell(0), cell(1), cell(2));
        }
        // The baseline before and after: the machine's state drifts over a long run.
        let before = webhook(&template, 0, iters).await;
        let full = webhook(&template, outbox, iters).await;
        let after = webhook(&template, 0, iters).await;
        println!("\nwebhook (apply_remote, median of {iters})");
        println!("  outbox empty:              {:>8.3} ms before, {:>8.3} ms after", ms(before), ms(after));
        println!(
            "  outbox {outbox:>8} waiting:   {:>8.3} ms   ({:.2}× / {:.2}× the empty runs)",
            ms(full),
            full.as_secs_f64() / before.as_secs_f64(),
            full.as_secs_f64() / after.as_secs_f64()
        );
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// One incident submitted through the gateway, as every written incident's model.
async fn template() -> Value {
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(config(dir.path()).load(&kit::env()).unwrap()).await.unwrap();
    let gateway = app.gateway();
    let url = format!("http://{}/api/v1/incidents", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let body = json!({
        "title": "FMK: prescriptions cannot be read", "description": "No prescriptions are shown in the FMK client.",
        "service": "FMK", "ticket_id": "BENCH-0", "urgency": "high", "impact": "medium",
    });
    let res = reqwest::Client::new().post(url).bearer_auth(kit::tokens::token("pharmacy")).json(&body).send().await;
    assert!(res.unwrap().status().is_success(), "template incident refused");
    let _ = stop.send(());
    let _ = server.await;
    let first = gateway.incidents(&deskgate::store::ListQuery::all(1)).await.unwrap().remove(0);
    serde_json::to_value(first).unwrap()
}

/// Write `count` incidents (and `waiting` outbox items spread over them) into `data`
/// in the store's layout, as if accepted one by one.
fn write_store(template: &Value, data: &Path, count: u64, waiting: u64) {
    let db = sled::Config::new().path(data).mode(sled::Mode::HighThroughput).open().unwrap();
    let (incidents, xref, meta, outbox) = (
        db.open_tree("incidents").unwrap(),
        db.open_tree("xref").unwrap(),
        db.open_tree("meta").unwrap(),
        db.open_tree("outbox").unwrap(),
    );
    let year: i16 = template["id"].as_str().unwrap()[4..8].parse().unwrap();
    let origin_ref = template["refs"][0].clone();
    for chunk in (1..=count).collect::<Vec<_>>().chunks(10_000) {
        let (mut bi, mut bx) = (sled::Batch::default(), sled::Batch::default());
        for &seq in chunk {
            let id = IncidentId::new(year, seq);
            let (desk, system) = ORIGINS[(seq % 3) as usize];
            let ticket = format!("{}-{seq}", desk.to_uppercase());
            let mut i = template.clone();
            i["id"] = Value::from(id.as_str());
            i["origin"]["desk"] = Value::from(desk);
            i["origin"]["ticket"] = Value::from(ticket.clone());
            let mut r = origin_ref.clone();
            r["desk"] = Value::from(desk);
            r["system"] = Value::from(system);
            r["remote_id"] = Value::from(ticket.clone());
            r["display_id"] = Value::from(ticket.clone());
            i["refs"] = json!([r]);
            bx.insert(format!("{desk}\0{ticket}").into_bytes(), id.as_str().as_bytes());
            bi.insert(id.as_str().as_bytes(), serde_json::to_vec(&i).unwrap());
        }
        incidents.apply_batch(bi).unwrap();
        xref.apply_batch(bx).unwrap();
    }
    meta.insert(b"incident_seq", &count.to_be_bytes()).unwrap();
    let later: jiff::Timestamp = "2100-01-01T00:00:00Z".parse().unwrap();
    let sds: DeskId = "sds".parse().unwrap();
    let mut left = waiting;
    while left > 0 {
        let mut batch = sled::Batch::default();
        for _ in 0..left.min(10_000) {
            let seq = db.generate_id().unwrap();
            // Other incidents' lanes, never the one the webhook is about.
            let incident = IncidentId::new(year, 2 + seq % count.saturating_sub(1).max(1));
            let item = OutboxItem {
                seq,
                incident,
                desk: sds.clone(),
                action: Action::Create,
                created_at: later,
                attempts: 0,
                not_before: later,
                last_error: None,
                request_id: None,
            };
            batch.insert(&seq.to_be_bytes(), serde_json::to_vec(&item).unwrap());
            left -= 1;
        }
        outbox.apply_batch(batch).unwrap();
    }
    db.flush().unwrap();
}

/// Open a store of `size` incidents and time the three lookups.
async fn lookups(template: &Value, size: u64, iters: usize) -> (Duration, [Duration; 3]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("gateway");
    write_store(template, &data, size, 0);
    let opened = Instant::now();
    let app = Application::build(config(&data).load(&kit::env()).unwrap()).await.unwrap();
    let open = opened.elapsed();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let time = |path: String, desk: &'static str, check: fn(&Value) -> bool| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move {
            let started = Instant::now();
            let res = client.get(url).bearer_auth(kit::tokens::token(desk)).send().await.unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            let took = started.elapsed();
            assert!(status.is_success() && check(&body), "{status}: {body}");
            took
        }
    };
    let mut figures = [Vec::new(), Vec::new(), Vec::new()];
    for n in 0..iters as u64 {
        // Spread over the store: a sequence of the caller's, from first to last.
        let seq = |origin: u64| (n * 7919 % (size / 3).max(1)) * 3 + origin;
        let number = format!("INC{:07}", seq(1).max(1));
        figures[0].push(
            time(format!("/api/now/table/incident?sysparm_query=number={number}"), "region-h", |b| {
                b["result"].as_array().is_some_and(|r| r.len() == 1)
            })
            .await,
        );
        let key = format!("DG-{}", seq(2));
        figures[1]
            .push(time(format!("/rest/api/2/search?jql=key%20%3D%20{key}"), "region-m", |b| b["total"] == 1).await);
        figures[2].push(
            time("/api/v1/incidents?limit=50".into(), "pharmacy", |b| {
                b["items"].as_array().is_some_and(|r| r.len() == 50)
            })
            .await,
        );
    }
    let _ = stop.send(());
    let _ = server.await;
    let [a, b, c] = figures;
    (open, [median(a), median(b), median(c)])
}

/// Time a remote desk's report on one incident with `waiting` other deliveries queued.
async fn webhook(template: &Value, waiting: u64, iters: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("gateway");
    write_store(template, &data, 1_000, waiting);
    let app = Application::build(config(&data).load(&kit::env()).unwrap()).await.unwrap();
    let gateway = app.gateway();
    let desk: DeskId = "region-h".parse().unwrap();
    let ticket = "REGION-H-1".parse().unwrap();
    let update = deskgate::gateway::inbound::RemoteUpdate::default();
    let ctx = deskgate::gateway::RequestContext::default();
    let mut took = Vec::with_capacity(iters);
    for n in 0..iters {
        let version = deskgate::model::RemoteVersion { mod_count: Some(n as u64 + 1), ..Default::default() };
        let started = Instant::now();
        gateway.apply_remote(&desk, &ticket, &update, &version, &ctx).await.expect("the report is handled");
        took.push(started.elapsed());
    }
    drop(gateway);
    drop(app);
    median(took)
}
