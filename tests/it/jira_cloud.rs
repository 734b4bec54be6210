//! A supplier on Jira Cloud: deliveries search with `/search/jql`, whose results lag
//! behind writes, and a create whose answer is lost is retried without making a
//! second issue.

use std::time::Duration;

use crate::kit;

use deskgate_sim::jira::LoseResponses;
use kit::{Federation, Fmk, ref_of};
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
