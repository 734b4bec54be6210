//! Triage benchmark: the national desk triages incidents in its own ClearQuest, at a
//! person's pace, and deskgate's polling carries each assignment to the supplier's
//! ClearQuest. Measures the lag from the triage (the record changed in the national
//! ClearQuest) to the record appearing at the supplier, with the shipped poll bounds
//! (`poll_min_ms = 1000`, `poll_ms = 30000`) and the shipped rate limits.
//!
//! The incidents are forwarded first (a local desk, native API); then each is
//! triaged after a seeded random pause of 0–2×`BENCH_TRIAGE_GAP_MS`, so the poller
//! sees both bursts and idle stretches. The supplier's records are read every 5 ms.
//!
//! `cargo bench --bench triage` (env: BENCH_TRIAGES=20, BENCH_TRIAGE_GAP_MS=2000,
//! BENCH_SEED=7, BENCH_POLL_MIN_MS=1000, BENCH_POLL_MS=30000).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kit::Federation;
use rand::{Rng, SeedableRng};
use serde_json::json;

// The integration tests' kit: the federation against the simulators.
#[path = "../tests/it/kit/mod.rs"]
mod kit;

#[path = "support/common.rs"]
mod common;
use common::{env_or, percentile};

fn main() {
    let triages: usize = env_or("BENCH_TRIAGES", 20);
    let gap = env_or("BENCH_TRIAGE_GAP_MS", 2_000);
    let (poll_min_ms, poll_ms) = (env_or("BENCH_POLL_MIN_MS", 1_000), env_or("BENCH_POLL_MS", 30_000));
    let mut rng = rand::rngs::StdRng::seed_from_u64(env_or("BENCH_SEED", 7));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let result = rt.block_on(async {
        let mut f = Federation::builder()
            .region_h_native()
            .without_drift()
            .poll_ms(Some(poll_ms))
            .poll_min_ms(poll_min_ms)
            .start()
            .await;
        println!(
            "triage in the national ClearQuest → supplier: {triages} triages, pauses 0–{} ms, \
             polling between {poll_min_ms} and {poll_ms} ms",
            2 * gap
        );
        let client = reqwest::Client::new();
        let local = kit::tokens::token("region-h");
        let mut ids = Vec::new();
        for n in 0..triages {
            let res = client
                .post(format!("{}/api/v1/incidents", f.gateway))
                .bearer_auth(&local)
                .json(&json!({
                    "title": format!("FMK: prescriptions cannot be read ({n})"),
                    "description": "No prescriptions are shown in the FMK client.",
                    "service": "FMK", "ticket_id": format!("RH-{n}"), "urgency": "medium", "impact": "medium",
                }))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
            ids.push(body["id"].as_str().ok_or("no incident id")?.to_owned());
        }
        f.drained().await;
        let national: HashMap<String, String> = f
            .sds
            .records()
            .into_iter()
            .filter_map(|r| Some((r.fields.get("cq:deskgate_Incident")?.clone(), r.display_id.clone())))
            .collect();

        let mut lags = Vec::new();
        for id in &ids {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..=2 * gap))).await;
            let record = national.get(id).ok_or("an incident not at the national desk")?;
            let triaged = Instant::now();
            f.sds.action_as_user(record, "Assign", [("cq:Priority", "2-Major")])?;
            let deadline = triaged + Duration::from_millis(2 * poll_ms + 10_000);
            loop {
                let there =
                    f.fmk.records().iter().any(|r| r.fields.get("cq:deskgate_Incident").is_some_and(|i| i == id));
                if there {
                    lags.push(triaged.elapsed());
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("{id} did not reach the supplier"));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        println!("{:<40} {:>9} {:>9} {:>9}", "lag", "p50 ms", "p99 ms", "max ms");
        println!(
            "{:<40} {:>9.1} {:>9.1} {:>9.1}",
            "triage → supplier ClearQuest",
            percentile(&lags, 0.50).as_secs_f64() * 1e3,
            percentile(&lags, 0.99).as_secs_f64() * 1e3,
            lags.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
        f.stop().await;
        Ok::<(), String>(())
    });
    if let Err(e) = result {
        eprintln!("triage benchmark failed: {e}");
        std::process::exit(1);
    }
}
