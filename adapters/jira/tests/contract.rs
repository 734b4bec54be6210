//! Every request the Jira adapter makes of Jira Cloud exists in Atlassian's published
//! API: method, path template and query parameter names.
//!
//! `fixtures/jira-cloud-operations.json` holds just the operations the adapter uses,
//! derived from the published OpenAPI description of the Jira Cloud platform REST API
//! (`jira-platform.v3.json`, kept outside the project in `shared/specs/`). The mirrored
//! description predates Atlassian's CHANGE-2046, so it still lists `/search` and has no
//! `/search/jql`: the fixture lists `/search` under `removed_on_cloud` and the enhanced
//! search under `not_in_spec`, with the changelog as its source.
//!
//! `the_fixture_is_what_the_published_spec_says` checks the fixture against the spec
//! when the spec is found (`JIRA_PLATFORM_SPEC`, or `shared/specs/` in a directory above
//! this crate); `JIRA_FIXTURE_REGENERATE=1` rewrites the fixture from it instead.

use std::path::{Path, PathBuf};

use deskgate_adapter::{Adapter, RemoteId, RemoteLink, RemoteNote, TicketFields};
use deskgate_jira::{ApiVersion, Deployment, JiraAdapter, UserRef};
use deskgate_sim::jira::{JiraSim, JiraSimConfig, SeenRequest};
use serde_json::{Value, json};

#[path = "support/cloud_api.rs"]
mod cloud_api;

use cloud_api::{FIXTURE, check, fixture, operations};

#[path = "support/sim_config.rs"]
mod sim_config;

fn adapter(sim: &JiraSim, version: ApiVersion) -> JiraAdapter {
    let mut config = sim_config::config_for(sim, version);
    config.deployment = Deployment::Cloud;
    // Cloud names users by accountId under v2 as well.
    config.user_ref = UserRef::AccountId;
    config.link_field = Some("customfield_10043".into());
    JiraAdapter::new(config).unwrap()
}

#[tokio::test]
async fn every_request_of_the_adapter_is_in_the_published_cloud_api() {
    let mut used = Vec::new();
    for version in [ApiVersion::V2, ApiVersion::V3] {
        let mut sim_config = JiraSimConfig::cloud();
        sim_config.custom_fields.push(("customfield_10043".into(), "national id".into()));
        let sim = JiraSim::spawn(sim_config).await.unwrap();
        let adapter = adapter(&sim, version);
        // Everything the adapter does, as deliveries and polls use it.
        assert!(adapter.find_by_correlation("INC-1").await.unwrap().is_none());
        let fields = TicketFields {
            title: Some("FMK down".into()),
            description: Some("Seen since 10:02".into()),
            priority: Some("High".into()),
            status: Some("In Progress".into()),
            ..TicketFields::default()
        };
        let ticket = adapter.create(&fields, "INC-1").await.unwrap();
        assert!(adapter.find_by_correlation("INC-1").await.unwrap().is_some());
        let id = RemoteId(ticket.display_id.clone());
        adapter.get(&id).await.unwrap();
        let change = TicketFields {
            priority: Some("Highest".into()),
            status: Some("Resolved".into()),
            assignee: Some(sim.config().operator.account_id.clone()),
            ..TicketFields::default()
        };
        adapter.update(&id, &change).await.unwrap();
        adapter
            .add_note(&id, &RemoteNote { body: "on it".into(), public: true, author: None, at: None })
            .await
            .unwrap();
        adapter
            .add_note(&id, &RemoteNote { body: "root cause".into(), public: false, author: None, at: None })
            .await
            .unwrap();
        adapter.comments(&id).await.unwrap();
        let link = RemoteLink {
            global_id: "deskgate:INC-1".into(),
            title: "FMK down".into(),
            url: Some("https://deskgate.example/incidents/INC-1".into()),
            display_id: "SDS00000042".into(),
        };
        adapter.link(&id, &link).await.unwrap();
        adapter.changed_since(jiff::Timestamp::UNIX_EPOCH).await.unwrap();
        used.extend(check(&sim.seen_requests()));
    }
    // The fixture holds just what the adapter uses: every operation in it was called.
    let fixture = fixture();
    for op in operations(&fixture, "operations").chain(operations(&fixture, "not_in_spec")) {
        let name = format!("{} {}", op["method"].as_str().unwrap(), op["path"].as_str().unwrap());
        assert!(used.contains(&name), "{name} is in the fixture but the adapter never calls it");
    }
}

