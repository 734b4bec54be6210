//! Load benchmark: the accept path (`POST /api/v1/incidents` on the real
//! `deskgate serve` binary) against bare axum + sled servers, in the same run, each
//! server in its own process so that its peak RSS (`VmHWM`) can be read.
//!
//! - **Fixed rates** (open loop): requests are sent on a schedule whatever the server
//!   does, and latency counts from the *scheduled* send time, so a stalled server
//!   shows up in the percentiles instead of slowing the generator down (no
//!   coordinated omission). Requests still unanswered at the deadline are reported
//!   and count as slower than any answered one.
//! - **Saturation** (closed loop): a fixed number of clients send back to back.
//! - **Baselines**: a bare axum handler that inserts the same bytes into sled
//!   (*insert only*: not durable when it answers), and one that inserts and then
//!   awaits sled's `flush_async` (*durable, naive*: what DESIGN §8 warns about).
//! - **Start-up**: a store holding one million cross-references (incidents with
//!   their audit entries, written straight into sled in the store's layout); the
//!   time `Application::build` takes to open it, the time from spawning
//!   `deskgate serve` on it until `/readyz` answers 200, and that process's peak RSS.
//!
//! `cargo bench --bench load` (env: BENCH_RATES=200,1000,3000, BENCH_SECS=5,
//! BENCH_CONCURRENCY=32, BENCH_MAX_INFLIGHT=256, BENCH_GRACE_SECS=5,
//! BENCH_REFS=1000000, BENCH_REFS_PER_INCIDENT=3; BENCH_REFS=0 skips start-up).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use deskgate::startup::Application;
use serde_json::Value;

// The integration tests' kit: configurations, desk tokens and the binary's command.
#[path = "../tests/it/kit/mod.rs"]
mod kit;

#[path = "support/common.rs"]
mod common;
use common::{env_or, report_body};

/// Set in a child process started by this benchmark: serve a baseline and wait.
const ROLE: &str = "DESKGATE_LOAD_BASELINE";

fn main() {
    if let Ok(mode) = std::env::var(ROLE) {
        serve_baseline(&mode);
        return;
    }
    let rates: Vec<f64> = std::env::var("BENCH_RATES")
        .unwrap_or_else(|_| "200,1000,3000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let opts = Opts {
        secs: env_or("BENCH_SECS", 5.0),
        concurrency: env_or("BENCH_CONCURRENCY", 32),
        max_inflight: env_or("BENCH_MAX_INFLIGHT", 256),
        grace: Duration::from_secs_f64(env_or("BENCH_GRACE_SECS", 5.0)),
    };
    let refs: u64 = env_or("BENCH_REFS", 1_000_000);
    let per_incident: u64 = env_or("BENCH_REFS_PER_INCIDENT", 3).clamp(1, 3);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        load(&rates, &opts).await;
        if refs > 0 {
            startup(refs, per_incident).await;
        }
    });
}

// --- servers --------------------------------------------------------------------

/// A server in a child process of this benchmark.
struct Server {
    name: &'static str,
    child: Child,
    url: String,
    token: Option<String>,
}

impl Server {
    /// Peak resident set so far, in KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0)).unwrap_or_else(|| "n/a".into())
}

/// A baseline in a child process: this benchmark's own executable in baseline mode.
fn spawn_baseline(name: &'static str, mode: &str, dir: &Path) -> Server {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, mode)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the baseline server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("baseline address");
    Server { name, child, url: format!("http://{}/insert", line.trim()), token: None }
}

