//! What a caller can make the gateway hold is bounded: the audit log against floods
//! of rejected requests, request ids, `/metrics` series, notes per request and per
//! incident (and the rate-limit cost of adding them), connections and their
//! timeouts, and the lifetime of desk tokens.

use crate::kit;

use std::path::Path;
use std::time::{Duration, Instant};

use deskgate::config::Config;
use kit::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIG_ID_LEN: usize = 60 * 1024;

/// A valid token of someone who is not a registered desk (refused and audited).
fn non_desk_token(subject_len: usize) -> String {
    let mut c = desk_claims("region-h");
    c.sub = "p".repeat(subject_len);
    c.role = Some("clinician".into());
    signed_as("region-h", &c)
}

/// Audit entries and their size in bytes, as the national desk reads them.
async fn audit_stats(gw: &TestGateway) -> (Vec<Value>, usize) {
    let entries = gw.audit().await;
    let bytes = entries.iter().map(|e| e.to_string().len()).sum();
    (entries, bytes)
}

/// Run `n` requests made by `make`, 25 at a time.
async fn flood<F, Fut>(n: usize, make: F) -> Vec<reqwest::Response>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let mut out = Vec::new();
    for start in (0..n).step_by(25) {
        let batch: Vec<_> = (start..(start + 25).min(n)).map(|i| tokio::spawn(make(i))).collect();
        for task in batch {
            out.push(task.await.unwrap());
        }
    }
    out
}

fn with_jira_webhook_secret(c: &mut GatewayConfig, secret_file: &Path) {
    let secret = serde_json::json!({ "file": secret_file.display().to_string() });
    c.desk_key("region-m", "jira", serde_json::json!({ "project": "DG", "webhook_secret": secret }));
}

#[tokio::test]
async fn a_flood_of_rejected_requests_with_huge_ids_grows_the_audit_log_by_a_bounded_amount() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook.secret");
    std::fs::write(&secret, "jira-webhook-secret").unwrap();
    let gw = TestGateway::start_edited(|c| with_jira_webhook_secret(c, &secret), reqwest::Client::new()).await;
    let (before, before_bytes) = audit_stats(&gw).await;

    let big_id = "i".repeat(BIG_ID_LEN);
    let (client, base) = (gw.client.clone(), gw.base.clone());
    let token = non_desk_token(4_000);
    let refused = flood(500, |_| {
        let (client, base, token, id) = (client.clone(), base.clone(), token.clone(), big_id.clone());
        async move {
            client
                .get(format!("{base}/api/v1/incidents"))
                .bearer_auth(token)
                .header("x-request-id", id)
                .send()
                .await
                .unwrap()
        }
    })
    .await;
    let hooks = flood(500, |_| {
        let (client, base, id) = (client.clone(), base.clone(), big_id.clone());
        async move {
            client
                .post(format!("{base}/webhooks/jira/region-m"))
                .header("x-request-id", id)
                .header("x-hub-signature", format!("sha256={}", "0".repeat(64)))
                .json(&json!({"webhookEvent": "jira:issue_updated"}))
                .send()
                .await
                .unwrap()
        }
    })
    .await;
    for r in refused.iter().chain(&hooks) {
        assert!(r.status().is_client_error(), "{}", r.status());
        let echoed = r.headers()["x-request-id"].to_str().unwrap();
        assert!(echoed.starts_with("gw-") && echoed.len() <= 128, "the id used is echoed: {echoed}");
    }

    let (after, after_bytes) = audit_stats(&gw).await;
    let added = &after[before.len()..];
    // 1,000 rejections from one address in one window: 20 are audited one by one.
    assert!(added.len() <= 20, "{} entries added", added.len());
    assert!(!added.is_empty(), "rejections are still audited");
    assert!(after_bytes - before_bytes <= 20 * 1024, "{} bytes added", after_bytes - before_bytes);
    for e in added {
        assert_eq!(e["kind"], "rejected");
        assert!(e.to_string().len() < 1024, "an entry is bounded: {e}");
        assert_eq!(e["request_id_source"], "gateway", "{e}");
        assert!(e["request_id"].as_str().unwrap().starts_with("gw-"), "{e}");
        assert_eq!(e["request_id_hint"].as_str().unwrap(), "i".repeat(32), "{e}");
    }
}

