//! A supplier on Jira Cloud: deliveries search with `/search/jql`, whose results lag
//! behind writes, and a create whose answer is lost is retried without making a
//! second issue.

use std::path::Path;
use std::time::Duration;

use crate::kit;

use deskgate_sim::jira::LoseResponses;
use kit::{Desk, Federation, Fmk, GatewayConfig, ref_of};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_create_whose_answer_is_lost_makes_one_issue_on_jira_cloud_although_search_lags() {
    // Search shows a new issue a second after it is made; the desk's window is two.
    let f = Federation::builder()
        .fmk(Fmk::Absent)
        .open_rate_limits()
        .jira_cloud(Duration::from_secs(1), 2)
        .max_attempts(10)
        .start()
        .await;
    let fields = [("short_description", "NSP lookups time out"), ("description", "Reported by phone")];
    let body = json!({"title": "NSP lookups time out", "description": "Reported by phone", "service": "NSP", "priority": "P3"});
    let (id, _) = f.report_ticket(&fields, body).await;
    f.drained().await;
    // Jira applies the first create and the answer never arrives.
    f.drift.lose_responses(LoseResponses { method: "POST".into(), path_suffix: "/issue".into(), count: 1 });
    let (status, _) = f.patch("sds", &id, json!({"assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;

    let keys: Vec<String> = f.drift.issues().into_iter().map(|i| i.key).collect();
    assert_eq!(keys, ["DRIFT-1"], "exactly one issue");
    assert_eq!(f.drift.faults().served("POST /rest/api/3/issue"), 1, "one create reached Jira");
    let incident = f.incident(&id).await;
    assert_eq!(ref_of(&incident, "drift").map(|r| r["remote_id"].clone()), Some(json!("DRIFT-1")), "{incident:#}");
    assert!(f.dead_letters().await.is_empty());
    let searches: Vec<String> =
        f.drift.seen_requests().into_iter().filter(|r| r.path.contains("/search")).map(|r| r.path).collect();
    assert!(!searches.is_empty() && searches.iter().all(|p| p == "/rest/api/3/search/jql"), "{searches:?}");
}

/// The problems configuration loading reports for a Jira desk with `jira` as its options.
fn problems(jira: &str) -> Vec<(String, String)> {
    let mut c = GatewayConfig::new(Path::new("."));
    c.desk("sds", Desk::known("sds", "National Service Desk", "national", "native"));
    c.desk(
        "drift",
        Desk::known("drift", "Drift", "supplier", "jira")
            .services(&["*"])
            .endpoint("https://drift.atlassian.net")
            .bearer_credentials("T_JIRA"),
    );
    c.desk_toml("drift", &format!("jira = {jira}"));
    match c.load(&kit::tokens::env().with("T_JIRA", "t").with("T_HOOK", "h")) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.into_iter().map(|p| (p.path, p.message)).collect(),
    }
}

const BASE: &str = r#"project = "DRIFT", webhook_secret = { env = "T_HOOK" }"#;

#[test]
fn api_3_on_data_center_is_refused_with_its_key_path() {
    let found = problems(&format!("{{ {BASE}, api_version = 3, deployment = \"datacenter\" }}"));
    assert!(
        found.iter().any(|(path, message)| path == "desks.drift.jira.api_version"
            && message.contains("Data Center has no REST API 3")),
        "{found:#?}"
    );
    for fine in [
        format!("{{ {BASE}, api_version = 3, deployment = \"cloud\" }}"),
        format!("{{ {BASE}, api_version = 3 }}"),
        format!("{{ {BASE}, api_version = 2, deployment = \"cloud\", search_consistency_secs = 60 }}"),
        format!("{{ {BASE}, deployment = \"datacenter\" }}"),
    ] {
        assert_eq!(problems(&fine), Vec::<(String, String)>::new(), "{fine}");
    }
}

#[test]
fn a_bad_deployment_or_window_is_named_by_its_key_path() {
    let found = problems(&format!("{{ {BASE}, deployment = \"server\" }}"));
    assert!(
        found.iter().any(|(path, message)| path.starts_with("desks.drift") && message.contains("cloud")),
        "{found:#?}"
    );
    let found = problems(&format!("{{ {BASE}, search_consistency_secs = 3600 }}"));
    assert!(
        found.iter().any(|(path, message)| path == "desks.drift.jira.search_consistency_secs"
            && message == "expected at most 600 seconds"),
        "{found:#?}"
    );
}

#[test]
fn check_config_refuses_api_3_on_data_center() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    let text = std::fs::read_to_string("deploy/gateway.toml").unwrap();
    let broken = text.replacen(
        r#"api_version = 2, deployment = "datacenter""#,
        r#"api_version = 3, deployment = "datacenter""#,
        1,
    );
    assert_ne!(broken, text, "the shipped configuration names the deployment of its Jira desks");
    std::fs::write(&file, broken).unwrap();
    let out = kit::binary::command().args(["check-config"]).arg(&file).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("desks.region-m.jira.api_version: Jira Data Center has no REST API 3"), "{stderr}");
}
