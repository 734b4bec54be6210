//! Graceful shutdown of the real binary: on SIGTERM the gateway stops accepting,
//! finishes the request in flight (2xx), flushes the store and exits 0; what that
//! request did is there after a restart. It starts no delivery after the signal and
//! is gone within the 30 s a supervisor gives it, however the remote desks behave;
//! what it could not deliver is delivered after the restart.

use crate::kit;

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode as AxumStatus, Uri};
use axum::response::{IntoResponse, Response};
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};

use kit::*;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(config: &Path, log: &Path) -> RunningBinary {
    start_with(config, log, &[]).await
}

/// Start the binary with `extra` environment variables besides the test secrets.
async fn start_with(config: &Path, log: &Path, extra: &[(&str, &str)]) -> RunningBinary {
    let extra = extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    RunningBinary::serve(config, log, env().vars.into_iter().chain(extra)).await
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

#[tokio::test]
async fn a_request_in_flight_when_sigterm_arrives_completes_and_its_incident_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, config_text(&dir.path().join("store"), 1024 * 1024)).unwrap();
    let log = dir.path().join("gateway.log");
    let mut gw = start(&config, &log).await;

    // A submission whose body arrives in two parts: the request is in flight.
    let body = serde_json::to_vec(&incident("INC0099001")).unwrap();
    let token = kit::token("region-h");
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        gw.addr,
        body.len()
    );
    let mut conn = TcpStream::connect(&gw.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..body.len() / 2]).await.unwrap();
    conn.flush().await.unwrap();
    // Let the gateway take the connection and start reading the request.
    tokio::time::sleep(Duration::from_millis(300)).await;

    gw.sigterm();
    // Shutdown has begun once new connections are refused.
    let refused =
        poll_until(Duration::from_secs(10), async || TcpStream::connect(&gw.addr).await.is_err().then_some(()))
            .await
            .is_some();
    assert!(refused, "the gateway kept accepting connections after SIGTERM");
    assert!(gw.child.try_wait().unwrap().is_none(), "the gateway exited with a request in flight");

    conn.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let created: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    let status = gw.child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}; {}", read(&log));
    assert!(read(&log).contains("store flushed"), "{}", read(&log));
    drop(gw);

    let gw = start(&config, &dir.path().join("again.log")).await;
    let got = reqwest::Client::new()
        .get(format!("http://{}/api/v1/incidents/{id}", gw.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let got: Value = got.json().await.unwrap();
    assert_eq!(got["title"], created["title"]);
}

// --- a remote desk that fails or hangs ----------------------------------------------

const FAIL: u8 = 0;
const HANG: u8 = 1;
const PASS: u8 = 2;

/// Stands in front of a simulator: answers every request with a 500 (`FAIL`), never
/// answers (`HANG`), or passes it on (`PASS`); records when each request arrived.
#[derive(Clone)]
struct Remote {
    url: String,
    mode: Arc<AtomicU8>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

#[derive(Clone)]
struct RemoteState {
    upstream: String,
    /// This stand-in's own URL: the simulator's links are rewritten to it.
    own: String,
    mode: Arc<AtomicU8>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    client: reqwest::Client,
}

impl Remote {
    async fn spawn(upstream: impl Into<String>, mode: u8) -> Remote {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = RemoteState {
            upstream: upstream.into().trim_end_matches('/').to_owned(),
            own: url.clone(),
            mode: Arc::new(AtomicU8::new(mode)),
            arrivals: Arc::default(),
            client: reqwest::Client::new(),
        };
        let remote = Remote { url, mode: state.mode.clone(), arrivals: state.arrivals.clone() };
        let app = axum::Router::new().fallback(remote_handler).with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        remote
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn received(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    /// Requests that arrived later than `at`.
    fn received_after(&self, at: Instant) -> usize {
        self.arrivals.lock().unwrap().iter().filter(|t| **t > at).count()
    }
}

async fn remote_handler(
    State(s): State<RemoteState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.arrivals.lock().unwrap().push(Instant::now());
    match s.mode.load(Ordering::SeqCst) {
        FAIL => (AxumStatus::INTERNAL_SERVER_ERROR, "down for maintenance").into_response(),
        HANG => std::future::pending().await,
        _ => {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let mut req = s.client.request(method, format!("{}{path}", s.upstream)).body(body);
            for (name, value) in &headers {
                if name != "host" && name != "content-length" {
                    req = req.header(name, value);
                }
            }
            let Ok(res) = req.send().await else { return AxumStatus::BAD_GATEWAY.into_response() };
            let mut answer = Response::builder().status(res.status().as_u16());
            let relink = |text: &str| text.replace(&s.upstream, &s.own);
            for (name, value) in res.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    answer = answer.header(name.as_str(), relink(value.to_str().unwrap_or_default()));
                }
            }
            let text = res.text().await.unwrap_or_default();
            answer.body(axum::body::Body::from(relink(&text))).unwrap()
        }
    }
}

fn delivering_config(data: &Path, servicenow: &str, clearquest: &str) -> String {
    let mut c = GatewayConfig::new(data);
    let delivery =
        serde_json::json!({ "retry_base_ms": 20, "retry_max_ms": 100, "max_attempts": 100000, "concurrency": 8 });
    c.gateway("delivery", delivery).open_rate_limits();
    c.desk("region-h", Desk::region_h_on_servicenow(servicenow));
    let clearquest_table =
        serde_json::json!({ "repo": "7.0.0", "db": "SDS", "poll_ms": 3600000, "poll_min_ms": 3600000 });
    c.desk("sds", Desk::sds_on_clearquest(clearquest, clearquest_table));
    c.render()
}

const REMOTE_SECRETS: [(&str, &str); 2] =
    [("T_SN_PASSWORD", "integration-password"), ("T_CQ_PASSWORD", "deskgate-secret")];

/// Wait (bounded) for the process to exit; `None` when it is still running at `deadline`.
async fn exited_within(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    poll_until(deadline, async || child.try_wait().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_every_remote_fails_or_hangs_starts_no_delivery_and_exits_in_time_and_the_rest_is_delivered_after_restart()
 {
    let region_h = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let sds = ClearQuestSim::spawn(ClearQuestSimConfig { db: "SDS".into(), ..Default::default() }).await.unwrap();
    // The national desk's ClearQuest answers every request with a 500 at once; the
    // reporter's ServiceNow never answers at all.
    let national = Remote::spawn(sds.base_url(), FAIL).await;
    let origin = Remote::spawn(region_h.base_url(), HANG).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, delivering_config(&dir.path().join("store"), &origin.url, &national.url)).unwrap();
    let log = dir.path().join("gateway.log");
    let mut gw = start_with(&config, &log, &REMOTE_SECRETS).await;
    let client = reqwest::Client::new();
    let region_token = kit::token("region-h");
    let sds_token = kit::token("sds");

    // Twelve incidents for the failing national desk, and public notes on four of
    // them for the reporter, whose deliveries hang.
    let mut ids = Vec::new();
    let mut sys_ids = Vec::new();
    for n in 0..12 {
        let record =
            region_h.create_as_user(&[("short_description", "FMK down"), ("description", "By phone")]).unwrap();
        let res = client
            .post(format!("http://{}/api/v1/incidents", gw.addr))
            .bearer_auth(&region_token)
            .json(&incident(&record["sys_id"]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "incident {n}");
        ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        sys_ids.push(record["sys_id"].clone());
    }
    for id in &ids[..4] {
        let res = client
            .post(format!("http://{}/api/v1/incidents/{id}/notes", gw.addr))
            .bearer_auth(&sds_token)
            .json(&serde_json::json!({"body": "We are restarting the FMK service", "visibility": "public"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let _ = poll_until(Duration::from_secs(10), async || {
        (origin.received() >= 4 && national.received() >= 40).then_some(())
    })
    .await;
    assert!(origin.received() >= 4 && national.received() >= 40, "deliveries were under way and failing");

    // A client keeps a request open across the signal, so the server's grace runs out.
    let mut slow = TcpStream::connect(&gw.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {region_token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{",
        gw.addr
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    gw.sigterm();
    // 28 s: the gateway's own bound is 25 s, the supervisor's 30 s.
    let Some(status) = exited_within(&mut gw.child, Duration::from_secs(28)).await else {
        panic!("the gateway was still running 28 s after SIGTERM: {}", read(&log));
    };
    assert!(status.success(), "exit after SIGTERM: {status}; {}", read(&log));
    assert!(read(&log).contains("store flushed"), "{}", read(&log));
    // A delivery already under way may have sent its request just before the signal
    // reached the gateway: a second of slack for that, nothing after.
    let settle = signalled + Duration::from_secs(1);
    assert_eq!(national.received_after(settle), 0, "deliveries started after the signal");
    assert_eq!(origin.received_after(settle), 0, "deliveries started after the signal");
    drop(slow);
    drop(gw);

    // Both desks are back: after the restart everything left is delivered, once.
    national.set(PASS);
    origin.set(PASS);
    let again = dir.path().join("again.log");
    let gw = start_with(&config, &again, &REMOTE_SECRETS).await;
    let mut left = Value::Null;
    let _ = poll_until(Duration::from_secs(30), async || {
        let outbox = get_json(&client, &format!("http://{}/api/v1/outbox", gw.addr), &sds_token).await;
        left = outbox["items"].clone();
        left.as_array().is_some_and(Vec::is_empty).then_some(())
    })
    .await;
    assert_eq!(left, serde_json::json!([]), "the outbox drained after the restart: {}", read(&again));
    assert_eq!(sds.count(), ids.len(), "every incident reached the national desk once");
    for sys_id in &sys_ids[..4] {
        let notes = region_h.journal(sys_id);
        let delivered = notes.iter().filter(|j| j.value.contains("restarting the FMK service")).count();
        assert_eq!(delivered, 1, "{notes:#?}");
    }
}
