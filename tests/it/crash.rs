//! "Accepted means durable" and "exactly-once effect" under SIGKILL (DESIGN §8).
//!
//! The real binary runs as a child process against simulators living in this test
//! process. A local desk (ServiceNow) submits many incidents concurrently while the
//! national desk's ClearQuest answers slowly; the gateway is killed with SIGKILL in
//! the middle of submissions and in the middle of deliveries, restarted on the same
//! data directory, and finally left to drain. The desk retries every submission whose
//! answer it never got, as a desk would (same ticket id: a replay at worst). In the
//! end every accepted incident exists exactly once at the national desk — matched on
//! the correlation field, with the title it was submitted with — and nothing that was
//! refused exists anywhere.

use crate::kit;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use deskgate_sim::Fault;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use kit::RunningBinary;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

fn config_text(data: &Path, sn: &str, cq: &str) -> String {
    kit::GatewayConfig::servicenow_to_clearquest(data, sn, cq).render()
}

/// Start `deskgate serve` and wait until it answers `/readyz` (bounded).
async fn start(config: &Path, log: &Path, client: &reqwest::Client) -> RunningBinary {
    RunningBinary::serve_ready(config, log, client).await
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// No answer yet (not sent, or the gateway died under it): the desk tries again.
    Unknown,
    Accepted(String),
    Refused(u16),
}

#[derive(Clone, Debug)]
struct Submission {
    ticket: String,
    number: String,
    title: String,
    /// Carries a Danish CPR number: must be refused, every time.
    patient_data: bool,
    outcome: Outcome,
}

struct Desk {
    client: reqwest::Client,
    token: String,
    submissions: Mutex<Vec<Submission>>,
}

impl Desk {
    /// Region H's operator creates a ticket in ServiceNow; the desk will forward it.
    async fn new_ticket(&self, sn: &ServiceNowSim, n: usize, patient_data: bool) -> usize {
        let title = format!("NSP lookups fail at ward {n}");
        let record = sn
            .create_as_user(&[("short_description", &title), ("description", "Reported by phone"), ("impact", "2")])
            .unwrap();
        let mut subs = self.submissions.lock().await;
        subs.push(Submission {
            ticket: record["sys_id"].clone(),
            number: record["number"].clone(),
            title,
            patient_data,
            outcome: Outcome::Unknown,
        });
        subs.len() - 1
    }

