//! What every benchmark shares: its settings from the environment, percentiles,
//! the report a load sends, and the clients that share out numbered requests.
//! Each benchmark uses some of it.
#![allow(dead_code)]

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// The setting `name` from the environment, or `default` when unset or unreadable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The `p` percentile (0.0–1.0, nearest rank) of `durations`, which must not be empty.
pub fn percentile(durations: &[Duration], p: f64) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort();
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A local desk's report with ticket number `n`: what the accept loads submit.
pub fn report_body(n: usize) -> Value {
    json!({
        "title": "FMK: prescriptions cannot be read",
        "description": "Since 01:40 no prescriptions are shown in the FMK client; pharmacies are calling.",
        "service": "FMK", "ticket_id": format!("BENCH-{n}"), "urgency": "high", "impact": "medium",
    })
}

/// `clients` concurrent clients take the numbers of `numbers` one at a time, in
/// order, and each runs `work` on the number it took; what every call returned.
pub async fn share_out<T, F, Fut>(numbers: Range<usize>, clients: usize, work: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(numbers.start));
    let end = numbers.end;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (next, work) = (next.clone(), work.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= end {
                        return done;
                    }
                    done.push(work(n).await);
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(numbers.len());
    for task in tasks {
        all.extend(task.await.expect("a client panicked"));
    }
    all
}
