//! Accept-path benchmark: `POST /api/v1/incidents` through the whole gateway (JWT
//! auth, validation, patient-data scan, idempotency, store transaction, audit, group
//! commit) against, in the same run, bare axum handlers that insert the same bytes
//! into sled: one answering after a group-commit flush (durable, as the gateway
//! answers), one without flushing; and a third that makes the gateway's creation
//! through the store alone, without the request path around it, which tells how much
//! of the gap is the store's and how much the request path's. The gateway runs
//! twice: with the national desk reading through the API (nothing to deliver), and with the national desk on a tool
//! of its own, so that every accept also queues a delivery in the outbox (the tool
//! never answers: the delivery work stays out of the figures). Prints throughput,
//! p50/p99 latency and the ratios, and under each gateway line what its store did
//! (from the gateway's own `/metrics`): how busy the creation writer was and for how
//! long per creation, how busy the group-commit flusher was, and how many bytes the
//! disk took per accept.
//!
//! Each line's requests are spread over rounds in which every server takes its turn
//! (`drive::rounds`).
//!
//! `cargo bench --bench accept` (env: BENCH_REQUESTS, BENCH_CONCURRENCY, BENCH_ROUNDS).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::sync::watch;

// The integration tests' kit: configurations and desk tokens.
#[path = "../tests/it/kit/mod.rs"]
mod kit;

#[path = "support/common.rs"]
mod common;
use common::env_or;

// The load driver both accept benchmarks use.
#[path = "support/drive.rs"]
mod drive;
use drive::{Run, drive, report, serve_bare};

async fn bare_baseline(dir: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    let db = sled::open(dir).unwrap();
    let tree = db.open_tree("bare").unwrap();
    let app = Router::new()
        .route(
            "/insert",
            post(|State((db, tree)): State<(sled::Db, sled::Tree)>, body: Bytes| async move {
                let id = db.generate_id().unwrap_or_default();
                tree.insert(id.to_be_bytes(), body.as_ref())
                    .map(|_| StatusCode::CREATED)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }),
        )
        .with_state((db, tree));
    serve_bare(app).await
}

/// The bare handler's durability, as the store does it: writers take a ticket after
/// their write and wait for a flush that started after it; one thread flushes.
struct BareCommit {
    issued: AtomicU64,
    wake: Mutex<()>,
    wake_cv: Condvar,
    flushed: watch::Receiver<u64>,
}

impl BareCommit {
    fn start(db: sled::Db) -> Arc<Self> {
        let (tx, rx) = watch::channel(0u64);
        let commit = Arc::new(BareCommit {
            issued: AtomicU64::new(0),
            wake: Mutex::new(()),
            wake_cv: Condvar::new(),
            flushed: rx,
        });
        let c = commit.clone();
        std::thread::spawn(move || {
            let mut done = 0;
            loop {
                let mut guard = c.wake.lock().unwrap();
                while c.issued.load(Ordering::SeqCst) == done {
                    guard = c.wake_cv.wait(guard).unwrap();
                }
                drop(guard);
                let target = c.issued.load(Ordering::SeqCst);
                db.flush().unwrap();
                done = target;
                tx.send_replace(done);
            }
        });
        commit
    }

    async fn durable(&self) {
        let ticket = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let _guard = self.wake.lock().unwrap();
            self.wake_cv.notify_one();
        }
        let _ = self.flushed.clone().wait_for(|f| *f >= ticket).await;
    }
}

