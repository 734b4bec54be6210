//! What the accept benchmarks share: the load driver (`POST /api/v1/incidents` at a
//! fixed concurrency, fresh ticket ids and idempotency keys per run), its figures,
//! and the loopback server of the bare baselines.

use std::time::{Duration, Instant};

use crate::common::{env_or, percentile, report_body, share_out};

/// How many rounds a benchmark spreads each line's requests over (`BENCH_ROUNDS`,
/// default 5): every server takes its turn in each round, so a slow spell of the
/// machine falls on every line alike rather than on whichever ran then.
pub fn rounds() -> usize {
    env_or("BENCH_ROUNDS", 5).max(1)
}

/// Requests each server gets before it is measured; their ticket numbers come first.
pub const WARM_UP: usize = 200;

/// The measured `requests` in [`rounds`]: each round's first ticket number (after the
/// warm-up's) and how many requests it sends.
pub fn in_rounds(requests: usize) -> impl Iterator<Item = (usize, usize)> {
    let per_round = requests.div_ceil(rounds());
    (0..rounds()).map(move |round| (WARM_UP + round * per_round, per_round))
}

#[derive(Default)]
pub struct Run {
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Run {
    /// This run and `more` as one: their times and latencies added up.
    pub fn extend(&mut self, more: Run) {
        self.elapsed += more.elapsed;
        self.latencies.extend(more.latencies);
    }

    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
    pub fn pct(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    /// This run's throughput, p50 and p99 latency as ratios to `base`'s, for a line
    /// that starts `ratio … vs …:`.
    pub fn against(&self, base: &Run) -> String {
        format!(
            "throughput {:.2}×; p50 latency {:.2}×; p99 latency {:.2}×",
            self.throughput() / base.throughput(),
            self.pct(0.5).as_secs_f64() / base.pct(0.5).as_secs_f64(),
            self.pct(0.99).as_secs_f64() / base.pct(0.99).as_secs_f64()
        )
    }
}

/// One line of figures for a run.
pub fn report(name: &str, r: &Run) {
    println!(
        "{name:<40} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        r.throughput(),
        r.pct(0.50).as_secs_f64() * 1e3,
        r.pct(0.99).as_secs_f64() * 1e3
    );
}

/// Serve a bare baseline's router on loopback: the URL of its `/insert`, and the task
/// serving it.
pub async fn serve_bare(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/insert", listener.local_addr().unwrap());
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

pub async fn drive(url: String, token: Option<String>, first: usize, requests: usize, concurrency: usize) -> Run {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let start = Instant::now();
    // Fresh ticket ids per run: a warm-up's tickets again would be replays.
    let latencies = share_out(first..first + requests, concurrency, move |n| {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        async move {
            let t = Instant::now();
            let mut req = client.post(&url).json(&report_body(n));
            if let Some(tok) = &token {
                // As a desk's tool that retries safely sends it: the gateway's
                // idempotency check is part of what is measured.
                req = req.bearer_auth(tok).header("Idempotency-Key", format!("bench-{n}"));
            }
            let res = req.send().await.expect("request");
            assert!(res.status().is_success(), "{}", res.status());
            let _ = res.bytes().await;
            t.elapsed()
        }
    })
    .await;
    Run { elapsed: start.elapsed(), latencies }
}
