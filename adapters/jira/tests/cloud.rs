//! The Jira adapter against the simulator's two products: Cloud searches with
//! `/search/jql` (eventually consistent) and Data Center with `/search`; a create
//! retried after a lost answer never duplicates although Cloud's search lags.

use std::time::Duration;

use deskgate_adapter::{Adapter, AdapterError, RemoteId, RemoteTicket, TicketFields};
use deskgate_jira::{ApiVersion, Deployment, JiraAdapter, JiraConfig};
use deskgate_sim::Fault;
use deskgate_sim::jira::{JiraSim, JiraSimConfig, LoseResponses};

#[path = "support/cloud_api.rs"]
mod cloud_api;

#[path = "support/sim_config.rs"]
mod sim_config;

fn config(sim: &JiraSim, version: ApiVersion, deployment: Deployment) -> JiraConfig {
    let mut config = sim_config::config_for(sim, version);
    config.deployment = deployment;
    config
}

fn incident(title: &str) -> TicketFields {
    TicketFields { title: Some(title.into()), priority: Some("High".into()), ..TicketFields::default() }
}

fn searches(sim: &JiraSim) -> Vec<String> {
    sim.seen_requests()
        .into_iter()
        .filter(|r| r.path.contains("/search"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn cloud_is_searched_with_search_jql_and_data_center_with_search() {
    for version in [ApiVersion::V2, ApiVersion::V3] {
        let sim = JiraSim::spawn(JiraSimConfig::cloud()).await.unwrap();
        let adapter = JiraAdapter::new(config(&sim, version, Deployment::Cloud)).unwrap();
        assert_eq!(adapter.find_by_correlation("INC-1").await.unwrap(), None);
        let created = adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
        let found = adapter.find_by_correlation("INC-1").await.unwrap().expect("found on Cloud");
        assert_eq!(found.id, created.id);
        let v = version.as_str();
        assert_eq!(
            searches(&sim),
            [format!("POST /rest/api/{v}/search/jql"), format!("POST /rest/api/{v}/search/jql")]
        );
        cloud_api::check(&sim.seen_requests());
    }
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let adapter = JiraAdapter::new(config(&sim, ApiVersion::V2, Deployment::DataCenter)).unwrap();
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    assert!(adapter.find_by_correlation("INC-1").await.unwrap().is_some());
    assert_eq!(searches(&sim), ["POST /rest/api/2/search"]);
}

#[tokio::test]
async fn the_removed_search_is_a_permanent_error_naming_the_replacement() {
    // A desk configured as Data Center that is really on Cloud: Jira's 410 is passed on.
    let sim = JiraSim::spawn(JiraSimConfig::cloud()).await.unwrap();
    let adapter = JiraAdapter::new(config(&sim, ApiVersion::V2, Deployment::DataCenter)).unwrap();
    let e = adapter.find_by_correlation("INC-1").await.unwrap_err();
    assert!(!e.is_retriable());
    assert_eq!(e.status(), Some(410));
    assert!(e.to_string().contains("/rest/api/3/search/jql"), "{e}");
}

#[tokio::test]
async fn changed_since_follows_cursor_pages_on_cloud() {
    let sim = JiraSim::spawn(JiraSimConfig::cloud()).await.unwrap();
    let mut config = config(&sim, ApiVersion::V3, Deployment::Cloud);
    config.page_size = 2;
    let adapter = JiraAdapter::new(config).unwrap();
    for i in 0..5 {
        sim.create_as_user(serde_json::json!({ "summary": format!("issue {i}") })).unwrap();
    }
    let all = adapter.changed_since(jiff::Timestamp::UNIX_EPOCH).await.unwrap();
    let keys: Vec<_> = all.iter().map(|t| t.display_id.as_str()).collect();
    assert_eq!(keys, ["DRIFT-1", "DRIFT-2", "DRIFT-3", "DRIFT-4", "DRIFT-5"]);
    assert_eq!(sim.faults().served("POST /rest/api/3/search/jql"), 3);
    cloud_api::check(&sim.seen_requests());
}

/// What the delivery worker does with a create: look up the correlation id, create
/// when nothing is found, and on a retriable failure try again after `Retry-After`
/// (or at once, the way a short backoff would).
async fn deliver_create(adapter: &JiraAdapter, correlation: &str) -> (RemoteTicket, Vec<AdapterError>) {
    let mut failures = Vec::new();
    for _ in 0..10 {
        let attempt = match adapter.find_by_correlation(correlation).await {
            Ok(Some(found)) => Ok(found),
            Ok(None) => adapter.create(&incident("FMK down"), correlation).await,
            Err(e) => Err(e),
        };
        match attempt {
            Ok(ticket) => return (ticket, failures),
            Err(e) if e.is_retriable() => {
                tokio::time::sleep(e.retry_after().unwrap_or(Duration::from_millis(20))).await;
                failures.push(e);
            }
            Err(e) => panic!("permanent: {e}"),
        }
    }
    panic!("no ticket after 10 attempts: {failures:?}");
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_never_duplicates_although_search_lags() {
    let sim = JiraSim::spawn(JiraSimConfig { index_lag: Duration::from_millis(700), ..JiraSimConfig::cloud() })
        .await
        .unwrap();
    let mut config = config(&sim, ApiVersion::V3, Deployment::Cloud);
    config.search_consistency = Duration::from_secs(1);
    let adapter = JiraAdapter::new(config).unwrap();
    sim.lose_responses(LoseResponses { method: "POST".into(), path_suffix: "/issue".into(), count: 1 });
    let (ticket, failures) = deliver_create(&adapter, "INC-2026-000042").await;
    assert_eq!(sim.count(), 1, "exactly one issue: {:?}", sim.issues().iter().map(|i| &i.key).collect::<Vec<_>>());
    assert_eq!(ticket.id, RemoteId("DRIFT-1".into()));
    // The lost answer: a transport failure, neither status nor Retry-After.
    assert!(failures.iter().any(|e| e.status().is_none() && e.retry_after().is_none()), "{failures:?}");
    assert!(failures.iter().any(|e| e.retry_after().is_some()), "a retry waited for the index: {failures:?}");
    assert_eq!(sim.faults().served("POST /rest/api/3/issue"), 1);
    cloud_api::check(&sim.seen_requests());
}

#[tokio::test]
async fn an_issue_whose_create_answer_arrived_is_found_before_it_is_indexed() {
    // The create is answered, the transition after it fails: the retry must find the
    // issue although the index will not show it for a minute.
    let sim =
        JiraSim::spawn(JiraSimConfig { index_lag: Duration::from_secs(60), ..JiraSimConfig::cloud() }).await.unwrap();
    let adapter = JiraAdapter::new(config(&sim, ApiVersion::V3, Deployment::Cloud)).unwrap();
    sim.faults().only_on_paths_containing("/transitions");
    sim.faults().push([Fault::ServerError]);
    let fields = TicketFields { status: Some("In Progress".into()), ..incident("FMK down") };
    assert!(adapter.create(&fields, "INC-7").await.unwrap_err().is_retriable());
    let found = adapter.find_by_correlation("INC-7").await.unwrap().expect("reconciled");
    assert_eq!(found.id, RemoteId("DRIFT-1".into()));
    let search = sim.requests().into_iter().rfind(|r| r.path.ends_with("/search/jql")).unwrap();
    assert_eq!(search.body["reconcileIssues"], serde_json::json!([10000]));
    cloud_api::check(&sim.seen_requests());
}

#[tokio::test]
async fn creates_wait_out_the_window_after_the_adapter_starts() {
    // An attempt made before a restart is unknown: the first creates wait.
    let sim = JiraSim::spawn(JiraSimConfig::cloud()).await.unwrap();
    let mut config = config(&sim, ApiVersion::V3, Deployment::Cloud);
    config.search_consistency = Duration::from_secs(30);
    let adapter = JiraAdapter::new(config).unwrap();
    let e = adapter.create(&incident("FMK down"), "INC-1").await.unwrap_err();
    assert!(e.is_retriable());
    let wait = e.retry_after().unwrap();
    assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(31), "{wait:?}");
    assert_eq!(sim.count(), 0);
    // Data Center searches consistently: no wait.
    let dc = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = self::config(&dc, ApiVersion::V2, Deployment::DataCenter);
    config.search_consistency = Duration::from_secs(30);
    JiraAdapter::new(config).unwrap().create(&incident("FMK down"), "INC-1").await.unwrap();
    assert_eq!(dc.count(), 1);
}