async fn bare_group_commit(dir: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    let db = sled::open(dir).unwrap();
    let tree = db.open_tree("bare").unwrap();
    let commit = BareCommit::start(db.clone());
    let app = Router::new()
        .route(
            "/insert",
            post(|State((db, tree, commit)): State<(sled::Db, sled::Tree, Arc<BareCommit>)>, body: Bytes| async move {
                let id = db.generate_id().unwrap_or_default();
                match tree.insert(id.to_be_bytes(), body.as_ref()) {
                    Ok(_) => {
                        commit.durable().await;
                        StatusCode::CREATED
                    }
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        )
        .with_state((db, tree, commit));
    serve_bare(app).await
}

/// The store's share of an accept, alone: a bare axum handler that makes the creation
/// the gateway makes — an incident from the report's fields, an idempotency claim and
/// an audit entry, through `Store::create_incident` on sled (its creation writer and
/// group commit: 2xx after the flush) — and none of the request path's work (no JWT,
/// validation, patient-data scan, dialect rendering). Between it and the gateway
/// lies what the request path costs; between it and the bare group commit, what the
/// store's transaction costs.
async fn bare_store_create(dir: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    use deskgate::model::incident::{NewIncident, Origin, Text, Title};
    use deskgate::model::{DialectId, Kind, Ref};
    use deskgate::store::{AuditEntry, AuditKind, Effects, IdempotencyClaim, Store, StoreConfig};

    #[derive(serde::Deserialize)]
    struct Report {
        title: String,
        description: String,
        service: String,
        ticket_id: String,
    }
    let store = deskgate::store::open(&StoreConfig::sled(dir.to_path_buf())).unwrap();
    let desk: deskgate::model::DeskId = "region-h".parse().unwrap();
    let app = Router::new()
        .route(
            "/insert",
            post(|State((store, desk)): State<(Arc<dyn Store>, deskgate::model::DeskId)>, body: Bytes| async move {
                let Ok(r) = serde_json::from_slice::<Report>(&body) else { return StatusCode::BAD_REQUEST };
                let ticket: deskgate::model::TicketId = r.ticket_id.parse().unwrap();
                let new = NewIncident {
                    kind: Kind::Incident,
                    title: Title::parse(&r.title).unwrap(),
                    description: Text::parse("description", &r.description).unwrap(),
                    service: r.service.parse().unwrap(),
                    priority: None,
                    urgency: None,
                    impact: None,
                    origin: Origin { desk: desk.clone(), ticket: ticket.clone() },
                    origin_ref: Ref::new(desk.clone(), DialectId::Native, ticket, &r.ticket_id),
                };
                let claim =
                    IdempotencyClaim { desk: desk.clone(), key: r.ticket_id.clone(), fingerprint: "bench".into() };
                let now = jiff::Timestamp::now();
                let entry =
                    AuditEntry::new(now, AuditKind::Submitted, format!("submitted {desk} ticket {}", r.ticket_id))
                        .with_desk(&desk);
                let plan =
                    |_: &mut deskgate::model::incident::Incident| Effects { changed: true, ..Effects::default() };
                match store.create_incident(new, Some(claim), entry, now, &plan).await {
                    Ok(_) => StatusCode::CREATED,
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        )
        .with_state((store, desk));
    serve_bare(app).await
}

/// A national ServiceNow that takes connections and never answers: the deliveries
/// to it wait (as many as the dispatcher runs at once), the rest stay in the outbox.
/// So every accepted incident queues its delivery, as in a federation, while the
/// delivery work itself stays out of the figures.
async fn national_that_never_answers() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    (url, held)
}

/// What the gateway's store did during its measured phases, from its `/metrics`: the
/// creation writer (the one serial stage of an accept) and the group-commit flushes.
#[derive(Default)]
struct StoreWork {
    seconds: f64,
    accepts: f64,
    batches: f64,
    creations: f64,
    writer: f64,
    flushes: f64,
    flushing: f64,
    bytes: f64,
}

impl StoreWork {
    fn between(before: &str, after: &str, run: &drive::Run) -> Self {
        let grew = |name: &str| kit::metric(after, name) - kit::metric(before, name);
        Self {
            seconds: run.elapsed.as_secs_f64(),
            accepts: run.latencies.len() as f64,
            batches: grew("deskgate_store_creation_batch_size_count"),
            creations: grew("deskgate_store_creation_batch_size_sum"),
            writer: grew("deskgate_store_creation_batch_seconds_sum"),
            flushes: grew("deskgate_store_flush_seconds_count"),
            flushing: grew("deskgate_store_flush_seconds_sum"),
            bytes: grew("deskgate_store_flushed_bytes_total"),
        }
    }

    fn add(&mut self, more: StoreWork) {
        self.seconds += more.seconds;
        self.accepts += more.accepts;
        self.batches += more.batches;
        self.creations += more.creations;
        self.writer += more.writer;
        self.flushes += more.flushes;
        self.flushing += more.flushing;
        self.bytes += more.bytes;
    }

    fn report(&self) {
        println!(
            "    store: writer busy {:.0} % ({:.1} creations a batch, {:.0} µs a creation); \
             flusher busy {:.0} % ({:.2} ms a flush); {:.1} KB flushed an accept",
            100.0 * self.writer / self.seconds,
            self.creations / self.batches.max(1.0),
            1e6 * self.writer / self.creations.max(1.0),
            100.0 * self.flushing / self.seconds,
            1e3 * self.flushing / self.flushes.max(1.0),
            self.bytes / 1024.0 / self.accepts.max(1.0),
        );
    }
}

fn main() {
    let requests = env_or("BENCH_REQUESTS", 5000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let rounds = drive::rounds();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        // The national desk reads incidents through the API: nothing to deliver.
        let mut plain = kit::TestGateway::start_configured(|store| {
            let mut config = kit::GatewayConfig::one_local_desk(store);
            config.unthrottled_inbound();
            config
        })
        .await;
        // The national desk on a tool of its own: every accept queues a delivery.
        let (national, silent) = national_that_never_answers().await;
        let mut queuing = kit::TestGateway::start_configured(|store| {
            let mut config = kit::GatewayConfig::one_local_desk(store);
            config.unthrottled_inbound().desk(
                "sds",
                kit::Desk::known("sds", "National Service Desk", "national", "servicenow")
                    .endpoint(&national)
                    .basic_credentials("deskgate", "T_SDS"),
            );
            config
        })
        .await;
        let (url, outbox_url) = (plain.url("/api/v1/incidents"), queuing.url("/api/v1/incidents"));
        let token = kit::tokens::token("region-h");
        let (bare_url, bare) = bare_baseline(&dir.path().join("bare")).await;
        let (gc_url, gc) = bare_group_commit(&dir.path().join("bare-gc")).await;
        let (store_url, store_only) = bare_store_create(&dir.path().join("bare-store")).await;

        println!(
            "accept path vs bare axum + sled insert: {requests} requests, {concurrency} concurrent clients, \
             {rounds} rounds taking turns, loopback HTTP"
        );
        // Warm up each, then measure each.
        drive(url.clone(), Some(token.clone()), 0, drive::WARM_UP, concurrency).await;
        drive(outbox_url.clone(), Some(token.clone()), 0, drive::WARM_UP, concurrency).await;
        drive(gc_url.clone(), None, 0, drive::WARM_UP, concurrency).await;
        drive(store_url.clone(), None, 0, drive::WARM_UP, concurrency).await;
        drive(bare_url.clone(), None, 0, drive::WARM_UP, concurrency).await;
        // In rounds, each server in turn, so that what else the machine does in the
        // meantime falls on every line alike rather than on whichever ran then.
        let [mut full, mut with_outbox, mut durable, mut store_alone, mut base]: [Run; 5] = Default::default();
        let (mut full_work, mut outbox_work) = (StoreWork::default(), StoreWork::default());
        for (first, per_round) in drive::in_rounds(requests) {
            // The store's metrics are the process's: read around each gateway's phase alone.
            let before = kit::metrics(&plain).await;
            let run = drive(url.clone(), Some(token.clone()), first, per_round, concurrency).await;
            full_work.add(StoreWork::between(&before, &kit::metrics(&plain).await, &run));
            full.extend(run);
            let before = kit::metrics(&queuing).await;
            let run = drive(outbox_url.clone(), Some(token.clone()), first, per_round, concurrency).await;
            outbox_work.add(StoreWork::between(&before, &kit::metrics(&queuing).await, &run));
            with_outbox.extend(run);
            durable.extend(drive(gc_url.clone(), None, first, per_round, concurrency).await);
            store_alone.extend(drive(store_url.clone(), None, first, per_round, concurrency).await);
            base.extend(drive(bare_url.clone(), None, first, per_round, concurrency).await);
        }
        report("deskgate POST /api/v1/incidents", &full);
        full_work.report();
        report("  … and a delivery queued per incident", &with_outbox);
        outbox_work.report();
        report("bare axum + sled insert + group commit", &durable);
        report("bare axum + the store's creation alone", &store_alone);
        report("bare axum + sled insert (no flush)", &base);
        for (what, run) in [("deskgate", &full), ("deskgate + outbox", &with_outbox)] {
            for (name, b) in [("group-commit", &durable), ("no-flush", &base)] {
                println!("ratio {what} vs {name} baseline: {}", run.against(b));
            }
        }
        // Where the gap lies: the store's transaction, or the request path around it.
        println!("ratio store's creation alone vs group-commit baseline: {}", store_alone.against(&durable));
        println!("ratio deskgate vs store's creation alone: {}", full.against(&store_alone));
        // Stopped through their shutdown signal, as a deployment stops them: their
        // background tasks end before the runtime does.
        plain.shutdown().await;
        queuing.shutdown().await;
        silent.abort();
        bare.abort();
        gc.abort();
        store_only.abort();
    });
}
