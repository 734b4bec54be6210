//! Accept-path benchmark: `POST /api/v1/incidents` through the whole gateway (JWT
//! auth, validation, patient-data scan, idempotency, store transaction, audit, group
//! commit) against, in the same run, a bare axum handler that only inserts the same
//! bytes into sled. Prints throughput, p50/p99 latency and the ratio.
//!
//! `cargo bench --bench accept` (env: BENCH_REQUESTS, BENCH_CONCURRENCY).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use deskgate::startup::Application;
use serde_json::json;

// The integration tests' kit: configurations and desk tokens.
#[path = "../tests/it/kit/mod.rs"]
mod kit;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l[((l.len() as f64 - 1.0) * p).round() as usize]
    }
}

async fn drive(url: String, token: Option<String>, requests: usize, concurrency: usize) -> Run {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, token, next) = (client.clone(), url.clone(), token.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                if n >= requests {
                    return lat;
                }
                let body = json!({
                    "title": "FMK: prescriptions cannot be read",
                    "description": "Since 01:40 no prescriptions are shown in the FMK client; pharmacies are calling.",
                    "service": "FMK", "ticket_id": format!("BENCH-{n}"), "urgency": "high", "impact": "medium",
                });
                let t = Instant::now();
                let mut req = client.post(&url).json(&body);
                if let Some(tok) = &token {
                    req = req.bearer_auth(tok);
                }
                let res = req.send().await.expect("request");
                assert!(res.status().is_success(), "{}", res.status());
                let _ = res.bytes().await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Run { elapsed: start.elapsed(), latencies }
}

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/insert", listener.local_addr().unwrap());
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

fn report(name: &str, r: &Run) {
    println!(
        "{name:<34} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        r.throughput(),
        r.pct(0.50).as_secs_f64() * 1e3,
        r.pct(0.99).as_secs_f64() * 1e3
    );
}

fn main() {
    let requests = env_or("BENCH_REQUESTS", 5000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = kit::GatewayConfig::one_local_desk(&dir.path().join("gateway"));
        config.unthrottled_inbound();
        let config = config.load(&kit::env()).unwrap();
        let app = Application::build(config).await.unwrap();
        let url = format!("http://{}/api/v1/incidents", app.local_addr());
        let server = tokio::spawn(app.run_until(std::future::pending()));
        let token = kit::tokens::token("region-h");
        let (bare_url, bare) = bare_baseline(&dir.path().join("bare")).await;

        println!("accept path vs bare axum + sled insert: {requests} requests, {concurrency} concurrent clients, loopback HTTP");
        // Warm up both, then measure each.
        drive(url.clone(), Some(token.clone()), 200, concurrency).await;
        drive(bare_url.clone(), None, 200, concurrency).await;
        let full = drive(url, Some(token), requests, concurrency).await;
        let base = drive(bare_url, None, requests, concurrency).await;
        report("deskgate POST /api/v1/incidents", &full);
        report("bare axum + sled insert (no flush)", &base);
        println!(
            "ratio: deskgate throughput is {:.2}× the baseline's; p50 latency {:.2}× the baseline's",
            full.throughput() / base.throughput(),
            full.pct(0.5).as_secs_f64() / base.pct(0.5).as_secs_f64()
        );
        server.abort();
        bare.abort();
    });
}
