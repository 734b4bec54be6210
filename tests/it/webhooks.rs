//! Change capture from webhooks and pushes, against a real gateway and a simulated
//! Jira: every webhook is authenticated (signature, desk token, or read back for a
//! `reread` desk), rate-limited, answered the same for known and unknown tickets,
//! replays change nothing, and every error comes in the sender's dialect.

use crate::kit;

use std::path::Path;
use std::time::Duration;

use deskgate::startup::Application;
use deskgate_jira::webhook::{IDENTIFIER_HEADER, SIGNATURE_HEADER, sign};
use deskgate_jira::wire::ApiVersion;
use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use kit::{Desk, GatewayConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const HOOK_SECRET: &str = "drift-webhook-test-secret";
const MAX_BODY: usize = 65_536;

struct Federation {
    gateway: String,
    client: reqwest::Client,
    drift: JiraSim,
    _data: tempfile::TempDir,
}

fn token(desk: &str) -> String {
    kit::tokens::token(desk)
}

/// A Jira supplier (`drift`) behind a simulator, a ServiceNow local desk (`region-h`,
/// reporting through the API and pushing changes) and a native national desk; the
/// options are TOML keys for those desks' tables.
fn config(data: &Path, jira: &str, drift_options: &str, region_h_options: &str) -> GatewayConfig {
    let mut c = GatewayConfig::new(data);
    c.gateway("max_body_bytes", MAX_BODY);
    c.gateway("delivery", json!({ "retry_base_ms": 20, "retry_max_ms": 200, "max_attempts": 50 }));
    c.desk("region-h", Desk::known("region-h", "Region Hovedstaden Service Desk", "local", "servicenow"));
    c.desk("sds", Desk::known("sds", "National Service Desk", "national", "native"));
    c.desk(
        "drift",
        Desk::known("drift", "Operations supplier", "supplier", "jira")
            .endpoint(jira)
            .services(&["*"])
            .bearer_credentials("T_JIRA_TOKEN"),
    );
    c.desk_toml("region-h", region_h_options).desk_toml("drift", drift_options);
    c
}

fn env() -> deskgate::config::MapEnv {
    kit::env().with("T_JIRA_TOKEN", "jira-personal-access-token").with("T_JIRA_HOOK", HOOK_SECRET)
}

const SIGNED: &str = r#"jira = { project = "DRIFT", correlation_field = "customfield_10042", webhook_secret = { env = "T_JIRA_HOOK" } }"#;
const REREAD: &str =
    r#"jira = { project = "DRIFT", correlation_field = "customfield_10042", webhook_verify = "reread" }"#;

impl Federation {
    async fn start() -> Self {
        Self::start_with(SIGNED, "").await
    }

    async fn start_with(drift_options: &str, region_h_options: &str) -> Self {
        let drift = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let config = config(data.path(), &drift.base_url(), drift_options, region_h_options);
        let config = config.load(&env()).expect("config");
        let app = Application::build(config).await.expect("gateway starts");
        let gateway = format!("http://{}", app.local_addr());
        tokio::spawn(async move { app.run_until(std::future::pending()).await.unwrap() });
        Federation { gateway, client: reqwest::Client::new(), drift, _data: data }
    }

    async fn call(&self, desk: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.gateway)).bearer_auth(token(desk));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn incident(&self, id: &str) -> Value {
        self.call("sds", reqwest::Method::GET, &format!("/api/v1/incidents/{id}"), None).await.1
    }

    async fn audit(&self) -> Vec<Value> {
        let (_, page) = self.call("sds", reqwest::Method::GET, "/api/v1/audit?limit=1000", None).await;
        page["items"].as_array().cloned().unwrap_or_default()
    }

    async fn outbox(&self) -> Vec<Value> {
        let (_, outbox) = self.call("sds", reqwest::Method::GET, "/api/v1/outbox", None).await;
        outbox["items"].as_array().cloned().unwrap_or_else(|| vec![Value::Null])
    }

    async fn settled(&self) {
        let drained =
            kit::wait::poll_until(Duration::from_secs(5), async || self.outbox().await.is_empty().then_some(())).await;
        if drained.is_none() {
            panic!("the outbox did not drain: {:#?}", self.outbox().await);
        }
    }

    /// Region H reports (its ServiceNow record `sys_id`); the national desk assigns
    /// it to drift at `priority`; deskgate creates the Jira issue. (incident, sys_id, key)
    async fn assigned_to_drift(&self, priority: &str) -> (String, String, String) {
        let sys_id = "a1b2c3d4e5f60718293a4b5c6d7e8f90".to_owned();
        let submission = json!({
            "title": "NSP: lookups time out", "description": "Reported by phone", "service": "NSP",
            "ticket_id": sys_id, "display_id": "INC0010001", "urgency": "medium", "impact": "medium",
        });
        let (status, incident) =
            self.call("region-h", reqwest::Method::POST, "/api/v1/incidents", Some(submission)).await;
        assert_eq!(status, StatusCode::CREATED, "{incident}");
        let id = incident["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .call(
                "sds",
                reqwest::Method::PATCH,
                &format!("/api/v1/incidents/{id}"),
                Some(json!({"priority": priority, "assignee": "drift"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.settled().await;
        let incident = self.incident(&id).await;
        let key =
            ref_of(&incident, "drift").expect("the Jira issue is linked")["remote_id"].as_str().unwrap().to_owned();
        (id, sys_id, key)
    }

    /// `jira:issue_updated` with the issue as the simulated Jira holds it now.
    fn issue_event(&self, key: &str) -> Value {
        let issue = self.drift.issue_json(key, ApiVersion::V2).unwrap();
        json!({
            "timestamp": jiff::Timestamp::now().as_millisecond(),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "issue": issue,
        })
    }

    /// `comment_created` for the issue's newest comment.
    fn comment_event(&self, key: &str) -> Value {
        let issue = self.drift.issue_json(key, ApiVersion::V2).unwrap();
        let comment = issue["fields"]["comment"]["comments"].as_array().unwrap().last().unwrap().clone();
        json!({
            "timestamp": jiff::Timestamp::now().as_millisecond(),
            "webhookEvent": "comment_created",
            "comment": comment,
            "issue": {"id": issue["id"], "key": key, "fields": {"summary": issue["fields"]["summary"]}},
        })
    }

    /// POST raw `body` to drift's Jira webhook with `headers`.
    async fn post_hook(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> (StatusCode, Option<String>, Value) {
        let mut req = self
            .client
            .post(format!("{}/webhooks/jira/drift", self.gateway))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, retry, res.json().await.unwrap_or(Value::Null))
    }

    /// `event` signed with drift's webhook secret, as delivery `identifier`.
    async fn signed(&self, event: &Value, identifier: &str) -> (StatusCode, Value) {
        let body = serde_json::to_vec(event).unwrap();
        let signature = sign(HOOK_SECRET.as_bytes(), &body);
        let (status, _, answer) =
            self.post_hook(body, &[(SIGNATURE_HEADER, signature.as_str()), (IDENTIFIER_HEADER, identifier)]).await;
        (status, answer)
    }

    async fn push(&self, desk: &str, push: &Value) -> (StatusCode, Option<String>, Value) {
        let res = self
            .client
            .post(format!("{}/webhooks/servicenow/region-h", self.gateway))
            .bearer_auth(token(desk))
            .json(push)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, retry, res.json().await.unwrap_or(Value::Null))
    }
}

fn ref_of<'a>(incident: &'a Value, desk: &str) -> Option<&'a Value> {
    incident["refs"].as_array()?.iter().find(|r| r["desk"] == desk)
}

fn notes_with(incident: &Value, text: &str) -> usize {
    incident["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["body"].as_str().is_some_and(|b| b.contains(text)))
        .count()
}

fn received() -> Value {
    json!({"outcome": "received"})
}

fn is_jira_error(body: &Value) -> bool {
    body["errorMessages"].is_array() && body["errors"].is_object()
}

fn is_servicenow_error(body: &Value) -> bool {
    body["status"] == "failure" && body["error"]["message"].is_string() && body["error"]["detail"].is_string()
}

// --- authentication -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_without_signature_or_token_is_refused_in_jira_s_shape_and_changes_nothing() {
    let f = Federation::start().await;
    let (id, _, key) = f.assigned_to_drift("P3").await;
    f.drift.comment_as_user(&key, "Injected by an outsider").unwrap();
    let body = serde_json::to_vec(&f.comment_event(&key)).unwrap();
    let before = f.incident(&id).await;

    let (status, _, answer) = f.post_hook(body.clone(), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(is_jira_error(&answer), "{answer}");
    // Another desk's token is not drift's.
    let other = format!("Bearer {}", token("region-h"));
    let (status, _, answer) = f.post_hook(body.clone(), &[("authorization", other.as_str())]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(is_jira_error(&answer), "{answer}");

    assert_eq!(f.incident(&id).await, before, "nothing changed");
    assert!(f.outbox().await.is_empty());

    // The desk's own token is as good as its signature.
    let own = format!("Bearer {}", token("drift"));
    let (status, _, answer) = f.post_hook(body, &[("authorization", own.as_str())]).await;
    assert_eq!((status, answer), (StatusCode::OK, received()));
    assert_eq!(notes_with(&f.incident(&id).await, "Injected by an outsider"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_issue_keys_get_the_same_answer_and_only_the_known_one_changes_anything() {
    let f = Federation::start().await;
    let (id, _, key) = f.assigned_to_drift("P3").await;
    f.drift.comment_as_user(&key, "Restarted the lookup service").unwrap();
    let known = f.comment_event(&key);
    let mut unknown = known.clone();
    unknown["issue"]["key"] = json!("DRIFT-999");

    let (status_known, answer_known) = f.signed(&known, "delivery-known").await;
    let (status_unknown, answer_unknown) = f.signed(&unknown, "delivery-unknown").await;
    assert_eq!((status_known, &answer_known), (status_unknown, &answer_unknown));
    assert_eq!(answer_known, received());
    assert_eq!(notes_with(&f.incident(&id).await, "Restarted the lookup service"), 1);
    let (_, page) = f.call("sds", reqwest::Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "the unknown key made nothing");
}

#[test]
fn check_config_refuses_a_jira_desk_without_a_webhook_secret_unless_it_rereads() {
    let data = tempfile::tempdir().unwrap();
    let without = r#"jira = { project = "DRIFT" }"#;
    let problems = config(data.path(), "http://127.0.0.1:9", without, "").load(&env()).expect_err("refused");
    let problem = problems.iter().find(|p| p.path == "desks.drift.jira.webhook_secret").expect("names the key");
    assert!(problem.message.contains("webhook_verify = \"reread\""), "{}", problem.message);

    for options in [SIGNED, REREAD] {
        config(data.path(), "http://127.0.0.1:9", options, "")
            .load(&env())
            .unwrap_or_else(|p| panic!("{options}: {p:?}"));
    }
    // Reading back needs the desk's API.
    let mut without_api = config(data.path(), "http://127.0.0.1:9", REREAD, "");
    without_api.without_desk_key("drift", "credentials");
    let problems = without_api.load(&env()).expect_err("refused");
    assert!(problems.iter().any(|p| p.path == "desks.drift.jira.webhook_verify"), "{problems:?}");
    let mut bad = config(data.path(), "http://127.0.0.1:9", REREAD, "");
    bad.desk_subkey("drift", "jira", "webhook_verify", "trust");
    let problems = bad.load(&env()).expect_err("refused");
    assert!(problems.iter().any(|p| p.path.starts_with("desks.drift.jira")), "{problems:?}");
}

// --- replays ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_in_progress_does_not_reopen_a_resolved_incident() {
    let f = Federation::start().await;
    let (id, _, key) = f.assigned_to_drift("P3").await;
    f.drift.transition_as_user(&key, "In Progress").unwrap();
    let in_progress = f.issue_event(&key);
    assert_eq!(f.signed(&in_progress, "d-1").await, (StatusCode::OK, received()));
    assert_eq!(f.incident(&id).await["status"], "in_progress");
    f.drift.transition_as_user(&key, "Resolved").unwrap();
    assert_eq!(f.signed(&f.issue_event(&key), "d-2").await, (StatusCode::OK, received()));
    f.settled().await;
    let resolved = f.incident(&id).await;
    assert_eq!(resolved["status"], "resolved");
    let audit_before = f.audit().await.len();

    // The old delivery again, as Jira retried it and under a new identifier: the same answer, no effect.
    for identifier in ["d-1", "d-1-forged"] {
        assert_eq!(f.signed(&in_progress, identifier).await, (StatusCode::OK, received()));
    }
    assert_eq!(f.incident(&id).await, resolved, "the replay changed nothing");
    assert!(f.outbox().await.is_empty(), "nothing was planned");
    let audit = f.audit().await;
    let replays: Vec<_> = audit[audit_before..]
        .iter()
        .filter(|e| e["reason"].as_str().is_some_and(|r| r.starts_with("replay:") && r.contains(&key)))
        .collect();
    assert_eq!(replays.len(), 2, "{:#?}", &audit[audit_before..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_p1_after_a_downgrade_does_not_raise_the_priority_again() {
    let f = Federation::start().await;
    let (id, _, key) = f.assigned_to_drift("P3").await;
    f.drift.set_priority_as_user(&key, "Highest").unwrap();
    let p1 = f.issue_event(&key);
    assert_eq!(f.signed(&p1, "p-1").await.0, StatusCode::OK);
    assert_eq!(f.incident(&id).await["priority"], "P1");
    f.drift.set_priority_as_user(&key, "High").unwrap();
    assert_eq!(f.signed(&f.issue_event(&key), "p-2").await.0, StatusCode::OK);
    f.settled().await;
    let downgraded = f.incident(&id).await;
    assert_eq!(downgraded["priority"], "P2");

    assert_eq!(f.signed(&p1, "p-3").await, (StatusCode::OK, received()));
    assert_eq!(f.incident(&id).await, downgraded);
    assert!(f.outbox().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_already_taken_and_a_comment_already_taken_are_not_taken_again() {
    let f = Federation::start().await;
    let (id, _, key) = f.assigned_to_drift("P3").await;
    f.drift.comment_as_user(&key, "First look: the cache is cold").unwrap();
    let comment = f.comment_event(&key);
    assert_eq!(f.signed(&comment, "c-1").await.0, StatusCode::OK);
    // The same comment under another identifier is still the same comment.
    assert_eq!(f.signed(&comment, "c-2").await, (StatusCode::OK, received()));
    assert_eq!(notes_with(&f.incident(&id).await, "First look"), 1);

    // A delivery id deskgate has taken is a retry, whatever the body says.
    f.drift.transition_as_user(&key, "In Progress").unwrap();
    assert_eq!(f.signed(&f.issue_event(&key), "c-1").await, (StatusCode::OK, received()));
    assert_eq!(f.incident(&id).await["status"], "assigned");
    // Under its own identifier the change applies.
    assert_eq!(f.signed(&f.issue_event(&key), "c-3").await.0, StatusCode::OK);
    assert_eq!(f.incident(&id).await["status"], "in_progress");
    let incident = f.incident(&id).await;
    let seen = &ref_of(&incident, "drift").unwrap()["seen"];
    assert!(seen["deliveries"].as_array().is_some_and(|d| d.len() <= 32 && d.contains(&json!("c-3"))), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servicenow_push_applies_only_when_newer_than_the_record_version_deskgate_applied() {
    let f = Federation::start().await;
    let (id, sys_id, _) = f.assigned_to_drift("P3").await;
    let push = |count: u32, updated: &str, comment: &str| {
        json!({
            "table": "incident", "operation": "update", "sys_id": sys_id, "number": "INC0010001",
            "changed_fields": ["comments"],
            "record": {"sys_id": sys_id, "sys_mod_count": count.to_string(), "sys_updated_on": updated},
            "journal": {"element": "comments", "value": comment, "sys_created_on": updated, "sys_created_by": "beth.anglin"},
        })
    };
    let first = push(3, "2026-03-01 10:00:00", "Still failing at Herlev");
    let (status, _, answer) = f.push("region-h", &first).await;
    assert_eq!((status, answer), (StatusCode::OK, received()));
    assert_eq!(f.push("region-h", &first).await.0, StatusCode::OK);
    // An older version with a different comment (a reordered or forged push) is no news either.
    assert_eq!(f.push("region-h", &push(2, "2026-03-01 09:59:00", "Old news")).await.0, StatusCode::OK);
    let incident = f.incident(&id).await;
    assert_eq!(notes_with(&incident, "Still failing at Herlev"), 1);
    assert_eq!(notes_with(&incident, "Old news"), 0);
    // The next version is.
    assert_eq!(f.push("region-h", &push(4, "2026-03-01 10:00:00", "Works again")).await.0, StatusCode::OK);
    assert_eq!(notes_with(&f.incident(&id).await, "Works again"), 1);
    // A version that is not one is refused, naming the field.
    let (status, _, answer) = f.push("region-h", &push(5, "yesterday", "x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(is_servicenow_error(&answer) && answer["error"]["detail"] == "field: record.sys_updated_on", "{answer}");
}

// --- rate limits and dialects --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_rate_limited_per_desk_with_retry_after_in_the_sender_s_dialect() {
    let limit = "rate_limit = { inbound_per_minute = 1, inbound_burst = 3 }";
    let f = Federation::start_with(&format!("{SIGNED}\n{limit}"), limit).await;
    // Unsigned garbage still costs: the limit comes before the signature check and its audit.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, retry, answer) = f.post_hook(b"{}".to_vec(), &[]).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry.as_deref().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 1), "{retry:?}");
            assert!(is_jira_error(&answer), "{answer}");
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(&statuses[3..], [StatusCode::TOO_MANY_REQUESTS; 2]);
    // Nor does a token that is not the desk's get around it.
    for bearer in ["Bearer not-a-token".to_owned(), format!("Bearer {}", token("region-h"))] {
        let (status, _, _) = f.post_hook(b"{}".to_vec(), &[("authorization", bearer.as_str())]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{bearer}");
    }

    let push = json!({"sys_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "record": {}});
    let mut limited = None;
    for _ in 0..5 {
        let (status, retry, answer) = f.push("region-h", &push).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((retry, answer));
            break;
        }
    }
    let (retry, answer) = limited.expect("the push is rate-limited");
    assert!(retry.is_some());
    assert!(is_servicenow_error(&answer), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_error_comes_in_the_sender_s_dialect() {
    let f = Federation::start().await;
    let too_big = vec![b' '; MAX_BODY + 1];
    let drift = format!("Bearer {}", token("drift"));

    // Jira: 400, 401, 404, 413.
    let (status, _, answer) = f.post_hook(b"{not json".to_vec(), &[("authorization", drift.as_str())]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(is_jira_error(&answer), "{answer}");
    let (status, _, answer) = f.post_hook(b"{}".to_vec(), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(is_jira_error(&answer), "{answer}");
    let res = f.client.post(format!("{}/webhooks/jira/region-h", f.gateway)).body("{}").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(is_jira_error(&res.json().await.unwrap()));
    let res = f
        .client
        .post(format!("{}/webhooks/jira/drift", f.gateway))
        .header("authorization", drift.as_str())
        .body(too_big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(is_jira_error(&res.json().await.unwrap()));

    // ServiceNow: 400, 401, 404, 413.
    let hook = format!("{}/webhooks/servicenow/region-h", f.gateway);
    let res = f.client.post(&hook).bearer_auth(token("region-h")).body("{not json").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(is_servicenow_error(&res.json().await.unwrap()));
    let res = f.client.post(&hook).body("{}").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(is_servicenow_error(&res.json().await.unwrap()));
    let res = f
        .client
        .post(format!("{}/webhooks/servicenow/drift", f.gateway))
        .bearer_auth(token("drift"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(is_servicenow_error(&res.json().await.unwrap()));
    let res = f.client.post(&hook).bearer_auth(token("region-h")).body(too_big).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(is_servicenow_error(&res.json().await.unwrap()));
}

// --- reread ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reread_desk_applies_only_what_its_jira_says_not_what_the_webhook_says() {
    let f = Federation::start_with(REREAD, "").await;
    let (id, _, key) = f.assigned_to_drift("P3").await;
    let before = f.incident(&id).await;

    // An unauthenticated hint claiming a comment and a resolution: Jira holds neither.
    let forged = json!({
        "timestamp": jiff::Timestamp::now().as_millisecond(),
        "webhookEvent": "comment_created",
        "issue": {"id": "1", "key": key, "fields": {"status": {"name": "Resolved"}, "updated": "2099-01-01T00:00:00.000+0000"}},
        "comment": {"id": "1", "body": "Injected by an outsider", "created": "2099-01-01T00:00:00.000+0000"},
    });
    let body = serde_json::to_vec(&forged).unwrap();
    let (status, _, answer) = f.post_hook(body.clone(), &[]).await;
    assert_eq!((status, answer), (StatusCode::OK, received()));
    let after = f.incident(&id).await;
    assert_eq!(after["status"], before["status"]);
    assert_eq!(notes_with(&after, "Injected"), 0);

    // A person works the issue in Jira; the same hint now reads back their change.
    f.drift.transition_as_user(&key, "In Progress").unwrap();
    f.drift.comment_as_user(&key, "Looking into the lookups").unwrap();
    let (status, _, _) = f.post_hook(body.clone(), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let after = f.incident(&id).await;
    assert_eq!(after["status"], "in_progress");
    assert_eq!(notes_with(&after, "Looking into the lookups"), 1);
    assert_eq!(notes_with(&after, "Injected"), 0);
    f.settled().await;

    // Again: nothing newer in Jira, nothing new here.
    let settled = f.incident(&id).await;
    assert_eq!(f.post_hook(body, &[]).await.0, StatusCode::OK);
    assert_eq!(f.incident(&id).await, settled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_desk_without_a_webhook_secret_takes_webhooks_only_with_its_own_token() {
    // Region M (Jira, no endpoint, no webhook secret) as the tests' federation has it.
    let gw = kit::TestGateway::start().await;
    let submission = json!({
        "title": "Aarhus: lookups time out", "description": "Reported by phone", "service": "NSP",
        "ticket_id": "RMSD-7", "display_id": "RMSD-7", "urgency": "medium", "impact": "medium",
    });
    let res = gw.send("region-m", reqwest::Method::POST, "/api/v1/incidents", &submission).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let event = json!({
        "timestamp": jiff::Timestamp::now().as_millisecond(),
        "webhookEvent": "comment_created",
        "comment": {"id": "10001", "body": "Written by nobody in particular", "created": "2026-03-01T10:00:00.000+0000"},
        "issue": {"id": "1", "key": "RMSD-7", "fields": {"summary": "Aarhus: lookups time out"}},
    });
    let hook = gw.url("/webhooks/jira/region-m");
    let notes = async || {
        let res = gw
            .client
            .get(gw.url(&format!("/api/v1/incidents/{id}")))
            .bearer_auth(gw.token("sds"))
            .send()
            .await
            .unwrap();
        res.json::<Value>().await.unwrap()["notes"].as_array().unwrap().len()
    };

    let res = gw.client.post(&hook).json(&event).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(is_jira_error(&res.json().await.unwrap()));
    assert_eq!(notes().await, 0, "an unauthenticated comment is not stored");

    let res = gw.client.post(&hook).bearer_auth(gw.token("region-m")).json(&event).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), received());
    assert_eq!(notes().await, 1);
}
