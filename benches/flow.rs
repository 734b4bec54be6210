//! Flow benchmark: incidents forwarded by a local desk through the gateway to the
//! national desk's ClearQuest, then assigned by the national desk to a supplier's
//! ClearQuest, all against the simulators on loopback.
//!
//! Phase 1 submits every incident (`POST /api/v1/incidents`) and measures how many
//! reach the national desk per second and the delivery lag: from the 2xx to the
//! record appearing at the national ClearQuest. Phase 2 assigns every incident to the
//! supplier (`PATCH … {"assignee"}`) and measures the same to the supplier's
//! ClearQuest. The simulators' records are polled every `BENCH_POLL_MS` for the
//! incident id each carries (ClearQuest timestamps have whole seconds only), so a lag
//! is known to within one poll. Rate limits are set out of the way: this measures
//! delivery, not throttling. Each phase ends when its outbox is empty, bounded by
//! `BENCH_TIMEOUT_SECS`.
//!
//! `cargo bench --bench flow` (env: BENCH_INCIDENTS=3000, BENCH_CONCURRENCY=16,
//! BENCH_DELIVERY_CONCURRENCY=16, BENCH_POLL_MS=2, BENCH_TIMEOUT_SECS=300).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskgate_sim::clearquest::ClearQuestSim;
use kit::Federation;
use serde_json::{Value, json};

// The integration tests' kit: the federation against the simulators.
#[path = "../tests/it/kit/mod.rs"]
mod kit;

#[path = "support/common.rs"]
mod common;
use common::{env_or, percentile, share_out};

/// What one phase measured.
struct Phase {
    /// From the first request to the last record seen at the desk.
    elapsed: Duration,
    /// Requests per second the gateway answered 2xx to.
    accepted_per_sec: f64,
    lags: Vec<Duration>,
}

impl Phase {
    fn pct(&self, p: f64) -> Duration {
        percentile(&self.lags, p)
    }
}

/// Builds the request for an incident number.
type Request = Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>;

/// Send `requests` (built by `request` from the incident number) with `concurrency`
/// clients; returns when each was answered 2xx, by the incident id the answer names
/// (or `ids[n]` for requests that do not create one), and the time all took.
async fn send_all(
    requests: usize,
    concurrency: usize,
    request: Request,
    ids: Arc<Vec<String>>,
) -> (HashMap<String, Instant>, Duration) {
    let start = Instant::now();
    let answered = share_out(0..requests, concurrency, move |n| {
        let (request, ids) = (request.clone(), ids.clone());
        async move {
            let res = request(n).send().await.expect("request");
            let status = res.status();
            let at = Instant::now();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{status}: {body}");
            let id = ids.get(n).cloned().or_else(|| body["id"].as_str().map(str::to_owned)).expect("an id");
            (id, at)
        }
    })
    .await;
    (answered.into_iter().collect(), start.elapsed())
}

/// Poll `sim` until every incident in `answered` has a record there (or the
/// deadline); returns when each was first seen.
async fn seen_at(
    sim: &ClearQuestSim,
    expected: usize,
    poll: Duration,
    deadline: Instant,
) -> Result<HashMap<String, Instant>, String> {
    let mut seen = HashMap::new();
    // Only the records created since the last look: copying every record at every
    // poll would load the simulator (and the cores the gateway runs on) more than
    // the deliveries measured.
    let mut last = None;
    loop {
        let now = Instant::now();
        for record in sim.records_after(last) {
            last = Some(record.dbid);
            if let Some(id) = record.fields.get("cq:deskgate_Incident") {
                seen.entry(id.clone()).or_insert(now);
            }
        }
        if seen.len() >= expected {
            return Ok(seen);
        }
        if now > deadline {
            return Err(format!("{} of {expected} records after the deadline", seen.len()));
        }
        tokio::time::sleep(poll).await;
    }
}

/// What a phase needs of the run: the gateway, the national desk's token to read
/// the outbox, the load and the bounds.
struct Run {
    client: reqwest::Client,
    base: String,
    national: String,
    incidents: usize,
    concurrency: usize,
    poll: Duration,
    timeout: Duration,
}

impl Run {
    /// Send every incident's `request` and wait until each has a record at `sim`
    /// and the outbox is empty: the phase's figures, and when each was answered.
    async fn phase(
        &self,
        sim: &ClearQuestSim,
        request: Request,
        ids: Arc<Vec<String>>,
    ) -> Result<(Phase, HashMap<String, Instant>), String> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let ((answered, sending), seen) = tokio::join!(
            send_all(self.incidents, self.concurrency, request, ids),
            seen_at(sim, self.incidents, self.poll, deadline)
        );
        let seen = seen?;
        let last = seen.values().max().copied().unwrap_or(start);
        let phase = Phase {
            elapsed: last - start,
            accepted_per_sec: self.incidents as f64 / sending.as_secs_f64(),
            lags: lags(&answered, &seen),
        };
        drained(&self.client, &self.base, &self.national, deadline).await?;
        Ok((phase, answered))
    }
}