#[tokio::test]
async fn rejections_beyond_the_limit_are_counted_and_summarised_once_per_window() {
    let gw = TestGateway::start_with_gateway_keys(
        "limits = { rejections_audited_per_window = 5, rejection_window_secs = 1 }",
    )
    .await;
    let token = non_desk_token(8);
    for _ in 0..40 {
        let res = gw.client.get(gw.url("/api/v1/incidents")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    // Summaries are written when their window ends.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let audit = gw.audit().await;
    let rejected: Vec<&Value> = audit.iter().filter(|e| e["kind"] == "rejected").collect();
    let one_by_one = rejected.iter().filter(|e| e["subject"].is_string()).count();
    let summarised: u64 = rejected
        .iter()
        .filter_map(|e| {
            let reason = e["reason"].as_str()?;
            let (n, rest) = reason.split_once(" further rejection")?;
            assert!(rest.contains("from 127.0.0.1 in the last 1 s"), "{reason}");
            n.parse::<u64>().ok()
        })
        .sum();
    assert!(summarised > 0, "{audit:#?}");
    assert_eq!(one_by_one as u64 + summarised, 40, "every rejection is either audited or counted: {audit:#?}");
    assert!(rejected.len() < 20, "{}", rejected.len());
}

#[tokio::test]
async fn request_ids_are_used_only_when_well_formed_and_audited_with_who_chose_them() {
    let gw = TestGateway::start().await;
    let submit = |ticket: &'static str, id: Option<String>| {
        let mut r =
            gw.client.post(gw.url("/api/v1/incidents")).bearer_auth(gw.token("region-h")).json(&incident(ticket));
        if let Some(id) = id {
            r = r.header("x-request-id", id);
        }
        r.send()
    };
    let ok = submit("INC0070001", Some("req-42.a:b".into())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
    assert_eq!(ok.headers()["x-request-id"], "req-42.a:b");
    let html = submit("INC0070002", Some("<img src=x onerror=alert(1)>".into())).await.unwrap();
    let long = submit("INC0070003", Some("x".repeat(8 * 1024))).await.unwrap();
    let forged = submit("INC0070004", Some("gw-00000000-0000-4000-8000-000000000000".into())).await.unwrap();
    let none = submit("INC0070005", None).await.unwrap();
    let mut used = Vec::new();
    for r in [&html, &long, &forged, &none] {
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(id.starts_with("gw-") && id != "gw-00000000-0000-4000-8000-000000000000", "{id}");
        used.push(id);
    }
    let audit = gw.audit().await;
    let entry = |id: &str| audit.iter().find(|e| e["request_id"] == id).unwrap_or_else(|| panic!("{id}: {audit:#?}"));
    assert_eq!(entry("req-42.a:b")["request_id_source"], "client");
    assert!(entry("req-42.a:b").get("request_id_hint").is_none());
    let hints: Vec<Value> = used
        .iter()
        .map(|id| entry(id))
        .inspect(|e| assert_eq!(e["request_id_source"], "gateway"))
        .map(|e| e["request_id_hint"].clone())
        .collect();
    assert_eq!(hints[0], "_img_src_x_onerror_alert_1__");
    assert_eq!(hints[1], "x".repeat(32));
    assert_eq!(hints[2], "gw-00000000-0000-4000-8000-00000");
    assert!(hints[3].is_null());
}

fn metric_methods(metrics: &str) -> Vec<String> {
    let mut methods: Vec<String> = metrics
        .lines()
        .filter(|l| l.starts_with("deskgate_http_request"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next().map(str::to_owned))
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

#[tokio::test]
async fn made_up_methods_and_paths_do_not_grow_metrics() {
    let gw = TestGateway::start().await;
    let junk = |round: usize| {
        let (client, base) = (gw.client.clone(), gw.base.clone());
        async move {
            for n in 0..150 {
                let method = Method::from_bytes(format!("X{round}M{n}").as_bytes()).unwrap();
                let path = if n % 2 == 0 { format!("/nowhere/{round}/{n}") } else { "/api/v1/incidents".into() };
                client.request(method, format!("{base}{path}")).send().await.unwrap();
            }
        }
    };
    let metrics = || async { gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    junk(0).await;
    let before = metrics().await.len();
    junk(1).await;
    junk(2).await;
    let text = metrics().await;
    let standard = ["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "other"];
    for m in metric_methods(&text) {
        assert!(standard.contains(&m.as_str()), "method label {m} is not from the fixed set");
    }
    assert!(text.contains("route=\"unmatched\""));
    // Other tests in this binary may add a few series meanwhile; 300 new methods would add hundreds.
    assert!(text.len() <= before + 16 * 1024, "/metrics grew from {before} to {} bytes", text.len());
}

// ---------------------------------------------------------------------------
// notes

async fn jira_call(gw: &TestGateway, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let res =
        gw.client.request(method, gw.url(path)).bearer_auth(gw.token("region-m")).json(&body).send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

fn comments(n: usize) -> Value {
    let ops: Vec<Value> = (0..n).map(|i| json!({"add": {"body": format!("still failing, check {i}")}})).collect();
    json!({"comment": ops})
}

async fn notes_of(gw: &TestGateway, id: &str) -> usize {
    let i: Value = gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap();
    i["notes"].as_array().unwrap().len()
}

async fn outbox_len(gw: &TestGateway) -> usize {
    let page: Value = gw.get("sds", "/api/v1/outbox").await.json().await.unwrap();
    page["items"].as_array().map(Vec::len).unwrap_or_else(|| page.as_array().map(Vec::len).unwrap_or(0))
}

#[tokio::test]
async fn jira_comments_per_request_are_capped_in_every_route_that_adds_them() {
    let gw = TestGateway::start().await;
    let (status, created) = jira_call(&gw, Method::POST, "/rest/api/2/issue", {
        let mut i = jira_issue("RM-1");
        i["update"] = comments(11);
        i
    })
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{created}");
    assert!(created["errors"]["update.comment"].as_str().unwrap().contains("at most 10"), "{created}");
    assert!(gw.all_incidents().await.is_empty(), "a refused create stores nothing");

    let (status, created) = jira_call(&gw, Method::POST, "/rest/api/2/issue", jira_issue("RM-2")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let id = gw.all_incidents().await[0]["id"].as_str().unwrap().to_owned();
    let outbox = outbox_len(&gw).await;

    let (status, body) =
        jira_call(&gw, Method::PUT, &format!("/rest/api/2/issue/{key}"), json!({"update": comments(1_000)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errorMessages"], json!([]), "Jira shape: {body}");
    let message = body["errors"]["update.comment"].as_str().unwrap();
    assert!(message.contains("1000 comments") && message.contains("at most 10"), "{message}");
    let (status, body) = jira_call(
        &gw,
        Method::POST,
        &format!("/rest/api/2/issue/{key}/transitions"),
        json!({"transition": {"id": "11"}, "update": comments(11)}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["errors"]["update.comment"].is_string(), "{body}");
    assert_eq!(notes_of(&gw, &id).await, 0, "refused requests add nothing");
    assert_eq!(outbox_len(&gw).await, outbox, "and plan no deliveries");

    let (status, body) =
        jira_call(&gw, Method::PUT, &format!("/rest/api/2/issue/{key}"), json!({"update": comments(10)})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(notes_of(&gw, &id).await, 10);
}

#[tokio::test]
async fn notes_per_incident_are_capped_naming_notes_and_the_limit() {
    let gw = TestGateway::start_with_gateway_keys("limits = { notes_per_incident = 3 }").await;
    let created: Value = gw.submit("region-h", &incident("INC0080001")).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let note = |n: usize| {
        gw.client
            .post(gw.url(&format!("/api/v1/incidents/{id}/notes")))
            .bearer_auth(gw.token("sds"))
            .json(&json!({"body": format!("update {n}")}))
            .send()
    };
    for n in 0..3 {
        assert_eq!(note(n).await.unwrap().status(), StatusCode::CREATED);
    }
    let full = note(3).await.unwrap();
    assert_eq!(full.status(), StatusCode::CONFLICT);
    let body: Value = full.json().await.unwrap();
    assert_eq!(body["error"]["field"], "notes", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("3 notes"), "{body}");
    assert_eq!(notes_of(&gw, id).await, 3);

    // ServiceNow: comments and work notes in one PATCH are refused whole, in its shape.
    let found: Value = gw.get("region-h", "/api/now/table/incident").await.json().await.unwrap();
    let sys_id = found["result"][0]["sys_id"].as_str().unwrap_or_else(|| panic!("{found}"));
    {
        let res = gw
            .client
            .patch(gw.url(&format!("/api/now/table/incident/{sys_id}")))
            .bearer_auth(gw.token("region-h"))
            .json(&json!({"comments": "one more"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "failure", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with("notes: "), "{body}");
    }
}

#[tokio::test]
async fn a_write_costs_a_rate_limit_cell_per_note_it_adds() {
    let gw = TestGateway::start_with_gateway_keys("rate_limit = { inbound_per_minute = 1, inbound_burst = 4 }").await;
    // region-m: one cell for the create.
    let (status, created) = jira_call(&gw, Method::POST, "/rest/api/2/issue", jira_issue("RM-9")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    // One for the request and two for its comments: the burst of four is used up.
    let (status, body) =
        jira_call(&gw, Method::PUT, &format!("/rest/api/2/issue/{key}"), json!({"update": comments(2)})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = jira_call(&gw, Method::GET, &format!("/rest/api/2/issue/{key}"), Value::Null).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["errorMessages"][0].as_str().unwrap().contains("rate limit"), "{body}");
}

// ---------------------------------------------------------------------------
// connections

async fn gateway_with_http(keys: &str) -> TestGateway {
    let keys = format!("http = {{ {keys} }}");
    TestGateway::start_with_gateway_keys(&keys).await
}

fn addr(gw: &TestGateway) -> String {
    gw.base.split("://").nth(1).unwrap().to_owned()
}

/// Read until EOF (or a reset); how long it took, or `None` if `within` passed first.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_to_end).await.ok().map(|()| start.elapsed())
}

#[tokio::test]
async fn a_connection_that_stalls_in_its_request_line_is_closed_after_the_header_timeout() {
    let gw = gateway_with_http("header_read_timeout_secs = 1").await;
    let mut stream = TcpStream::connect(addr(&gw)).await.unwrap();
    stream.write_all(b"GET /healthz HT").await.unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(4)).await.expect("closed by the server");
    assert!(took >= Duration::from_millis(900), "not before the timeout: {took:?}");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408_and_an_idle_connection_is_closed() {
    let gw = gateway_with_http("body_timeout_secs = 1, idle_timeout_secs = 1, header_read_timeout_secs = 10").await;
    let mut stream = TcpStream::connect(addr(&gw)).await.unwrap();
    let token = gw.token("region-h");
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{{\"title\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(4), stream.read(&mut answer)).await.expect("answered").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout_secs"), "{answer}");
    assert!(gw.all_incidents().await.is_empty());

    // A complete request, then nothing: closed after the idle timeout, well before
    // the (longer) header timeout.
    let mut stream = TcpStream::connect(addr(&gw)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let took = closed_within(&mut stream, Duration::from_secs(5)).await.expect("idle connection closed");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn beyond_the_connection_cap_further_connections_wait_until_one_ends() {
    let gw = gateway_with_http("max_connections = 2, header_read_timeout_secs = 30").await;
    let first = TcpStream::connect(addr(&gw)).await.unwrap();
    let _second = TcpStream::connect(addr(&gw)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(addr(&gw)).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let waited = tokio::time::timeout(Duration::from_millis(800), third.read(&mut buf)).await;
    assert!(waited.is_err(), "the third connection is not served while two are open");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(3), third.read(&mut buf)).await.expect("served").unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn over_tls_a_connection_that_never_handshakes_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(dir.path().join("server.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), cert.signing_key.serialize_pem()).unwrap();
    let keys = format!(
        "tls = {{ cert = \"{}\", key = {{ file = \"{}\" }} }}\nhttp = {{ header_read_timeout_secs = 1 }}",
        dir.path().join("server.pem").display(),
        dir.path().join("server.key").display()
    );
    let gw = TestGateway::start_with_gateway_keys(&keys).await;
    assert!(gw.base.starts_with("https://"));
    let mut stream = TcpStream::connect(addr(&gw)).await.unwrap();
    stream.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(4)).await.expect("closed by the server");
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

// ---------------------------------------------------------------------------
// token lifetime

#[tokio::test]
async fn tokens_living_longer_than_the_desk_maximum_are_refused() {
    let gw = TestGateway::start_edited(|c| fmk_max_lifetime(c, 604800), reqwest::Client::new()).await;
    let call = |token: String| gw.client.get(gw.url("/api/v1/incidents")).bearer_auth(token).send();

    let mut forever = desk_claims("region-h");
    forever.exp = 253_402_300_799; // 9999-12-31
    forever.iat = None;
    let res = call(signed_as("region-h", &forever)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("maximum token lifetime of 86400 s"), "{body}");

    let mut two_days = desk_claims("region-h");
    two_days.exp = now() + 2 * 86_400;
    let res = call(signed_as("region-h", &two_days)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("(exp − iat)"), "{body}");

    assert_eq!(call(gw.token("region-h")).await.unwrap().status(), StatusCode::OK, "an hour is fine");
    // A desk configured for a week takes a two-day token.
    let mut fmk = desk_claims("fmk");
    fmk.exp = now() + 2 * 86_400;
    assert_eq!(call(signed_as("fmk", &fmk)).await.unwrap().status(), StatusCode::OK);
}

/// Desk fmk's `auth.max_lifetime_secs` set to `value`.
fn fmk_max_lifetime(c: &mut GatewayConfig, value: u64) {
    c.desk_subkey("fmk", "auth", "max_lifetime_secs", value);
}

fn load(c: &GatewayConfig) -> Result<Config, Vec<deskgate::config::Problem>> {
    c.load(&env())
}

#[test]
fn minted_tokens_stay_within_the_maximum_and_bad_limits_are_named_by_key() {
    let data = tempfile::tempdir().unwrap();
    let config = load(&GatewayConfig::standard(data.path(), 1024 * 1024)).unwrap();
    let desk = config.desks.values().find(|d| d.id.as_str() == "region-h").unwrap();
    let now = now();
    assert!(deskgate::auth::mint(desk, AUDIENCE, Duration::from_secs(86_400), now).is_ok());
    let err = deskgate::auth::mint(desk, AUDIENCE, Duration::from_secs(2 * 86_400), now).unwrap_err();
    assert!(err.contains("desks.region-h.auth.max_lifetime_secs"), "{err}");

    let cases = [
        ("limits = { notes_per_incident = 0 }", "gateway.limits.notes_per_incident"),
        ("limits = { comments_per_request = \"many\" }", "gateway.limits.comments_per_request"),
        ("limits = { attachments = 3 }", "gateway.limits"),
        ("http = { max_connections = 0 }", "gateway.http.max_connections"),
        ("http = { header_read_timeout_secs = 0 }", "gateway.http.header_read_timeout_secs"),
    ];
    for (keys, path) in cases {
        let mut c = GatewayConfig::standard(data.path(), 1024 * 1024);
        c.gateway_toml(keys);
        let problems = load(&c).unwrap_err();
        assert!(problems.iter().any(|p| p.path.starts_with(path)), "{keys}: {problems:?}");
    }
    let mut c = GatewayConfig::standard(data.path(), 1024 * 1024);
    fmk_max_lifetime(&mut c, 0);
    let problems = load(&c).unwrap_err();
    assert!(problems.iter().any(|p| p.path == "desks.fmk.auth.max_lifetime_secs"), "{problems:?}");
}
