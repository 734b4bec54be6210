//! Accept-path benchmark on PostgreSQL: `POST /api/v1/incidents` through the whole
//! gateway with `[gateway.store] kind = "postgres"` against, in the same run and on
//! the same database server, a bare axum handler that does one INSERT + COMMIT of
//! the request bytes through a pool of the same size. Prints throughput, p50/p99
//! latency and the ratio.
//!
//! Needs PostgreSQL installed (the test server of `src/store/postgres/testing.rs`
//! is started on loopback; it runs with `fsync=off`, for both sides alike).
//! `cargo bench --bench accept_pg` (env: BENCH_REQUESTS, BENCH_CONCURRENCY, BENCH_POOL,
//! BENCH_ROUNDS).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use deskgate::startup::Application;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;

// The integration tests' kit: configurations, desk tokens, the PostgreSQL test server.
#[path = "../tests/it/kit/mod.rs"]
mod kit;

#[path = "support/common.rs"]
mod common;
use common::env_or;

// The load driver both accept benchmarks use.
#[path = "support/drive.rs"]
mod drive;
use drive::{Run, drive, report, serve_bare};

async fn bare_baseline(url: &str, pool_size: u32) -> (String, tokio::task::JoinHandle<()>) {
    let pool = PgPoolOptions::new().max_connections(pool_size).connect(url).await.unwrap();
    sqlx::query("CREATE TABLE bare (id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL)").execute(&pool).await.unwrap();
    let app = Router::new()
        .route(
            "/insert",
            post(|State(pool): State<sqlx::PgPool>, body: Bytes| async move {
                let insert = async {
                    let mut tx = pool.begin().await?;
                    sqlx::query("INSERT INTO bare (body) VALUES ($1)").bind(body.as_ref()).execute(&mut *tx).await?;
                    tx.commit().await
                };
                match insert.await {
                    Ok(()) => StatusCode::CREATED,
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
                }
            }),
        )
        .with_state(pool);
    serve_bare(app).await
}

fn main() {
    let requests = env_or("BENCH_REQUESTS", 3000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let pool_size: u32 = env_or("BENCH_POOL", 10);
    let server = kit::pg::PgServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = kit::GatewayConfig::one_local_desk(&dir.path().join("gateway"));
        config.unthrottled_inbound();
        config.gateway("store", json!({ "kind": "postgres", "url": server.database("gateway"), "pool_size": pool_size }));
        let config = config.load(&kit::env()).unwrap();
        let app = Application::build(config).await.unwrap();
        let url = format!("http://{}/api/v1/incidents", app.local_addr());
        let gateway = tokio::spawn(app.run_until(std::future::pending()));
        let token = kit::tokens::token("region-h");
        let (bare_url, bare) = bare_baseline(&server.database("bare"), pool_size).await;

        println!(
            "accept path on PostgreSQL vs bare axum + INSERT/COMMIT: {requests} requests, {concurrency} concurrent clients, pool {pool_size}, loopback"
        );
        // Warm up both, then measure each.
        drive(url.clone(), Some(token.clone()), 0, drive::WARM_UP, concurrency).await;
        drive(bare_url.clone(), None, 0, drive::WARM_UP, concurrency).await;
        // In rounds, each server in turn (`drive::rounds`).
        let (mut full, mut base) = (Run::default(), Run::default());
        for (first, per_round) in drive::in_rounds(requests) {
            full.extend(drive(url.clone(), Some(token.clone()), first, per_round, concurrency).await);
            base.extend(drive(bare_url.clone(), None, first, per_round, concurrency).await);
        }
        report("deskgate POST /api/v1/incidents (pg)", &full);
        report("bare axum + INSERT + COMMIT", &base);
        println!("ratio deskgate vs INSERT + COMMIT baseline: {}", full.against(&base));
        gateway.abort();
        bare.abort();
    });
}