/// The bare axum + sled server (runs in the child; exits when its stdin closes).
fn serve_baseline(mode: &str) {
    let dir = PathBuf::from(std::env::args_os().nth(1).expect("data dir"));
    let flush = mode == "flush";
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        // The same sled mode as the store.
        let db = sled::Config::new().path(&dir).mode(sled::Mode::HighThroughput).open().unwrap();
        let tree = db.open_tree("bare").unwrap();
        let app = Router::new()
            .route(
                "/insert",
                post(move |State((db, tree)): State<(sled::Db, sled::Tree)>, body: Bytes| async move {
                    let id = db.generate_id().unwrap_or_default();
                    if tree.insert(id.to_be_bytes(), body.as_ref()).is_err() {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    if flush && db.flush_async().await.is_err() {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    StatusCode::CREATED
                }),
            )
            .with_state((db, tree));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        // Serve until the benchmark closes stdin.
        tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await.ok();
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `deskgate serve` on a generated configuration, with a token for its one desk.
fn spawn_gateway(dir: &Path) -> (Child, String, String) {
    let port = free_port();
    let config = dir.join("gateway.toml");
    let mut text = kit::GatewayConfig::one_local_desk(&dir.join("gateway"));
    text.gateway("listen", format!("127.0.0.1:{port}")).unthrottled_inbound();
    std::fs::write(&config, text.render()).unwrap();
    let child = serve_quietly(&config);
    (child, format!("http://127.0.0.1:{port}"), kit::tokens::token("region-h"))
}

/// `deskgate serve --config CONFIG`, its output discarded.
fn serve_quietly(config: &Path) -> Child {
    kit::binary::command()
        .args(["serve", "--config"])
        .arg(config)
        .envs(kit::env().vars)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting deskgate serve")
}

/// Poll `/readyz` until it answers 200; the time it took.
async fn until_ready(base: &str, started: Instant) -> Duration {
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return started.elapsed();
            }
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{base} did not become ready");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

// --- load -----------------------------------------------------------------------

struct Opts {
    secs: f64,
    concurrency: usize,
    max_inflight: usize,
    grace: Duration,
}

/// Ticket ids are unique across the whole run: a repeated one would be a replay.
static TICKET: AtomicU64 = AtomicU64::new(0);

async fn send(client: &reqwest::Client, url: &str, token: Option<&str>) -> bool {
    let n = TICKET.fetch_add(1, Ordering::Relaxed) as usize;
    let mut req = client.post(url).json(&report_body(n));
    if let Some(tok) = token {
        req = req.bearer_auth(tok);
    }
    match req.send().await {
        Ok(res) => {
            let ok = res.status().is_success();
            let _ = res.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

struct Sample {
    /// Latencies of the answered requests.
    latencies: Vec<Duration>,
    /// Still unanswered at the deadline (slower than any answered one).
    unfinished: usize,
    errors: usize,
    elapsed: Duration,
}

impl Sample {
    fn throughput(&self) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// `None`: the percentile falls among the unanswered requests.
    fn pct(&self, p: f64) -> Option<Duration> {
        let total = self.latencies.len() + self.unfinished;
        if total == 0 {
            return None;
        }
        self.latencies.get(((total as f64 - 1.0) * p).round() as usize).copied()
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.2} ms", d.as_secs_f64() * 1e3)).unwrap_or_else(|| "timeout".into())
}

/// Open loop: `rate` requests per second for `secs`, latency from the scheduled time.
async fn fixed_rate(client: &reqwest::Client, server: &Server, rate: f64, opts: &Opts) -> Sample {
    let n = (rate * opts.secs).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let inflight = Arc::new(tokio::sync::Semaphore::new(opts.max_inflight));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now() + Duration::from_millis(5);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let at = start + interval * i as u32;
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        let (client, url, token, inflight, tx) =
            (client.clone(), server.url.clone(), server.token.clone(), inflight.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            // Waiting for a connection slot counts: the clock started at `at`.
            let _slot = inflight.acquire_owned().await;
            let ok = send(&client, &url, token.as_deref()).await;
            let _ = tx.send((ok, at.elapsed(), Instant::now()));
        }));
    }
    drop(tx);
    let deadline = tokio::time::Instant::from_std(start + Duration::from_secs_f64(opts.secs) + opts.grace);
    let (mut latencies, mut errors, mut last) = (Vec::with_capacity(n), 0, start);
    while let Ok(Some((ok, latency, done))) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if ok {
            latencies.push(latency);
        } else {
            errors += 1;
        }
        last = last.max(done);
    }
    for t in &tasks {
        t.abort();
    }
    latencies.sort();
    let unfinished = n - latencies.len() - errors;
    Sample { latencies, unfinished, errors, elapsed: last - start }
}

/// Closed loop: `concurrency` clients back to back for `secs`.
async fn saturation(client: &reqwest::Client, server: &Server, opts: &Opts) -> Sample {
    let start = Instant::now();
    let stop = start + Duration::from_secs_f64(opts.secs);
    let deadline = tokio::time::Instant::from_std(stop + opts.grace);
    let mut tasks = Vec::new();
    for _ in 0..opts.concurrency {
        let (client, url, token) = (client.clone(), server.url.clone(), server.token.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut unfinished) = (Vec::new(), 0, 0);
            while Instant::now() < stop {
                let t = Instant::now();
                match tokio::time::timeout_at(deadline, send(&client, &url, token.as_deref())).await {
                    Ok(true) => lat.push(t.elapsed()),
                    Ok(false) => errors += 1,
                    Err(_) => {
                        unfinished += 1;
                        break;
                    }
                }
            }
            (lat, errors, unfinished)
        }));
    }
    let mut s = Sample { latencies: Vec::new(), unfinished: 0, errors: 0, elapsed: Duration::ZERO };
    for t in tasks {
        let (lat, errors, unfinished) = t.await.unwrap();
        s.latencies.extend(lat);
        s.errors += errors;
        s.unfinished += unfinished;
    }
    s.elapsed = start.elapsed();
    s.latencies.sort();
    s
}