    /// Forward submission `i` once; record the answer if there was one.
    async fn forward(&self, base: &str, i: usize) {
        let s = self.submissions.lock().await[i].clone();
        let description = if s.patient_data {
            "The patient with CPR 010190-1234 cannot see prescriptions".to_owned()
        } else {
            format!("Reported by phone ({})", s.number)
        };
        let body = json!({
            "title": s.title, "description": description, "service": "NSP",
            "ticket_id": s.ticket, "display_id": s.number, "urgency": "medium", "impact": "medium",
        });
        let res = self
            .client
            .post(format!("{base}/api/v1/incidents"))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10))
            .json(&body)
            .send()
            .await;
        let outcome = match res {
            Ok(r) if r.status().is_success() => {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                match v["id"].as_str() {
                    Some(id) => Outcome::Accepted(id.to_owned()),
                    None => Outcome::Unknown,
                }
            }
            // A 5xx, a 429 or a cut connection says nothing about what was stored.
            Ok(r) if r.status().is_client_error() && r.status() != StatusCode::TOO_MANY_REQUESTS => {
                Outcome::Refused(r.status().as_u16())
            }
            _ => Outcome::Unknown,
        };
        let mut subs = self.submissions.lock().await;
        match (&subs[i].outcome, &outcome) {
            (Outcome::Accepted(before), Outcome::Accepted(now)) => {
                assert_eq!(before, now, "ticket {} accepted twice as different incidents", s.ticket)
            }
            (Outcome::Accepted(_), _) => {}
            (Outcome::Refused(_), Outcome::Accepted(id)) => {
                panic!("ticket {} was refused, then accepted as {id}", s.ticket)
            }
            (_, Outcome::Unknown) => {}
            _ => subs[i].outcome = outcome,
        }
    }

    async fn answered(&self, indices: &[usize]) -> usize {
        let subs = self.submissions.lock().await;
        indices.iter().filter(|&&i| subs[i].outcome != Outcome::Unknown).count()
    }

    async fn unknown(&self) -> Vec<usize> {
        let subs = self.submissions.lock().await;
        (0..subs.len()).filter(|&i| subs[i].outcome == Outcome::Unknown).collect()
    }

    async fn accepted_ids(&self) -> BTreeSet<String> {
        let subs = self.submissions.lock().await;
        subs.iter()
            .filter_map(|s| match &s.outcome {
                Outcome::Accepted(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Forward the submissions `indices` concurrently (at most 8 at a time).
fn forward_all(desk: &Arc<Desk>, base: &str, indices: Vec<usize>) -> tokio::task::JoinSet<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for i in indices {
        let (desk, base, permits) = (desk.clone(), base.to_owned(), permits.clone());
        set.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            desk.forward(&base, i).await;
        });
    }
    set
}

fn slow_answers(cq: &ClearQuestSim, n: usize) {
    cq.faults().push((0..n).map(|i| if i % 3 == 2 { Fault::ServerError } else { Fault::Slow { millis: 150 } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_submission_and_mid_delivery_every_accepted_incident_reaches_the_national_desk_once() {
    let sn = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let cq = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, config_text(&dir.path().join("data"), &sn.base_url(), cq.base_url())).unwrap();
    let client = reqwest::Client::new();
    let desk =
        Arc::new(Desk { client: client.clone(), token: kit::token("region-h"), submissions: Mutex::new(Vec::new()) });
    let log = |round: usize| -> PathBuf { dir.path().join(format!("deskgate-{round}.log")) };

    // Three kill moments, each several times: while submissions are being answered,
    // while accepted incidents are on their way to ClearQuest, and while a restarted
    // gateway resumes the deliveries the previous one left. Each kill comes a random
    // while after its moment is reached, from a seeded generator (`CRASH_SEED` to
    // replay another run), so the kills land at different points of the work.
    const ROUNDS: usize = 20;
    const BATCH: usize = 12;
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_26u64);
    eprintln!("crash test seed {seed} (CRASH_SEED)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut killed_with_unanswered = 0;
    let mut killed_with_undelivered = 0;
    for round in 0..ROUNDS {
        let mut gw = start(&config, &log(round), &client).await;
        slow_answers(&cq, 30);
        let delay = Duration::from_millis(rng.gen_range(0..250));
        if round % 3 == 2 {
            let before = cq.count();
            let resumed = kit::wait::wait_polls(async || cq.count() > before, 1_000).await;
            assert!(resumed || cq.count() >= desk.accepted_ids().await.len(), "round {round}: no resumed delivery");
            tokio::time::sleep(delay).await;
            if cq.count() < desk.accepted_ids().await.len() {
                killed_with_undelivered += 1;
            }
            gw.kill();
            continue;
        }
        // What the last kill left unanswered is forwarded again first.
        let mut retries = forward_all(&desk, &gw.base(), desk.unknown().await);
        while retries.join_next().await.is_some() {}

        let mut batch = Vec::new();
        for n in 0..BATCH {
            batch.push(desk.new_ticket(&sn, round * 100 + n, n % 6 == 5).await);
        }
        let mut inflight = forward_all(&desk, &gw.base(), batch.clone());
        if round % 3 == 0 {
            // Counted from the send, not from the first answer: creations waiting at
            // the same moment are stored together and answered together, so after the
            // first answer the rest usually are too.
            tokio::time::sleep(delay / 8).await;
            if desk.answered(&batch).await < BATCH {
                killed_with_unanswered += 1;
            }
            gw.kill();
            while inflight.join_next().await.is_some() {}
        } else {
            while inflight.join_next().await.is_some() {}
            let before = cq.count();
            let progressed = kit::wait::wait_polls(async || cq.count() > before, 1_000).await;
            assert!(progressed, "round {round}: no delivery reached ClearQuest");
            tokio::time::sleep(delay).await;
            if cq.count() < desk.accepted_ids().await.len() {
                killed_with_undelivered += 1;
            }
            gw.kill();
        }
    }
    assert!(killed_with_unanswered > 0, "no kill hit a submission in flight");
    assert!(killed_with_undelivered > 0, "no kill hit a delivery in flight");

    // Last start: the desk gets an answer for everything, and the gateway drains.
    cq.faults().clear();
    let gw = start(&config, &log(ROUNDS), &client).await;
    for _ in 0..20 {
        let unknown = desk.unknown().await;
        if unknown.is_empty() {
            break;
        }
        let mut set = forward_all(&desk, &gw.base(), unknown);
        while set.join_next().await.is_some() {}
    }
    let subs = desk.submissions.lock().await.clone();
    assert!(subs.iter().all(|s| s.outcome != Outcome::Unknown), "some submissions never got an answer");
    let accepted = desk.accepted_ids().await;
    let sds_token = kit::token("sds");
    let outbox = async || -> Vec<Value> {
        let res = client.get(format!("{}/api/v1/outbox", gw.base())).bearer_auth(&sds_token).send().await;
        let page: Value = match res {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => return vec![Value::Null],
        };
        page["items"].as_array().cloned().unwrap_or_else(|| vec![Value::Null])
    };
    let drained = kit::wait::wait_polls(async || outbox().await.is_empty(), 2_000).await;
    assert!(drained, "the outbox did not drain: {:#?}", outbox().await);

    // Every accepted incident exists exactly once at the national desk, with its own
    // title; nothing else does.
    let mut by_incident: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in cq.records() {
        let incident = record.fields.get("cq:deskgate_Incident").cloned().unwrap_or_default();
        let headline = record.fields.get("cq:Headline").cloned().unwrap_or_default();
        by_incident.entry(incident).or_default().push(headline);
    }
    let duplicates: Vec<_> = by_incident.iter().filter(|(_, h)| h.len() > 1).collect();
    assert!(duplicates.is_empty(), "incidents created more than once at the national desk: {duplicates:?}");
    let at_national: BTreeSet<String> = by_incident.keys().cloned().collect();
    let missing: Vec<_> = accepted.difference(&at_national).collect();
    let unexpected: Vec<_> = at_national.difference(&accepted).collect();
    assert!(missing.is_empty(), "accepted but never delivered: {missing:?}");
    assert!(unexpected.is_empty(), "at the national desk but never accepted: {unexpected:?}");
    for s in &subs {
        match &s.outcome {
            Outcome::Accepted(id) => {
                assert!(!s.patient_data, "{} was accepted with patient data", s.ticket);
                assert_eq!(by_incident[id], vec![s.title.clone()], "{id} at the national desk is another incident");
            }
            Outcome::Refused(status) => {
                assert!(s.patient_data, "{} was refused with {status}", s.ticket);
                assert_eq!(*status, 422);
                let res = client
                    .get(format!("{}/api/v1/refs/region-h/{}", gw.base(), s.ticket))
                    .bearer_auth(&sds_token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::NOT_FOUND, "refused ticket {} is known", s.ticket);
            }
            Outcome::Unknown => unreachable!(),
        }
    }
    let refused = subs.iter().filter(|s| s.patient_data).count();
    assert_eq!(accepted.len(), subs.len() - refused, "each accepted ticket is one incident");
    assert_eq!(cq.count(), accepted.len());

    // The gateway knows each national record as the incident's cross-reference.
    let dead = kit::get_json(&client, &format!("{}/api/v1/dead-letters", gw.base()), &sds_token).await;
    assert_eq!(dead["items"].as_array().map(Vec::len), Some(0), "{dead:#}");
    drop(gw);
}