#[test]
fn the_check_refuses_what_the_published_api_does_not_have() {
    let seen = |method: &str, path: &str, query: &[&str]| {
        vec![SeenRequest {
            method: method.into(),
            path: path.into(),
            query_names: query.iter().map(|q| (*q).to_owned()).collect(),
        }]
    };
    assert_eq!(check(&seen("GET", "/rest/api/2/issue/DRIFT-1", &["fields"])), ["GET /rest/api/3/issue/{issueIdOrKey}"]);
    for (method, path, query) in [
        ("POST", "/rest/api/3/search", &[][..]),
        ("POST", "/rest/api/2/search", &[]),
        ("DELETE", "/rest/api/3/issue/DRIFT-1", &[]),
        ("GET", "/rest/api/3/issues/DRIFT-1", &[]),
        ("GET", "/rest/api/3/issue/DRIFT-1", &["startAt"]),
    ] {
        let refused = std::panic::catch_unwind(|| check(&seen(method, path, query)));
        assert!(refused.is_err(), "{method} {path} {query:?} must be refused");
    }
}

/// The published description, if it can be found.
fn spec_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("JIRA_PLATFORM_SPEC") {
        return Some(PathBuf::from(path));
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/specs/jira-platform.v3.json"))
        .find(|path| path.is_file())
}

/// The fixture's operations as the spec describes them: operation id and query
/// parameter names (in the spec's order).
fn derive(spec: &Value, fixture: &Value) -> Value {
    let mut out = fixture.clone();
    let derived: Vec<Value> = operations(fixture, "operations")
        .map(|op| {
            let (method, path) = (op["method"].as_str().unwrap(), op["path"].as_str().unwrap());
            let described = &spec["paths"][path][method.to_lowercase()];
            assert!(described.is_object(), "{method} {path} is not in the published spec");
            let query: Vec<&Value> = described["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| &p["name"])
                .collect();
            json!({ "method": method, "path": path, "operationId": described["operationId"], "query": query })
        })
        .collect();
    out["operations"] = Value::Array(derived);
    for removed in operations(fixture, "removed_on_cloud") {
        let (method, path) = (removed["method"].as_str().unwrap(), removed["path"].as_str().unwrap());
        assert!(spec["paths"][path][method.to_lowercase()].is_object(), "{method} {path}: no longer in the spec");
    }
    for added in operations(fixture, "not_in_spec") {
        let (method, path) = (added["method"].as_str().unwrap(), added["path"].as_str().unwrap());
        assert!(
            !spec["paths"][path][method.to_lowercase()].is_object(),
            "{method} {path} is in the spec now: move it to `operations` and regenerate"
        );
    }
    out["spec_version"] = spec["info"]["version"].clone();
    out
}

#[test]
fn the_fixture_is_what_the_published_spec_says() {
    let Some(path) = spec_path() else {
        eprintln!("jira-platform.v3.json not found (set JIRA_PLATFORM_SPEC): fixture not rechecked");
        return;
    };
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let fixture = fixture();
    let derived = derive(&spec, &fixture);
    if std::env::var_os("JIRA_FIXTURE_REGENERATE").is_some() {
        let text = serde_json::to_string_pretty(&derived).unwrap() + "\n";
        std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE), text).unwrap();
        return;
    }
    assert_eq!(derived, fixture, "the fixture differs from {}: rerun with JIRA_FIXTURE_REGENERATE=1", path.display());
}