fn row(server: &str, s: &Sample) {
    let extra = match (s.unfinished, s.errors) {
        (0, 0) => String::new(),
        (u, 0) => format!("   {u} unanswered at the deadline"),
        (u, e) => format!("   {u} unanswered, {e} errors"),
    };
    println!(
        "  {server:<40} {:>8.0} req/s   p50 {:>11}   p99 {:>11}{extra}",
        s.throughput(),
        ms(s.pct(0.50)),
        ms(s.pct(0.99))
    );
}

fn ratio(a: Option<Duration>, b: Option<Duration>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > Duration::ZERO => format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64()),
        _ => "n/a".into(),
    }
}

fn ratios(full: &Sample, base: &Sample, name: &str) {
    println!(
        "  deskgate / {name:<29} throughput {}   p50 {}   p99 {}",
        if base.throughput() > 0.0 { format!("{:.2}×", full.throughput() / base.throughput()) } else { "n/a".into() },
        ratio(full.pct(0.5), base.pct(0.5)),
        ratio(full.pct(0.99), base.pct(0.99))
    );
}

async fn load(rates: &[f64], opts: &Opts) {
    let dir = tempfile::tempdir().unwrap();
    let (gateway_child, base, token) = spawn_gateway(dir.path());
    let mut gateway = Server {
        name: "deskgate POST /api/v1/incidents",
        child: gateway_child,
        url: String::new(),
        token: Some(token),
    };
    until_ready(&base, Instant::now()).await;
    gateway.url = format!("{base}/api/v1/incidents");
    let servers = [
        gateway,
        spawn_baseline("bare axum + sled insert only", "insert", &dir.path().join("bare-insert")),
        spawn_baseline("bare axum + sled insert + flush_async", "flush", &dir.path().join("bare-flush")),
    ];
    let client = reqwest::Client::builder().pool_max_idle_per_host(opts.max_inflight).build().unwrap();
    println!("accept path vs bare axum + sled, loopback HTTP, {} s per run, each server in its own process", opts.secs);
    let warm = Opts { secs: 1.0, grace: Duration::from_secs(2), ..*opts };
    for s in &servers {
        saturation(&client, s, &warm).await;
    }
    let mut scenarios: Vec<(String, Option<f64>)> = rates
        .iter()
        .map(|r| (format!("fixed rate {r} req/s (open loop, up to {} in flight)", opts.max_inflight), Some(*r)))
        .collect();
    scenarios.push((format!("saturation ({} clients, closed loop)", opts.concurrency), None));
    for (title, rate) in scenarios {
        println!("\n{title}");
        let mut samples = Vec::new();
        for s in &servers {
            let sample = match rate {
                Some(r) => fixed_rate(&client, s, r, opts).await,
                None => saturation(&client, s, opts).await,
            };
            row(s.name, &sample);
            samples.push(sample);
            // Let whatever the server still works on settle before the next one.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        ratios(&samples[0], &samples[1], "insert only");
        ratios(&samples[0], &samples[2], "insert + flush_async");
    }
    println!("\npeak RSS (VmHWM) over all runs");
    for s in servers {
        println!("  {:<40} {}", s.name, mib(s.peak_rss_kib()));
        s.stop();
    }
}

// --- start-up ---------------------------------------------------------------------

/// A store holding `refs` cross-references: incidents with `per_incident` refs each
/// (origin, national desk, supplier) and an audit entry, written in the store's
/// layout from one incident the gateway stored itself.
async fn startup(refs: u64, per_incident: u64) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("gateway");
    let text = kit::GatewayConfig::one_local_desk(&data);
    let config = || text.load(&kit::env()).unwrap();

    // One real incident, submitted through the gateway, as the template.
    let (template, audit) = {
        let app = Application::build(config()).await.unwrap();
        let gateway = app.gateway();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let url = format!("http://{}/api/v1/incidents", app.local_addr());
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let token = kit::tokens::token("region-h");
        let client = reqwest::Client::new();
        assert!(send(&client, &url, Some(&token)).await, "template incident refused");
        let _ = stop.send(());
        let _ = server.await;
        let first = gateway.incidents(&deskgate::store::ListQuery::all(1)).await.unwrap().remove(0);
        let audit = gateway.audit_entries(None, 1).await.unwrap().remove(0).1;
        (serde_json::to_value(first).unwrap(), serde_json::to_value(audit).unwrap())
    };

    let incidents = refs.div_ceil(per_incident);
    let written = Instant::now();
    {
        let db = sled::Config::new().path(&data).mode(sled::Mode::HighThroughput).open().unwrap();
        let (inc_tree, xref, audit_tree, meta) = (
            db.open_tree("incidents").unwrap(),
            db.open_tree("xref").unwrap(),
            db.open_tree("audit").unwrap(),
            db.open_tree("meta").unwrap(),
        );
        let origin = template["refs"][0].clone();
        let year = &template["id"].as_str().unwrap()[4..8].to_owned();
        let desks = [("region-h", "native"), ("national", "servicenow"), ("supplier-a", "jira")];
        let mut left = refs;
        for chunk in (1..=incidents).collect::<Vec<_>>().chunks(10_000) {
            let (mut bi, mut bx, mut ba) = (sled::Batch::default(), sled::Batch::default(), sled::Batch::default());
            for &seq in chunk {
                let id = format!("INC-{year}-{seq:06}");
                let mut incident = template.clone();
                incident["id"] = Value::from(id.clone());
                let mut list = Vec::new();
                for (desk, system) in desks.iter().take(per_incident.min(left) as usize) {
                    let remote = format!("{}-{seq}", desk.to_uppercase());
                    let mut r = origin.clone();
                    r["desk"] = Value::from(*desk);
                    r["system"] = Value::from(*system);
                    r["remote_id"] = Value::from(remote.clone());
                    r["display_id"] = Value::from(remote.clone());
                    bx.insert(format!("{desk}\0{remote}").into_bytes(), id.as_bytes());
                    list.push(r);
                    left -= 1;
                }
                incident["refs"] = Value::Array(list);
                bi.insert(id.as_bytes(), serde_json::to_vec(&incident).unwrap());
                let mut entry = audit.clone();
                entry["incident"] = Value::from(id);
                ba.insert(&db.generate_id().unwrap().to_be_bytes(), serde_json::to_vec(&entry).unwrap());
            }
            inc_tree.apply_batch(bi).unwrap();
            xref.apply_batch(bx).unwrap();
            audit_tree.apply_batch(ba).unwrap();
        }
        meta.insert(b"incident_seq", &incidents.to_be_bytes()).unwrap();
        db.flush().unwrap();
        println!(
            "\nstart-up: {} cross-references over {incidents} incidents written in {:.1} s ({:.0} MiB on disk)",
            xref.len(),
            written.elapsed().as_secs_f64(),
            dir_size(&data) as f64 / (1024.0 * 1024.0)
        );
    }

    // The real binary: spawn until /readyz answers 200.
    let config_path = dir.path().join("gateway.toml");
    let port = free_port();
    let mut on_port = text.clone();
    on_port.gateway("listen", format!("127.0.0.1:{port}"));
    std::fs::write(&config_path, on_port.render()).unwrap();
    let started = Instant::now();
    let child = serve_quietly(&config_path);
    let ready = until_ready(&format!("http://127.0.0.1:{port}"), started).await;
    let server = Server { name: "deskgate serve", child, url: String::new(), token: None };
    let rss = server.peak_rss_kib();
    // A graceful stop, so the next open does not start with recovery.
    let _ = Command::new("kill").arg("-TERM").arg(server.child.id().to_string()).status();
    let Server { mut child, .. } = server;
    let _ = child.wait();
    println!("  deskgate serve: spawn to /readyz 200 {:>8.1} ms   peak RSS {}", ready.as_secs_f64() * 1e3, mib(rss));

    // In process: Application::build (open the store, bind), then a lookup.
    let started = Instant::now();
    let app = Application::build(config()).await.unwrap();
    let built = started.elapsed();
    let store = app.gateway();
    let ready = store.is_ready().await;
    let last = incidents;
    let found = store
        .ticket_incident(&"region-h".parse().unwrap(), &format!("REGION-H-{last}").parse().unwrap())
        .await
        .unwrap();
    println!(
        "  Application::build:              {:>8.1} ms   ready {ready}, last ref resolves to {}",
        built.as_secs_f64() * 1e3,
        found.map(|i| i.as_str().to_owned()).unwrap_or_else(|| "nothing".into())
    );
    drop(store);
    drop(app);
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