fn lags(answered: &HashMap<String, Instant>, seen: &HashMap<String, Instant>) -> Vec<Duration> {
    // A record can appear before the client has read its 2xx: that lag is zero.
    answered.iter().map(|(id, at)| seen[id].saturating_duration_since(*at)).collect()
}

async fn drained(client: &reqwest::Client, base: &str, national: &str, deadline: Instant) -> Result<(), String> {
    loop {
        let page: Value = client
            .get(format!("{base}/api/v1/outbox"))
            .bearer_auth(national)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let waiting = page["items"].as_array().map_or(0, Vec::len);
        if waiting == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{waiting} deliveries still in the outbox after the deadline"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn row(name: &str, n: usize, p: &Phase) {
    println!(
        "{name:<36} {:>8.1} {:>10.1} {:>9.1} {:>9.1} {:>9.1}",
        n as f64 / p.elapsed.as_secs_f64(),
        p.accepted_per_sec,
        p.pct(0.50).as_secs_f64() * 1e3,
        p.pct(0.99).as_secs_f64() * 1e3,
        p.lags.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn main() {
    let incidents: usize = env_or("BENCH_INCIDENTS", 3_000);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 16);
    let delivery_concurrency: u64 = env_or("BENCH_DELIVERY_CONCURRENCY", 16);
    let poll = Duration::from_millis(env_or("BENCH_POLL_MS", 2));
    let timeout = Duration::from_secs(env_or("BENCH_TIMEOUT_SECS", 300));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let result = rt.block_on(async {
        let f = Federation::builder()
            .region_h_native()
            .without_drift()
            .delivery("retry_base_ms", 50)
            .delivery("retry_max_ms", 1000)
            .max_attempts(20)
            .delivery("concurrency", delivery_concurrency)
            .no_polling()
            // Delivery is measured, not throttling.
            .configure(|c| {
                c.gateway(
                    "rate_limit",
                    json!({
                        "inbound_per_minute": 100000000, "inbound_burst": 1000000,
                        "outbound_per_minute": 100000000, "outbound_burst": 1000000,
                    }),
                );
            })
            .start()
            .await;
        let (base, sds, fmk) = (f.gateway.clone(), &f.sds, &f.fmk);
        let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
        let local = kit::tokens::token("region-h");
        let national = kit::tokens::token("sds");
        let run = Run {
            client: client.clone(),
            base: base.clone(),
            national: national.clone(),
            incidents,
            concurrency,
            poll,
            timeout,
        };

        println!(
            "NSP flow against the simulators: {incidents} incidents, {concurrency} concurrent clients, \
             {delivery_concurrency} delivery lanes in parallel, records polled every {} ms",
            poll.as_millis()
        );

        // Phase 1: a local desk forwards; the national desk's ClearQuest gets a record.
        let submit = {
            let (client, url, local) = (client.clone(), format!("{base}/api/v1/incidents"), local.clone());
            Arc::new(move |n: usize| {
                client.post(&url).bearer_auth(&local).json(&json!({
                    "title": format!("FMK: prescriptions cannot be read ({n})"),
                    "description": "Since 01:40 no prescriptions are shown in the FMK client; pharmacies are calling.",
                    "service": "FMK", "ticket_id": format!("RH-{n}"), "urgency": "medium", "impact": "medium",
                }))
            }) as Request
        };
        let (forwarded, answered) = run.phase(sds, submit, Arc::new(Vec::new())).await?;

        // Phase 2: the national desk assigns each to the supplier, who gets a record.
        let mut ids: Vec<String> = answered.keys().cloned().collect();
        ids.sort();
        let ids = Arc::new(ids);
        let assign = {
            let (client, base, national, ids) = (client.clone(), base.clone(), national.clone(), ids.clone());
            Arc::new(move |n: usize| {
                client
                    .patch(format!("{base}/api/v1/incidents/{}", ids[n]))
                    .bearer_auth(&national)
                    .json(&json!({"assignee": "fmk"}))
            }) as Request
        };
        let (assigned, _) = run.phase(fmk, assign, ids).await?;
        let links = sds.records().iter().filter(|r| r.fields.contains_key("cq:deskgate_Links")).count();

        println!("{:<36} {:>8} {:>10} {:>9} {:>9} {:>9}", "phase", "deliv/s", "2xx/s", "p50 ms", "p99 ms", "max ms");
        row("local → national ClearQuest", incidents, &forwarded);
        row("national → supplier ClearQuest", incidents, &assigned);
        println!(
            "records: national {}, supplier {}, national records linked to the supplier {links}",
            sds.count(),
            fmk.count()
        );
        if sds.count() != incidents || fmk.count() != incidents {
            return Err(format!("expected {incidents} records at each desk"));
        }
        Ok::<(), String>(())
    });
    if let Err(e) = result {
        eprintln!("flow benchmark failed: {e}");
        std::process::exit(1);
    }
}
